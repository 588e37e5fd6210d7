"""The lifecycle as data and the machine compiled from it.

The provider's words (:class:`OrderState`, :class:`OrderEvent`, ...) and the merchant's
:class:`Operation`; a lifecycle declared as a :class:`MachineSpec`; the declared tables
(:data:`ORDER_SPEC`, :data:`CHECKOUT_SPEC`, and the outbox's own, :data:`OUTBOX_SPEC`);
the :class:`Machine` compiled from a spec (and :func:`slot_setter`, how it may write a
model's state), the :class:`Step` of a history it records (and the :class:`History` list
an order keeps them in), :func:`replay` of a history against a spec, and
:func:`breadth_first`, the one path search every question about a table's paths asks.
"""

from __future__ import annotations

from ._history import History, announced, entries, shared_prefix
from ._machine import Machine, slot_setter
from ._outbox import OUTBOX_SPEC, OutboxGuard
from ._replay import replay
from ._spec import (
    ActionSpec,
    EventSpec,
    GuardSpec,
    ImpliedSpec,
    MachineSpec,
    OperationSpec,
    StateSpec,
    TransitionSpec,
    breadth_first,
)
from ._step import STEP_FIELDS, Explanation, Guard, Step, coerce
from ._tables import CHECKOUT_SPEC, ORDER_SPEC, SETTLED_CHARGE_STATES, ActionKind, OrderGuard
from ._vocabulary import (
    PROVIDER_EVENT_TYPES,
    ActionScope,
    ActionState,
    ChargeState,
    CheckoutEvent,
    CheckoutState,
    FraudState,
    ItemState,
    Operation,
    OrderEvent,
    OrderState,
    OutboxEvent,
)

__all__ = [
    "CHECKOUT_SPEC",
    "ORDER_SPEC",
    "OUTBOX_SPEC",
    "PROVIDER_EVENT_TYPES",
    "SETTLED_CHARGE_STATES",
    "STEP_FIELDS",
    "ActionKind",
    "ActionScope",
    "ActionSpec",
    "ActionState",
    "ChargeState",
    "CheckoutEvent",
    "CheckoutState",
    "EventSpec",
    "Explanation",
    "FraudState",
    "Guard",
    "GuardSpec",
    "History",
    "ImpliedSpec",
    "ItemState",
    "Machine",
    "MachineSpec",
    "Operation",
    "OperationSpec",
    "OrderEvent",
    "OrderGuard",
    "OrderState",
    "OutboxEvent",
    "OutboxGuard",
    "StateSpec",
    "Step",
    "TransitionSpec",
    "announced",
    "breadth_first",
    "coerce",
    "entries",
    "replay",
    "shared_prefix",
    "slot_setter",
]

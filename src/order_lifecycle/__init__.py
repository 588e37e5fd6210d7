"""order-lifecycle: an order's life as the payment provider reports it, as a guarded machine.

Ask what an order may do next (:func:`allowed_events`, :func:`explain`), move it
(:func:`fire`), and let the machine refuse what the provider's rules forbid.
"""

from __future__ import annotations

from importlib.metadata import version as _distribution_version

from ._lifecycle import (
    CHECKOUT_MACHINE,
    ORDER_MACHINE,
    allowed_events,
    can_fire,
    explain,
    fire,
)
from ._machine import Explanation, Machine, Step
from ._models import Charge, Checkout, Item, Order, SubmissionAttempt
from ._replay import replay
from ._signature import SIGNATURE_HEADER, sign, verify_signature
from ._spec import EventSpec, GuardSpec, MachineSpec, StateSpec, TransitionSpec
from ._tables import CHECKOUT_SPEC, ORDER_SPEC
from ._vocabulary import (
    ChargeState,
    CheckoutEvent,
    CheckoutState,
    FraudState,
    OrderEvent,
    OrderState,
)
from .exceptions import (
    FulfillmentNotAllowed,
    GraphvizMissing,
    InvalidDefinition,
    InvalidHistory,
    InvalidInput,
    InvalidSignature,
    OrderLifecycleError,
    TransitionNotAllowed,
    UnknownEvent,
    UnknownState,
    WrongType,
)

__version__ = _distribution_version("order-lifecycle")

__all__ = [
    "CHECKOUT_MACHINE",
    "CHECKOUT_SPEC",
    "ORDER_MACHINE",
    "ORDER_SPEC",
    "SIGNATURE_HEADER",
    "Charge",
    "ChargeState",
    "Checkout",
    "CheckoutEvent",
    "CheckoutState",
    "EventSpec",
    "Explanation",
    "FraudState",
    "FulfillmentNotAllowed",
    "GraphvizMissing",
    "GuardSpec",
    "InvalidDefinition",
    "InvalidHistory",
    "InvalidInput",
    "InvalidSignature",
    "Item",
    "Machine",
    "MachineSpec",
    "Order",
    "OrderEvent",
    "OrderLifecycleError",
    "OrderState",
    "StateSpec",
    "Step",
    "SubmissionAttempt",
    "TransitionNotAllowed",
    "TransitionSpec",
    "UnknownEvent",
    "UnknownState",
    "WrongType",
    "__version__",
    "allowed_events",
    "can_fire",
    "explain",
    "fire",
    "replay",
    "sign",
    "verify_signature",
]

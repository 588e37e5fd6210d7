"""What the shop must do after a state change: actions derived from the order table.

:func:`derive_actions` reads, from the order before and after a change, the
:class:`Action` values it creates (each with a stable key), the ones whose payload it
rewrites and the ones it cancels, classifying items with the shop's :class:`ActionPolicy`,
which also declares the shop's own kinds: subscriptions to provider events (:func:`received`
turns a reconciled delivery into their actions, and into the :class:`RefundSettlement` that
settles a ``confirm_refund``) and listeners to transitions (:func:`on`).
The stores write them to their outbox in the transaction of the change, as
:class:`StoredAction` values; an :class:`ActionWorker` runs them through the shop's
handlers (at least once; the key makes a handler idempotent) and reports how each claim
ended (:class:`Completed`, :class:`Failed`, :class:`Released`). A handler reads what it
must do as a typed :class:`Request` (``action.request``: a :class:`ShipRequest`, an
:class:`EventReceived`, a :class:`Transitioned`...) and the order as the worker read it
(``action.order``).

For a command line: ``store.list_actions(...)`` lists, ``store.retry_action(key)``
retries a dead action, and ``ActionWorker(store, load_handlers("mod:HANDLERS"))`` runs
them (``run_once`` or ``run_forever``).
"""

from __future__ import annotations

from ._derive import Action, Derived, RefundSettlement, action_key, derive_actions
from ._policy import ActionPolicy, Classifier, Fulfilment
from ._received import received
from ._requests import (
    CaptureRequest,
    ConfirmRefund,
    DeliverRequest,
    EventReceived,
    NotifyCustomer,
    Refund,
    RefundCharge,
    Request,
    RespondToDispute,
    ReviewRequest,
    ShipRequest,
    Transitioned,
    request_of,
)
from ._stored import (
    OPEN_STATES,
    ActionState,
    Completed,
    Failed,
    Outcome,
    Released,
    StoredAction,
    backoff,
)
from ._subscriptions import Listener, Subscriptions, on
from ._worker import ActionSource, ActionWorker, Handler, WorkerCounts, load_handlers

__all__ = [
    "OPEN_STATES",
    "Action",
    "ActionPolicy",
    "ActionSource",
    "ActionState",
    "ActionWorker",
    "CaptureRequest",
    "Classifier",
    "Completed",
    "ConfirmRefund",
    "DeliverRequest",
    "Derived",
    "EventReceived",
    "Failed",
    "Fulfilment",
    "Handler",
    "Listener",
    "NotifyCustomer",
    "Outcome",
    "Refund",
    "RefundCharge",
    "RefundSettlement",
    "Released",
    "Request",
    "RespondToDispute",
    "ReviewRequest",
    "ShipRequest",
    "StoredAction",
    "Subscriptions",
    "Transitioned",
    "WorkerCounts",
    "action_key",
    "backoff",
    "derive_actions",
    "load_handlers",
    "on",
    "received",
    "request_of",
]

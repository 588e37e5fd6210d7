"""order-lifecycle: an order's life as the payment provider reports it, as a guarded machine.

Ask what an order may do next (:func:`allowed_events`, :func:`allowed_operations`,
:func:`explain`), move it (:func:`fire`), and let the machine refuse what the provider's
rules forbid. Work on its items and charges (:func:`fulfil_items`, :func:`cancel_items`,
:func:`capture`, :func:`refund`, :func:`return_items`, ...): the order table says which
states allow each operation, and the state follows from the items and charges by one rule.
Submit a checkout (:func:`begin_submission`, :func:`record_response`) and get one typed
outcome. Feed the provider's webhook deliveries to an :class:`Inbox`: each is stored as it
arrives, and a :class:`Reconciler` applies them order by order: duplicates, stale and
out-of-order events are recognised, and what cannot apply yet waits in the inbox.

This top level holds what a shop uses every day. The rest lives in the subpackage of its
concept, each with one face (``__all__``), in layers that import only downwards:

``order_lifecycle.lifecycle``
    the lifecycle as data (``MachineSpec``, ``ORDER_SPEC``) and the machine compiled from it
``order_lifecycle.models``
    ``Order``, ``Checkout`` and their values; the machines bound to them
``order_lifecycle.provider``
    the provider's order and charge objects read into snapshots
``order_lifecycle.orders``
    the merchant's operations on items and charges
``order_lifecycle.checkout``
    checkout consumption: submissions and their outcomes
``order_lifecycle.webhooks``
    signatures, events, reconciliation, the inbox and its reconcilers
``order_lifecycle.store``
    where orders, checkouts and deliveries are kept: memory, SQLite, PostgreSQL
``order_lifecycle.diagrams``
    the tables drawn as Mermaid, Graphviz and Markdown
``order_lifecycle.exceptions``
    the one exception tree
``order_lifecycle.testing``
    hypothesis strategies and invariants for a shop's own property tests
"""

from __future__ import annotations

import importlib
import warnings

from ._version import __version__
from .checkout import (
    CheckoutNeedsChanges,
    InDoubt,
    OrderCreated,
    ProviderError,
    SubmissionOutcome,
    SubmissionRejected,
    begin_submission,
    record_no_response,
    record_response,
    settle,
)
from .exceptions import (
    EventConflict,
    InvalidInput,
    InvalidProviderData,
    InvalidSignature,
    LimitExceeded,
    NotFound,
    OperationNotAllowed,
    OrderLifecycleError,
    Refused,
    StoreError,
    TransitionNotAllowed,
)
from .lifecycle import (
    ChargeState,
    CheckoutEvent,
    CheckoutState,
    Explanation,
    FraudState,
    ItemState,
    Operation,
    OrderEvent,
    OrderState,
)
from .models import (
    Charge,
    Checkout,
    Item,
    Order,
    allowed_events,
    allowed_operations,
    can_fire,
    explain,
    fire,
)
from .orders import cancel_charge, cancel_items, capture, fulfil_items, refund, return_items
from .webhooks import (
    SIGNATURE_HEADER,
    Delivery,
    DeliveryResult,
    DeliveryStatus,
    EventOutcome,
    Inbox,
    Reconciler,
)

__all__ = [
    "SIGNATURE_HEADER",
    "Charge",
    "ChargeState",
    "Checkout",
    "CheckoutEvent",
    "CheckoutNeedsChanges",
    "CheckoutState",
    "Delivery",
    "DeliveryResult",
    "DeliveryStatus",
    "EventConflict",
    "EventOutcome",
    "Explanation",
    "FraudState",
    "InDoubt",
    "Inbox",
    "InvalidInput",
    "InvalidProviderData",
    "InvalidSignature",
    "Item",
    "ItemState",
    "LimitExceeded",
    "NotFound",
    "Operation",
    "OperationNotAllowed",
    "Order",
    "OrderCreated",
    "OrderEvent",
    "OrderLifecycleError",
    "OrderState",
    "ProviderError",
    "Reconciler",
    "Refused",
    "StoreError",
    "SubmissionOutcome",
    "SubmissionRejected",
    "TransitionNotAllowed",
    "__version__",
    "allowed_events",
    "allowed_operations",
    "begin_submission",
    "can_fire",
    "cancel_charge",
    "cancel_items",
    "capture",
    "explain",
    "fire",
    "fulfil_items",
    "record_no_response",
    "record_response",
    "refund",
    "return_items",
    "settle",
]

# Names the top level exported before 0.2, and the subpackage each lives in now. They still
# resolve, with a DeprecationWarning naming the new home, so that upgrading breaks nothing.
_HOMES = {
    "lifecycle": """CHECKOUT_SPEC ORDER_SPEC EventSpec GuardSpec Machine MachineSpec OperationSpec
        StateSpec Step TransitionSpec replay""",
    "models": "CHECKOUT_MACHINE ORDER_MACHINE SnapshotMark SubmissionAttempt implied_state",
    "provider": "ChargeSnapshot ItemSnapshot OrderSnapshot",
    "orders": """FulfilmentLine FulfilmentPlan FulfilmentRequest RefundRequest ReturnLine
        ReturnRequest fulfil fulfilment_plan""",
    "checkout": "ChargeFailure RejectionCause",
    "webhooks": """KNOWN_EVENT_TYPES Event OtherObject Reconciled apply_event parse_event sign
        verify_signature""",
    "exceptions": """AmountTooLarge ChargeNotAllowed CheckoutAlreadyConsumed CheckoutRejected
        CurrencyMismatch DuplicateEvent FulfillmentNotAllowed GraphvizMissing InvalidAmount
        InvalidDefinition InvalidEvent InvalidHistory InvalidQuantity InvalidResponse OrderExists
        QuantityTooLarge RefundNotAllowed ReturnNotAllowed SchemaTooNew StaleOrder StoreCorrupt
        StoreReadOnly StoreUnavailable SubmissionInDoubt SubmissionInProgress SubmissionRefused
        UnknownCharge UnknownCheckout UnknownEvent UnknownItem UnknownOperation UnknownOrder
        UnknownState WrongType""",
}
_MOVED: dict[str, str] = {name: home for home, names in _HOMES.items() for name in names.split()}


def __getattr__(name: str) -> object:
    """A name that moved to a subpackage, with a warning saying where; else AttributeError."""
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module 'order_lifecycle' has no attribute {name!r}")
    warnings.warn(
        f"order_lifecycle.{name} moved to order_lifecycle.{home}.{name}; import it from there",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(f"order_lifecycle.{home}"), name)

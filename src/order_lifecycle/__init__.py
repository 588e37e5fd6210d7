"""order-lifecycle: an order's life as the payment provider reports it, as a guarded machine.

Ask what an order may do next (:func:`allowed_events`, :func:`explain`), move it
(:func:`fire`), and let the machine refuse what the provider's rules forbid. Work on its
items and charges (:func:`fulfil`, :func:`cancel_items`, :func:`capture`, :func:`refund`,
:func:`return_items`, ...): each is guarded by the order's state, and the state follows
from the items and charges by one rule (:func:`implied_state`). Feed the provider's webhook
deliveries to an :class:`Inbox` (or parse one with :func:`parse_event` and reconcile it with
:func:`apply_event`): duplicates, stale and out-of-order events are recognised, and whatever
cannot be reconciled is kept for an operator.
"""

from __future__ import annotations

from importlib.metadata import version as _distribution_version

from ._charges import RefundRequest, cancel_charge, capture, refund
from ._checkout import begin_submission, record_no_response, record_response, settle
from ._derived import implied_state
from ._events import KNOWN_EVENT_TYPES, Event, OtherObject, parse_event
from ._fulfilment import (
    FulfilmentLine,
    FulfilmentPlan,
    FulfilmentRequest,
    cancel_items,
    fulfil,
    fulfilment_plan,
)
from ._inbox import Delivery, DeliveryResult, Inbox
from ._ledger import CheckoutLedger, MemoryCheckoutLedger
from ._lifecycle import (
    CHECKOUT_MACHINE,
    ORDER_MACHINE,
    allowed_events,
    can_fire,
    explain,
    fire,
)
from ._machine import Explanation, Machine, Step
from ._models import Charge, Checkout, Item, Order, SnapshotMark, SubmissionAttempt
from ._outcomes import (
    ChargeFailure,
    CheckoutNeedsChanges,
    InDoubt,
    OrderCreated,
    ProviderError,
    RejectionCause,
    SubmissionOutcome,
    SubmissionRejected,
)
from ._payload import ChargeSnapshot, ItemSnapshot, OrderSnapshot
from ._reconcile import EventOutcome, Reconciled, apply_event
from ._replay import replay
from ._returns import ReturnLine, ReturnRequest, return_items
from ._signature import SIGNATURE_HEADER, sign, verify_signature
from ._spec import EventSpec, GuardSpec, MachineSpec, StateSpec, TransitionSpec
from ._tables import CHECKOUT_SPEC, ORDER_SPEC
from ._vocabulary import (
    ChargeState,
    CheckoutEvent,
    CheckoutState,
    FraudState,
    ItemState,
    OrderEvent,
    OrderState,
)
from ._webhook_store import MemoryWebhookStore, WebhookStore
from .exceptions import (
    AmountTooLarge,
    CheckoutAlreadyConsumed,
    CheckoutRejected,
    CurrencyMismatch,
    DuplicateEvent,
    EventConflict,
    FulfillmentNotAllowed,
    GraphvizMissing,
    InvalidAmount,
    InvalidDefinition,
    InvalidEvent,
    InvalidHistory,
    InvalidInput,
    InvalidQuantity,
    InvalidResponse,
    InvalidSignature,
    OrderExists,
    OrderLifecycleError,
    QuantityTooLarge,
    RefundNotAllowed,
    ReturnNotAllowed,
    SchemaTooNew,
    StaleOrder,
    StoreCorrupt,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
    SubmissionInDoubt,
    SubmissionInProgress,
    SubmissionRefused,
    TransitionNotAllowed,
    UnknownCharge,
    UnknownCheckout,
    UnknownEvent,
    UnknownItem,
    UnknownOrder,
    UnknownState,
    WrongType,
)

__version__ = _distribution_version("order-lifecycle")

__all__ = [
    "CHECKOUT_MACHINE",
    "CHECKOUT_SPEC",
    "KNOWN_EVENT_TYPES",
    "ORDER_MACHINE",
    "ORDER_SPEC",
    "SIGNATURE_HEADER",
    "AmountTooLarge",
    "Charge",
    "ChargeFailure",
    "ChargeSnapshot",
    "ChargeState",
    "Checkout",
    "CheckoutAlreadyConsumed",
    "CheckoutEvent",
    "CheckoutLedger",
    "CheckoutNeedsChanges",
    "CheckoutRejected",
    "CheckoutState",
    "CurrencyMismatch",
    "Delivery",
    "DeliveryResult",
    "DuplicateEvent",
    "Event",
    "EventConflict",
    "EventOutcome",
    "EventSpec",
    "Explanation",
    "FraudState",
    "FulfillmentNotAllowed",
    "FulfilmentLine",
    "FulfilmentPlan",
    "FulfilmentRequest",
    "GraphvizMissing",
    "GuardSpec",
    "InDoubt",
    "Inbox",
    "InvalidAmount",
    "InvalidDefinition",
    "InvalidEvent",
    "InvalidHistory",
    "InvalidInput",
    "InvalidQuantity",
    "InvalidResponse",
    "InvalidSignature",
    "Item",
    "ItemSnapshot",
    "ItemState",
    "Machine",
    "MachineSpec",
    "MemoryCheckoutLedger",
    "MemoryWebhookStore",
    "Order",
    "OrderCreated",
    "OrderEvent",
    "OrderExists",
    "OrderLifecycleError",
    "OrderSnapshot",
    "OrderState",
    "OtherObject",
    "ProviderError",
    "QuantityTooLarge",
    "Reconciled",
    "RefundNotAllowed",
    "RefundRequest",
    "RejectionCause",
    "ReturnLine",
    "ReturnNotAllowed",
    "ReturnRequest",
    "SchemaTooNew",
    "SnapshotMark",
    "StaleOrder",
    "StateSpec",
    "Step",
    "StoreCorrupt",
    "StoreError",
    "StoreReadOnly",
    "StoreUnavailable",
    "SubmissionAttempt",
    "SubmissionInDoubt",
    "SubmissionInProgress",
    "SubmissionOutcome",
    "SubmissionRefused",
    "SubmissionRejected",
    "TransitionNotAllowed",
    "TransitionSpec",
    "UnknownCharge",
    "UnknownCheckout",
    "UnknownEvent",
    "UnknownItem",
    "UnknownOrder",
    "UnknownState",
    "WebhookStore",
    "WrongType",
    "__version__",
    "allowed_events",
    "apply_event",
    "begin_submission",
    "can_fire",
    "cancel_charge",
    "cancel_items",
    "capture",
    "explain",
    "fire",
    "fulfil",
    "fulfilment_plan",
    "implied_state",
    "parse_event",
    "record_no_response",
    "record_response",
    "refund",
    "replay",
    "return_items",
    "settle",
    "sign",
    "verify_signature",
]

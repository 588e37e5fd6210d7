"""order-lifecycle: an order's life as the payment provider reports it, as a guarded machine.

Ask what an order may do next (:func:`allowed_events`, :func:`explain`), move it
(:func:`fire`), and let the machine refuse what the provider's rules forbid.
"""

from __future__ import annotations

from importlib.metadata import version as _distribution_version

from ._checkout import begin_submission, record_no_response, record_response, settle
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
from ._models import Charge, Checkout, Item, Order, SubmissionAttempt
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
    CheckoutAlreadyConsumed,
    CheckoutRejected,
    DuplicateEvent,
    FulfillmentNotAllowed,
    GraphvizMissing,
    InvalidDefinition,
    InvalidHistory,
    InvalidInput,
    InvalidResponse,
    InvalidSignature,
    OrderExists,
    OrderLifecycleError,
    SchemaTooNew,
    StaleOrder,
    StoreCorrupt,
    StoreError,
    StoreUnavailable,
    SubmissionInDoubt,
    SubmissionInProgress,
    SubmissionRefused,
    TransitionNotAllowed,
    UnknownCheckout,
    UnknownEvent,
    UnknownOrder,
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
    "ChargeFailure",
    "ChargeState",
    "Checkout",
    "CheckoutAlreadyConsumed",
    "CheckoutEvent",
    "CheckoutLedger",
    "CheckoutNeedsChanges",
    "CheckoutRejected",
    "CheckoutState",
    "DuplicateEvent",
    "EventSpec",
    "Explanation",
    "FraudState",
    "FulfillmentNotAllowed",
    "GraphvizMissing",
    "GuardSpec",
    "InDoubt",
    "InvalidDefinition",
    "InvalidHistory",
    "InvalidInput",
    "InvalidResponse",
    "InvalidSignature",
    "Item",
    "Machine",
    "MachineSpec",
    "MemoryCheckoutLedger",
    "Order",
    "OrderCreated",
    "OrderEvent",
    "OrderExists",
    "OrderLifecycleError",
    "OrderState",
    "ProviderError",
    "RejectionCause",
    "SchemaTooNew",
    "StaleOrder",
    "StateSpec",
    "Step",
    "StoreCorrupt",
    "StoreError",
    "StoreUnavailable",
    "SubmissionAttempt",
    "SubmissionInDoubt",
    "SubmissionInProgress",
    "SubmissionOutcome",
    "SubmissionRefused",
    "SubmissionRejected",
    "TransitionNotAllowed",
    "TransitionSpec",
    "UnknownCheckout",
    "UnknownEvent",
    "UnknownOrder",
    "UnknownState",
    "WrongType",
    "__version__",
    "allowed_events",
    "begin_submission",
    "can_fire",
    "explain",
    "fire",
    "record_no_response",
    "record_response",
    "replay",
    "settle",
    "sign",
    "verify_signature",
]

"""Checkout consumption: a checkout becomes at most one order.

Start a submission (:func:`begin_submission`), record the provider's ``POST /orders``
response (:func:`record_response`, :func:`record_no_response`) as one typed
:data:`SubmissionOutcome`, and settle a submission in doubt (:func:`settle`).
"""

from __future__ import annotations

from ._checkout import begin_submission, record_no_response, record_response, settle
from ._ledger import CheckoutLedger, MemoryCheckoutLedger
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

__all__ = [
    "ChargeFailure",
    "CheckoutLedger",
    "CheckoutNeedsChanges",
    "InDoubt",
    "MemoryCheckoutLedger",
    "OrderCreated",
    "ProviderError",
    "RejectionCause",
    "SubmissionOutcome",
    "SubmissionRejected",
    "begin_submission",
    "record_no_response",
    "record_response",
    "settle",
]

"""Checkout consumption: a checkout becomes at most one order.

Start a submission (:func:`begin_submission`), record the provider's ``POST /orders``
response (:func:`record_response`, :func:`record_no_response`) as one typed
:data:`SubmissionOutcome`, and settle a submission in doubt (:func:`settle`). These work on
a :class:`~order_lifecycle.Checkout` in hand; a store
(:class:`~order_lifecycle.store.Store`) offers the same calls by checkout id, each one
atomic step, so that a checkout is consumed at most once across processes.
"""

from __future__ import annotations

from ._checkout import begin_submission, record_no_response, record_response, settle
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
    "CheckoutNeedsChanges",
    "InDoubt",
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

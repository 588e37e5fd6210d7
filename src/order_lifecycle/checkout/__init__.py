"""Checkout consumption: a checkout becomes at most one order.

Start a submission (:func:`begin_submission`), record the provider's ``POST /orders``
response (:func:`record_response`, :func:`record_no_response`) as one typed
:data:`SubmissionOutcome`, and settle a submission in doubt (:func:`settle`). These work on
a :class:`~order_lifecycle.Checkout` in hand. The same calls by checkout id, each one
atomic step, so that a checkout is consumed at most once across processes, are
:class:`CheckoutCalls`, written once over a small port every store implements
(:class:`CheckoutRecords`: one read, one conditional commit); a
:class:`~order_lifecycle.store.Store` offers them.
"""

from __future__ import annotations

from ._by_id import CheckoutCalls, CheckoutRecords
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
from ._responses import read_response

__all__ = [
    "ChargeFailure",
    "CheckoutCalls",
    "CheckoutNeedsChanges",
    "CheckoutRecords",
    "InDoubt",
    "OrderCreated",
    "ProviderError",
    "RejectionCause",
    "SubmissionOutcome",
    "SubmissionRejected",
    "begin_submission",
    "read_response",
    "record_no_response",
    "record_response",
    "settle",
]

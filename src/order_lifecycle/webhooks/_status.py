"""The HTTP status a webhook endpoint answers for each delivery (the table: see ``_results``).

A 2xx means the delivery is stored (now, or before); 401 and 413 that it was refused
unread (a bad signature, a body over ``max_body``: only a summary kept); 503 that the
store could not take it (the provider's redelivery will go in); 500 a bug.
"""

from __future__ import annotations

from order_lifecycle.exceptions import StoreError, WrongType

from ._results import HTTP_STATUSES, REFUSAL_STATUSES, SIGNATURE_STATUS, DeliveryResult

__all__ = ["HTTP_STATUSES", "REFUSAL_STATUSES", "SIGNATURE_STATUS", "error_status", "http_status"]

_STORE_FAILED, _BUG = 503, 500


def http_status(result: DeliveryResult) -> int:
    """The HTTP status to answer the provider with for ``result`` (its ``status_code``).

    Raises:
        WrongType: ``result`` is not a :class:`DeliveryResult`.

    """
    if not isinstance(result, DeliveryResult):
        raise WrongType("result", "a DeliveryResult (from Inbox.accept or receive)", result)
    return result.status_code


def error_status(error: BaseException) -> int:
    """The HTTP status to answer when ``Inbox.accept`` raised ``error``: 503 or 500.

    A :class:`StoreError` stored nothing and is worth the provider's retry (503: the
    store is unavailable, or the inbox's bounded lock wait ran out); anything else is a
    bug, answered 500 (the provider retries that too).

    Raises:
        WrongType: ``error`` is not an exception.

    """
    if not isinstance(error, BaseException):
        raise WrongType("error", "the exception Inbox.accept raised", error)
    return _STORE_FAILED if isinstance(error, StoreError) else _BUG

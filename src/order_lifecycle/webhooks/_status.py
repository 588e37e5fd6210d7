"""The HTTP status a webhook endpoint answers for each delivery outcome.

The provider counts any answer but a 2xx (a redirect too) as a failed delivery: it sends
the event again, with backoff, for about 72 hours in production, and disables an endpoint
that keeps failing. So an endpoint answers a non-2xx status only where a redelivery can
succeed, and a 2xx wherever the same bytes would come to the same end:

============  ======  ==========================================================
outcome       status  why
============  ======  ==========================================================
applied       200     done
duplicate     200     done before: a redelivery is expected, and changes nothing
stale         200     recorded; an older snapshot never will apply
unknown       202     kept for an operator; nothing the library reconciles
invalid       202     malformed or too large: kept; the same bytes stay invalid
(signature)   401     not signed by a current secret, or too old: kept as a
                      summary only, so a real event would be lost on a 2xx (a
                      secret rotated on one side only); a redelivery, once the
                      secrets agree, passes
conflict      409     kept; events come in no order, and a redelivery after the
                      event that makes it fit (a charge event before its order's
                      first event) applies
StoreError    503     nothing was committed; the same delivery will go in later
other errors  500     a bug: the framework's own answer
============  ======  ==========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from order_lifecycle.exceptions import StoreError, WrongType

from ._inbox import DeliveryResult
from ._reconcile import EventOutcome

__all__ = ["HTTP_STATUSES", "SIGNATURE_STATUS", "error_status", "http_status"]

HTTP_STATUSES: Mapping[EventOutcome, int] = MappingProxyType(
    {
        EventOutcome.APPLIED: 200,
        EventOutcome.DUPLICATE: 200,
        EventOutcome.STALE: 200,
        EventOutcome.UNKNOWN: 202,
        EventOutcome.INVALID: 202,
        EventOutcome.CONFLICT: 409,
    }
)
"""The status of each outcome; a delivery failing its signature check answers 401 instead."""

SIGNATURE_STATUS = 401
"""The status of a delivery refused for its signature (``DeliveryResult.refusal``)."""

_STORE_FAILED, _BUG = 503, 500


def http_status(result: DeliveryResult) -> int:
    """The HTTP status to answer the provider with for ``result`` (see the module's table).

    Raises:
        WrongType: ``result`` is not a :class:`DeliveryResult`.

    """
    if not isinstance(result, DeliveryResult):
        raise WrongType("result", "a DeliveryResult (from Inbox.receive)", result)
    if result.refusal == "signature":
        return SIGNATURE_STATUS
    return HTTP_STATUSES[result.outcome]


def error_status(error: BaseException) -> int:
    """The HTTP status to answer when ``Inbox.receive`` raised ``error``: 503 or 500.

    A :class:`StoreError` committed nothing and is worth the provider's retry (503);
    anything else is a bug, answered 500 (the provider retries that too).

    Raises:
        WrongType: ``error`` is not an exception.

    """
    if not isinstance(error, BaseException):
        raise WrongType("error", "the exception Inbox.receive raised", error)
    return _STORE_FAILED if isinstance(error, StoreError) else _BUG

"""The provider's webhooks: signatures, events, reconciliation and the inbox.

An :class:`Inbox` takes a batch of raw :class:`Delivery` values and answers one
:class:`DeliveryResult` each; underneath, :func:`verify_signature`, :func:`parse_event` and
:func:`apply_event` are usable on their own. :func:`http_status` says what an endpoint
answers the provider for each result; :func:`reconcile` applies an order the shop fetched
(``GET /orders``) by the path webhooks take.
"""

from __future__ import annotations

from ._events import KNOWN_EVENT_TYPES, Event, OtherObject, parse_event
from ._inbox import Delivery, DeliveryResult, Inbox
from ._reconcile import POLL_EVENT_TYPE, EventOutcome, Reconciled, apply_event, reconcile
from ._signature import SIGNATURE_HEADER, sign, verify_signature
from ._status import HTTP_STATUSES, SIGNATURE_STATUS, error_status, http_status

__all__ = [
    "HTTP_STATUSES",
    "KNOWN_EVENT_TYPES",
    "POLL_EVENT_TYPE",
    "SIGNATURE_HEADER",
    "SIGNATURE_STATUS",
    "Delivery",
    "DeliveryResult",
    "Event",
    "EventOutcome",
    "Inbox",
    "OtherObject",
    "Reconciled",
    "apply_event",
    "error_status",
    "http_status",
    "parse_event",
    "reconcile",
    "sign",
    "verify_signature",
]

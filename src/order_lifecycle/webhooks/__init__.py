"""The provider's webhooks: signatures, events, the accept-first inbox and its reconcilers.

An :class:`Inbox` stores each signed delivery as it arrives (:meth:`Inbox.accept`, the
request path: signature, envelope, one insert) and answers one :class:`DeliveryResult`
each; a :class:`Reconciler` then claims the stored deliveries order by order and applies
them (:meth:`Inbox.receive` does both at once). Underneath, :func:`verify_signature`,
:func:`parse_event` and :func:`apply_event` are usable on their own. :func:`http_status`
says what an endpoint answers the provider for each result; :func:`reconcile` applies an
order the shop fetched (``GET /orders``) by the path webhooks take.
"""

from __future__ import annotations

from ._events import KNOWN_EVENT_TYPES, Event, OtherObject, parse_event
from ._inbox import Delivery, DeliveryResult, Inbox
from ._inbox_store import DeliveryStatus, StoredDelivery
from ._reconcile import POLL_EVENT_TYPE, EventOutcome, Reconciled, apply_event, reconcile
from ._reconciler import FetchOrder, Reconciler, ReconcilerCounts
from ._signature import SIGNATURE_HEADER, sign, verify_signature
from ._status import (
    HTTP_STATUSES,
    REFUSAL_STATUSES,
    SIGNATURE_STATUS,
    error_status,
    http_status,
)

__all__ = [
    "HTTP_STATUSES",
    "KNOWN_EVENT_TYPES",
    "POLL_EVENT_TYPE",
    "REFUSAL_STATUSES",
    "SIGNATURE_HEADER",
    "SIGNATURE_STATUS",
    "Delivery",
    "DeliveryResult",
    "DeliveryStatus",
    "Event",
    "EventOutcome",
    "FetchOrder",
    "Inbox",
    "OtherObject",
    "Reconciled",
    "Reconciler",
    "ReconcilerCounts",
    "StoredDelivery",
    "apply_event",
    "error_status",
    "http_status",
    "parse_event",
    "reconcile",
    "sign",
    "verify_signature",
]

"""The provider's webhooks: signatures, events, the accept-first inbox and its reconcilers.

An :class:`Inbox` stores each signed delivery as it arrives (:meth:`Inbox.accept`, the
request path: signature, envelope, one insert) and answers one :class:`DeliveryResult`
each; a :class:`Reconciler` then claims the stored deliveries order by order and applies
them (:meth:`Inbox.receive` does both at once). Underneath, :func:`verify_signature`,
:func:`parse_event` and :func:`apply_event` are usable on their own. :func:`http_status`
says what an endpoint answers the provider for each result; :func:`reconcile` applies an
order the shop fetched (``GET /orders``) by the path webhooks take.

What the inbox and its reconcilers need of a store is declared here, as the port every
:class:`~order_lifecycle.store.Store` implements: :class:`InboxStore` (with its batch
calls, :class:`BatchStore`) and the values they trade in (:class:`Incoming`,
:class:`Claim`, :class:`SettledGroup`, :class:`OrderChange`, :class:`DeliveryToKeep`, ...).
"""

from __future__ import annotations

from ._events import KNOWN_EVENT_TYPES, Event, OtherObject, parse_event
from ._inbox import DEFAULT_MAX_BODY, Delivery, DeliveryResult, Inbox
from ._inbox_store import (
    GROUP_COMMITTED,
    OPEN_STATUSES,
    Claim,
    Delivered,
    DeliveryStatus,
    GroupResult,
    InboxStore,
    Incoming,
    SettledGroup,
    Settlement,
    StoredDelivery,
)
from ._reconcile import POLL_EVENT_TYPE, EventOutcome, Reconciled, apply_event, reconcile
from ._reconciler import CLAIMED_ORDERS, FetchOrder, Reconciler, ReconcilerCounts
from ._signature import SIGNATURE_HEADER, sign, verify_signature
from ._status import (
    HTTP_STATUSES,
    REFUSAL_STATUSES,
    SIGNATURE_STATUS,
    error_status,
    http_status,
)
from ._webhook_store import (
    COMMITTED,
    BatchStore,
    ChangeOutcome,
    ChangeResult,
    DeliveryToKeep,
    OrderChange,
)

__all__ = [
    "CLAIMED_ORDERS",
    "COMMITTED",
    "DEFAULT_MAX_BODY",
    "GROUP_COMMITTED",
    "HTTP_STATUSES",
    "KNOWN_EVENT_TYPES",
    "OPEN_STATUSES",
    "POLL_EVENT_TYPE",
    "REFUSAL_STATUSES",
    "SIGNATURE_HEADER",
    "SIGNATURE_STATUS",
    "BatchStore",
    "ChangeOutcome",
    "ChangeResult",
    "Claim",
    "Delivered",
    "Delivery",
    "DeliveryResult",
    "DeliveryStatus",
    "DeliveryToKeep",
    "Event",
    "EventOutcome",
    "FetchOrder",
    "GroupResult",
    "Inbox",
    "InboxStore",
    "Incoming",
    "OrderChange",
    "OtherObject",
    "Reconciled",
    "Reconciler",
    "ReconcilerCounts",
    "SettledGroup",
    "Settlement",
    "StoredDelivery",
    "apply_event",
    "error_status",
    "http_status",
    "parse_event",
    "reconcile",
    "sign",
    "verify_signature",
]

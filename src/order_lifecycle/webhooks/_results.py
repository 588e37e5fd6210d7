"""What the inbox answers for each delivery, and the HTTP status that answer is.

The provider counts any answer but a 2xx (a redirect too) as a failed delivery: it sends
the event again, with backoff, for about 72 hours in production, and disables an endpoint
that keeps failing. A 2xx therefore means one thing: the delivery is stored (now, or
before). A non-2xx is answered only where the delivery could not be stored and a
redelivery may be:

=================  ======  ======================================================
outcome            status  why
=================  ======  ======================================================
pending            202     stored; a reconciler applies it (``Inbox.accept``)
applied            200     stored and reconciled into its order (``receive``)
duplicate          200     stored before (a redelivery): nothing more to do
stale              200     stored; older than its order's snapshot, recorded
waiting            202     stored; it applies once its order (or an earlier event)
                           arrives: the inbox retries it, never the provider
unknown            202     stored; a type the order table does not model
invalid            202     signed but unreadable (not JSON, no event id) or
                           refused while reconciling: stored, with the reason;
                           the same bytes would never succeed
unknown_order      202     stored; its order was never seen: an operator's
(signature)        401     not signed by a current secret, or too old: only a
                           summary kept; a redelivery passes once the secrets agree
(too_large)        413     over ``max_body``: not read, only a summary kept; the
                           shop must raise the limit for it to go in
StoreError         503     not stored (store unavailable, a lock wait over the
                           inbox's bound); the redelivery goes in
other errors       500     a bug: the framework's own answer
=================  ======  ======================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from order_lifecycle.lifecycle import OrderEvent, OrderState, Step

from ._inbox_store import DeliveryStatus

__all__ = ["HTTP_STATUSES", "REFUSAL_STATUSES", "SIGNATURE_STATUS", "DeliveryResult"]

_DONE, _STORED = 200, 202

HTTP_STATUSES: Mapping[DeliveryStatus, int] = MappingProxyType(
    {
        DeliveryStatus.PENDING: _STORED,
        DeliveryStatus.APPLIED: _DONE,
        DeliveryStatus.DUPLICATE: _DONE,
        DeliveryStatus.STALE: _DONE,
        DeliveryStatus.WAITING: _STORED,
        DeliveryStatus.UNKNOWN: _STORED,
        DeliveryStatus.INVALID: _STORED,
        DeliveryStatus.UNKNOWN_ORDER: _STORED,
        DeliveryStatus.DISMISSED: _STORED,
    }
)
"""The status of each outcome of a stored delivery (every one a 2xx: it is stored)."""

SIGNATURE_STATUS = 401
"""The status of a delivery refused for its signature (``DeliveryResult.refusal``)."""

REFUSAL_STATUSES: Mapping[str, int] = MappingProxyType(
    {"signature": SIGNATURE_STATUS, "too_large": 413}
)
"""The status of a delivery refused unread, by :attr:`DeliveryResult.refusal`."""


@attrs.frozen
class DeliveryResult:
    """What became of one delivery: its outcome and reason, and what could be read of it.

    ``outcome`` is the delivery's status in the inbox (``pending`` from
    :meth:`~order_lifecycle.Inbox.accept`; what the reconciler made of it from
    :meth:`~order_lifecycle.Inbox.receive`). ``seq`` is where it is stored (``None`` for a
    duplicate, stored before, and for a delivery refused unread). ``steps`` are the steps
    it added to its order's history (for a new order, its whole history). ``refusal``
    says why a delivery was refused unread: ``"signature"`` or ``"too_large"`` (the keys
    of :attr:`Inbox.refused <order_lifecycle.Inbox.refused>`), else ``None``.
    """

    outcome: DeliveryStatus
    reason: str
    event_id: str | None = None
    event_type: str | None = None
    order_id: str | None = None
    steps: tuple[Step[OrderState, OrderEvent], ...] = ()
    refusal: str | None = None
    seq: int | None = None

    @property
    def status_code(self) -> int:
        """The HTTP status to answer the provider with (see the module's table)."""
        if self.refusal is not None:
            return REFUSAL_STATUSES[self.refusal]
        return HTTP_STATUSES[self.outcome]

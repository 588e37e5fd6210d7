r"""What the accept-first inbox and its reconcilers need of a store, and the values they trade in.

The inbox is one table (``ol_inbox``): a row per signed delivery, keyed by an increasing
``seq`` and unique by order and event id, holding the envelope the request path read
(event id, type, order id, the provider's ``createdTime``), when it arrived, its raw body,
and its :class:`DeliveryStatus` with a reason. The request path inserts rows
(:meth:`InboxStore.accept_deliveries`, one transaction per batch); a reconciler claims
the open rows of some orders (:meth:`InboxStore.claim_deliveries`, one read), decides in
Python, and writes the orders' changes and the rows' new statuses in one transaction
(:meth:`InboxStore.settle_deliveries`); then releases its claim. Declared here, below
the stores (``Store`` subclasses :class:`InboxStore`), as ``BatchStore`` is.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, Protocol, runtime_checkable

import attrs

from order_lifecycle.models import Order

from ._events import Event
from ._webhook_store import BatchStore, ChangeOutcome, DeliveryToKeep, OrderChange

__all__ = [
    "GROUP_COMMITTED",
    "OPEN_STATUSES",
    "Claim",
    "Delivered",
    "DeliveryStatus",
    "GroupResult",
    "InboxStore",
    "Incoming",
    "SettledGroup",
    "Settlement",
    "StoredDelivery",
]


class DeliveryStatus(StrEnum):
    """Where a stored delivery stands: the ``status`` column of the inbox."""

    PENDING = "pending"
    """Stored; no reconciler has looked at it yet (or an operator fed it again)."""
    APPLIED = "applied"
    """Reconciled into its order."""
    DUPLICATE = "duplicate"
    """Its event was applied already (by another path, or another delivery of it)."""
    STALE = "stale"
    """Older than the snapshot its order holds: recorded, not applied."""
    WAITING = "waiting"
    """Cannot apply yet (its order is not known yet, an earlier event is missing): tried
    again when a newer delivery of its order arrives, and with backoff."""
    INVALID = "invalid"
    """Malformed, or refused while reconciling (poison): kept, with the reason."""
    UNKNOWN = "unknown"
    """A type (or an object) the order table does not model: kept and ignored."""
    UNKNOWN_ORDER = "unknown_order"
    """Its order was never seen within the reconciler's wait (and no ``fetch_order`` found
    it): listed for an operator; tried again if a delivery of its order arrives."""
    DISMISSED = "dismissed"
    """An operator set it aside."""


OPEN_STATUSES = frozenset(
    {DeliveryStatus.PENDING, DeliveryStatus.WAITING, DeliveryStatus.UNKNOWN_ORDER}
)
"""The statuses a reconciler may still change: a claimed order's rows in them are read."""


class Incoming(NamedTuple):
    """A delivery to store, as the request path read its envelope (the ``INSERT``'s values).

    ``received_at`` is fixed-width UTC text (the stores' stamp); ``status`` is ``pending``,
    or ``invalid`` (with a ``reason``) when the envelope could not be read.
    """

    event_id: str
    event_type: str | None
    order_id: str | None
    created_time: str | None
    received_at: str
    status: str
    reason: str | None
    body: bytes


@attrs.frozen(repr=False)
class StoredDelivery:
    """One row of the inbox: a signed delivery, what its envelope said, and where it stands.

    ``seq`` numbers the rows in the order they were stored. ``attempts`` counts the
    reconciler's tries of a waiting delivery; ``due_at`` is when a waiting one is tried
    again (unless a newer delivery of its order comes first).
    """

    seq: int
    event_id: str
    event_type: str | None
    order_id: str | None
    created_time: str | None
    received_at: datetime
    status: DeliveryStatus
    reason: str | None
    attempts: int
    due_at: datetime | None
    body: bytes

    def __repr__(self) -> str:
        return (
            f"<StoredDelivery(seq={self.seq}, event_id={self.event_id!r}, "
            f"status={self.status.value!r}, order_id={self.order_id!r})>"
        )


@attrs.frozen
class Claim:
    """What a reconciler claimed: some orders, their open deliveries, what it needs to decide.

    ``orders`` are held by this claim until it is released (no other claim takes them);
    ``deliveries`` are their open rows (and rows naming no order), by ``seq``; ``known``
    holds the stored orders among them with their versions (independent copies);
    ``applied`` maps those deliveries' event ids already applied to their order's id.
    """

    token: int
    orders: tuple[str, ...]
    deliveries: tuple[StoredDelivery, ...]
    known: Mapping[str, tuple[int, Order]]
    applied: Mapping[str, str]


class Settlement(NamedTuple):
    """A reconciler's decision on one delivery: its new status, written if it still is ``was``."""

    seq: int
    was: str
    status: str
    reason: str | None
    attempts: int
    due_at: str | None


class Delivered(NamedTuple):
    """A delivery the store's outbox takes (:meth:`InboxStore.delivers`), as reconciled.

    Its parsed ``event`` (naming a stored order) and the ``body`` it came in.
    """

    event: Event
    body: bytes


@attrs.frozen
class SettledGroup:
    r"""What a reconciler writes for one order: its changes, in turn, and its deliveries' statuses.

    ``order_id`` is ``None`` for deliveries naming no order (they change none).
    ``changes`` are :class:`OrderChange`\ s, each made on the order the one before gave.
    ``delivered`` are the deliveries the store's outbox takes (subscriptions, refund
    settlements), written after the changes.
    """

    order_id: str | None
    changes: tuple[OrderChange, ...]
    settlements: tuple[Settlement, ...]
    delivered: tuple[Delivered, ...] = ()


@attrs.frozen
class GroupResult:
    """What became of one :class:`SettledGroup`: committed, or nothing of it written.

    ``LOST``: another writer changed its order or settled one of its deliveries first.
    ``REFUSED``: the store may not write change number ``change`` (the reason says why).
    """

    outcome: ChangeOutcome
    reason: str = ""
    change: int | None = None

    @property
    def committed(self) -> bool:
        """Whether the group committed."""
        return self.outcome is ChangeOutcome.COMMITTED


GROUP_COMMITTED = GroupResult(ChangeOutcome.COMMITTED)
"""The result of a group that committed."""


@runtime_checkable
class InboxStore(BatchStore, Protocol):
    """What the inbox and its reconcilers need of a store; every ``Store`` has it.

    Declared here, below the stores, so that the inbox can name it; ``Store`` subclasses
    it and implements it.
    """

    @abstractmethod
    def accept_deliveries(
        self, deliveries: Sequence[Incoming], keep: Sequence[DeliveryToKeep] = ()
    ) -> list[int | None]:
        """Store ``deliveries`` in one transaction, each unless its order and event id are stored.

        The answer holds, for each delivery, the ``seq`` it was stored under, or ``None``
        when a delivery of its order (or of none) with its event id was stored before (a
        duplicate; nothing written for it). The
        summaries in ``keep`` (deliveries refused unread) are kept in the same transaction,
        within the store's cap (:meth:`Store.keep_delivery`). The transaction waits a
        bounded time for locks (well under the provider's timeout).

        Raises:
            WrongType: a delivery is not an :class:`Incoming` of the right types.
            InvalidInput: a text field no database can store; nothing written.
            StoreError: the store failed or its lock wait ran out; nothing written.

        """

    @abstractmethod
    def claim_deliveries(
        self, *, limit: int, now: datetime, only: Iterable[int] | None = None
    ) -> Claim:
        """Claim up to ``limit`` orders with deliveries to reconcile; one read.

        Due: an order with a pending delivery (oldest first), or a waiting one whose
        ``due_at`` is past ``now``; or, with ``only``, the orders of those deliveries.
        Orders another claim holds are skipped (PostgreSQL: another process's too, by
        advisory locks taken without waiting). Release the claim with
        :meth:`release_claim`, written or not.

        Raises:
            InvalidInput: a limit not from 1 to 10,000, or ``now`` not an aware datetime.
            StoreError: the store failed; nothing claimed.

        """

    @abstractmethod
    def settle_deliveries(self, groups: Sequence[SettledGroup]) -> list[GroupResult]:
        """Write each group's changes and its deliveries' statuses in one transaction.

        A group is written whole or not at all: not when another writer changed its order
        or settled one of its deliveries first (``LOST``), or when a change may not be
        written (``REFUSED``); the other groups are written all the same. Each change also
        writes the actions it asks for, as every write of an order does.

        Raises:
            WrongType: a group is not a :class:`SettledGroup`; nothing written.
            StoreError: the store failed; nothing written.

        """

    @abstractmethod
    def release_claim(self, claim: Claim) -> None:
        """Let other claims take the claim's orders again."""

    def delivers(self, event_type: str) -> bool:  # noqa: ARG002 (a store's policy reads it)
        """Whether the store's outbox takes deliveries of ``event_type`` (none by default).

        A store takes a type its shop subscribed to, or one that settles an action: a
        reconciler hands them over in :attr:`SettledGroup.delivered`, rather than keeping
        a type the table does not model as ``unknown``.
        """
        return False

    @abstractmethod
    def get_delivery(self, seq: int) -> StoredDelivery:
        """The inbox's delivery number ``seq``.

        Raises:
            UnknownDelivery: the inbox holds no delivery ``seq``.

        """

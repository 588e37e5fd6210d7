r"""What the webhook inbox needs of a store: the batch contract, and the older one in memory.

:class:`BatchStore` is what :class:`~order_lifecycle.Inbox` uses: one read of the orders a
batch names, one of its applied event ids, and one commit of its :class:`OrderChange`\ s
and kept deliveries (every :class:`~order_lifecycle.store.Store` is one). The values it
trades in live here, below the stores. :class:`WebhookStore` is the older protocol (one
order, one event id, one save at a time), which the inbox still takes;
:class:`MemoryWebhookStore` is its reference, in memory.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import attrs

from order_lifecycle.exceptions import InvalidInput, WrongType
from order_lifecycle.models._models import Order

from ._kept import DEFAULT_MAX_KEPT_BYTES, check_cap, kept_cost, summarise

__all__ = [
    "COMMITTED",
    "BatchStore",
    "ChangeOutcome",
    "ChangeResult",
    "DeliveryToKeep",
    "Kept",
    "MemoryWebhookStore",
    "OrderChange",
    "WebhookStore",
]


@runtime_checkable
class WebhookStore(Protocol):
    """Where the inbox finds orders and records what it did with each delivery.

    The contract:

    - :meth:`save` stores the order (new or changed) **and** records the event id as
      applied to it, in one transaction: both or neither. A redelivery of that event is
      then a duplicate, and an order never holds an event's effect without its id.
    - Reads give copies: changing what :meth:`get_order` returned changes nothing stored.
    - A store shared by several processes must make :meth:`save` conditional: refuse (by
      raising) when the order changed since it was read or the event id was recorded
      meanwhile. The inbox lets that error through; nothing of that delivery was stored,
      and the provider's redelivery (or a second call) reconciles it afresh.
    """

    def get_order(self, order_id: str) -> Order | None:
        """The stored order with this id, as a copy; ``None`` if there is none."""
        ...

    def order_of_event(self, event_id: str) -> str | None:
        """The id of the order the event was recorded for; ``None`` if never recorded."""
        ...

    def save(self, order: Order, event_id: str) -> None:
        """Store ``order`` and record ``event_id`` as applied to it, atomically."""
        ...

    def keep(
        self,
        raw: bytes,
        reason: str,
        *,
        event_id: str | None = None,
        order_id: str | None = None,
        summary: bool = False,
    ) -> None:
        """Keep a delivery for an operator: its raw bytes, why, and what could be read.

        With ``summary`` (a delivery failing its signature check, or too large), keep only
        its first bytes, its size and its SHA-256. A store should cap what it keeps in all,
        and past its cap count deliveries instead of keeping them.
        """
        ...


def _version(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(f"OrderChange.version must be an int of 0 or more, got {value!r}.")


@attrs.frozen
class OrderChange:
    """One order to write: new (``base`` ``None``, ``version`` 0), or ``base`` changed.

    ``base`` is the order as read (from :meth:`~order_lifecycle.store.Store.read_orders`, or
    the ``order`` of an earlier change in the same batch) at ``version``; ``order`` is it
    changed, its history ``base``'s with steps appended. ``event_id``, when given, is
    recorded as applied to the order together with it.
    """

    order: Order
    base: Order | None = None
    version: int = attrs.field(default=0, validator=_version)
    event_id: str | None = None

    @property
    def order_id(self) -> str:
        """The id of the order changed."""
        return self.order.id


class ChangeOutcome(StrEnum):
    """What became of one change of a batch."""

    COMMITTED = "committed"
    LOST = "lost"
    """Another writer got there first (version, order, or event id); nothing written."""
    REFUSED = "refused"
    """The change is not one the store may write (the reason says why); nothing written."""


@attrs.frozen
class ChangeResult:
    """The outcome of one change, with a reason unless it committed."""

    outcome: ChangeOutcome
    reason: str = ""

    @property
    def committed(self) -> bool:
        """Whether the change committed."""
        return self.outcome is ChangeOutcome.COMMITTED


COMMITTED = ChangeResult(ChangeOutcome.COMMITTED)
"""The result of a change that committed."""


@attrs.frozen
class DeliveryToKeep:
    """A delivery to keep for an operator, as :meth:`Store.keep_delivery` takes it."""

    raw: bytes
    reason: str
    event_id: str | None = None
    order_id: str | None = None
    at: datetime | None = None
    summary: bool = False


@runtime_checkable
class BatchStore(Protocol):
    """What :class:`~order_lifecycle.Inbox` needs of a store: one read of each kind, one commit.

    Every :class:`~order_lifecycle.store.Store` is one (see
    :meth:`~order_lifecycle.store.Store.commit_changes` for the contract).
    """

    def read_orders(self, order_ids: Iterable[str]) -> dict[str, tuple[int, Order]]:
        """The stored orders among ``order_ids``, each with its version, as copies."""
        ...

    def events_applied(self, event_ids: Iterable[str]) -> dict[str, str]:
        """Which of ``event_ids`` were applied, each with the id of its order."""
        ...

    def commit_changes(
        self, changes: Sequence[OrderChange], keep: Sequence[DeliveryToKeep] = ()
    ) -> list[ChangeResult]:
        """Commit the changes, each alone; keep the deliveries if every change committed."""
        ...


@attrs.frozen
class Kept:
    """A delivery kept by :class:`MemoryWebhookStore`: its bytes, reason, ids if read.

    ``raw`` is all of the delivery, or only its first 256 bytes when :attr:`summary`;
    ``size`` and ``sha256`` (hex) are always the whole delivery's.
    """

    raw: bytes
    reason: str
    event_id: str | None = None
    order_id: str | None = None
    size: int = attrs.field(default=attrs.Factory(lambda self: len(self.raw), takes_self=True))
    sha256: str = attrs.field(
        default=attrs.Factory(lambda self: hashlib.sha256(self.raw).hexdigest(), takes_self=True)
    )

    @property
    def summary(self) -> bool:
        """Whether ``raw`` is only the start of the delivery."""
        return len(self.raw) < self.size


class MemoryWebhookStore:
    """The reference :class:`WebhookStore`, in memory and thread-safe; orders copied in and out.

    ``orders`` seeds it with orders known already (created from ``POST /orders`` 201s).
    Kept deliveries are charged their kept bytes, reason and ids (and 64 bytes a row);
    past ``max_kept_bytes`` in all (64 MiB) a delivery is counted in :attr:`not_kept`
    instead of kept.
    """

    def __init__(
        self, orders: Iterable[Order] = (), *, max_kept_bytes: int = DEFAULT_MAX_KEPT_BYTES
    ) -> None:
        self._lock = threading.Lock()
        self._orders = {order.id: order.copy() for order in orders}
        self._events: dict[str, str] = {}
        self._kept: list[Kept] = []
        self.max_kept_bytes = check_cap(max_kept_bytes)
        self._kept_bytes = 0
        self._not_kept = 0

    def __repr__(self) -> str:
        return (
            f"<MemoryWebhookStore(num_orders={len(self._orders)}, "
            f"num_events={len(self._events)}, num_kept={len(self._kept)})>"
        )

    def get_order(self, order_id: str) -> Order | None:
        """The stored order with this id, as a copy; ``None`` if there is none."""
        with self._lock:
            order = self._orders.get(order_id)
            return None if order is None else order.copy()

    def order_of_event(self, event_id: str) -> str | None:
        """The id of the order the event was recorded for; ``None`` if never recorded."""
        with self._lock:
            return self._events.get(event_id)

    def save(self, order: Order, event_id: str) -> None:
        """Store ``order`` and record ``event_id`` as applied to it, together.

        Raises:
            InvalidInput: ``event_id`` was recorded for another order; nothing stored.
            WrongType: ``order`` is not an Order.

        """
        if not isinstance(order, Order):
            raise WrongType("order", "an Order", order)
        with self._lock:
            recorded = self._events.get(event_id, order.id)
            if recorded != order.id:
                raise InvalidInput(
                    f"event {event_id!r} was recorded for order {recorded!r}, not {order.id!r}."
                )
            self._orders[order.id] = order.copy()
            self._events[event_id] = order.id

    def keep(
        self,
        raw: bytes,
        reason: str,
        *,
        event_id: str | None = None,
        order_id: str | None = None,
        summary: bool = False,
    ) -> None:
        """Keep a delivery (or its summary) for an operator, or count it past the cap."""
        kept = summarise(bytes(raw), summary=summary)
        cost = kept_cost(kept.raw, reason, event_id, order_id)
        with self._lock:
            if self._kept_bytes + cost > self.max_kept_bytes:
                self._not_kept += 1
                return
            self._kept_bytes += cost
            self._kept.append(Kept(kept.raw, reason, event_id, order_id, kept.size, kept.sha256))

    @property
    def orders(self) -> dict[str, Order]:
        """Every stored order by id, as copies."""
        with self._lock:
            return {order_id: order.copy() for order_id, order in self._orders.items()}

    @property
    def event_ids(self) -> dict[str, str]:
        """Every recorded event id, with the order it was recorded for."""
        with self._lock:
            return dict(self._events)

    @property
    def kept(self) -> list[Kept]:
        """Every kept delivery, oldest first."""
        with self._lock:
            return list(self._kept)

    @property
    def kept_bytes(self) -> int:
        """What the kept deliveries are charged, in all."""
        with self._lock:
            return self._kept_bytes

    @property
    def not_kept(self) -> int:
        """How many deliveries were counted but not kept, ``max_kept_bytes`` being reached."""
        with self._lock:
            return self._not_kept

"""Deprecated: :class:`~order_lifecycle.Inbox` takes a :class:`Store` directly.

:class:`StoreWebhooks` is kept for code written before: an inbox given one uses its store's
batch methods, exactly as if given the store.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Sequence

import attrs

from order_lifecycle.exceptions import InvalidInput, StaleOrder, UnknownOrder
from order_lifecycle.models._models import Order

from ._base import Store
from ._batch import ChangeResult, DeliveryToKeep, OrderChange

__all__ = ["StoreWebhooks"]

_NOT_READ = object()


class StoreWebhooks:
    """Deprecated (give the :class:`Store` to the inbox): a ``WebhookStore`` over a store.

    ``save`` writes in one ``update_order`` transaction, and only if the stored order still
    equals the copy ``get_order`` handed out; otherwise it raises :class:`StaleOrder` and
    writes nothing (the provider's redelivery, or a second call, reconciles afresh). With
    the store's own version check, no update is lost between the inbox's read and its write,
    and the event id commits with the order or not at all. What each thread read is kept
    per thread, so threads may share one instance.

        inbox = Inbox(StoreWebhooks(open_store("orders.db")), secrets=["whsec_..."])
    """

    def __init__(self, store: Store) -> None:
        warnings.warn(
            "StoreWebhooks is deprecated: give the Store to the Inbox, Inbox(store, ...).",
            DeprecationWarning,
            stacklevel=2,
        )
        self.store = store
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"<StoreWebhooks({self.store!r})>"

    def _reads(self) -> dict[str, Order | None]:
        reads: dict[str, Order | None] | None = getattr(self._local, "reads", None)
        if reads is None:
            reads = self._local.reads = {}
        return reads

    def get_order(self, order_id: str) -> Order | None:
        """The stored order, as a copy; ``None`` if there is none. Remembered for ``save``."""
        try:
            order: Order | None = self.store.get_order(order_id)
        except UnknownOrder:
            order = None
        self._reads()[order_id] = None if order is None else order.copy()
        return order

    def order_of_event(self, event_id: str) -> str | None:
        """The id of the order the event was applied to; ``None`` if it never was."""
        return self.store.order_of_event(event_id)

    def save(self, order: Order, event_id: str) -> None:
        """Store ``order`` with ``event_id``, atomically, if nothing changed since it was read.

        Raises:
            StaleOrder: another writer changed the order since ``get_order``; nothing written.
            OrderExists: another writer created it meanwhile; nothing written.
            DuplicateEvent: another writer applied the event meanwhile; nothing written.
            InvalidInput: ``order`` was not read through ``get_order`` first.

        """
        read = self._reads().pop(order.id, _NOT_READ)
        if read is _NOT_READ:
            raise InvalidInput(f"order {order.id!r} must be read with get_order before save.")
        if read is None:
            self.store.create_order(order, event_id=event_id)
            return

        def adopt(stored: Order) -> None:
            if stored != read:
                raise StaleOrder(order.id)
            for field in attrs.fields(Order):
                setattr(stored, field.name, getattr(order, field.name))

        self.store.update_order(order.id, adopt, event_id=event_id)

    def read_orders(self, order_ids: Iterable[str]) -> dict[str, tuple[int, Order]]:
        """The store's :meth:`~Store.read_orders`: the inbox uses the store's batch path."""
        return self.store.read_orders(order_ids)

    def events_applied(self, event_ids: Iterable[str]) -> dict[str, str]:
        """The store's :meth:`~Store.events_applied`."""
        return self.store.events_applied(event_ids)

    def commit_changes(
        self, changes: Sequence[OrderChange], keep: Sequence[DeliveryToKeep] = ()
    ) -> list[ChangeResult]:
        """The store's :meth:`~Store.commit_changes`."""
        return self.store.commit_changes(changes, keep)

    def keep(
        self,
        raw: bytes,
        reason: str,
        *,
        event_id: str | None = None,
        order_id: str | None = None,
        summary: bool = False,
    ) -> None:
        """Keep a delivery (or its summary) in the store, or count it past the store's cap.

        The cap is the store's :attr:`~order_lifecycle.store.Store.max_kept_bytes`.
        """
        self.store.keep_delivery(raw, reason, event_id=event_id, order_id=order_id, summary=summary)

"""The database stores' identity map: decoded orders, keyed by the row they were read from.

Reading an order back means decoding its row and every one of its history rows; writing
one means encoding it. Both grow with the history. A store instead keeps the orders it
last read or wrote, each with its row as the database holds it (version, columns, body):
a read whose row is the one cached uses the cached order without reading its history, and
an update appends only its new steps. A row that differs (another connection committed, a
newer version) is read again, whole. The cache holds at most :attr:`OrderCache.size`
orders, least recently used dropped first.

Its orders are its own: it hands out copies and keeps copies (:meth:`~order_lifecycle.
Order.copy`, cheap: every part but the history list is frozen), both made under its lock,
so no caller ever holds an object the cache holds. A committed change of a cached order
is not copied whole: the cached order takes the change's new steps (appended to its own
history list) and its frozen parts, in place. So a delivery makes no new long list that
outlives it, and the garbage collector's young collections never walk a long history.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import attrs

from order_lifecycle.lifecycle import History, shared_prefix
from order_lifecycle.models import Order

__all__ = ["DEFAULT_CACHED_ORDERS", "OrderCache"]

DEFAULT_CACHED_ORDERS = 10_000
"""How many decoded orders a database store keeps, unless told otherwise."""

Row = tuple[Any, ...]

# Every field but the history: frozen values (str, enums, tuples of frozen values), shared.
_PARTS = tuple(field.name for field in attrs.fields(Order) if field.name != "history")


class OrderCache:
    """Decoded orders by id, each with the row it matches; bounded, least recent out."""

    def __init__(self, size: int = DEFAULT_CACHED_ORDERS) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[Row, Order]] = OrderedDict()

    def __repr__(self) -> str:
        return f"<OrderCache(num_orders={len(self._entries)}, size={self.size})>"

    def has(self, order_id: str, row: Row) -> bool:
        """Whether the order is cached from exactly ``row``."""
        with self._lock:
            entry = self._entries.get(order_id)
            return entry is not None and entry[0] == row

    def get(self, order_id: str, row: Row) -> Order | None:
        """A copy of the cached order, if it was cached from exactly ``row``; else ``None``."""
        with self._lock:
            entry = self._entries.get(order_id)
            if entry is None or entry[0] != row:
                return None
            self._entries.move_to_end(order_id)
            return entry[1].copy()

    def put(self, order_id: str, row: Row, order: Order) -> None:
        """Cache what ``row`` holds, ``order`` (a copy of it: the caller keeps ``order``).

        When the order cached is the one ``order`` changed (``row`` is one version on, and
        ``order``'s history its steps and more), the cached order takes ``order``'s new
        steps and its parts in place instead: no list as long as the history is made.
        """
        with self._lock:
            entry = self._entries.get(order_id)
            if entry is None or not _advanced(entry, row, order):
                self._enter(order_id, row, order.copy())  # its history a History
            else:
                self._enter(order_id, row, entry[1])

    def keep(self, order_id: str, row: Row, order: Order) -> Order:
        """Cache ``order`` itself (just decoded: no one else holds it) as ``row``; a copy of it.

        Its history is kept as a :class:`~order_lifecycle.lifecycle.History`: the copies
        handed out share the index a long one keeps.
        """
        if type(order.history) is not History:  # a decoded order's list
            order.history = History(order.history)
        with self._lock:
            self._enter(order_id, row, order)
            return order.copy()

    def drop(self, order_id: str) -> None:
        """Forget the order (its row changed in a way not known here)."""
        with self._lock:
            self._entries.pop(order_id, None)

    def _enter(self, order_id: str, row: Row, order: Order) -> None:
        """Under the lock: ``order`` cached as ``row``, the least recent dropped past the size."""
        self._entries[order_id] = (row, order)
        self._entries.move_to_end(order_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


def _advanced(entry: tuple[Row, Order], row: Row, order: Order) -> bool:
    """Whether the cached order was moved on to ``order`` (one version on, steps appended)."""
    was, cached = entry
    if type(cached) is not Order or type(order) is not Order or row[0] != was[0] + 1:
        return False
    history, known = order.history, cached.history
    size = len(known)
    if order.id != cached.id or len(history) < size:
        return False
    # The steps a copy shares with its source are not compared (a long history's).
    same = shared_prefix(history, known)
    if history[same:size] != known[same:]:
        return False
    known += history[size:]
    for name in _PARTS:
        object.__setattr__(cached, name, getattr(order, name))
    return True

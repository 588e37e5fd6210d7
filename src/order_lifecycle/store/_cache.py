"""The database stores' identity map: decoded orders, keyed by the row they were read from.

Reading an order back means decoding its row and every one of its history rows; writing
one means encoding it. Both grow with the history. A store instead keeps the orders it
last read or wrote, each with its row as the database holds it (version, columns, body):
a read whose row is the one cached uses the cached order without reading its history, and
an update appends only its new steps. A row that differs (another connection committed, a
newer version) is read again, whole. The cache holds at most :attr:`OrderCache.size`
orders, least recently used dropped first, and never hands out its own objects: callers
copy what they get (:meth:`~order_lifecycle.Order.copy`, cheap: every part but the
history list is frozen).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from order_lifecycle.lifecycle import History
from order_lifecycle.models import Order

__all__ = ["DEFAULT_CACHED_ORDERS", "OrderCache"]

DEFAULT_CACHED_ORDERS = 10_000
"""How many decoded orders a database store keeps, unless told otherwise."""

Row = tuple[Any, ...]


class OrderCache:
    """Decoded orders by id, each with the row it matches; bounded, least recent out."""

    def __init__(self, size: int = DEFAULT_CACHED_ORDERS) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[Row, Order]] = OrderedDict()

    def __repr__(self) -> str:
        return f"<OrderCache(num_orders={len(self._entries)}, size={self.size})>"

    def get(self, order_id: str, row: Row) -> Order | None:
        """The cached order, if it was cached from exactly ``row``; else ``None``."""
        with self._lock:
            entry = self._entries.get(order_id)
            if entry is None or entry[0] != row:
                return None
            self._entries.move_to_end(order_id)
            return entry[1]

    def put(self, order_id: str, row: Row, order: Order) -> None:
        """Cache ``order`` (not to be changed afterwards) as what ``row`` holds.

        Its history is kept as a :class:`~order_lifecycle.lifecycle.History`: the copies
        handed out share the index a long one keeps.
        """
        if type(order.history) is not History:  # a decoded order's list
            order.history = History(order.history)
        with self._lock:
            self._entries[order_id] = (row, order)
            self._entries.move_to_end(order_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, order_id: str) -> None:
        """Forget the order (its row changed in a way not known here)."""
        with self._lock:
            self._entries.pop(order_id, None)

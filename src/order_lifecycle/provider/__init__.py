"""The provider's order and charge objects, read into snapshots.

An :class:`OrderSnapshot` (with its :class:`ItemSnapshot` and :class:`ChargeSnapshot` values)
is what the provider said an order was at one moment; webhooks and ``POST /orders``
responses are read into one, and so are the orders a shop fetches: :func:`parse_order`
reads a ``GET /orders/{id}`` body, :func:`parse_order_lookup` a lookup by checkout id.
"""

from __future__ import annotations

from ._order_body import parse_order, parse_order_lookup
from ._payload import ChargeSnapshot, ItemSnapshot, OrderSnapshot

__all__ = [
    "ChargeSnapshot",
    "ItemSnapshot",
    "OrderSnapshot",
    "parse_order",
    "parse_order_lookup",
]

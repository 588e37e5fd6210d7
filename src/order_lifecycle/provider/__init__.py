"""The provider's order and charge objects, read into snapshots.

An :class:`OrderSnapshot` (with its :class:`ItemSnapshot` and :class:`ChargeSnapshot` values)
is what the provider said an order was at one moment; webhooks and ``POST /orders``
responses are read into one.
"""

from __future__ import annotations

from ._payload import ChargeSnapshot, ItemSnapshot, OrderSnapshot

__all__ = [
    "ChargeSnapshot",
    "ItemSnapshot",
    "OrderSnapshot",
]

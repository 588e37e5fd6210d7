"""The provider's order and charge objects, read into snapshots.

An :class:`OrderSnapshot` (with its :class:`ItemSnapshot` and :class:`ChargeSnapshot` values)
is what the provider said an order was at one moment; webhooks and ``POST /orders``
responses are read into one, and so are the orders a shop fetches: :func:`parse_order`
reads a ``GET /orders/{id}`` body, :func:`parse_order_lookup` a lookup by checkout id.
"""

from __future__ import annotations

from ._order_body import parse_order, parse_order_lookup
from ._payload import (
    AMOUNT_LIMIT,
    ChargeSnapshot,
    ItemSnapshot,
    OrderSnapshot,
    read_charge_object,
    read_order,
)
from ._typed import (
    Keys,
    TypedEnvelope,
    TypedEvent,
    typed_envelope,
    typed_event,
    typed_keys,
    typed_order,
)

__all__ = [
    "AMOUNT_LIMIT",
    "ChargeSnapshot",
    "ItemSnapshot",
    "Keys",
    "OrderSnapshot",
    "TypedEnvelope",
    "TypedEvent",
    "parse_order",
    "parse_order_lookup",
    "read_charge_object",
    "read_order",
    "typed_envelope",
    "typed_event",
    "typed_keys",
    "typed_order",
]

"""Returning fulfilled units (DESIGN 1.2), where the order table allows ``return_items``.

Never before acceptance, never during a dispute.
When every fulfilled unit has come back (and nothing is left open) the order is returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from order_lifecycle.exceptions import QuantityTooLarge
from order_lifecycle.lifecycle import Operation
from order_lifecycle.models import Order

from ._apply import commit, quantities, require

__all__ = ["ReturnLine", "ReturnRequest", "return_items"]


@attrs.frozen
class ReturnLine:
    """One ``items[]`` entry of a return: units of an item coming back."""

    item_id: str
    quantity: int

    def as_json(self) -> dict[str, Any]:
        """The provider's ``{"itemId", "quantity"}``."""
        return {"itemId": self.item_id, "quantity": self.quantity}


@attrs.frozen
class ReturnRequest:
    """The body of the provider's ``POST /returns`` for what :func:`return_items` recorded."""

    order_id: str
    items: tuple[ReturnLine, ...]

    def as_json(self) -> dict[str, Any]:
        """``{"orderId", "items": [...]}``."""
        return {"orderId": self.order_id, "items": [line.as_json() for line in self.items]}


def return_items(
    order: Order, items: Mapping[str, int], *, at: datetime | None = None
) -> ReturnRequest:
    """Record ``items`` (item id -> units) as returned, and return the request reporting it.

    The last fulfilled unit returned fires ``return``; the step lands in the order's
    history at ``at``.

    Raises:
        ReturnNotAllowed: the order is not accepted, fulfilled or complete (for instance,
            it is in dispute); the message says why.
        QuantityTooLarge: more units than were fulfilled and not returned yet.
        UnknownItem, InvalidQuantity, WrongType: bad input, naming the item and value.

    """
    wanted = quantities(order, items)
    require(order, Operation.RETURN_ITEMS)
    new_items = []
    for item in order.items:
        units = wanted.get(item.id, 0)
        if units > item.returnable_quantity:
            raise QuantityTooLarge(item.id, "return", units, item.returnable_quantity)
        new_items.append(attrs.evolve(item, returned=item.returned + units) if units else item)
    commit(order, Operation.RETURN_ITEMS, items=new_items, at=at)
    return ReturnRequest(order.id, tuple(ReturnLine(i, q) for i, q in wanted.items()))

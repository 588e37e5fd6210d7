"""Fulfilling and cancelling line items, and the shipping split (DESIGN 1.2).

:func:`fulfil_items` and :func:`cancel_items` record units as fulfilled or cancelled and
return the body of the provider's ``POST /fulfillments`` request that reports them. Both
are refused where the order table does not allow them (``FulfillmentNotAllowed``, with the
table's reason), and above what remains of an item (``QuantityTooLarge``). When the last
unit is fulfilled (or the rest cancelled) the order becomes fulfilled; when every unit is
cancelled, so is every charge, and the order becomes cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from order_lifecycle.exceptions import QuantityTooLarge
from order_lifecycle.lifecycle import ORDER_SPEC, SETTLED_CHARGE_STATES, ChargeState, Operation
from order_lifecycle.models import ORDER_MACHINE, Charge, Item, Order, every_item_cancelled

from ._apply import commit, quantities, require

__all__ = [
    "FulfilmentLine",
    "FulfilmentPlan",
    "FulfilmentRequest",
    "cancel_items",
    "fulfil_items",
    "fulfilment_plan",
]


@attrs.frozen
class FulfilmentLine:
    """One ``items[]`` entry of a fulfilment: units fulfilled and units cancelled."""

    item_id: str
    quantity: int = 0
    cancel_quantity: int = 0

    def as_json(self) -> dict[str, Any]:
        """The provider's ``{"itemId", "quantity" | "cancelQuantity"}``, without zeros."""
        line: dict[str, Any] = {"itemId": self.item_id}
        if self.quantity:
            line["quantity"] = self.quantity
        if self.cancel_quantity:
            line["cancelQuantity"] = self.cancel_quantity
        return line


@attrs.frozen
class FulfilmentRequest:
    """The body of a ``POST /fulfillments`` that reports what an operation recorded."""

    order_id: str
    items: tuple[FulfilmentLine, ...]

    def as_json(self) -> dict[str, Any]:
        """The body as the provider takes it: ``{"orderId", "items": [...]}``."""
        return {"orderId": self.order_id, "items": [line.as_json() for line in self.items]}


@attrs.frozen
class FulfilmentPlan:
    """What an accepted order still has to send: ``ship`` physical items, deliver the rest.

    Each holds the items with units still open (``Item.open_quantity``), in order.
    ``undetermined`` holds those whose kind the provider has not reported yet: look the
    product up (or wait for the expanded ``order.accepted``) before sending them.
    """

    order_id: str
    ship: tuple[Item, ...]
    deliver_digitally: tuple[Item, ...]
    undetermined: tuple[Item, ...] = ()


_LIMITS = dict(ORDER_SPEC.operation(Operation.CANCEL_ITEMS).limits)


def fulfil_items(
    order: Order, items: Mapping[str, int], *, at: datetime | None = None
) -> FulfilmentRequest:
    """Record ``items`` (item id -> units) as fulfilled, and return the request reporting it.

    The operation ``fulfil_items``; the last unit fulfilled (or fulfilled with the rest
    cancelled) fires the event ``fulfil``, whose step lands in the order's history at ``at``.

    Raises:
        FulfillmentNotAllowed: the order is not accepted; the message says why.
        QuantityTooLarge: more units than are open on an item.
        UnknownItem, InvalidQuantity, WrongType: bad input, naming the item and value.

    """
    wanted = quantities(order, items)
    require(order, Operation.FULFIL_ITEMS)
    new_items = tuple(_take(item, wanted.get(item.id, 0), "fulfil") for item in order.items)
    commit(order, Operation.FULFIL_ITEMS, items=new_items, at=at)
    return FulfilmentRequest(order.id, tuple(FulfilmentLine(i, q) for i, q in wanted.items()))


def cancel_items(
    order: Order, items: Mapping[str, int], *, at: datetime | None = None
) -> FulfilmentRequest:
    """Record ``items`` (item id -> units) as cancelled, and return the request reporting it.

    A partial cancellation leaves the order as it is (or fulfilled, when only fulfilled
    units are left). Cancelling every unit also cancels what is open of every charge, and
    the order becomes cancelled: in ``accepted``, and, for the whole order at once, in
    ``pending_payment``.

    Raises:
        FulfillmentNotAllowed: the order is not accepted (or, pending payment, not every
            unit is cancelled); the message says why.
        QuantityTooLarge: more units than are open on an item.
        UnknownItem, InvalidQuantity, WrongType: bad input, naming the item and value.

    """
    wanted = quantities(order, items)
    require(order, Operation.CANCEL_ITEMS)
    new_items = tuple(_take(item, wanted.get(item.id, 0), "cancel") for item in order.items)
    everything = every_item_cancelled(new_items)
    # Where the table limits cancelling (pending payment: the whole order only), the rest
    # is refused with its reason.
    limit = _LIMITS.get(order.state)
    if limit is not None and not everything:
        raise ORDER_MACHINE.operation_refused(order, Operation.CANCEL_ITEMS, limit)
    new_charges = tuple(_cancel_rest(c) for c in order.charges) if everything else None
    commit(order, Operation.CANCEL_ITEMS, items=new_items, charges=new_charges, at=at)
    return FulfilmentRequest(
        order.id, tuple(FulfilmentLine(i, cancel_quantity=q) for i, q in wanted.items())
    )


def fulfilment_plan(order: Order) -> FulfilmentPlan:
    """Split an accepted order's open items into those to ship and those to deliver digitally.

    Raises:
        FulfillmentNotAllowed: the table does not allow ``fulfil_items`` now: nothing may
            be sent yet (or any more); the message says why.

    """
    require(order, Operation.FULFIL_ITEMS)
    open_items = [item for item in order.items if item.open_quantity]
    return FulfilmentPlan(
        order.id,
        ship=tuple(i for i in open_items if i.physical is True),
        deliver_digitally=tuple(i for i in open_items if i.physical is False),
        undetermined=tuple(i for i in open_items if i.physical is None),
    )


def _take(item: Item, units: int, action: str) -> Item:
    """``item`` with ``units`` more fulfilled or cancelled, if that many are open."""
    if not units:
        return item
    if units > item.open_quantity:
        raise QuantityTooLarge(item.id, action, units, item.open_quantity)
    if action == "fulfil":
        return attrs.evolve(item, fulfilled=item.fulfilled + units)
    return attrs.evolve(item, cancelled=item.cancelled + units)


def _cancel_rest(charge: Charge) -> Charge:
    """``charge`` with its open amount cancelled: complete if part was captured."""
    if charge.state in SETTLED_CHARGE_STATES:
        return charge  # settled already, as the provider reported it
    state = ChargeState.COMPLETE if charge.captured else ChargeState.CANCELLED
    return attrs.evolve(charge, cancelled=charge.cancelled + charge.open_amount, state=state)

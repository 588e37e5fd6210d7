"""The clauses on an order's items and charges that the order table's guards name.

The table says which clause implies which state, in which order (``ORDER_SPEC.implied``),
which rows each guards and what each state requires; these functions are the clauses, on
plain items and charges, which the machine's guards (``_guards``) bind. A settled charge is
one in the table's ``SETTLED_CHARGE_STATES``.
"""

from __future__ import annotations

from collections.abc import Iterable

from order_lifecycle.lifecycle import SETTLED_CHARGE_STATES, ChargeState

from ._models import Charge, Item

__all__ = [
    "charges_settled",
    "every_charge_cancelled",
    "every_charge_settled",
    "every_item_cancelled",
    "every_item_fulfilled",
    "every_item_returned",
    "everything_cancelled",
    "fulfilled_and_settled",
    "nothing_open",
    "something_captured",
    "something_fulfilled",
]


def every_item_fulfilled(items: Iterable[Item]) -> bool:
    """No unit is left open, and at least one was fulfilled (not all cancelled)."""
    items = tuple(items)
    return nothing_open(items) and any(i.fulfilled for i in items)


def every_item_cancelled(items: Iterable[Item]) -> bool:
    """Every unit of every item is cancelled (true when there is no item)."""
    return all(i.cancelled == i.quantity for i in items)


def every_item_returned(items: Iterable[Item]) -> bool:
    """No unit is left open, at least one was fulfilled, and every fulfilled one came back."""
    items = tuple(items)
    return every_item_fulfilled(items) and all(i.returned == i.fulfilled for i in items)


def nothing_open(items: Iterable[Item]) -> bool:
    """No unit of any item is left open (each fulfilled or cancelled)."""
    return all(i.open_quantity == 0 for i in items)


def every_charge_settled(charges: Iterable[Charge]) -> bool:
    """Every charge is captured (``complete``) or cancelled (true when there is none)."""
    return all(c.state in SETTLED_CHARGE_STATES for c in charges)


def every_charge_cancelled(charges: Iterable[Charge]) -> bool:
    """Every charge is cancelled (true when there is none: an expired delayed payment)."""
    return all(c.state is ChargeState.CANCELLED for c in charges)


def charges_settled(charges: Iterable[Charge]) -> bool:
    """Every charge is captured (``complete``) or cancelled, and at least one was captured."""
    charges = tuple(charges)
    return every_charge_settled(charges) and any(c.state is ChargeState.COMPLETE for c in charges)


def something_fulfilled(items: Iterable[Item]) -> bool:
    """At least one unit was fulfilled: what a capture needs."""
    return any(i.fulfilled for i in items)


def something_captured(charges: Iterable[Charge]) -> bool:
    """At least part of a charge was captured: what a refund needs."""
    return any(c.captured for c in charges)


def everything_cancelled(items: tuple[Item, ...], charges: tuple[Charge, ...]) -> bool:
    """Every item and every charge is cancelled (true with none: an expired payment)."""
    return every_item_cancelled(items) and every_charge_cancelled(charges)


def fulfilled_and_settled(items: tuple[Item, ...], charges: tuple[Charge, ...]) -> bool:
    """Every item fulfilled (or the rest cancelled), every charge settled, one captured."""
    return every_item_fulfilled(items) and charges_settled(charges)

"""The one rule linking an order's state to its items and charges (DESIGN 1.2).

:func:`implied_state` says which state an accepted order's items and charges put it in; the
machine's guards (``_guards``) are its clauses, so an event fired by hand, an operation on
items or charges, and the invariant tests all apply the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._models import Charge, Item
from ._vocabulary import ChargeState, OrderState

__all__ = [
    "charges_settled",
    "every_charge_cancelled",
    "every_item_cancelled",
    "every_item_fulfilled",
    "every_item_returned",
    "implied_state",
]

_SETTLED = frozenset({ChargeState.COMPLETE, ChargeState.CANCELLED})


def every_item_fulfilled(items: Iterable[Item]) -> bool:
    """No unit is left open, and at least one was fulfilled (not all cancelled)."""
    items = tuple(items)
    return all(i.open_quantity == 0 for i in items) and any(i.fulfilled for i in items)


def every_item_cancelled(items: Iterable[Item]) -> bool:
    """Every unit of every item is cancelled (true when there is no item)."""
    return all(i.cancelled == i.quantity for i in items)


def every_item_returned(items: Iterable[Item]) -> bool:
    """No unit is left open, at least one was fulfilled, and every fulfilled one came back."""
    items = tuple(items)
    return every_item_fulfilled(items) and all(i.returned == i.fulfilled for i in items)


def every_charge_cancelled(charges: Iterable[Charge]) -> bool:
    """Every charge is cancelled (true when there is none: an expired delayed payment)."""
    return all(c.state is ChargeState.CANCELLED for c in charges)


def charges_settled(charges: Iterable[Charge]) -> bool:
    """Every charge is captured (``complete``) or cancelled, and at least one was captured."""
    charges = tuple(charges)
    return all(c.state in _SETTLED for c in charges) and any(
        c.state is ChargeState.COMPLETE for c in charges
    )


def implied_state(items: Iterable[Item], charges: Iterable[Charge]) -> OrderState:
    """The state that an accepted order's items and charges put it in.

    In this order of precedence:

    - ``cancelled``: every item and every charge is cancelled (a partial cancellation is not);
    - ``returned``: every item fulfilled (or the rest cancelled), and every fulfilled unit
      returned;
    - ``complete``: every item fulfilled (or the rest cancelled), and every charge captured
      or cancelled, one of them captured;
    - ``fulfilled``: every item fulfilled, or fulfilled with the rest cancelled;
    - ``accepted`` otherwise (also when the charges are settled but units are still open).

    Before acceptance (``pending_payment``, ``in_review``) and after a final refusal
    (``blocked``), the state is the provider's to say, and a dispute suspends the rule; so
    this holds for an order that was accepted and is not in dispute (in dispute, for the
    state it will resume).
    """
    items, charges = tuple(items), tuple(charges)
    if every_item_cancelled(items) and every_charge_cancelled(charges):
        return OrderState.CANCELLED
    if every_item_returned(items):
        return OrderState.RETURNED
    if every_item_fulfilled(items):
        return OrderState.COMPLETE if charges_settled(charges) else OrderState.FULFILLED
    return OrderState.ACCEPTED

"""The one rule linking an order's state to its items and charges (DESIGN 1.2), as data.

:data:`IMPLIED_STATES` lists, in order of precedence, the states an accepted order's items
and charges put it in, each with its clause; :func:`implied_state` reads it, the machine's
guards (``_guards``) are its clauses, and the invariant tests (``testing``) check orders
against it: an event fired by hand, an operation on items or charges and the tests all
apply the same rule. :data:`SETTLED` is the one definition of a settled charge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from order_lifecycle.lifecycle._vocabulary import ChargeState, OrderState

from ._models import Charge, Item

__all__ = [
    "IMPLIED_STATES",
    "SETTLED",
    "Implication",
    "charges_settled",
    "every_charge_cancelled",
    "every_item_cancelled",
    "every_item_fulfilled",
    "every_item_returned",
    "everything_cancelled",
    "fulfilled_and_settled",
    "implied_state",
    "something_captured",
    "something_fulfilled",
]

SETTLED = frozenset({ChargeState.COMPLETE, ChargeState.CANCELLED})
"""The charge states with nothing left open: captured (``complete``) or ``cancelled``."""

Clause = Callable[[tuple[Item, ...], tuple[Charge, ...]], bool]
"""A condition on an order's items and charges."""


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
    return all(c.state in SETTLED for c in charges) and any(
        c.state is ChargeState.COMPLETE for c in charges
    )


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


@attrs.frozen
class Implication:
    """``state`` is what an accepted order's data implies when ``holds`` (and no earlier one)."""

    state: OrderState
    holds: Clause
    description: str


IMPLIED_STATES: tuple[Implication, ...] = (
    Implication(
        OrderState.CANCELLED, everything_cancelled, "every item and every charge is cancelled"
    ),
    Implication(
        OrderState.RETURNED,
        lambda items, _charges: every_item_returned(items),
        "every item fulfilled (or the rest cancelled), and every fulfilled unit returned",
    ),
    Implication(
        OrderState.COMPLETE,
        fulfilled_and_settled,
        "every item fulfilled (or the rest cancelled), every charge settled, one captured",
    ),
    Implication(
        OrderState.FULFILLED,
        lambda items, _charges: every_item_fulfilled(items),
        "every item fulfilled, or fulfilled with the rest cancelled",
    ),
)
"""The states items and charges imply, in order of precedence; ``accepted`` when none holds.

A partial cancellation is not a cancellation, and settled charges with units still open
leave the order accepted. Before acceptance (``pending_payment``, ``in_review``) and after a
final refusal (``blocked``) the state is the provider's to say, and a dispute suspends the
rule; so this holds for an order that was accepted and is not in dispute (in dispute, for
the state it will resume).
"""


def implied_state(items: Iterable[Item], charges: Iterable[Charge]) -> OrderState:
    """The state that an accepted order's items and charges put it in (:data:`IMPLIED_STATES`)."""
    items, charges = tuple(items), tuple(charges)
    return next((i.state for i in IMPLIED_STATES if i.holds(items, charges)), OrderState.ACCEPTED)

"""The order machine's guards: the predicates behind the names the table uses.

Each reads only the order's items and charges (and, for dispute resolution, its history), so
the same rule decides a fired event, an operation, ``can_fire``, ``explain``, the state the
data implies (``ORDER_SPEC.implied``) and what a state requires: one rule.
"""

from __future__ import annotations

from collections.abc import Mapping

from order_lifecycle.lifecycle import Guard, OrderEvent, OrderGuard, OrderState, TransitionSpec

from . import _derived
from ._models import Order

__all__ = ["ORDER_GUARDS"]

_Row = TransitionSpec[OrderState, OrderEvent] | None


def everything_cancelled(order: Order, _row: _Row) -> bool:
    """Every item and every charge is cancelled (true with none: an expired payment)."""
    return _derived.everything_cancelled(order.items, order.charges)


def every_item_fulfilled(order: Order, _row: _Row) -> bool:
    """No unit is left open, and at least one was fulfilled (not all cancelled)."""
    return _derived.every_item_fulfilled(order.items)


def every_item_returned(order: Order, _row: _Row) -> bool:
    """No unit is left open, one was fulfilled, and every fulfilled one came back."""
    return _derived.every_item_returned(order.items)


def charges_settled(order: Order, _row: _Row) -> bool:
    """Every charge is captured (``complete``) or cancelled, and at least one was captured."""
    return _derived.charges_settled(order.charges)


def fulfilled_and_settled(order: Order, _row: _Row) -> bool:
    """Both of the above: complete straight from accepted, when order.fulfilled never came."""
    return _derived.fulfilled_and_settled(order.items, order.charges)


def resumes_state_before_dispute(order: Order, row: _Row) -> bool:
    """The row leads back to the state the order had when the dispute opened."""
    return row is not None and order.state_before_dispute is row.dest


def something_fulfilled(order: Order, _row: _Row) -> bool:
    """At least one unit was fulfilled: a capture needs it."""
    return _derived.something_fulfilled(order.items)


def something_captured(order: Order, _row: _Row) -> bool:
    """At least part of a charge was captured: a refund needs it."""
    return _derived.something_captured(order.charges)


def nothing_open(order: Order, _row: _Row) -> bool:
    """No unit of any item is left open: what a fulfilled, complete or returned order requires."""
    return _derived.nothing_open(order.items)


def every_charge_settled(order: Order, _row: _Row) -> bool:
    """Every charge is captured or cancelled: what a complete order requires."""
    return _derived.every_charge_settled(order.charges)


ORDER_GUARDS: Mapping[str, Guard[Order, OrderState, OrderEvent]] = {
    OrderGuard.EVERYTHING_CANCELLED: everything_cancelled,
    OrderGuard.EVERY_ITEM_FULFILLED: every_item_fulfilled,
    OrderGuard.EVERY_ITEM_RETURNED: every_item_returned,
    OrderGuard.CHARGES_SETTLED: charges_settled,
    OrderGuard.FULFILLED_AND_SETTLED: fulfilled_and_settled,
    OrderGuard.RESUMES_STATE_BEFORE_DISPUTE: resumes_state_before_dispute,
    OrderGuard.SOMETHING_FULFILLED: something_fulfilled,
    OrderGuard.SOMETHING_CAPTURED: something_captured,
    OrderGuard.NOTHING_OPEN: nothing_open,
    OrderGuard.EVERY_CHARGE_SETTLED: every_charge_settled,
}

"""Orders for the tests of item and charge operations, built the way the provider makes them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import attrs

from order_lifecycle import Charge, ChargeState, Item, Order, OrderState, fire
from order_lifecycle.lifecycle import ORDER_SPEC

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new_order(
    state: OrderState = OrderState.ACCEPTED,
    *,
    items: tuple[Item, ...] = (Item("shirt", 2, physical=True), Item("ebook", 1, physical=False)),
    charges: tuple[Charge, ...] = (Charge("ch1", ChargeState.CAPTURABLE, Decimal("60.00"), "USD"),),
) -> Order:
    """A fresh order created in an entry state: nothing fulfilled, captured or cancelled."""
    return Order.create("o1", state, at=T0, items=items, charges=charges)


def walked_to(state: OrderState, prepare: Callable[[Order], None] | None = None) -> Order:
    """An order led to ``state`` by the shortest legal path, its data made to fit each step.

    ``prepare`` may change the accepted order first (for instance, to fulfil it).
    """
    if state in {OrderState.PENDING_PAYMENT, OrderState.IN_REVIEW}:
        return new_order(state)
    if state in {OrderState.BLOCKED, OrderState.CANCELLED}:  # not reachable once accepted
        order = new_order(OrderState.PENDING_PAYMENT)
        fire(order, "block" if state is OrderState.BLOCKED else "cancel", at=T0)
        return order
    order = new_order()
    if prepare is not None:
        prepare(order)
    path = ORDER_SPEC.shortest_path(order.state, lambda s: s is state)
    assert path is not None
    for row in path:
        _fit_data(order, row.dest)
        fire(order, row.event, at=T0)
    return order


def _fit_data(order: Order, dest: OrderState) -> None:
    """Give the order the items and charges that let the machine enter ``dest``."""
    if dest in {OrderState.FULFILLED, OrderState.COMPLETE, OrderState.RETURNED}:
        order.items = tuple(
            attrs.evolve(i, fulfilled=i.quantity - i.cancelled) for i in order.items
        )
    if dest in {OrderState.COMPLETE, OrderState.RETURNED}:
        order.charges = tuple(
            attrs.evolve(c, state=ChargeState.COMPLETE, captured=c.amount) for c in order.charges
        )
    if dest is OrderState.RETURNED:
        order.items = tuple(attrs.evolve(i, returned=i.fulfilled) for i in order.items)


def state_of(order: Order) -> OrderState:
    """The order's state, read afresh (mypy keeps ``order.state`` narrowed across calls)."""
    return order.state


@contextmanager
def unchanged(order: Order) -> Iterator[None]:
    """Assert that the block leaves ``order`` exactly as it was (a deep copy compares equal)."""
    before = copy.deepcopy(order)
    yield
    assert order == before

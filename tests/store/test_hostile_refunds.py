"""Refunds of hostile amounts through every store: typed errors only, nothing written."""

from __future__ import annotations

import itertools
from decimal import MAX_EMAX, MIN_EMIN, Decimal, localcontext
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle import Charge, ChargeState, Item, Order, refund
from order_lifecycle.exceptions import OrderLifecycleError
from order_lifecycle.orders import fulfil_items
from order_lifecycle.store import Store
from order_lifecycle.testing import HOSTILE_AMOUNTS

_ids = itertools.count()


def captured_order(order_id: str, amounts: list[str]) -> Order:
    """A fulfilled order whose charges (some absurdly large) were captured in full."""
    order = Order.create(
        order_id,
        "accepted",
        items=[Item("shirt", 1, physical=True)],
        charges=[
            Charge(f"ch{n}", ChargeState.CAPTURABLE, Decimal(amount), "USD")
            for n, amount in enumerate(amounts)
        ],
    )
    fulfil_items(order, {"shirt": 1})
    order.charges = tuple(attrs.evolve(c, captured=c.amount) for c in order.charges)
    return order


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=100)
@given(
    amounts=st.lists(st.sampled_from(["9e999999", "1e17", "60.00"]), min_size=1, max_size=3),
    amount=HOSTILE_AMOUNTS,
)
def test_a_hostile_refund_through_a_store_is_typed(
    store: Store, amounts: list[str], amount: Any
) -> None:
    """Any amount refunded through update_order: stored as done, or a typed error and no write."""
    order_id = f"o-{next(_ids)}"  # one store for all examples: a new order each
    store.create_order(captured_order(order_id, amounts))
    before = store.get_order(order_id)
    try:
        request = store.update_order(order_id, lambda order: refund(order, amount))
    except OrderLifecycleError:
        assert store.get_order(order_id) == before
    else:
        stored = store.get_order(order_id)
        with localcontext(Emax=MAX_EMAX, Emin=MIN_EMIN):  # a tiny refund is no 0 here
            assert sum(c.refunded for c in stored.charges) == request.amount > Decimal(0)

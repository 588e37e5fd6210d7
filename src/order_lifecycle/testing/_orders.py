"""Strategies for the library's values: orders, their items and charges, checkouts, events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import strategies as st

from order_lifecycle.lifecycle import (
    ORDER_SPEC,
    ChargeState,
    CheckoutEvent,
    FraudState,
    OrderEvent,
    OrderState,
)
from order_lifecycle.models import Charge, Checkout, Item, Order

__all__ = [
    "IDS",
    "TIMES",
    "charges",
    "checkout_events",
    "checkouts",
    "items",
    "new_orders",
    "order_events",
]

IDS = st.text("0123456789abcdef", min_size=1, max_size=12)
"""Short hex ids, as the kit draws them for orders, items, charges and checkouts."""
# hypothesis takes naive bounds and attaches the timezone itself.
TIMES = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
"""Aware UTC times from 2020 to 2030."""
_NEW_CHARGE_STATES = st.sampled_from([ChargeState.PENDING, ChargeState.CAPTURABLE])
_USD: st.SearchStrategy[str | None] = st.just("USD")


def order_events() -> st.SearchStrategy[OrderEvent]:
    """Any order event, legal or not in a given state."""
    return st.sampled_from(OrderEvent)


def checkout_events() -> st.SearchStrategy[CheckoutEvent]:
    """Any checkout event, legal or not in a given state."""
    return st.sampled_from(CheckoutEvent)


def items(item_id: st.SearchStrategy[str] = IDS) -> st.SearchStrategy[Item]:
    """A fresh line item, nothing fulfilled, cancelled or returned; physical, digital or unknown."""
    return st.builds(
        Item, id=item_id, quantity=st.integers(1, 5), physical=st.sampled_from([True, False, None])
    )


def charges(
    states: st.SearchStrategy[ChargeState] = _NEW_CHARGE_STATES,
    currencies: st.SearchStrategy[str | None] = _USD,
) -> st.SearchStrategy[Charge]:
    """A charge as a new order has it: pending or capturable, in USD, by default."""
    return st.builds(
        Charge,
        id=IDS,
        state=states,
        amount=st.decimals(Decimal(0), Decimal(10_000), places=2),
        currency=currencies,
    )


@st.composite
def new_orders(draw: st.DrawFn) -> Order:
    """An order as the provider creates it: in an entry state, with items and charges."""
    state = draw(st.sampled_from(ORDER_SPEC.entry_states))
    drawn_items = draw(st.lists(items(), min_size=1, max_size=3, unique_by=lambda i: i.id))
    drawn_charges = draw(st.lists(charges(), max_size=2, unique_by=lambda c: c.id))
    fraud = {
        OrderState.IN_REVIEW: FraudState.REVIEW_OPENED,
        OrderState.ACCEPTED: FraudState.PASSED,
    }.get(state)
    return Order.create(
        draw(IDS),
        state,
        at=draw(TIMES),
        checkout_id=draw(IDS),
        fraud_state=fraud,
        items=drawn_items,
        charges=drawn_charges,
    )


def checkouts(checkout_id: st.SearchStrategy[str] = IDS) -> st.SearchStrategy[Checkout]:
    """A new, open checkout, ready for :func:`order_lifecycle.checkout.begin_submission`.

    Example::

        @given(checkouts(), submission_responses())
        def test_a_checkout_yields_at_most_one_order(checkout, response):
            begin_submission(checkout)
            response.record(checkout)
            assert_submission_invariants(checkout)
    """
    return st.builds(Checkout, id=checkout_id)

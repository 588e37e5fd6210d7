from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Order, OrderEvent, OrderState
from order_lifecycle.exceptions import OrderLifecycleError
from order_lifecycle.lifecycle import Step
from order_lifecycle.store._require import _storable_columns, storable_text
from order_lifecycle.testing import HOSTILE_TEXT, IDS

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ANY_TEXT = (IDS | HOSTILE_TEXT).filter(bool)  # plain ids mostly, any code point, NUL, surrogates


def _one_by_one(order: Order, steps: list[Step[OrderState, OrderEvent]]) -> None:
    """The columns' checks by their definition: each id, then each step's event id, in turn."""
    storable_text(order.id, "Order.id")
    if order.checkout_id is not None:
        storable_text(order.checkout_id, "Order.checkout_id")
    for step in steps:
        if step.event_id is not None:
            storable_text(step.event_id, "Order.history[].event_id")


def _outcome(check: object, *args: object) -> tuple[type[Exception], str] | None:
    try:
        check(*args)  # type: ignore[operator]
    except OrderLifecycleError as error:
        return type(error), str(error)
    return None


@given(ANY_TEXT, st.none() | ANY_TEXT, st.lists(st.none() | ANY_TEXT, max_size=4))
def test_the_columns_checked_at_once_refuse_what_each_check_refuses(
    order_id: str, checkout_id: str | None, event_ids: list[str | None]
) -> None:
    """Ids and event ids of any text pass or fail, with the same error, as checked one by one."""
    order = Order.create(order_id, OrderState.ACCEPTED, at=T0, checkout_id=checkout_id)
    steps: list[Step[OrderState, OrderEvent]] = [
        Step(None, None, OrderState.ACCEPTED, T0, event_id) for event_id in event_ids
    ]
    assert _outcome(_storable_columns, order, steps) == _outcome(_one_by_one, order, steps)

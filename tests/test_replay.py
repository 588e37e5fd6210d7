from __future__ import annotations

from datetime import UTC, datetime

import pytest

from order_lifecycle import Order, OrderEvent, OrderState, fire
from order_lifecycle.exceptions import InvalidHistory
from order_lifecycle.lifecycle import CHECKOUT_SPEC, ORDER_SPEC, Step, replay

T0 = datetime(2026, 3, 1, tzinfo=UTC)
S = OrderState


def test_replay_returns_the_current_state() -> None:
    """A history the machine recorded replays to the order's state."""
    order = Order.create("o1", at=T0)
    fire(order, OrderEvent.ACCEPT, at=T0)
    fire(order, OrderEvent.DISPUTE, at=T0)
    assert replay(ORDER_SPEC, order.history) is S.DISPUTE


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([], "step 0: the history is empty"),
        (
            [Step(OrderEvent.ACCEPT, S.PENDING_PAYMENT, S.ACCEPTED, T0)],
            "step 0: it starts with accept",
        ),
        ([Step(None, None, S.COMPLETE, T0)], "step 0: no order is created in complete"),
        (
            [
                Step(None, None, S.ACCEPTED, T0),
                Step(OrderEvent.FULFIL, S.IN_REVIEW, S.FULFILLED, T0),
            ],
            "step 1: it leaves in_review, but the order was in accepted",
        ),
        (
            [
                Step(None, None, S.PENDING_PAYMENT, T0),
                Step(OrderEvent.FULFIL, S.PENDING_PAYMENT, S.FULFILLED, T0),
            ],
            "step 1: pending_payment -fulfil-> fulfilled is not in the table",
        ),
        (
            [Step(None, None, S.BLOCKED, T0)],
            "step 0: no order is created in blocked",
        ),
    ],
)
def test_illegal_histories_name_the_first_bad_step(
    history: list[Step[S, OrderEvent]], message: str
) -> None:
    """Each illegal history raises InvalidHistory naming the step and the problem."""
    with pytest.raises(InvalidHistory) as raised:
        replay(ORDER_SPEC, history)
    assert message in str(raised.value)


def test_replay_checkout() -> None:
    """Checkout histories replay against the checkout table."""
    assert (
        replay(CHECKOUT_SPEC, [Step(None, None, CHECKOUT_SPEC.initial, T0)])
        is CHECKOUT_SPEC.initial
    )

from __future__ import annotations

import pytest

from order_lifecycle import OrderEvent, OrderState, cancel_items, capture, fire, return_items
from order_lifecycle.exceptions import QuantityTooLarge, ReturnNotAllowed
from order_lifecycle.orders import ReturnLine, ReturnRequest, fulfil_items

from .orders import T0, new_order, unchanged, walked_to


def test_partial_return_keeps_the_state() -> None:
    """Returning some units records them and gives the POST /returns body."""
    order = new_order()
    fulfil_items(order, {"shirt": 2, "ebook": 1})
    request = return_items(order, {"shirt": 1})
    assert request == ReturnRequest("o1", (ReturnLine("shirt", 1),))
    assert request.as_json() == {"orderId": "o1", "items": [{"itemId": "shirt", "quantity": 1}]}
    assert order.items[0].returned == 1
    assert order.state is OrderState.FULFILLED


@pytest.mark.parametrize("captured", [False, True])
def test_full_return_returns_the_order(captured: bool) -> None:
    """The last fulfilled unit back (the rest cancelled) moves a fulfilled or complete order."""
    order = new_order()
    fulfil_items(order, {"shirt": 1, "ebook": 1})
    cancel_items(order, {"shirt": 1})
    if captured:
        capture(order, "ch1", "60")
    before = order.state
    return_items(order, {"shirt": 1, "ebook": 1}, at=T0)
    assert order.state is OrderState.RETURNED
    step = order.history[-1]
    assert (step.event, step.source, step.at) == (OrderEvent.RETURN, before, T0)


def test_return_in_accepted_of_what_was_fulfilled() -> None:
    """Shipped units of a partly fulfilled order may come back; the order stays accepted."""
    order = new_order()
    fulfil_items(order, {"shirt": 1})
    return_items(order, {"shirt": 1})
    assert order.state is OrderState.ACCEPTED


def test_no_more_returned_than_fulfilled() -> None:
    """Returning more than fulfilled and not yet returned raises QuantityTooLarge."""
    order = new_order()
    fulfil_items(order, {"shirt": 1})
    with unchanged(order), pytest.raises(QuantityTooLarge) as raised:
        return_items(order, {"shirt": 2})
    assert str(raised.value) == "Item 'shirt': can't return 2, only 1 unit is left to return."
    assert raised.value.code == "quantity_too_large"


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (OrderState.DISPUTE, "the order is in dispute"),
        (OrderState.RETURNED, "the order was returned"),
        (
            OrderState.PENDING_PAYMENT,
            "the order has not been accepted (payment is not yet authorized)",
        ),
        (OrderState.BLOCKED, "the order was blocked by fraud review, which is final"),
    ],
)
def test_return_refused_by_state(state: OrderState, reason: str) -> None:
    """No return in dispute, once returned, or before acceptance; nothing changes."""
    order = walked_to(state)
    with unchanged(order), pytest.raises(ReturnNotAllowed) as raised:
        return_items(order, {"shirt": 1})
    assert str(raised.value) == f"Can't return_items when in {state}: {reason}."


def test_resolved_dispute_allows_returns_again() -> None:
    """After the dispute, the order resumes its state and takes returns again."""
    order = walked_to(OrderState.COMPLETE)
    fire(order, OrderEvent.DISPUTE)
    with pytest.raises(ReturnNotAllowed):
        return_items(order, {"shirt": 1})
    fire(order, OrderEvent.RESOLVE_DISPUTE)
    return_items(order, {"shirt": 2, "ebook": 1})
    assert order.state is OrderState.RETURNED

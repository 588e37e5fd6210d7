from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from order_lifecycle import (
    Charge,
    ChargeState,
    InvalidInput,
    Item,
    LimitExceeded,
    Operation,
    OperationNotAllowed,
    OrderEvent,
    OrderState,
    cancel_charge,
    cancel_items,
    capture,
    fulfil_items,
    return_items,
)
from order_lifecycle.exceptions import (
    FulfillmentNotAllowed,
    InvalidQuantity,
    QuantityTooLarge,
    UnknownItem,
    WrongType,
)
from order_lifecycle.orders import FulfilmentLine, FulfilmentRequest, fulfilment_plan

from .orders import T0, new_order, state_of, unchanged, walked_to

# Why each state refuses fulfilment: the table's sentences (DESIGN 1.2).
REFUSALS = {
    OrderState.PENDING_PAYMENT: "the order has not been accepted (payment is not yet authorized)",
    OrderState.IN_REVIEW: "the order has not been accepted (it is in fraud review)",
    OrderState.BLOCKED: "the order was blocked by fraud review, which is final",
    OrderState.CANCELLED: "the order was cancelled, which is final",
    OrderState.DISPUTE: "the order is in dispute",
    OrderState.FULFILLED: "the order is already fulfilled",
    OrderState.COMPLETE: "the order is already complete",
    OrderState.RETURNED: "the order was returned",
}
# fulfil_items gives its own reason where the state's would say less (DESIGN 1.2: 409).
FULFIL_REFUSALS = {
    **REFUSALS,
    OrderState.FULFILLED: "every item is already fulfilled (409 order_fulfilled)",
}


def test_partial_fulfilment_returns_the_request_and_keeps_the_order_accepted() -> None:
    """Fulfilling some units records them and gives the POST /fulfillments body; no step."""
    order = new_order()
    request = fulfil_items(order, {"shirt": 1})
    assert request == FulfilmentRequest("o1", (FulfilmentLine("shirt", 1),))
    assert request.as_json() == {"orderId": "o1", "items": [{"itemId": "shirt", "quantity": 1}]}
    assert order.items[0].fulfilled == 1
    assert order.state is OrderState.ACCEPTED
    assert len(order.history) == 1


def test_last_unit_fulfilled_fulfils_the_order() -> None:
    """The last open unit fulfilled moves the order to fulfilled, with the step at ``at``."""
    order = new_order()
    fulfil_items(order, {"shirt": 1})
    request = fulfil_items(order, {"ebook": 1, "shirt": 1}, at=T0)
    assert [line.item_id for line in request.items] == ["shirt", "ebook"]  # the order's order
    assert order.state is OrderState.FULFILLED
    last = order.history[-1]
    assert (last.event, last.source, last.at) == (OrderEvent.FULFIL, OrderState.ACCEPTED, T0)


def test_fulfilled_with_the_rest_cancelled_is_fulfilled() -> None:
    """Fulfilling some units and cancelling the rest fulfils the order; charges are untouched."""
    order = new_order()
    fulfil_items(order, {"shirt": 1, "ebook": 1})
    body = cancel_items(order, {"shirt": 1}).as_json()
    assert body == {"orderId": "o1", "items": [{"itemId": "shirt", "cancelQuantity": 1}]}
    assert order.state is OrderState.FULFILLED
    assert order.charges[0].state is ChargeState.CAPTURABLE


@pytest.mark.parametrize(("state", "reason"), FULFIL_REFUSALS.items())
def test_fulfil_refused_outside_accepted(state: OrderState, reason: str) -> None:
    """Fulfilment outside accepted raises FulfillmentNotAllowed saying why; nothing changes."""
    order = walked_to(state)
    with unchanged(order), pytest.raises(FulfillmentNotAllowed) as raised:
        fulfil_items(order, {"shirt": 1})
    assert str(raised.value) == f"Can't fulfil_items when in {state}: {reason}."
    assert isinstance(raised.value, OperationNotAllowed)
    assert (raised.value.operation, raised.value.state, raised.value.reason) == (
        Operation.FULFIL_ITEMS,
        state,
        reason,
    )


@pytest.mark.parametrize("state", [s for s in REFUSALS if s is not OrderState.PENDING_PAYMENT])
def test_cancel_items_refused_outside_accepted(state: OrderState) -> None:
    """Cancelling items outside accepted (and pending payment) is refused the same way."""
    order = walked_to(state)
    with unchanged(order), pytest.raises(FulfillmentNotAllowed) as raised:
        cancel_items(order, {"shirt": 2, "ebook": 1})
    assert str(raised.value) == f"Can't cancel_items when in {state}: {REFUSALS[state]}."


@pytest.mark.parametrize("operation", [fulfil_items, cancel_items])
def test_quantity_too_large(operation: Any) -> None:
    """More units than remain raises QuantityTooLarge with the provider's code; nothing changes."""
    order = new_order()
    fulfil_items(order, {"shirt": 1})
    with unchanged(order), pytest.raises(QuantityTooLarge) as raised:
        operation(order, {"ebook": 1, "shirt": 2})
    error = raised.value
    assert (error.code, error.item_id, error.value, error.available) == (
        "quantity_too_large",
        "shirt",
        2,
        1,
    )
    verb = "fulfil" if operation is fulfil_items else "cancel"
    assert str(error) == f"Item 'shirt': can't {verb} 2, only 1 unit is left to {verb}."
    assert isinstance(error, LimitExceeded)
    assert not isinstance(error, InvalidInput)


def test_partial_cancellation_keeps_the_order_and_its_charges() -> None:
    """Cancelling some units cancels neither the order nor any charge."""
    order = new_order()
    cancel_items(order, {"shirt": 2})
    assert order.state is OrderState.ACCEPTED
    assert order.items[0].cancelled == 2
    assert order.charges == new_order().charges


def test_cancelling_every_unit_cancels_the_charges_and_the_order() -> None:
    """The last unit cancelled cancels what is open of every charge, then the order."""
    order = new_order()
    cancel_items(order, {"shirt": 1})
    request = cancel_items(order, {"shirt": 1, "ebook": 1}, at=T0)
    assert request.as_json()["items"] == [
        {"itemId": "shirt", "cancelQuantity": 1},
        {"itemId": "ebook", "cancelQuantity": 1},
    ]
    assert order.state is OrderState.CANCELLED
    assert order.history[-1].event is OrderEvent.CANCEL
    (charge,) = order.charges
    assert (charge.state, charge.cancelled, charge.open_amount) == (
        ChargeState.CANCELLED,
        Decimal("60.00"),
        Decimal(0),
    )


def test_cancelling_the_rest_after_a_capture_completes() -> None:
    """Fulfilled in part, captured in part, the rest cancelled: complete once the money is."""
    order = new_order()
    fulfil_items(order, {"ebook": 1})
    capture(order, "ch1", "10")
    cancel_items(order, {"shirt": 2})
    assert order.state is OrderState.FULFILLED
    assert order.charges[0].state is ChargeState.CAPTURABLE  # its price is not ours to know
    cancel_charge(order, "ch1", "50")
    assert state_of(order) is OrderState.COMPLETE


def test_pending_payment_cancels_only_as_a_whole() -> None:
    """Before acceptance the whole order can be cancelled through its items, never a part."""
    order = new_order(
        OrderState.PENDING_PAYMENT,
        charges=(Charge("ch1", ChargeState.PENDING, Decimal(60), "USD"),),
    )
    with unchanged(order), pytest.raises(FulfillmentNotAllowed) as raised:
        cancel_items(order, {"shirt": 2})
    assert str(raised.value) == (
        "Can't cancel_items when in pending_payment: the order has not been accepted (payment "
        "is not yet authorized); before acceptance only the whole order can be cancelled."
    )
    cancel_items(order, {"shirt": 2, "ebook": 1})
    assert order.state is OrderState.CANCELLED
    assert order.charges[0].state is ChargeState.CANCELLED


def test_fulfilment_plan_splits_physical_and_digital() -> None:
    """The plan ships physical items, delivers digital ones, and sets aside the unknown ones."""
    items = (
        Item("shirt", 2, physical=True),
        Item("ebook", 1, physical=False),
        Item("mug", 1, physical=True),
        Item("song", 1, physical=False),
        Item("box", 1, physical=None),
    )
    order = new_order(items=items)
    fulfil_items(order, {"mug": 1})
    plan = fulfilment_plan(order)
    assert [i.id for i in plan.ship] == ["shirt"]
    assert [i.id for i in plan.deliver_digitally] == ["ebook", "song"]
    assert [i.id for i in plan.undetermined] == ["box"]
    assert plan.order_id == "o1"


@pytest.mark.parametrize("state", REFUSALS)
def test_fulfilment_plan_only_once_accepted(state: OrderState) -> None:
    """Nothing is planned for sending before acceptance, nor once the order has left it."""
    order = walked_to(state)
    with pytest.raises(FulfillmentNotAllowed) as raised:
        fulfilment_plan(order)
    assert str(raised.value) == f"Can't fulfil_items when in {state}: {FULFIL_REFUSALS[state]}."


BAD_QUANTITIES: list[object] = [0, -1, 1.5, 2.0, True, False, "1", Decimal(1), None]


@pytest.mark.parametrize("operation", [fulfil_items, cancel_items, return_items])
@pytest.mark.parametrize("bad", BAD_QUANTITIES)
def test_bad_quantity(operation: Any, bad: object) -> None:
    """A quantity that is not a whole number of 1 or more names the item and the value."""
    order = walked_to(OrderState.FULFILLED) if operation is return_items else new_order()
    with unchanged(order), pytest.raises(InvalidQuantity) as raised:
        operation(order, {"shirt": 1, "ebook": bad})
    assert (raised.value.item_id, raised.value.value) == ("ebook", bad)
    assert "Item 'ebook'" in str(raised.value)
    assert repr(bad) in str(raised.value)


@pytest.mark.parametrize("operation", [fulfil_items, cancel_items, return_items])
def test_unknown_item(operation: Any) -> None:
    """An item id the order lacks raises UnknownItem naming it and the known ones."""
    order = new_order()
    with unchanged(order), pytest.raises(UnknownItem) as raised:
        operation(order, {"shirt": 1, "hat": 1})
    assert str(raised.value) == "Order 'o1' has no item 'hat': its items are shirt, ebook."
    assert raised.value.item_id == "hat"


@pytest.mark.parametrize("operation", [fulfil_items, cancel_items, return_items])
def test_not_a_mapping_or_empty(operation: Any) -> None:
    """Quantities come as a non-empty mapping of item id to units."""
    order = new_order()
    with unchanged(order):
        with pytest.raises(WrongType, match="quantities must be a mapping"):
            operation(order, [("shirt", 1)])
        with pytest.raises(InvalidInput, match="no item given"):
            operation(order, {})


def test_bad_input_is_reported_before_the_state() -> None:
    """A bad request is bad in any state: input errors come before state refusals."""
    order = walked_to(OrderState.DISPUTE)
    with pytest.raises(UnknownItem):
        fulfil_items(order, {"hat": 1})
    with pytest.raises(OperationNotAllowed):
        fulfil_items(order, {"shirt": 1})


def test_lines_leave_out_zero_quantities() -> None:
    """A line reports only the quantities it has: the provider needs at least one of them."""
    assert FulfilmentLine("a", 2, 1).as_json() == {
        "itemId": "a",
        "quantity": 2,
        "cancelQuantity": 1,
    }
    assert FulfilmentLine("a", cancel_quantity=3).as_json() == {"itemId": "a", "cancelQuantity": 3}

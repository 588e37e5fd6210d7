from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import MAX_EMAX, MIN_EMIN, Decimal, localcontext
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import (
    Charge,
    ChargeState,
    InvalidInput,
    Item,
    Order,
    OrderEvent,
    OrderState,
    cancel_charge,
    capture,
    fire,
    refund,
)
from order_lifecycle.exceptions import (
    AmountTooLarge,
    ChargeNotAllowed,
    CurrencyMismatch,
    InvalidAmount,
    OrderLifecycleError,
    RefundNotAllowed,
    UnknownCharge,
    WrongType,
)
from order_lifecycle.orders import RefundRequest, fulfil_items
from order_lifecycle.testing import HOSTILE_AMOUNTS

from .orders import T0, new_order, state_of, unchanged, walked_to

USD60 = Charge("ch1", ChargeState.CAPTURABLE, Decimal("60.00"), "USD")


# The Charge value, and the order's currency.


def test_charge_keeps_its_short_form() -> None:
    """``Charge(id, state, amount)`` still works: no currency, nothing captured or cancelled."""
    charge = Charge(id="c", state="capturable", amount=27.01)  # type: ignore[arg-type]
    assert charge.amount == charge.authorized == Decimal("27.01")
    assert charge.currency is None
    assert (charge.captured, charge.cancelled, charge.refunded) == (Decimal(0),) * 3
    assert charge.open_amount == Decimal("27.01")


def test_charge_amounts() -> None:
    """Open is authorized minus captured and cancelled; refundable is captured minus refunded."""
    charge = Charge(
        "c",
        "capturable",
        Decimal(100),
        "usd",
        captured=Decimal(60),
        cancelled=Decimal(15),
        refunded=Decimal(10),
    )
    assert charge.currency == "USD"
    assert (charge.open_amount, charge.refundable) == (Decimal(25), Decimal(50))


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        ({"captured": "60", "cancelled": "50"}, r"captured \(60\) \+ cancelled \(50\) exceed"),
        ({"captured": "10", "refunded": "11"}, r"refunded \(11\) exceeds captured \(10\)"),
        ({"captured": "-1"}, "0 or more"),
    ],
)
def test_charge_amounts_are_checked(amounts: dict[str, Any], message: str) -> None:
    """No charge holds more captured + cancelled than authorized, or refunded than captured."""
    with pytest.raises(InvalidInput, match=message):
        Charge("c", "capturable", Decimal(100), "USD", **amounts)


@pytest.mark.parametrize(
    ("bad", "error"), [("US", InvalidInput), ("U$D", InvalidInput), (840, WrongType)]
)
def test_currency_is_an_iso_code(bad: object, error: type[Exception]) -> None:
    """A currency is a three-letter code."""
    with pytest.raises(error, match="currency"):
        Charge("c", "capturable", Decimal(1), bad)  # type: ignore[arg-type]


def test_order_takes_its_charges_currency() -> None:
    """An order's currency is the one its charges state; two currencies are refused."""
    assert Order.create("o", "accepted", charges=[USD60]).currency == "USD"
    assert Order.create("o", "accepted", currency="eur").currency == "EUR"
    euros = Charge("ch2", "capturable", Decimal(1), "EUR")
    with pytest.raises(InvalidInput, match="one currency per order, got EUR, USD"):
        Order.create("o", "accepted", charges=[USD60, euros])
    with pytest.raises(InvalidInput, match="one currency per order"):
        Order.create("o", "accepted", charges=[USD60], currency="EUR")


# Captures and cancels.


def test_partial_capture_keeps_the_charge_capturable() -> None:
    """A partial capture adds to ``captured``; the charge stays capturable, the order as it was."""
    order = new_order()
    fulfil_items(order, {"shirt": 1})
    charge = capture(order, "ch1", Decimal("20.50"), currency="USD")
    assert (charge.state, charge.captured, charge.open_amount) == (
        ChargeState.CAPTURABLE,
        Decimal("20.50"),
        Decimal("39.50"),
    )
    assert order.charges == (charge,)
    assert order.state is OrderState.ACCEPTED


def test_capturing_the_rest_after_fulfilment_completes_the_order() -> None:
    """Fulfilled, then captured in full: the charge and the order are complete."""
    order = new_order()
    fulfil_items(order, {"shirt": 2, "ebook": 1})
    capture(order, "ch1", "20")
    charge = capture(order, "ch1", "40", at=T0)
    assert charge.state is ChargeState.COMPLETE
    assert order.state is OrderState.COMPLETE
    assert (order.history[-1].event, order.history[-1].at) == (OrderEvent.COMPLETE, T0)


def test_capture_and_cancel_settle_a_charge() -> None:
    """Captured in part and the rest cancelled: complete; only cancelled: cancelled."""
    order = new_order(
        charges=(USD60, Charge("ch2", ChargeState.CAPTURABLE, Decimal(5), "USD")),
    )
    fulfil_items(order, {"shirt": 2, "ebook": 1})
    capture(order, "ch1", "50")
    assert cancel_charge(order, "ch1", "10").state is ChargeState.COMPLETE
    assert state_of(order) is OrderState.FULFILLED  # ch2 is still open
    assert cancel_charge(order, "ch2", "5").state is ChargeState.CANCELLED
    assert state_of(order) is OrderState.COMPLETE
    assert [s.event for s in order.history[1:]] == [OrderEvent.FULFIL, OrderEvent.COMPLETE]


def test_settled_charges_wait_for_the_last_item() -> None:
    """Charges settled with units still open: accepted until the rest is fulfilled."""
    order = new_order()
    fulfil_items(order, {"shirt": 1})
    capture(order, "ch1", "60")
    assert order.state is OrderState.ACCEPTED
    fulfil_items(order, {"shirt": 1, "ebook": 1})
    assert state_of(order) is OrderState.COMPLETE
    assert [s.event for s in order.history[1:]] == [OrderEvent.FULFIL, OrderEvent.COMPLETE]


def test_nothing_captured_before_something_is_fulfilled() -> None:
    """Captures follow fulfilments at the provider: none while nothing has been fulfilled."""
    order = new_order()
    with unchanged(order), pytest.raises(ChargeNotAllowed) as raised:
        capture(order, "ch1", "1")
    assert str(raised.value) == (
        "Can't capture when in accepted: not until something has been fulfilled."
    )
    cancel_charge(order, "ch1", "1")  # cancelling needs no fulfilment


def test_cancelling_every_charge_does_not_cancel_the_order() -> None:
    """With items still open, cancelling all the money leaves the order accepted."""
    order = new_order()
    cancel_charge(order, "ch1", "60")
    assert order.charges[0].state is ChargeState.CANCELLED
    assert order.state is OrderState.ACCEPTED


@pytest.mark.parametrize("operation", [capture, cancel_charge])
@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (
            OrderState.PENDING_PAYMENT,
            "the order has not been accepted (payment is not yet authorized)",
        ),
        (OrderState.IN_REVIEW, "the order has not been accepted (it is in fraud review)"),
        (OrderState.DISPUTE, "the order is in dispute"),
        (OrderState.COMPLETE, "the order is already complete"),
        (OrderState.RETURNED, "the order was returned"),
        (OrderState.CANCELLED, "the order was cancelled, which is final"),
    ],
)
def test_capture_and_cancel_refused_by_state(
    operation: Any, state: OrderState, reason: str
) -> None:
    """Only an accepted or fulfilled order's charges move; elsewhere the state says why."""
    order = walked_to(state)
    verb = "capture" if operation is capture else "cancel_charge"
    with unchanged(order), pytest.raises(ChargeNotAllowed) as raised:
        operation(order, "ch1", "1")
    assert str(raised.value) == f"Can't {verb} when in {state}: {reason}."


@pytest.mark.parametrize("operation", [capture, cancel_charge])
def test_amount_too_large(operation: Any) -> None:
    """More than is open on the charge raises AmountTooLarge with what is left; nothing changes."""
    order = new_order()
    fulfil_items(order, {"ebook": 1})
    capture(order, "ch1", "50")
    verb = "capture" if operation is capture else "cancel"
    with unchanged(order), pytest.raises(AmountTooLarge) as raised:
        operation(order, "ch1", "10.01")
    assert str(raised.value) == (
        f"Charge 'ch1': can't {verb} 10.01 USD, only 10.00 USD is left to {verb}."
    )
    error = raised.value
    assert (error.charge_id, error.value, error.available, error.currency) == (
        "ch1",
        Decimal("10.01"),
        Decimal("10.00"),
        "USD",
    )


def test_a_charge_not_authorized_has_nothing_to_capture() -> None:
    """Only a capturable (or processing) charge can be captured."""
    order = new_order(charges=(Charge("ch1", ChargeState.PENDING, Decimal(60), "USD"),))
    fulfil_items(order, {"ebook": 1})
    with unchanged(order), pytest.raises(AmountTooLarge, match="only 0 USD is left to capture"):
        capture(order, "ch1", "1")


# Refunds.


def captured_order(*amounts: str) -> Order:
    """A fulfilled order with two USD charges, captured by ``amounts``."""
    order = new_order(
        charges=(USD60, Charge("ch2", ChargeState.CAPTURABLE, Decimal(40), "USD")),
    )
    fulfil_items(order, {"shirt": 2, "ebook": 1})
    for charge_id, amount in zip(("ch1", "ch2"), amounts, strict=False):
        capture(order, charge_id, amount)
    return order


def test_refund_takes_from_the_charges_in_order() -> None:
    """A refund is spread over the charges' captured amounts, first charge first."""
    order = captured_order("30", "20")
    request = refund(order, "35.50", currency="usd")
    assert request == RefundRequest("o1", Decimal("35.50"), "USD")
    assert request.as_json() == {"orderId": "o1", "currency": "USD", "amount": 35.5}
    assert [c.refunded for c in order.charges] == [Decimal(30), Decimal("5.50")]
    assert [c.state for c in order.charges] == [ChargeState.CAPTURABLE] * 2
    assert order.state is OrderState.FULFILLED


def test_refund_up_to_what_is_available() -> None:
    """Refunds may take exactly captured minus refunded, and not a cent more."""
    order = captured_order("30")
    refund(order, "10")
    with unchanged(order), pytest.raises(AmountTooLarge) as raised:
        refund(order, "20.01")
    assert (raised.value.order_id, raised.value.charge_id) == ("o1", None)
    assert (raised.value.available, raised.value.currency) == (Decimal(20), "USD")
    assert str(raised.value) == (
        "Order 'o1': can't refund 20.01 USD, only 20 USD is left to refund "
        "(captured minus refunded)."
    )
    refund(order, "20")
    assert order.charges[0].refundable == 0


def test_no_refund_before_a_capture() -> None:
    """Nothing captured, nothing to refund."""
    order = new_order()
    fulfil_items(order, {"ebook": 1})
    with unchanged(order), pytest.raises(RefundNotAllowed) as raised:
        refund(order, "1")
    assert str(raised.value) == (
        "Can't refund when in accepted: not until something has been captured."
    )
    assert raised.value.available == 0


def test_sibling_refusals_carry_amounts_of_one_type() -> None:
    """AmountTooLarge and RefundNotAllowed both say what is available as a Decimal."""
    order = captured_order("30")
    with pytest.raises(AmountTooLarge) as too_large:
        refund(order, "31")
    fire(order, OrderEvent.DISPUTE)
    with pytest.raises(RefundNotAllowed) as not_allowed:
        refund(order, "1")
    assert type(too_large.value.available) is type(not_allowed.value.available) is Decimal
    assert type(too_large.value.value) is Decimal


def test_no_refund_in_dispute_until_it_is_resolved() -> None:
    """A dispute blocks refunds; its resolution restores the state and allows them again."""
    order = captured_order("60", "40")
    assert order.state is OrderState.COMPLETE
    fire(order, OrderEvent.DISPUTE)
    with unchanged(order), pytest.raises(RefundNotAllowed) as raised:
        refund(order, "1")
    assert str(raised.value) == "Can't refund when in dispute: the order is in dispute."
    assert raised.value.available == 0
    fire(order, OrderEvent.RESOLVE_DISPUTE)
    assert order.state is OrderState.COMPLETE
    refund(order, "100")
    assert sum(c.refunded for c in order.charges) == 100


@pytest.mark.parametrize("state", [OrderState.PENDING_PAYMENT, OrderState.CANCELLED])
def test_no_refund_before_acceptance(state: OrderState) -> None:
    """States that never had a capture refuse refunds with their own reason."""
    order = walked_to(state)
    with unchanged(order), pytest.raises(RefundNotAllowed, match=f"when in {state}: the order"):
        refund(order, "1")


# Bad input: typed errors naming the charge (or order) and the value; nothing changes.

BAD_AMOUNTS: list[object] = [0, "0.00", -5, "-0.01", "NaN", "Infinity", "ten", True, None, [1]]


@pytest.mark.parametrize("bad", BAD_AMOUNTS)
def test_bad_amount(bad: object) -> None:
    """Zero, negative, non-finite and non-numeric amounts raise InvalidAmount for each operation."""
    order = captured_order("30")
    with unchanged(order):
        calls: list[tuple[Callable[[], object], str]] = [
            (lambda: capture(order, "ch1", bad), "Charge 'ch1'"),  # type: ignore[arg-type]
            (lambda: cancel_charge(order, "ch2", bad), "Charge 'ch2'"),  # type: ignore[arg-type]
            (lambda: refund(order, bad), "Refund of order 'o1'"),  # type: ignore[arg-type]
        ]
        for call, what in calls:
            with pytest.raises(InvalidAmount) as raised:
                call()
            assert str(raised.value).startswith(f"{what}: the amount must be a finite number")
            assert raised.value.value == bad


def test_amount_in_another_currency() -> None:
    """An amount in a currency other than the order's is refused, naming both."""
    order = captured_order("30")
    with unchanged(order):
        calls: list[tuple[Callable[[], object], str]] = [
            (lambda: capture(order, "ch1", "1", currency="EUR"), "Charge 'ch1'"),
            (lambda: cancel_charge(order, "ch1", "1", currency="EUR"), "Charge 'ch1'"),
            (lambda: refund(order, "1", currency="EUR"), "Refund of order 'o1'"),
        ]
        for call, what in calls:
            with pytest.raises(CurrencyMismatch) as raised:
                call()
            assert str(raised.value) == f"{what}: the amount is in 'EUR', but the order is in USD."
            assert (raised.value.value, raised.value.expected) == ("EUR", "USD")
        with pytest.raises(WrongType, match="currency must be a str"):
            refund(order, "1", currency=978)  # type: ignore[arg-type]


def test_unknown_charge() -> None:
    """A charge id the order lacks raises UnknownCharge naming it and the known ones."""
    order = new_order()
    with unchanged(order), pytest.raises(UnknownCharge) as raised:
        capture(order, "ch9", "1")
    assert str(raised.value) == "Order 'o1' has no charge 'ch9': its charges are ch1."


def test_an_order_without_a_currency_takes_any() -> None:
    """When no charge states a currency, none can be contradicted; the request carries it."""
    order = Order.create(
        "o1",
        "accepted",
        items=[Item("a", 1, physical=False)],
        charges=[Charge("c", "capturable", Decimal(5))],
    )
    fulfil_items(order, {"a": 1})
    capture(order, "c", "5", currency="JPY")
    assert refund(order, "5", currency="jpy").currency == "JPY"
    assert RefundRequest("o1", Decimal(1), None).as_json() == {"orderId": "o1", "amount": 1.0}


def absurd_order() -> Order:
    """A fulfilled order whose two charges, of 9e999999 each, were captured in full."""
    order = new_order(
        charges=(
            Charge("ch1", ChargeState.CAPTURABLE, Decimal("9e999999"), "USD"),
            Charge("ch2", ChargeState.CAPTURABLE, Decimal("9e999999"), "USD"),
        ),
    )
    fulfil_items(order, {"shirt": 2, "ebook": 1})
    order.charges = tuple(attrs.evolve(c, captured=c.amount) for c in order.charges)
    return order


@pytest.mark.parametrize("amount", ["9e999999", "9e9999999", "1e18", Decimal("1e30")])
def test_an_absurd_refund_is_an_invalid_amount(amount: object) -> None:
    """A refund of 10^18 or more is InvalidAmount before any sum could overflow Decimal."""
    order = absurd_order()
    with unchanged(order), pytest.raises(InvalidAmount, match="Refund of order 'o1'"):
        refund(order, amount)  # type: ignore[arg-type]


# Hostile amounts: typed errors only, nothing changed.


@st.composite
def _refundable_orders(draw: st.DrawFn) -> Order:
    """A fulfilled order whose charges were captured, some absurdly large (9e999999)."""
    amounts = st.sampled_from(["9e999999", "1e17", "60.00", "0.01"])
    order = new_order(
        charges=tuple(
            Charge(f"ch{n}", ChargeState.CAPTURABLE, Decimal(draw(amounts)), "USD")
            for n in range(draw(st.integers(1, 3)))
        )
    )
    fulfil_items(order, {"shirt": 2, "ebook": 1})
    order.charges = tuple(
        attrs.evolve(c, captured=c.amount if draw(st.booleans()) else Decimal(0))
        for c in order.charges
    )
    return order


@given(_refundable_orders(), HOSTILE_AMOUNTS, st.sampled_from([None, "USD", "usd", "EUR", ""]))
def test_a_hostile_refund_is_a_typed_error(order: Order, amount: Any, currency: Any) -> None:
    """Any amount, however large or strange, refunds or raises from the tree; nothing else."""
    before = copy.deepcopy(order)
    try:
        request = refund(order, amount, currency=currency)
    except OrderLifecycleError:
        assert order == before
    else:
        assert Decimal(0) < request.amount < Decimal("1e18")
        with localcontext(Emax=MAX_EMAX, Emin=MIN_EMIN):  # a tiny refund is no 0 here
            assert sum(c.refunded for c in order.charges) == request.amount


@pytest.mark.parametrize(
    ("amount", "refunds"), [("1", True), (10**5000, False)], ids=["one", "5000-digit int"]
)
def test_refunds_of_absurd_orders_and_amounts(amount: Any, refunds: bool) -> None:
    """Charges summing past Decimal's limit refund; an int of 5,000 digits is InvalidAmount."""
    order = absurd_order()
    if not refunds:
        with unchanged(order), pytest.raises(InvalidAmount, match="Refund of order 'o1'"):
            refund(order, amount)
    else:
        assert refund(order, amount).amount == Decimal(amount)
        assert order.charges[0].refunded == Decimal(amount)


def test_a_tiny_amount_is_recorded_exactly_or_refused() -> None:
    """1e-10000000 is refunded as asked (not silently 0); a sum no 28 digits hold is refused."""
    order = captured_order("60", "40")
    assert refund(order, "1e-10000000").amount == order.charges[0].refunded
    assert order.charges[0].refunded == Decimal("1e-10000000")
    with unchanged(order), pytest.raises(InvalidAmount, match="Refund of order 'o1'"):
        refund(order, "1")  # 1 + 1e-10000000 has no exact 28-digit sum
    other = captured_order("60")
    with unchanged(other), pytest.raises(InvalidAmount, match="Charge 'ch2'"):
        capture(other, "ch2", "1.000000000000000000000000000001")


def test_a_tiny_refund_is_taken_from_one_charge_once() -> None:
    """1e-10000000 from two charges: the first pays it all, the second nothing (not both)."""
    order = captured_order("60", "40")
    request = refund(order, "1e-10000000")
    assert [c.refunded for c in order.charges] == [Decimal("1e-10000000"), Decimal(0)]
    assert request.amount == Decimal("1e-10000000")

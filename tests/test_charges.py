from __future__ import annotations

from decimal import Decimal

import pytest

from order_lifecycle import (
    Charge,
    ChargeState,
    InvalidInput,
    Order,
    WrongType,
)

USD60 = Charge("ch1", ChargeState.CAPTURABLE, "60.00", "USD")


# The Charge value, and the order's currency.


def test_charge_keeps_its_short_form() -> None:
    """``Charge(id, state, amount)`` still works: no currency, nothing captured or cancelled."""
    charge = Charge(id="c", state="capturable", amount=27.01)
    assert charge.amount == charge.authorized == Decimal("27.01")
    assert charge.currency is None
    assert (charge.captured, charge.cancelled, charge.refunded) == (Decimal(0),) * 3
    assert charge.open_amount == Decimal("27.01")


def test_charge_amounts() -> None:
    """Open is authorized minus captured and cancelled; refundable is captured minus refunded."""
    charge = Charge("c", "capturable", "100", "usd", captured="60", cancelled="15", refunded="10")
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
def test_charge_amounts_are_checked(amounts: dict[str, str], message: str) -> None:
    """No charge holds more captured + cancelled than authorized, or refunded than captured."""
    with pytest.raises(InvalidInput, match=message):
        Charge("c", "capturable", "100", "USD", **amounts)


@pytest.mark.parametrize(
    ("bad", "error"), [("US", InvalidInput), ("U$D", InvalidInput), (840, WrongType)]
)
def test_currency_is_an_iso_code(bad: object, error: type[Exception]) -> None:
    """A currency is a three-letter code."""
    with pytest.raises(error, match="currency"):
        Charge("c", "capturable", "1", bad)


def test_order_takes_its_charges_currency() -> None:
    """An order's currency is the one its charges state; two currencies are refused."""
    assert Order.create("o", "accepted", charges=[USD60]).currency == "USD"
    assert Order.create("o", "accepted", currency="eur").currency == "EUR"
    euros = Charge("ch2", "capturable", "1", "EUR")
    with pytest.raises(InvalidInput, match="one currency per order, got EUR, USD"):
        Order.create("o", "accepted", charges=[USD60, euros])
    with pytest.raises(InvalidInput, match="one currency per order"):
        Order.create("o", "accepted", charges=[USD60], currency="EUR")

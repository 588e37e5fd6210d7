from __future__ import annotations

import json

import pytest

from order_lifecycle import Item, OrderEvent, OrderState, fire
from order_lifecycle.orders import fulfil
from order_lifecycle.testing import assert_order_invariants, assert_state_implied, recode

from .orders import T0, new_order, walked_to


def test_charge_amounts_are_checked() -> None:
    """Every order's charges add up: a charge changed behind the model's back is caught."""
    order = walked_to(OrderState.COMPLETE)
    assert_order_invariants(order)
    charge = order.charges[0]
    object.__setattr__(charge, "refunded", charge.captured + 1)  # what no constructor allows
    with pytest.raises(AssertionError, match="charge ch1 refunds too much"):
        assert_order_invariants(order)


def test_state_implied_by_items_and_charges() -> None:
    """The state must be what the rule says; a return fired by hand leaves it ahead."""
    order = new_order()
    fulfil(order, {"shirt": 2, "ebook": 1}, at=T0)
    assert_state_implied(order)
    fire(order, OrderEvent.RETURN, at=T0)
    with pytest.raises(
        AssertionError, match="o1 is returned, but its items and charges say fulfilled"
    ):
        assert_state_implied(order)


def test_state_implied_in_dispute_and_before_acceptance() -> None:
    """In dispute the state to resume is checked; before acceptance nothing is."""
    order = new_order()
    fire(order, OrderEvent.DISPUTE, at=T0)
    assert_state_implied(order)
    order.items = (Item("shirt", 1, physical=True, fulfilled=1),)
    with pytest.raises(AssertionError, match=r"o1 is accepted, but .* say fulfilled"):
        assert_state_implied(order)
    assert_state_implied(new_order(OrderState.PENDING_PAYMENT))


def test_recode_replaces_every_code_and_nothing_else() -> None:
    """Recode changes code and failureCode at any depth, keeps messages, passes non-JSON."""
    body = json.dumps(
        {
            "type": "conflict",
            "errors": [{"code": "failed-request", "message": "Failed to charge source."}],
            "payment": {"charges": [{"failureCode": "do_not_honor", "failureMessage": "No."}]},
        }
    )
    changed = json.loads(recode(body, lambda code: f"<{code}>"))
    assert changed["errors"] == [
        {"code": "<failed-request>", "message": "Failed to charge source."}
    ]
    assert changed["payment"]["charges"] == [
        {"failureCode": "<do_not_honor>", "failureMessage": "No."}
    ]
    assert changed["type"] == "conflict"
    assert recode("not json", lambda _code: "x") == "not json"

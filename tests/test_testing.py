from __future__ import annotations

import json
import types

import pytest

from order_lifecycle import Item, OrderEvent, OrderState, fire, testing
from order_lifecycle.orders import fulfil_items
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
    fulfil_items(order, {"shirt": 2, "ebook": 1}, at=T0)
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


# What order_lifecycle.testing exported before it became a package: kept, for users' tests.
_EXPORTED_IN_0_1 = {
    "assert_checkout_invariants",
    "assert_order_invariants",
    "assert_state_implied",
    "assert_submission_invariants",
    "charges",
    "checkout_events",
    "checkouts",
    "created_bodies",
    "error_bodies",
    "items",
    "new_orders",
    "order_events",
    "provider_errors",
    "recode",
    "submission_responses",
}


def test_all_is_exactly_the_public_names_and_keeps_the_old_ones() -> None:
    """The kit's ``__all__`` lists its public names, every 0.1 name among them, documented."""
    public = {
        name
        for name, value in vars(testing).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations"}
    assert set(testing.__all__) == public
    assert public >= _EXPORTED_IN_0_1
    for name in testing.__all__:
        value = getattr(testing, name)
        if isinstance(value, (types.FunctionType, type)):
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Charge, ChargeState, Item, Order, OrderEvent, OrderState
from order_lifecycle.exceptions import WrongType
from order_lifecycle.lifecycle import ORDER_SPEC, SETTLED_CHARGE_STATES
from order_lifecycle.models import ORDER_MACHINE, implied_state
from order_lifecycle.models._derived import charges_settled, every_item_fulfilled
from order_lifecycle.models._guards import ORDER_GUARDS

from .orders import T0

CAPTURABLE, COMPLETE, CANCELLED = (
    ChargeState.CAPTURABLE,
    ChargeState.COMPLETE,
    ChargeState.CANCELLED,
)


def item(
    quantity: int = 2, fulfilled: int = 0, cancelled: int = 0, returned: int = 0, item_id: str = "i"
) -> Item:
    return Item(
        item_id,
        quantity,
        physical=True,
        fulfilled=fulfilled,
        cancelled=cancelled,
        returned=returned,
    )


def charge(state: ChargeState, charge_id: str = "c") -> Charge:
    return Charge(charge_id, state, Decimal(10))


@pytest.mark.parametrize(
    ("items", "charges", "expected"),
    [
        ([item()], [charge(CAPTURABLE)], OrderState.ACCEPTED),
        ([item(fulfilled=1)], [charge(CAPTURABLE)], OrderState.ACCEPTED),
        ([item(cancelled=1)], [charge(CAPTURABLE)], OrderState.ACCEPTED),
        ([item(fulfilled=2)], [charge(CAPTURABLE)], OrderState.FULFILLED),
        ([item(fulfilled=1, cancelled=1)], [charge(CAPTURABLE)], OrderState.FULFILLED),
        ([item(fulfilled=2)], [charge(COMPLETE)], OrderState.COMPLETE),
        ([item(fulfilled=1)], [charge(COMPLETE)], OrderState.ACCEPTED),
        ([item(fulfilled=2)], [charge(COMPLETE), charge(CANCELLED, "d")], OrderState.COMPLETE),
        ([item(fulfilled=2)], [charge(CANCELLED)], OrderState.FULFILLED),
        ([item(fulfilled=2, returned=2)], [charge(COMPLETE)], OrderState.RETURNED),
        ([item(fulfilled=1, cancelled=1, returned=1)], [charge(COMPLETE)], OrderState.RETURNED),
        ([item(fulfilled=2, returned=1)], [charge(COMPLETE)], OrderState.COMPLETE),
        ([item(cancelled=2)], [charge(COMPLETE)], OrderState.ACCEPTED),
        ([item(cancelled=2)], [charge(CANCELLED)], OrderState.CANCELLED),
        ([item(cancelled=2)], [], OrderState.CANCELLED),
        ([item(cancelled=2)], [charge(CAPTURABLE)], OrderState.ACCEPTED),
        ([item()], [charge(CANCELLED)], OrderState.ACCEPTED),
        ([item(cancelled=2), item(1, cancelled=1, item_id="j")], [charge(CANCELLED)], "cancelled"),
    ],
)
def test_implied_state(items: list[Item], charges: list[Charge], expected: OrderState) -> None:
    """Each clause of the rule, in its order of precedence, gives the state it names."""
    assert implied_state(accepted(items, charges)) is OrderState(expected)


def accepted(items: list[Item], charges: list[Charge]) -> Order:
    return Order.create("o", OrderState.ACCEPTED, at=T0, items=items, charges=charges)


def test_the_rule_is_the_tables_rows_in_order() -> None:
    """The order table holds the rule: guarded rows by precedence, then accepted unguarded."""
    rows = [(str(i.state), i.guard) for i in ORDER_SPEC.implied]
    assert rows == [
        ("cancelled", "everything_cancelled"),
        ("returned", "every_item_returned"),
        ("complete", "fulfilled_and_settled"),
        ("fulfilled", "every_item_fulfilled"),
        ("accepted", None),
    ]


def test_implied_state_takes_an_order() -> None:
    """Anything but an Order is a WrongType, not an AttributeError."""
    with pytest.raises(WrongType, match="an Order"):
        implied_state([item()])  # type: ignore[arg-type]


def test_partial_cancellation_does_not_cancel() -> None:
    """Cancelling some items, or every charge with items still open, keeps the order accepted."""
    items = [item(cancelled=2), item(1, item_id="j")]
    order = accepted(items, [charge(CANCELLED)])
    assert implied_state(order) is OrderState.ACCEPTED
    assert not ORDER_MACHINE.can_fire(order, OrderEvent.CANCEL)


_ITEMS = st.lists(
    st.tuples(st.integers(1, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)).filter(
        lambda t: t[1] + t[2] <= t[0] and t[3] <= t[1]
    ),
    max_size=3,
).map(
    lambda rows: [
        Item(f"i{n}", q, physical=True, fulfilled=f, cancelled=c, returned=r)
        for n, (q, f, c, r) in enumerate(rows)
    ]
)
_CHARGES = st.lists(st.sampled_from(ChargeState), max_size=3).map(
    lambda states: [Charge(f"c{n}", s, Decimal(5)) for n, s in enumerate(states)]
)


@given(_ITEMS, _CHARGES)
def test_the_guards_are_the_rule(items: list[Item], charges: list[Charge]) -> None:
    """From accepted, each data event is allowed exactly when the rule's clause for it holds."""
    order = accepted(items, charges)
    implied = implied_state(order)
    assert ORDER_MACHINE.can_fire(order, OrderEvent.CANCEL) is (implied is OrderState.CANCELLED)
    assert ORDER_MACHINE.can_fire(order, OrderEvent.FULFIL) is every_item_fulfilled(items)
    assert ORDER_MACHINE.can_fire(order, OrderEvent.COMPLETE) is (
        every_item_fulfilled(items) and charges_settled(charges)
    )
    if implied is OrderState.ACCEPTED:
        assert not {OrderEvent.CANCEL, OrderEvent.FULFIL, OrderEvent.COMPLETE} & set(
            ORDER_MACHINE.allowed_events(order)
        )


@given(_ITEMS, _CHARGES)
def test_every_guarded_row_into_an_implied_state_is_its_clause(
    items: list[Item], charges: list[Charge]
) -> None:
    """A guard on a row into a state the rule implies is that state's clause: one rule."""
    order = accepted(items, charges)
    clauses = {i.state: ORDER_GUARDS[i.guard] for i in ORDER_SPEC.implied if i.guard is not None}
    rows = [r for r in ORDER_SPEC.transitions_from(OrderState.ACCEPTED) if r.guard is not None]
    assert {r.dest for r in rows} == {
        OrderState.CANCELLED,
        OrderState.FULFILLED,
        OrderState.COMPLETE,
    }
    for row in rows:
        guard = ORDER_GUARDS[row.guard]  # type: ignore[index]
        assert guard(order, row) is clauses[row.dest](order, None)


@given(_ITEMS, _CHARGES)
def test_an_implied_state_keeps_what_it_requires(items: list[Item], charges: list[Charge]) -> None:
    """Data in the state it implies breaks nothing that state requires (the table agrees)."""
    order = accepted(items, charges)
    order.state = implied_state(order)
    assert ORDER_MACHINE.unmet_requirements(order) == ()


def test_a_closed_state_requires_no_open_unit() -> None:
    """Fulfilled with a unit open, or complete with a charge open: the table names what breaks."""
    order = accepted([item(fulfilled=1)], [charge(CAPTURABLE)])
    order.state = OrderState.FULFILLED
    assert [g.name for g in ORDER_MACHINE.unmet_requirements(order)] == ["nothing_open"]
    order.state = OrderState.COMPLETE
    assert [g.name for g in ORDER_MACHINE.unmet_requirements(order)] == [
        "nothing_open",
        "every_charge_settled",
    ]


def test_settled_means_nothing_left_open() -> None:
    """A settled charge is complete or cancelled: the one definition every rule reads."""
    assert frozenset({COMPLETE, CANCELLED}) == SETTLED_CHARGE_STATES

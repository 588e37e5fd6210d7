from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from order_lifecycle import (
    Charge,
    ChargeState,
    Checkout,
    CheckoutState,
    InvalidInput,
    Item,
    Order,
    OrderEvent,
    OrderState,
    fire,
)
from order_lifecycle.exceptions import UnknownState, WrongType
from order_lifecycle.lifecycle import FraudState, Step
from order_lifecycle.models import SnapshotMark
from order_lifecycle.models._models import marked_charge
from order_lifecycle.testing import HOSTILE_NUMBERS, POISON, charges, items, new_orders

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_order_create_records_the_creation() -> None:
    """A created order has one history step: created in its state, at its time."""
    order = Order.create("o1", "in_review", at=T0, fraud_state="review_opened", event_id="e")
    assert order.state is OrderState.IN_REVIEW
    assert order.fraud_state is FraudState.REVIEW_OPENED
    assert order.history == [Step(None, None, OrderState.IN_REVIEW, T0, "e")]
    assert order.state_transitions == {OrderState.IN_REVIEW: T0}


def test_state_transitions_keep_the_first_entry() -> None:
    """Re-entering a state (after a dispute) keeps its first time, as the provider's map does."""
    later = datetime(2026, 3, 2, tzinfo=UTC)
    order = Order.create("o1", "accepted", at=T0)
    fire(order, OrderEvent.DISPUTE, at=later)
    fire(order, OrderEvent.RESOLVE_DISPUTE, at=later)
    assert order.state_transitions == {OrderState.ACCEPTED: T0, OrderState.DISPUTE: later}
    assert len(order.history) == 3


@pytest.mark.parametrize("state", ["blocked", "cancelled", "fulfilled", "dispute"])
def test_order_is_created_only_in_an_entry_state(state: str) -> None:
    """A 201 never returns blocked (DESIGN 1.1): creation elsewhere is refused."""
    with pytest.raises(InvalidInput, match="must start with its creation in one of"):
        Order.create("o1", state)


def test_unknown_state() -> None:
    """An unknown state string raises UnknownState listing the known ones."""
    with pytest.raises(UnknownState, match=r"Unknown order state 'shipped': expected one of"):
        Order.create("o1", "shipped")


def test_assigning_an_unknown_state_changes_nothing() -> None:
    """Even a direct assignment is checked: the field keeps its value."""
    order = Order.create("o1", at=T0)
    with pytest.raises(UnknownState):
        order.state = "shipped"  # type: ignore[assignment]
    assert order.state is OrderState.PENDING_PAYMENT


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"id": ""}, WrongType, "Order.id must be a non-empty str"),
        ({"id": 7}, WrongType, "Order.id must be a non-empty str, got int 7"),
        ({"fraud_state": "maybe"}, UnknownState, "Unknown fraud state 'maybe'"),
        ({"items": [("i", 1)]}, WrongType, "Order.items[] must be of type Item"),
        ({"items": "abc"}, WrongType, "Order.items must be an iterable of Item"),
        ({"charges": [Charge("c", "pending", 1)] * 2}, InvalidInput, "duplicate charge ids"),
        ({"checkout_id": ""}, WrongType, "Order.checkout_id must be a non-empty str"),
    ],
)
def test_bad_order_fields(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    """Each bad field raises its typed error, naming the field and the value."""
    fields: dict[str, object] = {"id": "o1", "state": "accepted", **kwargs}
    with pytest.raises(error) as raised:
        Order(**fields)  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_history_must_lead_to_the_state() -> None:
    """A history that ends elsewhere than the state is refused."""
    with pytest.raises(InvalidInput, match="order in accepted has a history ending in in_review"):
        Order("o1", "accepted", history=[Step(None, None, OrderState.IN_REVIEW, T0)])
    with pytest.raises(InvalidInput, match="needs a history"):
        Order("o1", "accepted", history=[])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"quantity": 0}, InvalidInput, "item 'i': quantity must be 1 or more, got 0"),
        ({"quantity": -1}, InvalidInput, "item 'i'.quantity must be 0 or more, got -1"),
        ({"quantity": 1.5}, WrongType, "item 'i'.quantity must be an int"),
        ({"quantity": True}, WrongType, "item 'i'.quantity must be an int"),
        ({"fulfilled": 2, "cancelled": 2}, InvalidInput, "exceed the quantity ordered (3)"),
        ({"fulfilled": 1, "returned": 2}, InvalidInput, "returned (2) exceeds fulfilled (1)"),
        ({"physical": "yes"}, WrongType, "item 'i'.physical must be True, False or None"),
    ],
)
def test_bad_items(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    """Item quantities are whole, positive and consistent; errors name the item."""
    fields: dict[str, object] = {"id": "i", "quantity": 3, "physical": True, **kwargs}
    with pytest.raises(error) as raised:
        Item(**fields)  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_item_open_quantity() -> None:
    """Open units are those neither fulfilled nor cancelled."""
    assert Item("i", 5, physical=False, fulfilled=2, cancelled=1).open_quantity == 2


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("10.50", Decimal("10.50")), (27.01, Decimal("27.01")), (3, Decimal(3))],
)
def test_charge_amounts_are_decimal(amount: object, expected: Decimal) -> None:
    """Amounts become Decimal; a float means its decimal spelling (27.01, not its neighbour)."""
    assert Charge("c", ChargeState.PENDING, amount).amount == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("-1", InvalidInput),
        ("NaN", InvalidInput),
        ("ten", InvalidInput),
        (None, WrongType),
        (True, WrongType),
    ],
)
def test_bad_charge_amounts(amount: object, error: type[Exception]) -> None:
    """Negative, non-finite, non-numeric or non-number amounts are refused."""
    with pytest.raises(error, match="amount must be"):
        Charge("c", ChargeState.PENDING, amount)  # type: ignore[arg-type]


def test_unknown_charge_state() -> None:
    """A charge state the provider does not send is refused."""
    with pytest.raises(UnknownState, match="Unknown charge state 'authorized'"):
        Charge("c", "authorized", 1)


def test_checkout_defaults() -> None:
    """A new checkout is open, with no attempt and a creation step."""
    checkout = Checkout("chk")
    assert checkout.state is CheckoutState.OPEN
    assert checkout.attempts == []
    assert [s.dest for s in checkout.history] == [CheckoutState.OPEN]
    assert repr(checkout) == "<Checkout(id='chk', state='open', attempts=0)>"


def test_checkout_cannot_start_consumed() -> None:
    """A checkout starts open; a consumed one needs the history that consumed it."""
    with pytest.raises(InvalidInput, match="must start with its creation in one of open"):
        Checkout("chk", CheckoutState.CONSUMED)


def test_reprs_summarise() -> None:
    """Reprs say what the model is without dumping it."""
    order = Order.create("o1", items=[Item("i", 1, physical=True)])
    assert repr(order) == "<Order(id='o1', state='pending_payment', items=1, charges=0, steps=1)>"


def test_snapshot_marks_order_by_time_then_id() -> None:
    """A later event's mark is greater; at the same time, the event id breaks the tie."""
    early = SnapshotMark(datetime(2026, 1, 1, tzinfo=UTC), "evt-b")
    late = SnapshotMark(datetime(2026, 1, 2, tzinfo=UTC), "evt-a")
    tie = SnapshotMark(datetime(2026, 1, 1, tzinfo=UTC), "evt-c")
    assert early < tie < late
    assert str(early) == "event 'evt-b' of 2026-01-01T00:00:00+00:00"


@given(
    st.tuples(st.datetimes(timezones=st.just(UTC)), st.sampled_from(["evt-a", "evt-b"])),
    st.tuples(st.datetimes(timezones=st.just(UTC)), st.sampled_from(["evt-a", "evt-b"])),
)
def test_snapshot_marks_compare_as_their_time_and_id(
    a: tuple[datetime, str], b: tuple[datetime, str]
) -> None:
    """Every comparison of two marks is that of their (time, event id) pairs."""
    x, y = SnapshotMark(*a), SnapshotMark(*b)
    assert [x < y, x <= y, x > y, x >= y, x == y] == [a < b, a <= b, a > b, a >= b, a == b]


def test_snapshot_marks_compare_with_marks_only() -> None:
    """A mark is neither less nor greater than anything but a mark."""
    mark = SnapshotMark(datetime(2026, 1, 1, tzinfo=UTC), "evt-a")
    with pytest.raises(TypeError):
        _ = mark < (mark.at, mark.event_id)  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = mark >= "evt-a"  # type: ignore[operator]


def test_snapshot_marks_are_checked() -> None:
    """A mark needs an aware time and an event id; as_of takes a mark or None."""
    with pytest.raises(WrongType, match=r"SnapshotMark\.at must be an aware datetime"):
        SnapshotMark(datetime(2026, 1, 1), "evt-1")  # noqa: DTZ001
    with pytest.raises(WrongType, match=r"SnapshotMark\.event_id must be a non-empty str"):
        SnapshotMark(datetime(2026, 1, 1, tzinfo=UTC), "")
    with pytest.raises(WrongType, match=r"Charge\.as_of must be a SnapshotMark or None"):
        Charge("c", "capturable", Decimal(1), as_of="evt-1")  # type: ignore[arg-type]
    order = Order.create("o1", at=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(WrongType, match=r"Order\.as_of must be a SnapshotMark or None"):
        order.as_of = "evt-1"  # type: ignore[assignment]
    assert order.as_of is None


def test_equal_amounts_of_a_charge_share_one_object() -> None:
    """A charge keeps one Decimal per distinct amount: zeros and a full capture are shared."""
    full = Charge("c", ChargeState.COMPLETE, Decimal("17.07"), captured=Decimal("17.07"))
    assert full.captured is full.amount
    assert full.cancelled is full.refunded
    other = Charge("d", ChargeState.PENDING, Decimal(5), cancelled=Decimal(0), refunded=Decimal(0))
    assert other.cancelled is other.refunded is full.cancelled


def test_shared_amounts_keep_their_spelling() -> None:
    """Only amounts equal and spelled alike are shared: ``17.070`` and ``0.00`` keep theirs."""
    charge = Charge(
        "c",
        ChargeState.COMPLETE,
        Decimal("17.07"),
        captured=Decimal("17.070"),
        refunded=Decimal("0.00"),
    )
    assert str(charge.captured) == "17.070"
    assert charge.captured is not charge.amount
    assert str(charge.refunded) == "0.00"
    assert str(charge.cancelled) == "0"
    assert str(Charge("z", ChargeState.PENDING, Decimal("-0")).amount) == "-0"


def test_currency_codes_are_shared() -> None:
    """Every charge and order naming a currency holds the one interned code string."""
    # Decoded: each a new str object, as a parser would make them.
    first = Charge("c", ChargeState.PENDING, Decimal(1), b"usd".decode())
    second = Charge("d", ChargeState.PENDING, Decimal(1), b"USD".decode())
    order = Order.create("o1", at=T0, currency=b"uSD".decode())
    assert first.currency is second.currency is order.currency == "USD"


@pytest.mark.parametrize(
    "value",
    [
        Step(None, None, OrderState.ACCEPTED, T0),
        Item("i", 1, physical=True),
        Charge("c", ChargeState.PENDING, Decimal(1)),
        SnapshotMark(T0, "evt-1"),
    ],
    ids=type,
)
def test_values_have_no_weakref_slot(value: object) -> None:
    """Frozen values carry no ``__weakref__`` slot: a live order holds many of them."""
    assert not hasattr(value, "__weakref__")


@pytest.mark.parametrize(("charge", "mark"), [("c1", None), (None, None), (1, "mark")])
def test_marked_charge_refuses_a_wrong_charge_or_mark(charge: object, mark: object) -> None:
    """A charge that is not a Charge, or a mark not a SnapshotMark, raises WrongType."""
    real = Charge("c1", "capturable", Decimal("1.00"))
    with pytest.raises(WrongType):
        marked_charge(charge if mark is None else real, mark)  # type: ignore[arg-type]


@given(new_orders(), st.lists(charges(), max_size=3, unique_by=lambda c: c.id))
def test_evolved_is_what_attrs_evolve_gives_for_checked_parts(
    order: Order, found: list[Charge]
) -> None:
    """Order.evolved gives attrs.evolve's order for checked parts, or refuses as it would."""
    parts: dict[str, Any] = {
        "fraud_state": FraudState.PASSED,
        "items": order.items,
        "charges": tuple(found),
        "checkout_id": order.checkout_id,
        "currency": None,
        "as_of": SnapshotMark(datetime(2026, 1, 1, tzinfo=UTC), "evt-1"),
    }
    try:
        expected = attrs.evolve(order, history=list(order.history), **parts)
    except InvalidInput as error:
        with pytest.raises(InvalidInput, match=re.escape(str(error))):
            order.evolved(**parts)
        return
    evolved = order.evolved(**parts)
    assert evolved == expected
    assert evolved.history is not order.history


_CODES = st.sampled_from([None, "USD", "EUR"])


@given(
    new_orders(),
    st.lists(items(st.sampled_from(["i1", "i2", "i3"])), max_size=3),
    st.lists(
        st.builds(
            lambda c, i: attrs.evolve(c, id=i),
            charges(currencies=_CODES),
            st.sampled_from(["c1", "c2", "c3"]),
        ),
        max_size=3,
    ),
    _CODES,
)
@example(Order("o", "accepted"), [Item("i1", 1, None)] * 2, [], None)
@example(Order("o", "accepted"), [], [Charge("c1", "pending", Decimal(1))] * 2, None)
@example(Order("o", "accepted"), [], [Charge("c1", "pending", Decimal(1), "EUR")], "USD")
@example(Order("o", "accepted"), [], [Charge("c1", "pending", Decimal(1), "EUR")], None)
def test_evolved_holds_the_rules_of_an_orders_parts(
    order: Order, given_items: list[Item], given_charges: list[Charge], currency: str | None
) -> None:
    """Order.evolved refuses an id twice or two currencies, else takes the currency stated."""
    parts: dict[str, Any] = {
        "fraud_state": None,
        "items": tuple(given_items),
        "charges": tuple(given_charges),
        "checkout_id": None,
        "currency": currency,
        "as_of": None,
    }
    item_ids, charge_ids = [i.id for i in given_items], [c.id for c in given_charges]
    stated = {c.currency for c in given_charges if c.currency is not None} | (
        set() if currency is None else {currency}
    )
    if len(set(item_ids)) < len(item_ids):
        why = f"order {order.id!r}: duplicate item ids in {item_ids}."
    elif len(set(charge_ids)) < len(charge_ids):
        why = f"order {order.id!r}: duplicate charge ids in {charge_ids}."
    elif len(stated) > 1:
        why = f"order {order.id!r}: one currency per order, got {', '.join(sorted(stated))}."
    else:
        evolved = order.evolved(**parts)
        assert evolved.currency == (stated.pop() if stated else None)
        assert (evolved.items, evolved.charges) == (parts["items"], parts["charges"])
        return
    with pytest.raises(InvalidInput, match=re.escape(why)):
        order.evolved(**parts)


_ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=10**20),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.sampled_from(["\x00", "\ud800", "i-1", ""]),
)


class _Instant(datetime):
    """A datetime of a subclass: taken as any datetime is (by the validators, not at once)."""


_TIMES = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    st.datetimes(),  # naive
    st.builds(
        lambda t: _Instant.fromtimestamp(t.timestamp(), UTC), st.datetimes(timezones=st.just(UTC))
    ),
    _ANYTHING,
)


@given(_TIMES, st.one_of(st.text(max_size=6), _ANYTHING))
def test_a_snapshot_mark_takes_an_aware_time_and_an_id_or_raises_wrongtype(
    at: object, event_id: object
) -> None:
    """SnapshotMark takes an aware datetime and a non-empty str as given; else WrongType."""
    if not isinstance(at, datetime) or at.tzinfo is None:
        why = "SnapshotMark.at must be an aware datetime"
    elif not isinstance(event_id, str) or not event_id:
        why = "SnapshotMark.event_id must be a non-empty str"
    else:
        mark = SnapshotMark(at, event_id)
        assert (mark.at, mark.event_id) == (at, event_id)
        assert mark.at is at
        return
    with pytest.raises(WrongType, match=re.escape(why)):
        SnapshotMark(at, event_id)  # type: ignore[arg-type]


class _Text(str):
    """A str of another type: never the fast path's."""

    __slots__ = ()


@given(
    st.one_of(st.text(max_size=6), POISON, st.builds(_Text, st.text(max_size=3)), _ANYTHING),
    st.one_of(st.integers(min_value=-2, max_value=5), HOSTILE_NUMBERS, _ANYTHING),
    st.one_of(st.none(), st.booleans(), _ANYTHING),
    st.one_of(st.none(), st.text(max_size=6), POISON, st.builds(_Text, st.text(max_size=3))),
)
def test_an_ordered_item_is_the_item_the_constructor_builds_or_its_error(
    item_id: object, quantity: object, physical: object, sku: object
) -> None:
    """Item.ordered gives what Item(...) gives, value for value, or raises the same error."""
    try:
        expected: object = Item(item_id, quantity, physical, sku=sku)  # type: ignore[arg-type]
    except Exception as error:  # noqa: BLE001 (whatever it is, ordered must raise it too)
        with pytest.raises(type(error), match=re.escape(str(error))):
            Item.ordered(item_id, quantity, physical, sku)  # type: ignore[arg-type]
        return
    made = Item.ordered(item_id, quantity, physical, sku)  # type: ignore[arg-type]
    assert made == expected
    assert attrs.asdict(made) == attrs.asdict(expected)

from __future__ import annotations

import json
import typing
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Charge, ChargeState, Checkout, CheckoutState, Item, Order
from order_lifecycle.checkout import begin_submission, record_no_response, record_response, settle
from order_lifecycle.lifecycle import Step
from order_lifecycle.models import ORDER_MACHINE
from order_lifecycle.models._models import SnapshotMark, marked_charge
from order_lifecycle.store import StoreCorrupt
from order_lifecycle.store._codec import (
    CHECKOUT,
    ORDER,
    STEP_FIELDS,
    Kind,
    decode,
    encode,
    join,
    read_steps,
    split,
    split_head,
    step_data,
    step_rows,
)
from order_lifecycle.testing import HOSTILE_TEXT, new_orders, order_events

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EVENT_IDS = st.none() | st.text("abc", min_size=1, max_size=4)


def through_json(data: object) -> object:
    """What a database hands back: the data as JSON text, parsed again."""
    return json.loads(json.dumps(data))


@st.composite
def lived_orders(draw: st.DrawFn) -> Order:
    """A new order after random events: those the machine allows are fired, marked at random."""
    order = draw(new_orders())
    at = order.history[0].at
    for event in draw(st.lists(order_events(), max_size=12)):
        if ORDER_MACHINE.can_fire(order, event):
            at += timedelta(seconds=draw(st.integers(0, 10**6)))
            ORDER_MACHINE.fire(
                order, event, at=at, event_id=draw(EVENT_IDS), implied=draw(st.booleans())
            )
    return order


def _generic_head(order: Order) -> tuple[dict[str, object], str, list[list[object]]]:
    """What split gave before the order's own encoders: the generic encoding, keys sorted."""
    data = encode(order)
    steps = data.pop("history")
    columns = {"id": data.pop("id")} | {name: data.pop(name) for name in ORDER.columns}
    body = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return columns, body, [[step[name] for name in STEP_FIELDS] for step in steps]


@given(lived_orders(), st.data())
def test_the_orders_own_encoders_write_what_the_generic_one_does(
    order: Order, data: st.DataObject
) -> None:
    """Split and split_head give an order's generic encoding byte for byte, marks included."""
    marks = st.none() | st.builds(SnapshotMark, st.just(T0), st.text("abc", min_size=1))
    order.as_of = data.draw(marks)
    order.charges = tuple(marked_charge(c, data.draw(marks)) for c in order.charges)
    generic = _generic_head(order)
    assert split(ORDER, order) == generic
    assert split_head(ORDER, order) == generic[:2]
    assert step_rows(order.history) == generic[2]


_ANY_IDS = HOSTILE_TEXT.filter(bool)  # every code point, NUL and lone surrogates among them
_HOSTILE_MARKS = st.none() | st.builds(SnapshotMark, st.just(T0), _ANY_IDS)


@st.composite
def _hostile_parts(draw: st.DrawFn) -> tuple[list[Item], list[Charge]]:
    """Items and charges of any text, huge counts and amounts, in any state, any mark."""
    quantities = st.integers(1, 10**30)
    items = st.builds(
        Item,
        id=_ANY_IDS,
        quantity=quantities,
        physical=st.sampled_from([True, False, None]),
        sku=st.none() | _ANY_IDS,
    )
    charges = st.builds(
        Charge,
        id=_ANY_IDS,
        state=st.sampled_from(ChargeState),
        amount=st.decimals(Decimal(0), Decimal(10) ** 30, allow_nan=False),
        currency=st.sampled_from([None, "EUR", "usd"]),
        as_of=_HOSTILE_MARKS,
    )
    unique = {"max_size": 3, "unique_by": lambda part: part.id}
    return draw(st.lists(items, **unique)), draw(st.lists(charges, **unique))  # type: ignore[arg-type]


@given(new_orders(), _hostile_parts(), _HOSTILE_MARKS)
def test_the_orders_own_encoders_write_any_text_and_number_as_the_generic_one(
    order: Order, parts: tuple[list[Item], list[Charge]], mark: SnapshotMark | None
) -> None:
    """An order whose parts hold any code point and huge numbers is encoded byte for byte alike."""
    order.items, order.charges = tuple(parts[0]), tuple(parts[1])
    order.as_of = mark
    generic = _generic_head(order)
    assert split(ORDER, order) == generic
    assert split_head(ORDER, order) == generic[:2]


@given(lived_orders())
def test_orders_round_trip(order: Order) -> None:
    """Any order, with any history, encodes to JSON and decodes to an equal order."""
    assert decode(Order, through_json(encode(order))) == order


@given(lived_orders())
def test_orders_round_trip_through_columns_body_and_rows(order: Order) -> None:
    """Split into columns, a JSON body and history rows, then joined: the same order."""
    columns, body, steps = split(ORDER, order)
    assert set(columns) == {"id", "state", "fraud_state", "checkout_id"}
    assert "history" not in json.loads(body)
    assert len(steps) == len(order.history)
    assert join(ORDER, columns, body, through_json(steps)) == order  # type: ignore[arg-type]


def test_checkouts_round_trip_with_raw_bodies() -> None:
    """A checkout's attempts keep their bodies exactly: text as text, bytes as bytes."""
    checkout = Checkout("chk-1", history=[Step(None, None, CheckoutState.OPEN, T0)])
    begin_submission(checkout, at=T0)
    record_no_response(checkout, at=T0)
    settle(checkout, None, at=T0)
    begin_submission(checkout, at=T0)
    with pytest.raises(ValueError, match="not the provider's shape"):
        record_response(checkout, 201, b"\xff\x00 not json", at=T0)
    settle(checkout, None, at=T0)
    begin_submission(checkout, at=T0)
    record_response(checkout, 400, '{"type": "bad_request", "errors": []}', at=T0)
    columns, body, steps = split(CHECKOUT, checkout)
    back = join(CHECKOUT, through_json(columns), body, through_json(steps))  # type: ignore[arg-type]
    assert back == checkout
    assert [a.body for a in back.attempts] == [
        None,
        b"\xff\x00 not json",
        '{"type": "bad_request", "errors": []}',
    ]


class Colour(StrEnum):
    """An enum a future model might use."""

    RED = "red"


@attrs.frozen
class Part:
    """A nested value of a future model."""

    name: str
    price: Decimal


@attrs.frozen
class FutureModel:
    """A model with fields of every kind the codec knows, none of them special-cased."""

    when: datetime
    colour: Colour
    parts: tuple[Part, ...]
    note: str | None = None
    blob: str | bytes | None = None
    count: int = 0
    flag: bool = False
    later: list[Part] = attrs.Factory(list)


def test_the_codec_is_generic_over_attrs_fields() -> None:
    """A model it was never told about round-trips: the codec walks the fields."""
    offset = timezone(timedelta(hours=-5))
    value = FutureModel(
        datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=offset),
        Colour.RED,
        (Part("a", Decimal("1.10")), Part("b", Decimal("0.000"))),
        blob=b"\x00",
        count=3,
        flag=True,
        later=[Part("c", Decimal(7))],
    )
    data = through_json(encode(value))
    assert data == {
        "when": "2026-01-02T03:04:05.000006-05:00",
        "colour": "red",
        "parts": [{"name": "a", "price": "1.10"}, {"name": "b", "price": "0.000"}],
        "note": None,
        "blob": {"$bytes": "AA=="},
        "count": 3,
        "flag": True,
        "later": [{"name": "c", "price": "7"}],
    }
    back = decode(FutureModel, data)
    assert back == value
    assert back.when.utcoffset() == timedelta(hours=-5)
    assert str(back.parts[1].price) == "0.000"


def test_a_field_missing_from_stored_data_takes_its_default() -> None:
    """A record stored before a field was added reads back with the field's default."""
    data = {"when": T0.isoformat(), "colour": "red", "parts": []}
    assert decode(FutureModel, data) == FutureModel(T0, Colour.RED, ())


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"when": T0.isoformat(), "colour": "blue", "parts": []}, "'blue' is not a valid Colour"),
        ({"when": T0.isoformat(), "colour": "red", "parts": {}}, "expected a list"),
        ({"when": 7, "colour": "red", "parts": []}, "expected an ISO 8601 time"),
        ({"when": T0.isoformat(), "colour": "red", "parts": [], "count": "3"}, "expected int"),
        ({"when": T0.isoformat(), "colour": "red", "parts": [], "flag": 1}, "expected bool"),
        (
            {"when": T0.isoformat(), "colour": "red", "parts": [{"name": "a", "price": "x"}]},
            "not a decimal",
        ),
        ({"when": T0.isoformat(), "colour": "red", "parts": [], "size": 1}, "has no field size"),
        ({"when": T0.isoformat(), "colour": "red", "parts": [], "blob": 5}, "expected str"),
        ([], "expected the fields of FutureModel"),
    ],
)
def test_data_that_does_not_fit_is_store_corrupt(data: object, problem: str) -> None:
    """Stored data of the wrong shape raises StoreCorrupt saying what does not fit."""
    with pytest.raises(StoreCorrupt, match="a stored FutureModel cannot be read back") as raised:
        decode(FutureModel, data)
    assert problem in str(raised.value)


def test_values_the_model_refuses_are_store_corrupt() -> None:
    """The models validate what comes back: an item with more fulfilled than ordered fails."""
    order = Order.create("o-1", "accepted", at=T0, items=[Item("i", 1, physical=True)])
    columns, body, steps = split(ORDER, order)
    broken = body.replace('"fulfilled":0', '"fulfilled":5')
    with pytest.raises(StoreCorrupt, match=r"stored Order 'o-1'.*exceed the quantity ordered"):
        join(ORDER, columns, broken, steps)
    with pytest.raises(StoreCorrupt, match="stored Order 'o-1'"):
        join(ORDER, columns, "{not json", steps)
    with pytest.raises(StoreCorrupt, match=r"stored Order 'o-1'.*history ending in"):
        join(ORDER, columns | {"state": "complete"}, body, steps)


def test_what_the_codec_refuses_to_store() -> None:
    """Naive datetimes and unknown types are bugs in a model, refused when encoding."""
    with pytest.raises(TypeError, match="aware datetimes only"):
        encode(datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(TypeError, match="cannot store set"):
        encode({1})


def test_amounts_keep_their_exact_decimal_text() -> None:
    """Amounts are stored as decimal text: never through float."""
    order = Order.create(
        "o-1",
        "accepted",
        at=T0,
        charges=[Charge("c", ChargeState.PENDING, Decimal("0.1000000000000000001"))],
    )
    columns, body, steps = split(ORDER, order)
    assert '"amount":"0.1000000000000000001"' in body
    back = join(ORDER, columns, body, steps)
    assert isinstance(back, Order)
    assert back.charges[0].amount == Decimal("0.1000000000000000001")


_HOSTILE = st.one_of(
    st.none(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True),
    st.binary(max_size=4),
    st.text(max_size=6),
    st.sampled_from(["\x00", "\ud800", "", " accept", "ACCEPT"]),
    st.datetimes().map(datetime.isoformat),  # a time with no offset
    st.sampled_from(["2026-13-01T00:00:00Z", "2026-03-01T12:00:00", "not a time"]),
)


@pytest.mark.parametrize("kind", [ORDER, CHECKOUT], ids=["order", "checkout"])
@given(data=st.data())
def test_read_steps_gives_the_generic_decoders_steps_or_its_error(
    kind: Kind, data: st.DataObject
) -> None:
    """read_steps builds what decode builds of step_data, or raises the same type of error.

    A plainly valid row, then maybe one column (or two) replaced by anything a database
    could hand back, or a row of another width.
    """
    states, events = typing.get_args(kind.step_type)
    state = st.sampled_from([m.value for m in states])
    row = data.draw(
        st.tuples(
            st.none() | st.sampled_from([m.value for m in events]),
            st.none() | state,
            state,
            st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])).map(
                datetime.isoformat
            ),
            st.none() | st.text(max_size=6),
            st.booleans() | st.sampled_from([0, 1, 2, None, "x"]),
        ).map(list)
    )
    for _ in range(data.draw(st.integers(0, 2))):
        row[data.draw(st.integers(0, len(row) - 1))] = data.draw(_HOSTILE)
    if data.draw(st.integers(0, 9)) == 0:
        row = row[: data.draw(st.integers(0, 5))] or [*row, None]  # another width
    try:
        expected = decode(kind.step_type, step_data(row))
    except Exception as error:  # noqa: BLE001 (whatever it raises, read_steps must too)
        with pytest.raises(type(error)):
            read_steps(kind, [row])
        return
    (read,) = read_steps(kind, [row])
    assert type(read) is Step
    assert read == expected
    assert (read.event, read.source, read.dest) == (expected.event, expected.source, expected.dest)
    assert (read.at, read.at.utcoffset()) == (expected.at, expected.at.utcoffset())
    assert (read.event_id, read.implied) == (expected.event_id, expected.implied)

"""The typed decoder against the checked reader: the same values, or it steps aside."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from order_lifecycle._json import Problem, loads
from order_lifecycle.exceptions import InvalidEvent, InvalidInput, InvalidOrderBody
from order_lifecycle.lifecycle import ChargeState
from order_lifecycle.models import Charge
from order_lifecycle.provider import _typed
from order_lifecycle.provider._payload import OrderSnapshot, read_order
from order_lifecycle.provider._typed import typed_envelope, typed_event, typed_keys, typed_order
from order_lifecycle.testing import (
    HOSTILE_AMOUNTS,
    HOSTILE_TEXT,
    POISON,
    hostile_bodies,
    order_lives,
)
from order_lifecycle.webhooks import Event, OtherObject, parse_event
from order_lifecycle.webhooks._envelope import checked_envelope, read_envelope
from order_lifecycle.webhooks._events import checked_event

from . import hostile
from . import webhook_events as ev

# What the checked reader refuses and the typed one need not: a number no decision reads.
_UNREAD_NUMBER = ("a number in the body has",)


def _checked(body: bytes) -> Event | str:
    try:
        return checked_event(body)
    except InvalidEvent as error:
        return error.problem


def _fixture_bodies() -> list[bytes]:
    return [ev.raw(p) for life in ev.ALL_LIVES.values() for p in life()]


def test_every_fixture_order_or_charge_event_is_read_by_the_typed_decoder() -> None:
    """The hand-written lives' order and charge events all take the typed path, alike."""
    bodies = _fixture_bodies()
    for body in bodies:
        typed = typed_event(body)
        checked = checked_event(body)
        if isinstance(checked.data, OtherObject):  # a file, a refund: the checked reader's
            assert typed is None
        else:
            assert typed is not None
            assert Event(*typed) == checked


@given(order_lives(max_moves=8))
def test_every_delivery_of_a_valid_life_is_read_alike(life: object) -> None:
    """Each delivery of a valid life (both API versions) is read by the typed decoder, equal."""
    for delivery in life.deliveries:  # type: ignore[attr-defined]
        typed = typed_event(delivery.body)
        assert typed is not None
        assert Event(*typed) == checked_event(delivery.body)
        assert typed_envelope(delivery.body) is not None
        assert read_envelope(delivery.body) == checked_envelope(delivery.body)


@given(hostile.hostile_bodies() | hostile_bodies())
def test_a_hostile_body_is_read_alike_or_left_to_the_checked_reader(body: bytes) -> None:
    """Typed and checked readers agree; they differ only on a number no decision reads."""
    typed = typed_event(body)
    checked = _checked(body)
    if typed is None:
        assert parse_event_or_problem(body) == checked
        return
    if isinstance(checked, str):
        assert checked.startswith(_UNREAD_NUMBER)
    else:
        assert Event(*typed) == checked


def parse_event_or_problem(body: bytes) -> Event | str:
    try:
        return parse_event(body)
    except InvalidEvent as error:
        return error.problem


@given(hostile.hostile_bodies() | hostile_bodies() | st.binary(max_size=64))
def test_the_envelope_is_the_checked_one_unless_a_number_it_skips_refused_that(
    body: bytes,
) -> None:
    """read_envelope gives what json.loads gives, but reads past numbers it never uses."""
    fast, slow = read_envelope(body), checked_envelope(body)
    if fast != slow:
        assert slow[4] is not None
        assert fast[4] is None
        assert typed_envelope(body) is not None
        with pytest.raises(ValueError, match=r"digits|Exceeds the limit"):
            json.loads(body)


def _objects() -> st.SearchStrategy[dict[str, object]]:
    objects = [
        p["data"]["object"]
        for life in ev.ALL_LIVES.values()
        for p in life()
        if "state" in p["data"]["object"]
    ]
    return st.sampled_from(objects)


@given(hostile_bodies(_objects()))
def test_a_fetched_order_body_is_read_alike_or_left_to_the_checked_reader(body: bytes) -> None:
    """typed_order gives read_order's snapshot, or steps aside; never another one."""
    typed = typed_order(body)
    try:
        checked: object = read_order(loads(body), "")
    except Problem as problem:
        checked = problem.message
    except InvalidOrderBody as error:  # pragma: no cover (read_order raises Problem only)
        checked = str(error)
    if typed is None:
        return
    if isinstance(checked, str):
        assert checked.startswith(_UNREAD_NUMBER)
    else:
        assert typed == checked


def test_a_body_that_is_not_utf8_in_a_field_never_read_is_still_refused() -> None:
    """Bytes that are not UTF-8, even in a field no decision reads, refuse the event: not JSON."""
    body = ev.raw(ev.card_order_accepted()[0]).replace(b'"shopper@', b'"\xff@')
    assert typed_event(body) is None
    assert "not JSON" in parse_event_or_problem(body)  # type: ignore[operator]


def test_a_body_nested_too_deeply_in_a_field_never_read_is_still_refused() -> None:
    """The depth limit holds in fields the typed decoder skips."""
    payload = ev.card_order_accepted()[0]
    payload["data"]["object"]["extra"] = json.loads("[" * 40 + "]" * 40)
    assert typed_event(ev.raw(payload)) is None
    assert "nested too deeply" in parse_event_or_problem(ev.raw(payload))  # type: ignore[operator]


@given(order_lives(max_moves=8))
def test_the_keys_of_a_delivery_are_its_parsed_events(life: object) -> None:
    """typed_keys reads the id, type, time, order and state (or charge) the parse gives."""
    for delivery in life.deliveries:  # type: ignore[attr-defined]
        keys = typed_keys(delivery.body)
        event = checked_event(delivery.body)
        assert keys is not None
        assert (keys.id, keys.type, keys.created_time, keys.order_id) == (
            event.id,
            event.type,
            event.created_time,
            event.order_id,
        )
        if isinstance(event.data, OrderSnapshot):
            assert (keys.kind, keys.state, keys.charge_id) == ("order", event.data.state, None)
        else:
            assert (keys.kind, keys.state) == ("charge", None)
            assert keys.charge_id == event.data.charge.id  # type: ignore[union-attr]


@given(hostile.hostile_bodies() | hostile_bodies())
def test_keys_read_from_a_hostile_body_are_the_parsed_events_when_it_parses(body: bytes) -> None:
    """Whatever the body: no keys, or the keys of the event the checked reader reads."""
    keys = typed_keys(body)
    event = _checked(body)
    if keys is None or isinstance(event, str):
        return
    assert (keys.id, keys.type, keys.created_time, keys.order_id) == (
        event.id,
        event.type,
        event.created_time,
        event.order_id,
    )


@given(order_lives(max_moves=8))
def test_the_event_built_from_the_keys_decoded_body_is_the_body_read_again(life: object) -> None:
    """typed_keys decodes a valid delivery whole; the event built from that is the one read anew."""
    for delivery in life.deliveries:  # type: ignore[attr-defined]
        keys = typed_keys(delivery.body)
        assert keys is not None
        assert keys.decoded is not None
        assert typed_event(delivery.body, keys) == typed_event(delivery.body)


@given(hostile.hostile_bodies() | hostile_bodies())
def test_an_event_built_from_the_keys_of_a_hostile_body_is_the_body_read_again(
    body: bytes,
) -> None:
    """Whatever the body, reading it through its keys gives what reading it anew gives."""
    assert typed_event(body, typed_keys(body)) == typed_event(body)


def test_a_body_nested_too_deeply_is_refused_even_through_its_keys() -> None:
    """The keys skip the depth check; the event built from their decoded body still makes it."""
    payload = ev.card_order_accepted()[0]
    payload["data"]["object"]["extra"] = json.loads("[" * 40 + "]" * 40)
    keys = typed_keys(ev.raw(payload))
    assert keys is not None
    assert keys.decoded is not None
    assert typed_event(ev.raw(payload), keys) is None


def test_a_body_the_whole_decoder_refuses_still_has_its_keys_read() -> None:
    """An item the typed decoder cannot read leaves the keys to the envelope's decoder."""
    payload = ev.card_order_accepted()[0]
    payload["data"]["object"]["items"][0]["quantity"] = "two"
    keys = typed_keys(ev.raw(payload))
    assert keys is not None
    assert keys.decoded is None
    assert (keys.id, keys.kind, keys.order_id) == (
        payload["id"],
        "order",
        payload["data"]["object"]["id"],
    )
    assert typed_event(ev.raw(payload), keys) is None


@pytest.mark.parametrize(
    "captures",
    [
        None,
        "[]",
        '[{"amount": 5, "state": "failed"}]',
        '[{"amount": 0, "state": "complete"}]',
        '[{"amount": 0.00, "state": "complete"}]',
        '[{"amount": 2.50, "state": "complete"}, {"amount": 1, "state": "failed"}]',
    ],
)
def test_a_charges_totals_are_spelled_as_the_checked_reader_spells_them(
    captures: str | None,
) -> None:
    """Totals of no, failed or zero operations keep the checked reader's Decimal, digits alike."""
    payload = ev.card_order_accepted()[0]
    charge = payload["data"]["object"]["payment"]["charges"][0]
    charge.pop("captures", None)
    if captures is not None:
        charge["captures"] = "CAPTURES"
    body = ev.raw(payload).replace(b'"CAPTURES"', (captures or "").encode())
    typed = typed_event(body)
    assert typed is not None
    checked = checked_event(body)
    names = ("amount", "captured", "cancelled", "refunded")
    assert isinstance(typed[3], OrderSnapshot)
    assert isinstance(checked.data, OrderSnapshot)
    assert typed[3].charges is not None
    assert checked.data.charges is not None
    for mine, theirs in zip(typed[3].charges, checked.data.charges, strict=True):
        assert [str(getattr(mine, n)) for n in names] == [str(getattr(theirs, n)) for n in names]


_NO_MONEY = _typed._NO_MONEY  # the zero every Charge shares
# Amounts as the reader makes them (often equal, spelled alike or not), and hostile ones.
_MONEY = st.one_of(
    st.just(_NO_MONEY),
    st.sampled_from(["0", "0.00", "-0", "1", "2.50", "87.25", "87.250", "1E+2", "100"]).map(
        Decimal
    ),
    st.sampled_from(["-1", "Infinity", "NaN", "9e999999"]).map(Decimal),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-5, max_value=500),
    HOSTILE_AMOUNTS,
)


def _built(build: Callable[[], object]) -> object:
    try:
        return build()
    except (InvalidInput, ArithmeticError) as error:
        return type(error)


_PLAIN_MONEY = st.just(_NO_MONEY) | st.sampled_from(
    ["0", "0.00", "1", "2.50", "87.25", "87.250", "1E+2", "100", "Infinity", "-1"]
).map(Decimal)


def _same_charge(values: tuple[object, ...]) -> None:
    """_reported of ``values`` steps aside, or is Charge(*values): equal, amounts shared alike."""
    fast = _built(lambda: _typed._reported(*values))  # type: ignore[arg-type]
    if fast is None:
        return  # stepped aside: the model builds it (or refuses it)
    slow = _built(lambda: Charge(*values))  # type: ignore[arg-type]
    assert fast == slow
    if isinstance(fast, Charge):
        assert isinstance(slow, Charge)
        names = ("amount", "captured", "cancelled", "refunded")
        for name in names:
            assert str(getattr(fast, name)) == str(getattr(slow, name))
            assert (getattr(fast, name) is _NO_MONEY) == (getattr(slow, name) is _NO_MONEY)
        for one in names:
            for other in names:
                shared = getattr(fast, one) is getattr(fast, other)
                assert shared == (getattr(slow, one) is getattr(slow, other))


@given(
    st.sampled_from(list(ChargeState)),
    st.lists(_PLAIN_MONEY, min_size=4, max_size=4),
    st.sampled_from(["USD", "usd", None]),
)
@example(ChargeState.COMPLETE, [Decimal("Infinity"), _NO_MONEY, _NO_MONEY, _NO_MONEY], None)
@example(ChargeState.COMPLETE, [Decimal(1), _NO_MONEY, _NO_MONEY, Decimal("Infinity")], None)
def test_a_charge_built_past_the_model_is_the_one_the_model_builds(
    state: ChargeState, amounts: list[Decimal], currency: str | None
) -> None:
    """The reader's charge, when it builds one, is Charge(...)'s: equal, amounts shared alike."""
    amount, captured, cancelled, refunded = amounts
    _same_charge(("ch1", state, amount, currency, captured, cancelled, refunded))


@given(
    charge_id=st.sampled_from(["ch1", ""]) | POISON | st.integers(),
    state=st.sampled_from([*ChargeState, None, 3]) | HOSTILE_TEXT,
    amount=_MONEY,
    currency=st.sampled_from(["USD", "usd", "Us1"]) | HOSTILE_TEXT | st.none() | st.integers(),
    captured=_MONEY,
    cancelled=_MONEY,
    refunded=_MONEY,
)
def test_a_charge_of_hostile_values_is_the_model_s_or_left_to_it(  # noqa: PLR0917 (a charge's fields, drawn one by one)
    charge_id: object,
    state: object,
    amount: object,
    currency: object,
    captured: object,
    cancelled: object,
    refunded: object,
) -> None:
    """Hostile values (junk, NaN, wrong types) never build a charge the model would not."""
    _same_charge((charge_id, state, amount, currency, captured, cancelled, refunded))


def test_a_plain_charge_is_built_past_the_model() -> None:
    """A charge of a member state, an amount and totals within it takes the fast path."""
    made = _typed._reported(
        "ch1", ChargeState.COMPLETE, Decimal("87.25"), "usd", Decimal("87.25"), _NO_MONEY, _NO_MONEY
    )
    assert made == Charge("ch1", ChargeState.COMPLETE, Decimal("87.25"), "USD", Decimal("87.25"))
    assert made is not None
    assert made.captured is made.amount


_ITEM_VALUES = st.sampled_from([1, True, 1.0, "1", "", None, 0, False, [1], {"a": 1}, "x" * 300])


@given(st.lists(st.tuples(_ITEM_VALUES, _ITEM_VALUES, _ITEM_VALUES), min_size=2, max_size=4))
def test_items_read_lately_are_looked_up_only_when_read_alike(
    values: list[tuple[object, object, object]],
) -> None:
    """Bodies whose items differ only in values that compare equal each read as themselves."""
    for sku_id, details_id, physical in values:
        payload = ev.card_order_accepted()[0]
        item = payload["data"]["object"]["items"][0]
        item["skuId"] = sku_id
        item["productDetails"] = {"id": details_id, "physical": physical}
        body = ev.raw(payload)
        typed = typed_event(body)
        if typed is not None:
            assert Event(*typed) == checked_event(body)


def test_what_is_read_lately_keeps_no_long_text_of_a_hostile_body() -> None:
    """An amount or a SKU longer than an id is read, and never kept for the next body."""
    payload = ev.card_order_accepted()[0]
    order = payload["data"]["object"]
    order["items"][0]["skuId"] = "s" * 300
    order["payment"]["charges"][0]["amount"] = "AMOUNT"
    body = ev.raw(payload).replace(b'"AMOUNT"', b"1" + b"0" * 10 + b"." + b"0" * 300)
    typed = typed_event(body)
    assert typed is not None
    assert Event(*typed) == checked_event(body)
    assert not any(len(text) > _typed._SHORT for text in _typed._AMOUNTS)
    assert all(entry.skuId != "s" * 300 for entry in _typed._ITEMS)

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import ChargeState, OrderState
from order_lifecycle._json import MAX_DEPTH, MAX_ID_LENGTH
from order_lifecycle.exceptions import InvalidEvent
from order_lifecycle.lifecycle import ORDER_SPEC, FraudState, ItemState
from order_lifecycle.models import SnapshotMark
from order_lifecycle.provider import ChargeSnapshot, OrderSnapshot
from order_lifecycle.provider._payload import AMOUNT_LIMIT, MAX_CHARGES, MAX_ITEMS, MAX_OPERATIONS
from order_lifecycle.testing import HOSTILE_NUMBERS, HOSTILE_TEXT, POISON
from order_lifecycle.webhooks import KNOWN_EVENT_TYPES, Event, OtherObject, parse_event
from order_lifecycle.webhooks._events import _event

from . import webhook_events as ev
from .hostile import hostile_bodies

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def accepted_event(**changes: Any) -> dict[str, Any]:
    """The card order's ``order.accepted`` with top-level changes (``None`` removes a key)."""
    payload = ev.card_order_accepted()[0]
    for key, value in changes.items():
        if value is None:
            payload.pop(key)
        else:
            payload[key] = value
    return payload


def with_object(**changes: Any) -> bytes:
    """The card order's ``order.accepted`` with changes to its order object."""
    payload = ev.card_order_accepted()[0]
    for key, value in changes.items():
        if value is None:
            payload["data"]["object"].pop(key)
        else:
            payload["data"]["object"][key] = value
    return ev.raw(payload)


def test_an_order_event_is_read_whole() -> None:
    """order.accepted: envelope, order snapshot, items with their flags, charges as Decimal."""
    event = parse_event(ev.raw(ev.accepted_physical_and_digital()[0]))
    assert (event.id, event.type, event.created_time) == (
        "evt-1002-accepted",
        "order.accepted",
        ev.at(4),
    )
    assert event.known
    assert event.order_id == "1002"
    assert event.mark == SnapshotMark(ev.at(4), "evt-1002-accepted")
    snapshot = event.data
    assert isinstance(snapshot, OrderSnapshot)
    assert (snapshot.state, snapshot.fraud_state) == (OrderState.ACCEPTED, FraudState.PASSED)
    assert (snapshot.checkout_id, snapshot.currency) == ("chk-1002", "USD")
    assert snapshot.state_transitions == {OrderState.ACCEPTED: ev.at(3)}
    assert snapshot.items is not None
    assert [(i.id, i.item.quantity, i.item.physical, i.state) for i in snapshot.items] == [
        ("1002-shirt", 2, True, ItemState.CREATED),
        ("1002-ebook", 1, False, ItemState.CREATED),
    ]
    assert snapshot.charges is not None
    (charge,) = snapshot.charges
    assert (charge.id, charge.state, charge.amount, charge.currency) == (
        "ch-1002",
        ChargeState.CAPTURABLE,
        Decimal("49.0"),
        "USD",
    )


def test_every_hand_written_life_parses() -> None:
    """Every fixture event parses, and its object's shape is what the fixture wrote."""
    for life in ev.ALL_LIVES.values():
        for payload in life():
            event = parse_event(ev.raw(payload))
            obj = payload["data"]["object"]
            expected = (
                ChargeSnapshot
                if "orderId" in obj and "captured" in obj
                else OtherObject
                if "orderId" in obj
                else OrderSnapshot
            )
            assert isinstance(event.data, expected), payload["type"]
            assert event.order_id == obj.get("orderId", obj["id"])


def test_a_charge_object_is_read_with_its_operations() -> None:
    """A charge event: the charge, its orderId, and the captures and cancels that did not fail."""
    payload = ev.charge_capture_and_cancel()[2]
    payload["data"]["object"]["captures"].append(ev.operation("cap-x", 5.0, "failed", ev.T0))
    payload["data"]["object"]["refunds"] = [ev.operation("re-1", 4.5, "pending", ev.T0)]
    event = parse_event(ev.raw(payload))
    assert isinstance(event.data, ChargeSnapshot)
    assert event.data.order_id == "1007"
    charge = event.data.charge
    assert (charge.state, charge.captured, charge.cancelled, charge.refunded) == (
        ChargeState.COMPLETE,
        Decimal("30.0"),
        Decimal("20.0"),
        Decimal("4.5"),
    )


def test_the_shape_decides_not_the_type() -> None:
    """A charge-named event carrying an order reads as an order, and the other way round."""
    order_object = ev.card_order_accepted()[0]["data"]["object"]
    refund_failed = parse_event(
        ev.raw(ev.event("e1", "order.charge.refund.failed", order_object, ev.T0))
    )
    assert isinstance(refund_failed.data, OrderSnapshot)
    charge_object = ev.charge("ch-1", "capturable", 5.0, order_id="1001")
    odd = parse_event(ev.raw(ev.event("e2", "order.accepted", charge_object, ev.T0)))
    assert isinstance(odd.data, ChargeSnapshot)


def test_other_objects_and_unknown_types() -> None:
    """Files and refunds are other objects; an unknown type parses, marked unknown."""
    invoice = {"id": "f1", "fileId": "f1", "orderId": "1001", "purpose": "customer_invoice"}
    event = parse_event(ev.raw(ev.event("e1", "order.invoice.created", invoice, ev.T0)))
    assert event.data == OtherObject("file", "f1", "1001")
    assert not event.known
    refund = {"id": "re-1", "orderId": "1001", "state": "pending", "refundedAmount": 0.0}
    assert parse_event(ev.raw(ev.event("e2", "refund.pending", refund, ev.T0))).data == (
        OtherObject("refund", "re-1", "1001")
    )
    order_object = ev.card_order_accepted()[0]["data"]["object"]
    novel = parse_event(ev.raw(ev.event("e3", "order.teleported", order_object, ev.T0)))
    assert not novel.known
    assert isinstance(novel.data, OrderSnapshot)


def test_known_types_include_every_announcing_type() -> None:
    """Every webhook type the order table names is known, with the charge events."""
    announced = {e.announced_by for e in ORDER_SPEC.events if e.announced_by}
    assert announced <= KNOWN_EVENT_TYPES
    assert {"order.charge.capture.complete", "order.pending_payment"} <= KNOWN_EVENT_TYPES
    assert "order.invoice.created" not in KNOWN_EVENT_TYPES


def test_previous_attributes_and_body_types() -> None:
    """PreviousAttributes is kept as sent; bytes, bytearray and str bodies all parse."""
    payload = ev.card_order_accepted()[0]
    payload["data"]["previousAttributes"] = {"state": "pending_payment"}
    body = ev.raw(payload)
    for raw_body in (body, bytearray(body), body.decode()):
        event = parse_event(raw_body)
        assert event.previous_attributes == {"state": "pending_payment"}


def test_a_missing_fraud_state_falls_back_to_its_map() -> None:
    """With no fraudState, the latest fraudStateTransitions entry stands for it."""
    complete = parse_event(ev.raw(ev.accepted_fulfilled_complete()[-1])).data
    assert isinstance(complete, OrderSnapshot)
    assert complete.fraud_state is None
    assert complete.reported_fraud_state is FraudState.PASSED
    waiting = parse_event(ev.raw(ev.expired_wire_transfer()[0])).data
    assert isinstance(waiting, OrderSnapshot)
    assert (waiting.reported_fraud_state, waiting.charges) == (None, None)


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        (ev.raw(ev.card_order_accepted()[0])[:-7], "", "the body is not JSON"),
        (b"\xff\xfe", "", "the body is not JSON"),
        (b"[1, 2]", "", "the body must be a JSON object, not an array"),
        (b'{"id": NaN}', "", "NaN is not a JSON number"),
        (b"[" * 100_000, "", "nested too deeply"),
        (ev.raw(accepted_event(id=None)), "id", "the event id is missing"),
        (ev.raw(accepted_event(id="")), "id", "the event id is missing"),
        (ev.raw(accepted_event(id=42)), "id", "id must be a string, not a number"),
        (ev.raw(accepted_event(type=None)), "type", "the event type is missing"),
        (ev.raw(accepted_event(createdTime=None)), "createdTime", "is missing"),
        (ev.raw(accepted_event(createdTime="yesterday")), "createdTime", "not an ISO 8601"),
        (ev.raw(accepted_event(createdTime="2026-04-01T09:00:00")), "createdTime", "no UTC"),
        (ev.raw(accepted_event(data=None)), "data", "the event has no data"),
        (ev.raw(accepted_event(data={"object": None})), "data.object", "has no object"),
        (ev.raw(accepted_event(data={"object": [1]})), "data.object", "must be a JSON object"),
        (
            ev.raw(accepted_event(data={"object": {}, "previousAttributes": 3})),
            "data.previousAttributes",
            "must be a JSON object",
        ),
        (with_object(id=None), "data.object.id", "the order id is missing"),
        (with_object(state="shipped"), "data.object.state", "unknown order state 'shipped'"),
        (with_object(state=7), "data.object.state", "must be a string, not a number"),
        (with_object(fraudState="maybe"), "data.object.fraudState", "Unknown fraud state"),
        (with_object(currency="dollars"), "data.object.currency", "three-letter"),
        (with_object(items={"id": "x"}), "data.object.items", "must be a JSON array"),
        (
            with_object(items=[{"id": "i", "quantity": "2"}]),
            "data.object.items[0]",
            "quantity must be an int",
        ),
        (
            with_object(items=[{"id": "i", "quantity": 1, "state": "lost"}]),
            "data.object.items[0].state",
            "unknown item state 'lost'",
        ),
        (
            with_object(items=[{"id": "i", "quantity": 1}, {"id": "i", "quantity": 2}]),
            "data.object.items",
            "duplicate item ids 'i'",
        ),
        (
            with_object(payment={"charges": [{"id": "c", "state": "capturable", "amount": "5"}]}),
            "data.object.payment.charges[0].amount",
            "must be a number, not a string",
        ),
        (
            with_object(
                payment={
                    "charges": [
                        {"id": "c", "state": "complete", "amount": 5, "captures": [{"amount": -1}]}
                    ]
                }
            ),
            "data.object.payment.charges[0].captures[0].amount",
            "0 or more",
        ),
        (
            with_object(payment={"charges": [{"id": "c", "state": "paid", "amount": 5}]}),
            "data.object.payment.charges[0]",
            "Unknown charge state 'paid'",
        ),
        (
            with_object(stateTransitions={"accepted": 5}),
            "data.object.stateTransitions.accepted",
            "must be a string",
        ),
        (
            ev.raw(
                ev.event(
                    "e", "order.charge.capture.complete", {"orderId": None, "captured": True}, ev.T0
                )
            ),
            "data.object.orderId",
            "the order id is missing",
        ),
    ],
)
def test_malformed_events_name_the_field(body: bytes, field: str, problem: str) -> None:
    """A body not in the provider's event shape raises InvalidEvent naming field and problem."""
    with pytest.raises(InvalidEvent, match=problem) as raised:
        parse_event(body)
    assert raised.value.field == field
    assert problem in raised.value.problem


def test_invalid_event_keeps_the_id_it_could_read() -> None:
    """Once the envelope's id is read, InvalidEvent carries it, for the operator."""
    with pytest.raises(InvalidEvent) as raised:
        parse_event(with_object(state="shipped"))
    assert raised.value.event_id == "evt-1001-accepted"
    assert "'evt-1001-accepted'" in str(raised.value)


def test_a_body_that_is_not_bytes_is_invalid() -> None:
    """Anything but bytes or str is refused as InvalidEvent, not a TypeError."""
    with pytest.raises(InvalidEvent, match="must be bytes or str, not int"):
        parse_event(5)  # type: ignore[arg-type]


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_invalid_event(body: bytes) -> None:
    """Random bytes parse or raise InvalidEvent; never anything else."""
    with contextlib.suppress(InvalidEvent):
        parse_event(body)


@given(JSON)
def test_random_json_raises_only_invalid_event(value: object) -> None:
    """Random JSON values parse or raise InvalidEvent; never anything else."""
    with contextlib.suppress(InvalidEvent):
        parse_event(json.dumps(value))


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [path] + [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [path] + [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return [path]


@given(st.data())
def test_corrupted_fixtures_raise_only_invalid_event(data: st.DataObject) -> None:
    """Any fixture event with one part replaced by random JSON parses or raises InvalidEvent."""
    life = data.draw(st.sampled_from(sorted(ev.ALL_LIVES)))
    payload = data.draw(st.sampled_from(ev.ALL_LIVES[life]()))
    path = data.draw(st.sampled_from(_leaves(payload)[1:]))
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = data.draw(JSON)
    try:
        event = parse_event(ev.raw(payload))
    except InvalidEvent:
        return
    assert isinstance(event, Event)


# Hardening (issue 9): caps, hostile values, and the provider's other shapes.


def test_a_2020_01_07_order_is_read_with_its_top_level_charges() -> None:
    """An order with top-level charges[] and no payment or checkoutId is an order snapshot."""
    accepted, fulfilled = (parse_event(ev.raw(p)) for p in ev.legacy_order_fulfilled())
    assert isinstance(accepted.data, OrderSnapshot)
    assert accepted.data.checkout_id is None
    assert accepted.data.charges is not None
    assert [(c.id, c.state, c.amount) for c in accepted.data.charges] == [
        ("ch-1008", ChargeState.CAPTURABLE, Decimal("15.0"))
    ]
    assert isinstance(fulfilled.data, OrderSnapshot)
    assert fulfilled.data.charges is not None
    assert fulfilled.data.charges[0].captured == Decimal("15.0")


def test_an_order_is_told_by_its_shape() -> None:
    """Id, state and items make an order; a refund or a subscription with them does not."""
    bare = {"id": "o1", "state": "accepted", "items": [{"id": "i1", "quantity": 1}]}
    assert isinstance(
        parse_event(ev.raw(ev.event("e1", "order.accepted", bare, ev.T0))).data, OrderSnapshot
    )
    refund = {**bare, "orderId": "o1", "charges": [], "refundedAmount": 0.0}
    assert parse_event(ev.raw(ev.event("e2", "refund.complete", refund, ev.T0))).data == (
        OtherObject("refund", "o1", "o1")
    )
    subscription = {**bare, "state": "cancelled", "planId": "p1", "sourceId": "s1"}
    assert parse_event(
        ev.raw(ev.event("e3", "subscription.failed", subscription, ev.T0))
    ).data == OtherObject("subscription", "o1")


def test_charges_in_both_places_must_agree() -> None:
    """Top-level charges[] beside a different payment.charges[] are refused, naming both."""
    payload = ev.card_order_accepted()[0]
    payload["data"]["object"]["charges"] = [ev.charge("ch-other", "capturable", 1.0)]
    with pytest.raises(InvalidEvent, match=r"payment\.charges") as raised:
        parse_event(ev.raw(payload))
    assert raised.value.field == "data.object.charges"
    same = ev.card_order_accepted()[0]
    same["data"]["object"]["charges"] = same["data"]["object"]["payment"]["charges"]
    assert isinstance(parse_event(ev.raw(same)).data, OrderSnapshot)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2021-03-04T12:00:00.123Z[UTC]", datetime(2021, 3, 4, 12, 0, 0, 123000, tzinfo=UTC)),
        (
            "2021-03-04T12:00:00+01:00[Europe/Paris]",
            datetime(2021, 3, 4, 11, 0, 0, tzinfo=UTC),
        ),
        ("2021-03-04T12:00:00-05:00[America/New_York]", datetime(2021, 3, 4, 17, tzinfo=UTC)),
    ],
)
def test_a_java_zoned_time_is_read_by_its_offset(text: str, moment: datetime) -> None:
    """CreatedTime in Java's zoned form: the bracketed zone id after the offset is dropped."""
    event = parse_event(ev.raw(accepted_event(createdTime=text)))
    assert event.created_time == moment


@pytest.mark.parametrize(
    "text",
    [
        "2021-03-04T12:00:00[UTC]",
        "2021-03-04T12:00:00.123[Europe/Paris]",
        "2021-03-04T12:00:00Z[]",
        "2021-03-04T12:00:00Z[UTC][UTC]",
        "2021-03-04T12:00:00\x00Z",
        "2021-03-04T12:00:00Z\ud800",
    ],
)
def test_a_zone_id_needs_an_offset_and_times_are_plain_text(text: str) -> None:
    """A bracketed zone with no offset, an empty one, NUL or a surrogate: not a time."""
    with pytest.raises(InvalidEvent) as raised:
        parse_event(json.dumps(accepted_event(createdTime=text)))
    assert raised.value.field == "createdTime"


def test_a_null_state_transition_means_not_entered() -> None:
    """A null entry of stateTransitions (or fraudStateTransitions) is a state not entered."""
    payload = ev.card_order_accepted()[0]
    payload["data"]["object"]["stateTransitions"].update(fulfilled=None, cancelled=None)
    payload["data"]["object"]["fraudStateTransitions"]["blocked"] = None
    snapshot = parse_event(ev.raw(payload)).data
    assert isinstance(snapshot, OrderSnapshot)
    assert snapshot.state_transitions == {OrderState.ACCEPTED: ev.at(3)}
    assert set(snapshot.fraud_state_transitions) == {FraudState.PASSED}


def _with_id(where: str, value: str) -> dict[str, Any]:
    payload = ev.card_order_accepted()[0]
    obj = payload["data"]["object"]
    targets = {
        "id": (payload, "id"),
        "type": (payload, "type"),
        "data.object.id": (obj, "id"),
        "data.object.checkoutId": (obj, "checkoutId"),
        "data.object.items[0].id": (obj["items"][0], "id"),
        "data.object.payment.charges[0].id": (obj["payment"]["charges"][0], "id"),
    }
    target, key = targets[where]
    target[key] = value
    return payload


ID_FIELDS = [
    "id",
    "type",
    "data.object.id",
    "data.object.checkoutId",
    "data.object.items[0].id",
    "data.object.payment.charges[0].id",
]


@pytest.mark.parametrize("field", ID_FIELDS)
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is missing"),
        ("a\x00b", "contains NUL"),
        ("a\ud800b", "a lone surrogate"),
        ("x" * 256, "longer than 255 characters"),
    ],
)
def test_poison_ids_are_refused_naming_the_field(field: str, value: str, problem: str) -> None:
    """Empty, NUL, lone-surrogate and absurdly long ids are InvalidEvent naming the field."""
    with pytest.raises(InvalidEvent, match=problem) as raised:
        parse_event(json.dumps(_with_id(field, value)))
    assert raised.value.field == field
    if field != "id":
        assert raised.value.event_id == "evt-1001-accepted"
    else:
        assert raised.value.event_id is None  # a poison id is not handed on as one


def test_ids_of_charge_objects_and_other_objects_are_checked() -> None:
    """A charge object's orderId and another object's orderId follow the same rule."""
    charge = ev.charge("ch-1", "capturable", 5.0, order_id="1\x00")
    with pytest.raises(InvalidEvent, match="contains NUL") as raised:
        parse_event(ev.raw(ev.event("e1", "order.charge.capture.complete", charge, ev.T0)))
    assert raised.value.field == "data.object.orderId"
    invoice = {"id": "f1", "fileId": "f1", "orderId": "o\ud800"}
    with pytest.raises(InvalidEvent, match="lone surrogate") as raised:
        parse_event(json.dumps(ev.event("e2", "order.invoice.created", invoice, ev.T0)))
    assert raised.value.field == "data.object.orderId"


def _charge_body(amount: str, captures: list[str] = ()) -> bytes:  # type: ignore[assignment]
    """The card order with its charge's amount and captures spelled as raw JSON numbers."""
    payload = ev.card_order_accepted()[0]
    charge = payload["data"]["object"]["payment"]["charges"][0]
    charge["amount"] = "AMOUNT"
    charge["captures"] = [
        {"amount": f"CAPTURE{n}", "state": "complete"} for n in range(len(captures))
    ]
    body = ev.raw(payload).replace(b'"AMOUNT"', amount.encode())
    for n, capture in enumerate(captures):
        body = body.replace(f'"CAPTURE{n}"'.encode(), capture.encode())
    return body


@pytest.mark.parametrize(
    ("amount", "captures", "field"),
    [
        ("9e999999", [], "data.object.payment.charges[0].amount"),
        ("9e9999999", [], "data.object.payment.charges[0].amount"),
        ("1e18", [], "data.object.payment.charges[0].amount"),
        ("-1e18", [], "data.object.payment.charges[0].amount"),
        ("1" + "0" * 40, [], "data.object.payment.charges[0].amount"),
        ("10", ["9e999999", "9e999999"], "data.object.payment.charges[0].captures[0].amount"),
        ("10", ["5", "9e999999"], "data.object.payment.charges[0].captures[1].amount"),
    ],
)
def test_absurd_amounts_are_invalid_not_an_overflow(
    amount: str, captures: list[str], field: str
) -> None:
    """An amount of 10^18 or more is refused naming its field; sums never overflow Decimal."""
    with pytest.raises(InvalidEvent, match="less than 10\\^18") as raised:
        parse_event(_charge_body(amount, captures))
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("9" * 5000, "too many digits"),
        ("1e9999999999999999999999", "too large an exponent"),
        ("-1.5e-9999999999999999999999", "too large an exponent"),
    ],
)
def test_a_number_too_large_to_read_is_invalid(number: str, problem: str) -> None:
    """Over 4,300 digits (int's limit) or an exponent past Decimal's: InvalidEvent, no error."""
    with pytest.raises(InvalidEvent, match=problem) as raised:
        parse_event(_charge_body(number))
    assert raised.value.field == ""


def test_nesting_is_capped() -> None:
    """JSON nested deeper than the cap is refused before the object is read."""
    deep: Any = "leaf"
    for _ in range(40):
        deep = {"a": deep}
    payload = accepted_event()
    payload["data"]["previousAttributes"] = deep
    with pytest.raises(InvalidEvent, match="nested too deeply \\(more than 32 levels\\)") as raised:
        parse_event(ev.raw(payload))
    assert raised.value.field == ""
    payload["data"]["previousAttributes"] = {"a": {"b": [1, {"c": 2}]}}
    assert parse_event(ev.raw(payload)).previous_attributes == {"a": {"b": [1, {"c": 2}]}}


@pytest.mark.parametrize(
    ("key", "limit", "field"),
    [
        ("items", 1000, "data.object.items"),
        ("charges", 100, "data.object.payment.charges"),
        ("captures", 1000, "data.object.payment.charges[0].captures"),
    ],
)
def test_lists_are_capped(key: str, limit: int, field: str) -> None:
    """More items, charges or operations than the caps allow are refused naming the list."""
    payload = ev.card_order_accepted()[0]
    obj = payload["data"]["object"]
    if key == "items":
        obj["items"] = [ev.item(f"i{n}") for n in range(limit + 1)]
    elif key == "charges":
        obj["payment"]["charges"] = [
            ev.charge(f"c{n}", "capturable", 1.0) for n in range(limit + 1)
        ]
    else:
        obj["payment"]["charges"][0]["captures"] = [
            ev.operation(f"cp{n}", 0.0, "complete", ev.T0) for n in range(limit + 1)
        ]
    with pytest.raises(InvalidEvent, match=f"more than {limit}") as raised:
        parse_event(ev.raw(payload))
    assert raised.value.field == field


@given(hostile_bodies())
def test_hostile_values_raise_only_invalid_event(body: bytes) -> None:
    """Fixtures with NUL, surrogates, absurd numbers in their values: parsed or InvalidEvent."""
    try:
        event = parse_event(body)
    except InvalidEvent as error:
        refusal = error
    else:
        assert isinstance(event, Event)
        return
    # What an operator sees and a store keeps is plain text: no lone surrogate from the body.
    assert str(refusal).encode().decode() == str(refusal)
    assert refusal.field.encode().decode() == refusal.field


def test_unknown_keys_of_state_transitions_are_skipped_whatever_they_hold() -> None:
    """An unknown stateTransitions key is skipped with its value, so no message names it."""
    payload = ev.card_order_accepted()[0]
    payload["data"]["object"]["stateTransitions"]["\ud800"] = 5
    snapshot = parse_event(json.dumps(payload)).data
    assert isinstance(snapshot, OrderSnapshot)
    assert snapshot.state_transitions == {OrderState.ACCEPTED: ev.at(3)}


def test_the_docstring_states_the_limits_in_force() -> None:
    """Each cap parse_event's docstring states is the one the parser applies."""
    doc = " ".join((parse_event.__doc__ or "").split())
    assert f"at most {MAX_ID_LENGTH} characters" in doc
    assert f"at most {MAX_ITEMS} items and {MAX_CHARGES} charges per order" in doc
    assert f"and {MAX_OPERATIONS} captures, cancels or refunds per charge" in doc
    assert f"JSON nested at most {MAX_DEPTH} deep" in doc
    assert Decimal(10) ** 18 == AMOUNT_LIMIT
    assert "amounts below 10^18" in doc


_ANY = st.one_of(
    st.none(),
    POISON,
    HOSTILE_TEXT,
    HOSTILE_NUMBERS,
    st.sampled_from([OrderState.CANCELLED, {}, {"a": 1}, datetime(2026, 4, 1, tzinfo=UTC)]),
)


@given(st.lists(_ANY, min_size=5, max_size=5))
def test_an_event_built_by_its_slots_is_its_constructor_s(fields: list[Any]) -> None:
    """An Event built by its slots equals Event(...) of any values, hostile too, field by field."""
    made = _event(*fields)
    expected = Event(*fields)
    assert type(made) is Event
    assert made == expected
    assert all(getattr(made, f.name) is getattr(expected, f.name) for f in attrs.fields(Event))

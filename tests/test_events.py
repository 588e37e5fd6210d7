from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import (
    KNOWN_EVENT_TYPES,
    ORDER_SPEC,
    ChargeSnapshot,
    ChargeState,
    Event,
    FraudState,
    InvalidEvent,
    ItemState,
    OrderSnapshot,
    OrderState,
    OtherObject,
    SnapshotMark,
    parse_event,
)

from . import webhook_events as ev

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

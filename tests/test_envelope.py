from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle.exceptions import InvalidEvent
from order_lifecycle.testing import hostile_bodies, order_lives
from order_lifecycle.webhooks import parse_event
from order_lifecycle.webhooks._envelope import read_envelope

from . import webhook_events as ev


def test_an_order_event_is_read_by_its_envelope() -> None:
    """An order event gives its id, type, order id and createdTime as sent, and no reason."""
    payload = ev.card_order_accepted()[0]
    assert read_envelope(ev.raw(payload)) == (
        "evt-1001-accepted",
        "order.accepted",
        "1001",
        payload["createdTime"],
        None,
    )


def test_a_charge_event_names_its_order_by_order_id() -> None:
    """A charge object's orderId is the order the delivery is about."""
    capture = ev.charge_capture_and_cancel()[1]
    key, kind, order_id, _, reason = read_envelope(ev.raw(capture))
    assert (key, kind, order_id, reason) == (capture["id"], capture["type"], "1007", None)


def test_an_object_of_no_order_names_none() -> None:
    """A subscription (a state and items, but a planId) is about no order."""
    body = ev.raw(ev.event("evt-x", "subscription.created", {"id": "s", "planId": "p"}, ev.T0))
    assert read_envelope(body)[:3] == ("evt-x", "subscription.created", None)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "the body is not JSON"),
        (b"[1, 2]", "the body must be a JSON object"),
        (b'{"type": "order.accepted"}', "id: the event id is missing"),
        (b'{"id": 5}', "id must be a string, not a number"),
        (json.dumps({"id": "e\x00"}).encode(), "id: the event id contains NUL"),
        (b"[" * 100_000, "the body is not JSON"),
    ],
)
def test_an_unreadable_envelope_is_keyed_by_its_digest(body: bytes, problem: str) -> None:
    """No usable event id: keyed ``sha256:`` and the body's digest, with the parser's reason."""
    key, kind, order_id, created, reason = read_envelope(body)
    assert key == f"sha256:{hashlib.sha256(body).hexdigest()}"
    assert (kind, order_id, created) == (None, None, None)
    assert reason is not None
    assert problem in reason


def test_unstorable_fields_are_left_out() -> None:
    """A type, order id or time a database cannot hold is left out (the reconciler says why)."""
    payload = ev.card_order_accepted()[0]
    payload["type"] = "order.\udc80"
    payload["data"]["object"]["id"] = "10\x0001"
    payload["createdTime"] = "x" * 65
    body = json.dumps(payload).encode()
    assert read_envelope(body) == ("evt-1001-accepted", None, None, None, None)


@given(order_lives().flatmap(lambda life: st.sampled_from(life.deliveries)))
def test_the_envelope_agrees_with_the_parser(delivery: object) -> None:
    """For every delivery of a valid life, the envelope's ids are the parsed event's."""
    body = delivery.body  # type: ignore[attr-defined]
    event = parse_event(body)
    key, kind, order_id, created, reason = read_envelope(body)
    assert (key, kind, order_id, reason) == (event.id, event.type, event.order_id, None)
    assert created == json.loads(body)["createdTime"]


@given(hostile_bodies())
def test_any_body_has_an_envelope_or_a_reason(body: bytes) -> None:
    """Whatever the bytes: a storable key, and a reason exactly when no event id was read."""
    key, kind, order_id, created, reason = read_envelope(body)
    for text in (key, kind, order_id, created, reason):
        assert text is None or ("\x00" not in text and text.encode())
    event_id: str | None
    try:
        event_id = parse_event(body).id
    except InvalidEvent as error:
        event_id = error.event_id
    if event_id is not None:
        assert (key, reason) == (event_id, None)
    if reason is not None:
        assert key.startswith("sha256:")

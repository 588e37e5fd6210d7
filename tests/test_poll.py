"""Orders the shop fetched (``GET /orders``): parsed, and reconciled as webhooks are."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Order, OrderState
from order_lifecycle.checkout import begin_submission, record_no_response, settle
from order_lifecycle.exceptions import EventConflict, InvalidOrderBody, WrongType
from order_lifecycle.models import Checkout
from order_lifecycle.provider import OrderSnapshot, parse_order, parse_order_lookup
from order_lifecycle.provider._order_body import MAX_BODY
from order_lifecycle.testing import (
    OrderLife,
    assert_order_invariants,
    hostile_bodies,
    order_lives,
)
from order_lifecycle.webhooks import EventOutcome, apply_event, parse_event, reconcile

from . import webhook_events as ev

AT = ev.T0 + timedelta(days=30)


def via_webhooks(events: list[dict[str, Any]], order: Order | None = None) -> Order | None:
    """The order the events make, applied in turn (charge events before an order: skipped)."""
    for payload in events:
        try:
            done = apply_event(order, parse_event(ev.raw(payload)))
        except EventConflict:
            continue
        order = done.order
    return order


def alike(one: Order, other: Order) -> None:
    """The same state, fraud state, items and charges (charges compared without their marks)."""
    assert one.state is other.state
    assert one.fraud_state is other.fraud_state
    assert {i.id: i for i in one.items} == {i.id: i for i in other.items}

    def charges(order: Order) -> dict[str, Any]:
        return {c.id: attrs.evolve(c, as_of=None) for c in order.charges}

    assert charges(one) == charges(other)


def test_an_order_body_is_read_as_a_webhook_object_is() -> None:
    """parse_order reads a GET /orders/{id} body into the snapshot a webhook would give."""
    body = ev.accepted_physical_and_digital()[0]
    snapshot = parse_order(json.dumps(body["data"]["object"]))
    assert snapshot == parse_event(ev.raw(body)).data
    assert isinstance(snapshot, OrderSnapshot)
    assert snapshot.state is OrderState.ACCEPTED


def test_a_lookup_by_checkout_finds_none_or_one_order() -> None:
    """A lookup's list has no order (None) or one; two for one checkout are refused."""
    obj = ev.card_order_accepted()[0]["data"]["object"]
    assert parse_order_lookup(b'{"hasMore": false, "data": []}') is None
    found = parse_order_lookup(json.dumps({"hasMore": False, "data": [obj]}))
    assert found is not None
    assert found.id == obj["id"]
    with pytest.raises(InvalidOrderBody, match="2 orders for one checkout") as info:
        parse_order_lookup(json.dumps({"data": [obj, obj]}))
    assert info.value.field == "data"
    with pytest.raises(InvalidOrderBody, match="data must be a JSON array"):
        parse_order_lookup(b"{}")


def test_a_fetched_order_settles_a_checkout_in_doubt() -> None:
    """The order a lookup found is created by reconcile, and settles the checkout with it."""
    obj = ev.card_order_accepted()[0]["data"]["object"]
    checkout = Checkout(obj["checkoutId"])
    begin_submission(checkout, at=ev.T0)
    record_no_response(checkout, at=ev.T0)
    found = parse_order_lookup(json.dumps({"data": [obj]}))
    assert found is not None
    done = reconcile(None, found, at=AT)
    assert (done.outcome, done.created) == (EventOutcome.APPLIED, True)
    assert done.order is not None
    settle(checkout, done.order, at=AT)
    assert checkout.order_id == obj["id"]
    assert done.order.state is OrderState.ACCEPTED
    assert all(step.event_id is None for step in done.order.history)
    assert done.steps == tuple(done.order.history)
    assert_order_invariants(done.order)


@given(order_lives(), st.data())
def test_a_fetched_order_is_the_order_the_webhooks_make(
    life: OrderLife, data: st.DataObject
) -> None:
    """A fetch reconciles as an ``order.updated`` webhook of the same object would.

    Polled after any number of the life's events: the fetch comes out as that webhook
    would at that point, and once the rest of the events come (none a conflict) the order
    is the one all the events and then that webhook make.
    """
    body = life.snapshot
    final = ev.event("evt-final", "order.updated", body, AT)
    polled = data.draw(st.integers(0, len(life.events)), label="events before the fetch")
    before = via_webhooks(life.events[:polled])
    as_webhook = apply_event(None if before is None else before.copy(), parse_event(ev.raw(final)))
    done = reconcile(before, parse_order(json.dumps(body)), at=AT)
    assert done.order is not None
    assert as_webhook.order is not None
    assert (done.outcome, done.created) == (as_webhook.outcome, as_webhook.created)
    alike(done.order, as_webhook.order)
    assert [(s.dest, s.implied) for s in done.steps] == [
        (s.dest, s.implied) for s in as_webhook.steps
    ]
    assert all(step.event_id is None for step in done.steps)
    for payload in life.events[polled:]:
        apply_event(done.order, parse_event(ev.raw(payload)))  # raises on a conflict
    expected = via_webhooks([*life.events, final])
    assert expected is not None
    alike(done.order, expected)
    assert_order_invariants(done.order)


def test_a_webhook_newer_than_the_fetch_applies_after_it() -> None:
    """A fetch is as old as its time: a webhook created after it still applies."""
    pending, cancelled = ev.expired_wire_transfer()
    first = parse_order(json.dumps(pending["data"]["object"]))
    done = reconcile(None, first, at=ev.T0)
    assert done.order is not None
    later = apply_event(done.order, parse_event(ev.raw(cancelled)))
    assert (later.outcome, done.order.state) == (EventOutcome.APPLIED, OrderState.CANCELLED)


def test_the_same_fetch_twice_is_a_duplicate() -> None:
    """Reconciling one fetch (same time) again changes nothing."""
    snapshot = parse_order(json.dumps(ev.card_order_accepted()[0]["data"]["object"]))
    done = reconcile(None, snapshot, at=AT)
    assert done.order is not None
    assert reconcile(done.order, snapshot, at=AT).outcome is EventOutcome.DUPLICATE


def test_reconcile_refuses_wrong_arguments() -> None:
    """A snapshot that is not one, or a naive time, is a typed error; nothing changes."""
    with pytest.raises(WrongType, match="OrderSnapshot"):
        reconcile(None, {"state": "accepted"})  # type: ignore[arg-type]
    snapshot = parse_order(json.dumps(ev.card_order_accepted()[0]["data"]["object"]))
    with pytest.raises(WrongType, match="aware datetime"):
        reconcile(None, snapshot, at=datetime(2026, 1, 1))  # noqa: DTZ001 (naive on purpose)
    with pytest.raises(WrongType, match="Order or None"):
        reconcile("o1", snapshot, at=datetime(2026, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]


# --- hostile bodies --------------------------------------------------------------------------


# Every order object of the hand-written fixture lives: what a fetch of an order returns.
ORDER_OBJECTS = [
    event["data"]["object"]
    for life in ev.ALL_LIVES.values()
    for event in life()
    if "state" in event["data"]["object"]
]


@given(hostile_bodies(st.sampled_from(ORDER_OBJECTS)))
def test_hostile_order_bodies_give_typed_errors_only(body: bytes) -> None:
    """NUL, lone surrogates, huge numbers: a snapshot, or InvalidOrderBody; nothing else."""
    try:
        snapshot = parse_order(body)
    except InvalidOrderBody:
        return
    try:
        done = reconcile(None, snapshot, at=AT)
    except EventConflict:
        return
    assert done.order is not None
    assert_order_invariants(done.order)


@given(st.binary(max_size=64) | st.text(max_size=64))
def test_random_bytes_are_never_an_untyped_error(body: bytes | str) -> None:
    """Any bytes or text: a snapshot, or InvalidOrderBody."""
    with contextlib.suppress(InvalidOrderBody):
        parse_order(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b" " * (MAX_BODY + 1), f"over the limit of {MAX_BODY}"),
        ("é" * (MAX_BODY // 2 + 1), f"over the limit of {MAX_BODY}"),
        (b"[" * 10_000 + b"]" * 10_000, "nested"),
        (
            b'{"id": "o", "state": "accepted", "items": [{"id": "i", "quantity": '
            + b"9" * 5000
            + b"}]}",
            "digits",
        ),
        (b'{"id": "o\\u0000", "state": "accepted"}', "id"),
        (b'{"id": "\\ud800", "state": "accepted"}', "id"),
        (
            (
                b'{"id": "o", "state": "accepted", "payment": {"charges": [{"id": "c", '
                b'"amount": 1e999999, "state": "capturable", "currency": "USD"}]}}'
            ),
            "10^18",
        ),
        (b'{"id": "o", "state": "shipped"}', "unknown order state"),
        (b"\xff\xfe", "not JSON"),
        (None, "bytes or str"),
    ],
)
def test_bodies_past_the_limits_are_refused_by_name(body: Any, message: str) -> None:
    """Each limit the webhooks have refuses its body with InvalidOrderBody, saying why."""
    with pytest.raises(InvalidOrderBody, match=re.escape(message)):
        parse_order(body)


def test_a_number_no_decision_reads_is_not_read() -> None:
    """A 5,000-digit number where no field is read (a total) refuses nothing: it is skipped."""
    body = b'{"id": "o", "state": "accepted", "totalAmount": ' + b"9" * 5000 + b"}"
    assert parse_order(body).state is OrderState.ACCEPTED

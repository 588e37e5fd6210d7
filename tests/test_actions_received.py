"""What a reconciled delivery asks of the outbox: subscription actions, refund settlements."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import testing
from order_lifecycle.actions import (
    ActionPolicy,
    Derived,
    EventReceived,
    RefundSettlement,
    action_key,
    received,
    request_of,
)
from order_lifecycle.exceptions import InvalidEvent
from order_lifecycle.store._outbox import encode_json
from order_lifecycle.webhooks import parse_event

from . import webhook_events as ev
from .hostile import hostile_bodies

POLICY = ActionPolicy(subscribe={"refunds": "refund.*", "documents": "order.invoice.created"})


def delivered(payload: ev.Json, policy: ActionPolicy = POLICY) -> Derived:
    """What ``payload``, delivered, asks of the outbox under ``policy``."""
    body = ev.raw(payload)
    return received(policy, parse_event(body), body)


def test_a_refund_complete_makes_its_subscription_action_and_settlement() -> None:
    """refund.complete: one action per subscribed kind, one settlement per charge it names."""
    payload = ev.refund_event("evt-1", "1001", "c1", 13.51, ev.at(9), refund_id="re_1")
    derived = delivered(payload)
    (action,) = derived.created
    assert (action.key, action.kind, action.subject) == (
        action_key("1001", "refunds", "evt-1"),
        "refunds",
        "evt-1",
    )
    request = request_of(action.kind, action.order_id, action.subject, action.payload)
    assert isinstance(request, EventReceived)
    assert request.refund is not None
    assert (request.refund.id, request.refund.amount, request.refund.state) == (
        "re_1",
        Decimal("13.51"),
        "succeeded",
    )
    assert derived.settlements == (
        RefundSettlement(
            "1001",
            "evt-1",
            "refund.complete",
            "re_1",
            "c1",
            Decimal("13.51"),
            "USD",
            confirmed=True,
        ),
    )


def test_a_refund_failed_settles_with_the_providers_reason() -> None:
    """refund.failed: a settlement that failed, with the provider's failureReason."""
    payload = ev.refund_event("evt-2", "1001", "c1", 27.01, ev.at(9), failed="expired card")
    (settlement,) = delivered(payload, ActionPolicy()).settlements
    assert (settlement.confirmed, settlement.failure_reason) == (False, "expired card")
    assert "failed: expired card" in settlement.reason
    assert delivered(payload, ActionPolicy()).created == ()  # not subscribed: no action


def test_a_refund_naming_no_charge_settles_by_its_amount() -> None:
    """A refund object without charges[] settles by its own amount, any charge."""
    payload = ev.refund_event("evt-3", "1001", "c1", 5.0, ev.at(9))
    del payload["data"]["object"]["charges"]
    (settlement,) = delivered(payload).settlements
    assert (settlement.charge_id, settlement.amount) == (None, Decimal("5.0"))


def test_an_unsubscribed_type_asks_nothing() -> None:
    """A type no subscription names, and that settles nothing: nothing."""
    payload = ev.file_event("evt-4", "order.credit_memo.created", "1001", ev.at(9))
    assert not delivered(payload)
    (invoice,) = delivered(ev.file_event("evt-5", "order.invoice.created", "1", ev.at(9))).created
    assert invoice.payload["fields"]["invoiceURL"].endswith("/content")


DELIVERED = st.sampled_from(
    [
        ev.refund_event("evt-r", "1001", "c1", 13.51, ev.at(9)),
        ev.refund_event("evt-f", "1001", "c1", 2.5, ev.at(9), failed="no funds"),
        ev.file_event("evt-i", "order.invoice.created", "1001", ev.at(9)),
    ]
)


@given(hostile_bodies() | testing.hostile_bodies(DELIVERED))
def test_any_delivered_body_asks_only_storable_actions(body: bytes) -> None:
    """Whatever a parsed body holds, received never raises; its payloads store as JSON."""
    try:
        event = parse_event(body)
    except InvalidEvent:
        return  # refused before the outbox ever sees it
    policy = ActionPolicy(subscribe={"everything": ["order.*", "refund.*", "fulfillment.*"]})
    derived = received(policy, event, body)
    for action in derived.created:
        encode_json(action.payload, "payload")  # plain JSON: no NaN, no Decimal, no bytes
        request_of(action.kind, action.order_id, action.subject, action.payload)
    for settlement in derived.settlements:
        assert settlement.amount.is_finite()
        assert settlement.refund_id

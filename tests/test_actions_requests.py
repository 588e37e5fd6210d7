"""Typed requests: each kind's payload read as its value; a payload not its kind's, refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Charge, Item, Order, OrderEvent, OrderState
from order_lifecycle.actions import (
    ActionPolicy,
    CaptureRequest,
    DeliverRequest,
    NotifyCustomer,
    ReviewRequest,
    ShipRequest,
    Transitioned,
    derive_actions,
    on,
    request_of,
)
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import ActionKind
from order_lifecycle.models import fire
from order_lifecycle.orders import fulfil_items
from order_lifecycle.testing import HOSTILE_TEXT

from .hostile import VALUES


def test_each_derived_payload_reads_as_its_kinds_request() -> None:
    """The payloads the derivation writes read back as typed, equal values."""
    order = Order.create(
        "o1",
        items=[
            Item("box", 2, physical=True, sku="SKU-1"),
            Item("key", 1, physical=False),
            Item("x", 1, None),
        ],
        charges=[Charge("c1", "capturable", Decimal("30.00"), "EUR")],
    )
    accepted = order.copy()
    fire(accepted, OrderEvent.ACCEPT)
    policy = ActionPolicy(listen={"audit": on()})
    found = {
        a.subject: request_of(a.kind, a.order_id, a.subject, a.payload)
        for a in derive_actions(order, accepted, policy=policy).created
    }
    assert found["box"] == ShipRequest("o1", "box", 2, "SKU-1")
    assert found["key"] == DeliverRequest("o1", "key", 1)
    assert isinstance(found["x"], ReviewRequest)
    assert found["x"].undecided is None  # no classifier: nothing said why
    step = found["step#1"]
    assert isinstance(step, Transitioned)
    assert (step.step, step.event, step.dest) == (1, OrderEvent.ACCEPT, OrderState.ACCEPTED)
    fulfilled = accepted.copy()
    fulfil_items(fulfilled, {"box": 2, "key": 1, "x": 1})
    (capture,) = (a for a in derive_actions(accepted, fulfilled).created)
    assert request_of(capture.kind, "o1", capture.subject, capture.payload) == CaptureRequest(
        "o1", "c1", Decimal("30.00"), "EUR"
    )


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        ("ship", {"item_id": "box"}, "quantity is missing"),
        ("ship", {"item_id": "box", "quantity": True}, "quantity is bool"),
        ("capture", {"charge_id": "c1", "amount": "lots"}, "amount is no amount"),
        ("capture", {"charge_id": "c1", "amount": "NaN"}, "amount is no amount"),
        ("notify_customer", {"state": "gone", "message": "hi"}, "state is no order state"),
        ("refunds", {"request": "event_received", "event_id": "e"}, "type is missing"),
        ("audit", {"request": "nothing"}, "names no request"),
        ("audit", {"request": "transitioned", "dest": "accepted"}, "step is missing"),
    ],
)
def test_a_payload_not_its_kinds_is_refused_naming_the_field(
    kind: str, payload: dict[str, Any], message: str
) -> None:
    """A field missing or of a wrong type: an InvalidInput naming it."""
    with pytest.raises(InvalidInput, match=message):
        request_of(kind, "o1", "s", payload)


JSONISH = st.recursive(
    VALUES | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
    max_leaves=10,
)
FIELDS = st.sampled_from(
    [
        "request",
        "item_id",
        "quantity",
        "sku",
        "state",
        "message",
        "charge_id",
        "amount",
        "refunded",
        "currency",
        "event_id",
        "type",
        "created_time",
        "fields",
        "refund",
        "step",
        "event",
        "source",
        "dest",
        "at",
        "implied",
    ]
)


@given(
    kind=st.sampled_from([*ActionKind, "refunds", "audit"]) | HOSTILE_TEXT,
    payload=st.dictionaries(FIELDS | HOSTILE_TEXT, JSONISH, max_size=8) | VALUES,
)
def test_hostile_payloads_raise_typed_errors_only(kind: str, payload: Any) -> None:
    """Any payload for any kind: a request, or an InvalidInput; nothing else."""
    try:
        request = request_of(kind, "o1", "s", payload)
    except InvalidInput:
        return
    assert request.order_id == "o1"


def test_a_notification_reads_its_customer_safe_message() -> None:
    """notify_customer carries the table's customer sentence for its state."""
    order = Order.create("o1", items=[Item("box", 1, physical=True)])
    blocked = order.copy()
    fire(blocked, OrderEvent.BLOCK)
    (notify,) = derive_actions(order, blocked).created
    request = request_of(notify.kind, "o1", notify.subject, notify.payload)
    assert isinstance(request, NotifyCustomer)
    assert request.state is OrderState.BLOCKED
    assert request.message == notify.payload["message"]

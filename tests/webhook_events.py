"""Webhook events written by hand in the provider's shapes, and the lives they tell.

Each builder returns the JSON-ready event the provider would post: an envelope (``id``,
``type``, ``createdTime``, ``data.object``, ``liveMode``, ``webhookIds``) around an order
object (``id``, ``state``, ``stateTransitions``, ``fraudState``, ``items[]``,
``payment.charges[]``...) or a charge object (``orderId``, ``captures[]``, ``cancels[]``...).
Ids, amounts and times are made up; only the shapes follow the provider's examples.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)

Json = dict[str, Any]


def at(seconds: float) -> datetime:
    """``T0`` plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def stamp(moment: datetime) -> str:
    """A time as the provider writes it: ``2026-04-01T09:00:05.250000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def item(
    item_id: str,
    quantity: int = 1,
    *,
    state: str = "created",
    physical: bool | None = None,
    amount: float = 10.0,
    created: datetime = T0,
) -> Json:
    """An entry of an order object's ``items[]``; ``physical`` only when the product is expanded."""
    details: Json = {"id": f"sku-{item_id}", "name": f"Product {item_id}", "countryOfOrigin": "US"}
    if physical is not None:
        details["physical"] = physical
    return {
        "id": item_id,
        "skuId": f"sku-{item_id}",
        "productDetails": details,
        "amount": amount,
        "quantity": quantity,
        "state": state,
        "stateTransitions": {"created": stamp(created)},
        "tax": {"rate": 0.0, "amount": 0.0},
        "availableToRefundAmount": 0.0,
    }


def operation(op_id: str, amount: float, state: str, when: datetime) -> Json:
    """One entry of a charge's ``captures[]``, ``cancels[]`` or ``refunds[]``."""
    return {"id": op_id, "createdTime": stamp(when), "amount": amount, "state": state}


def charge(
    charge_id: str,
    state: str,
    amount: float,
    *,
    captures: Sequence[Json] = (),
    cancels: Sequence[Json] = (),
    refunds: Sequence[Json] = (),
    order_id: str | None = None,
    currency: str = "USD",
) -> Json:
    """A charge, as in ``payment.charges[]``; with ``order_id``, the object of a charge event."""
    body: Json = {
        "id": charge_id,
        "createdTime": stamp(T0),
        "currency": currency,
        "amount": amount,
        "state": state,
        "captured": bool(captures),
        "refunded": bool(refunds),
        "sourceId": f"src-{charge_id}",
        "type": "customer_initiated",
    }
    if order_id is not None:
        body["orderId"] = order_id
        body["liveMode"] = False
    for key, entries in (("captures", captures), ("cancels", cancels), ("refunds", refunds)):
        if entries:
            body[key] = list(entries)
    return body


def order(
    order_id: str,
    state: str,
    *,
    transitions: Mapping[str, datetime],
    fraud: str | None = "passed",
    fraud_transitions: Mapping[str, datetime] | None = None,
    items: Sequence[Json] = (),
    charges: Sequence[Json] | None = (),
    checkout_id: str | None = None,
    currency: str = "USD",
) -> Json:
    """An order object; ``charges=None`` leaves ``payment.charges`` out (delayed payments)."""
    body: Json = {
        "id": order_id,
        "createdTime": stamp(min(transitions.values(), default=T0)),
        "currency": currency,
        "email": "shopper@example.com",
        "totalAmount": sum(i["amount"] for i in items),
        "items": list(items),
        "updatedTime": stamp(max(transitions.values(), default=T0)),
        "locale": "en_US",
        "liveMode": False,
        "payment": {"session": {"id": f"ses-{order_id}", "state": "complete"}},
        "state": state,
        "stateTransitions": {name: stamp(when) for name, when in transitions.items()},
        "checkoutId": checkout_id or f"chk-{order_id}",
        "capturedAmount": 0.0,
        "cancelledAmount": 0.0,
        "availableToRefundAmount": 0.0,
    }
    if charges is not None:
        body["payment"]["charges"] = list(charges)
    if fraud is not None:
        body["fraudState"] = fraud
    if fraud_transitions is not None:
        body["fraudStateTransitions"] = {k: stamp(v) for k, v in fraud_transitions.items()}
    elif fraud is not None:
        body["fraudStateTransitions"] = {fraud: stamp(max(transitions.values(), default=T0))}
    return body


def legacy_order(
    order_id: str,
    state: str,
    *,
    transitions: Mapping[str, datetime],
    items: Sequence[Json] = (),
    charges: Sequence[Json] = (),
    fraud: str | None = "passed",
) -> Json:
    """An order object of API version 2020-01-07: top-level ``charges[]`` and ``sources[]``.

    It has no ``payment`` and no ``checkoutId`` (the cart was submitted, not a checkout).
    """
    body: Json = {
        "id": order_id,
        "createdTime": stamp(min(transitions.values(), default=T0)),
        "currency": "USD",
        "email": "shopper@example.com",
        "totalAmount": sum(i["amount"] for i in items),
        "items": list(items),
        "sources": [{"id": f"src-{order_id}", "type": "creditCard", "amount": 0.0}],
        "charges": list(charges),
        "state": state,
        "stateTransitions": {name: stamp(when) for name, when in transitions.items()},
        "liveMode": False,
    }
    if fraud is not None:
        body["fraudState"] = fraud
    return body


def event(
    event_id: str,
    event_type: str,
    obj: Json,
    created: datetime,
    previous: Json | None = None,
) -> Json:
    """The envelope the provider posts around ``obj``."""
    data: Json = {"object": obj}
    if previous is not None:
        data["previousAttributes"] = previous
    return {
        "id": event_id,
        "type": event_type,
        "data": data,
        "liveMode": False,
        "createdTime": stamp(created),
        "webhookIds": ["wh-1"],
        "digitalriverVersion": "2021-12-13",
    }


def raw(payload: Json) -> bytes:
    """The bytes of an event as posted."""
    return json.dumps(payload).encode()


# --- the lives the issue asks for --------------------------------------------------------------


def card_order_accepted() -> list[Json]:
    """A card order accepted at once: one ``order.accepted``, fraud passed, charge capturable."""
    obj = order(
        "1001",
        "accepted",
        transitions={"accepted": at(3)},
        items=[item("1001-1", 2, amount=20.0, physical=True)],
        charges=[charge("ch-1001", "capturable", 27.01)],
    )
    return [event("evt-1001-accepted", "order.accepted", obj, at(4))]


def accepted_physical_and_digital() -> list[Json]:
    """``order.accepted`` with expanded products: one to ship, one to deliver digitally."""
    obj = order(
        "1002",
        "accepted",
        transitions={"accepted": at(3)},
        items=[
            item("1002-shirt", 2, physical=True, amount=40.0),
            item("1002-ebook", 1, physical=False, amount=9.0),
        ],
        charges=[charge("ch-1002", "capturable", 49.0)],
    )
    return [event("evt-1002-accepted", "order.accepted", obj, at(4))]


def expired_wire_transfer() -> list[Json]:
    """A wire transfer never funded: ``pending_payment``, then ``cancelled``; no charge ever."""
    waiting = order(
        "1003",
        "pending_payment",
        transitions={"pending_payment": at(2)},
        fraud=None,
        items=[item("1003-1", 1, physical=True)],
        charges=None,
    )
    waiting["payment"]["session"]["state"] = "pending_funds"
    expired = order(
        "1003",
        "cancelled",
        transitions={"pending_payment": at(2), "cancelled": at(3 * 86400)},
        items=[item("1003-1", 1, physical=True, state="cancelled")],
        charges=None,
    )
    expired["payment"]["session"]["state"] = "failed"
    return [
        event("evt-1003-pending", "order.pending_payment", waiting, at(3)),
        event("evt-1003-cancelled", "order.cancelled", expired, at(3 * 86400 + 4)),
    ]


def review_then_blocked() -> list[Json]:
    """Fraud review opens (``in_review``), then blocks the order; the charge is cancelled."""
    reviewing = order(
        "1004",
        "in_review",
        transitions={"in_review": at(4)},
        fraud="review_opened",
        items=[item("1004-1", 2)],
        charges=[charge("ch-1004", "capturable", 26.89)],
    )
    blocked = order(
        "1004",
        "blocked",
        transitions={"in_review": at(4), "blocked": at(600)},
        fraud="blocked",
        fraud_transitions={"review_opened": at(4), "blocked": at(600)},
        items=[item("1004-1", 2, state="blocked")],
        charges=[
            charge(
                "ch-1004",
                "cancelled",
                26.89,
                cancels=[operation("cx-1004", 26.89, "complete", at(599))],
            )
        ],
    )
    return [
        event("evt-1004-review", "order.review_opened", reviewing, at(5)),
        event("evt-1004-blocked", "order.blocked", blocked, at(601)),
    ]


def _fulfilled_order(
    order_id: str, state: str, transitions: Mapping[str, datetime], charge_body: Json
) -> Json:
    return order(
        order_id,
        state,
        transitions=transitions,
        fraud=None if state == "complete" else "passed",
        fraud_transitions={"passed": at(3)},
        items=[item(f"{order_id}-1", 1, state="fulfilled", physical=True, amount=20.0)],
        charges=[charge_body],
    )


def accepted_fulfilled_complete() -> list[Json]:
    """Accepted, fulfilled, captured, complete: order events, a fulfilment, charge events.

    The ``order.complete`` object leaves ``fraudState`` out and keeps only
    ``fraudStateTransitions``, as the provider's does.
    """
    accepted = order(
        "1005",
        "accepted",
        transitions={"accepted": at(3)},
        items=[item("1005-1", 1, physical=True, amount=20.0)],
        charges=[charge("ch-1005", "capturable", 20.0)],
    )
    fulfilment = {
        "id": "ful-1005",
        "createdTime": stamp(at(60)),
        "items": [{"itemId": "1005-1", "quantity": 1}],
        "orderId": "1005",
        "trackingNumber": "TRK1005",
    }
    pending_capture = [operation("cap-1005", 20.0, "pending", at(61))]
    done_capture = [operation("cap-1005", 20.0, "complete", at(61))]
    processing = charge("ch-1005", "processing", 20.0, captures=pending_capture)
    complete = charge("ch-1005", "complete", 20.0, captures=done_capture)
    return [
        event("evt-1005-accepted", "order.accepted", accepted, at(4)),
        event("evt-1005-fulfilment", "fulfillment.created", fulfilment, at(60)),
        event(
            "evt-1005-capture-pending",
            "order.charge.capture.pending",
            charge("ch-1005", "processing", 20.0, captures=pending_capture, order_id="1005"),
            at(62),
        ),
        event(
            "evt-1005-fulfilled",
            "order.fulfilled",
            _fulfilled_order(
                "1005", "fulfilled", {"accepted": at(3), "fulfilled": at(60)}, processing
            ),
            at(63),
        ),
        event(
            "evt-1005-capture-complete",
            "order.charge.capture.complete",
            charge("ch-1005", "complete", 20.0, captures=done_capture, order_id="1005"),
            at(90),
        ),
        event(
            "evt-1005-complete",
            "order.complete",
            _fulfilled_order(
                "1005",
                "complete",
                {"accepted": at(3), "fulfilled": at(60), "complete": at(91)},
                complete,
            ),
            at(92),
        ),
    ]


def dispute_and_resolution(*, resolved_to: str = "complete") -> list[Json]:
    """A complete order disputed, then resolved: back to ``complete`` by default.

    ``resolved_to="accepted"`` tells it as the provider's own example does: the resolved
    order comes back ``accepted`` although it was ``complete`` before the dispute ([X]).
    """
    captured = charge(
        "ch-1006", "complete", 20.0, captures=[operation("cap-1006", 20.0, "complete", at(61))]
    )
    firsts = {"accepted": at(3), "fulfilled": at(60), "complete": at(91)}

    def snapshot(state: str, fraud: str, extra: Mapping[str, datetime]) -> Json:
        body = _fulfilled_order("1006", state, {**firsts, **extra}, captured)
        body["fraudState"] = fraud
        body["fraudStateTransitions"] = {"passed": stamp(at(3))}
        if fraud == "review_opened" or "dispute" in extra:
            body["fraudStateTransitions"]["review_opened"] = stamp(at(86400))
        return body

    return [
        event("evt-1006-complete", "order.complete", snapshot("complete", "passed", {}), at(92)),
        event(
            "evt-1006-dispute",
            "order.dispute",
            snapshot("dispute", "review_opened", {"dispute": at(86400)}),
            at(86401),
        ),
        event(
            "evt-1006-resolved",
            "order.dispute.resolved",
            snapshot(resolved_to, "passed", {"dispute": at(86400)}),
            at(2 * 86400),
        ),
    ]


def charge_capture_and_cancel() -> list[Json]:
    """An accepted order's charge captured in part, then the rest cancelled: charge events.

    The charge stays ``capturable`` after the partial capture, and is ``complete`` once the
    remainder is cancelled; the order is never moved by these events.
    """
    accepted = order(
        "1007",
        "accepted",
        transitions={"accepted": at(3)},
        items=[item("1007-1", 1, amount=30.0), item("1007-2", 1, amount=20.0)],
        charges=[charge("ch-1007", "capturable", 50.0)],
    )
    capture = [operation("cap-1007", 30.0, "complete", at(120))]
    cancel = [operation("cx-1007", 20.0, "complete", at(180))]
    return [
        event("evt-1007-accepted", "order.accepted", accepted, at(4)),
        event(
            "evt-1007-capture",
            "order.charge.capture.complete",
            charge("ch-1007", "capturable", 50.0, captures=capture, order_id="1007"),
            at(121),
        ),
        event(
            "evt-1007-cancel",
            "order.charge.cancel.complete",
            charge("ch-1007", "complete", 50.0, captures=capture, cancels=cancel, order_id="1007"),
            at(181),
        ),
    ]


_V2020 = {"digitalriverVersion": "2020-01-07"}


def legacy_order_fulfilled() -> list[Json]:
    """A 2020-01-07 order: accepted, then fulfilled; its charges at the top level."""
    items = [item("1008-1", 1, physical=True, amount=15.0)]
    accepted = legacy_order(
        "1008",
        "accepted",
        transitions={"accepted": at(3)},
        items=items,
        charges=[charge("ch-1008", "capturable", 15.0)],
    )
    captured = [operation("cap-1008", 15.0, "pending", at(61))]
    fulfilled = legacy_order(
        "1008",
        "fulfilled",
        transitions={"accepted": at(3), "fulfilled": at(60)},
        items=[item("1008-1", 1, physical=True, amount=15.0, state="fulfilled")],
        charges=[charge("ch-1008", "processing", 15.0, captures=captured)],
    )
    return [
        {**event("evt-1008-accepted", "order.accepted", accepted, at(4)), **_V2020},
        {**event("evt-1008-fulfilled", "order.fulfilled", fulfilled, at(62)), **_V2020},
    ]


ALL_LIVES = {
    "card_order_accepted": card_order_accepted,
    "accepted_physical_and_digital": accepted_physical_and_digital,
    "expired_wire_transfer": expired_wire_transfer,
    "review_then_blocked": review_then_blocked,
    "accepted_fulfilled_complete": accepted_fulfilled_complete,
    "dispute_and_resolution": dispute_and_resolution,
    "charge_capture_and_cancel": charge_capture_and_cancel,
    "legacy_order_fulfilled": legacy_order_fulfilled,
}
"""Every life above, by name."""

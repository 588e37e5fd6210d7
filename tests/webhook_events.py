"""Webhook lives written by hand in the provider's shapes, one per situation a test names.

The builders of the shapes (envelopes, order and charge objects, both API generations) are
the local provider's (:mod:`order_lifecycle.sandbox.shapes`, which the testing kit uses
too), re-exported here for the tests that build events by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from order_lifecycle.sandbox.shapes import (
    T0,
    Json,
    at,
    charge,
    event,
    item,
    legacy_order,
    operation,
    order,
    raw,
    refund,
    stamp,
)

__all__ = [
    "ALL_LIVES",
    "T0",
    "Json",
    "at",
    "charge",
    "event",
    "file_event",
    "item",
    "legacy_order",
    "operation",
    "order",
    "raw",
    "refund",
    "refund_event",
    "stamp",
]


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


def disputed_twice_back_to_accepted() -> list[Json]:
    """Disputed while accepted and resolved, then fulfilled, complete, disputed again.

    The second dispute is resolved into ``accepted`` although the order was ``complete``
    before it ([X]); ``stateTransitions`` keeps first entries only, so the last snapshot
    lists the first dispute's time, and ``fulfilled`` and ``complete`` before it.
    """
    open_item = [item("1009-1", 1, physical=True, amount=20.0)]
    done_item = [item("1009-1", 1, physical=True, amount=20.0, state="fulfilled")]
    capturable = [charge("ch-1009", "capturable", 20.0)]
    captured = [
        charge(
            "ch-1009", "complete", 20.0, captures=[operation("cap-1009", 20.0, "complete", at(500))]
        )
    ]
    firsts: dict[str, datetime] = {}
    lives = []
    steps = [
        ("accepted", "order.accepted", "passed", open_item, capturable),
        ("dispute", "order.dispute", "review_opened", open_item, capturable),
        ("accepted", "order.dispute.resolved", "passed", open_item, capturable),
        ("fulfilled", "order.fulfilled", "passed", done_item, capturable),
        ("complete", "order.complete", "passed", done_item, captured),
        ("dispute", "order.dispute", "review_opened", done_item, captured),
        ("accepted", "order.dispute.resolved", "passed", done_item, captured),
    ]
    for index, (state, event_type, fraud, items, charges) in enumerate(steps):
        moment = at(100 * (index + 1))
        firsts.setdefault(state, moment)
        body = order(
            "1009",
            state,
            transitions=dict(firsts),
            fraud=fraud,
            fraud_transitions={"passed": at(100), "review_opened": at(200)},
            items=items,
            charges=charges,
        )
        lives.append(event(f"evt-1009-{index}", event_type, body, moment + timedelta(seconds=1)))
    return lives


def dispute_with_a_lagging_item() -> list[Json]:
    """The provider's ``order.dispute`` example: its one item still ``created``, then resolved.

    Its ``stateTransitions`` list accepted, fulfilled, complete and dispute, while the item
    it says was fulfilled is still marked ``created`` (the item data lags behind the
    provider's record); the resolution brings the order back to ``complete``, its item
    fulfilled by then.
    """
    firsts = {"accepted": at(7), "fulfilled": at(24), "complete": at(60_000)}
    captured = [
        charge(
            "ch-1010", "complete", 20.0, captures=[operation("cap-1010", 20.0, "complete", at(30))]
        )
    ]

    def snapshot(state: str, fraud: str, item_state: str) -> Json:
        return order(
            "1010",
            state,
            transitions={**firsts, "dispute": at(200_000)},
            fraud=fraud,
            fraud_transitions={"passed": at(7), "review_opened": at(200_000)},
            items=[item("1010-1", 1, physical=True, amount=20.0, state=item_state)],
            charges=captured,
        )

    return [
        event(
            "evt-1010-dispute",
            "order.dispute",
            snapshot("dispute", "review_opened", "created"),
            at(200_005),
        ),
        event(
            "evt-1010-resolved",
            "order.dispute.resolved",
            snapshot("complete", "passed", "fulfilled"),
            at(200_400),
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


def refund_event(
    event_id: str,
    order_id: str,
    charge_id: str,
    amount: float,
    when: datetime,
    *,
    failed: str | None = None,
    refund_id: str | None = None,
) -> Json:
    """A refund of ``amount`` on one charge, complete (or failed for ``failed``): its event.

    ``refund.complete`` or ``refund.failed``, as the Refunds API's events carry it (payloads
    17 and 18); a failure's ``failureReason`` is left out when ``failed`` is empty.
    """
    entry = operation(f"op-{event_id}", amount, "failed" if failed else "complete", when)
    obj = refund(refund_id or f"re_{event_id}", order_id, charge_id, entry)
    if failed is not None:
        obj |= {"state": "failed", "refundedAmount": 0.0}
        if failed:
            obj["failureReason"] = failed
    kind = "refund.failed" if failed is not None else "refund.complete"
    return event(event_id, kind, obj, when)


def file_event(event_id: str, kind: str, order_id: str, when: datetime) -> Json:
    """``order.invoice.created`` or ``order.credit_memo.created``: a file's info (payload 12)."""
    purpose = "customer_invoice" if "invoice" in kind else "customer_credit_memo"
    obj = {
        "id": f"file-{event_id}",
        "fileId": f"file-{event_id}",
        "orderId": order_id,
        "customerId": "cus-1",
        "purpose": purpose,
        "invoiceURL": f"https://api.example.com/files/file-{event_id}/content",
    }
    return event(event_id, kind, obj, when)


ALL_LIVES = {
    "card_order_accepted": card_order_accepted,
    "accepted_physical_and_digital": accepted_physical_and_digital,
    "expired_wire_transfer": expired_wire_transfer,
    "review_then_blocked": review_then_blocked,
    "accepted_fulfilled_complete": accepted_fulfilled_complete,
    "dispute_and_resolution": dispute_and_resolution,
    "charge_capture_and_cancel": charge_capture_and_cancel,
    "legacy_order_fulfilled": legacy_order_fulfilled,
    "disputed_twice_back_to_accepted": disputed_twice_back_to_accepted,
    "dispute_with_a_lagging_item": dispute_with_a_lagging_item,
}
"""Every life above, by name."""

"""The ``order-lifecycle demo`` walk: one checkout and its order, kept in a store.

Every step goes through the store as an app server would do it: the checkout is claimed
and consumed there, the order created in the same transaction, each webhook applied once
by its event id. Only the command line imports this module.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import attrs

from .diagrams import render_spec
from .exceptions import DuplicateEvent, OperationNotAllowed, SubmissionRefused, TransitionNotAllowed
from .lifecycle._tables import ORDER_SPEC
from .lifecycle._vocabulary import ChargeState, Operation, OrderEvent
from .models._machines import allowed_events, allowed_operations, explain, fire
from .models._models import Order
from .orders._charges import capture
from .orders._fulfilment import fulfil_items
from .store import Store

__all__ = ["walk"]

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _created_body(order_id: str, checkout_id: str) -> str:
    """The provider's ``POST /orders`` 201 body for the demo's order."""
    return json.dumps(
        {
            "id": order_id,
            "state": "pending_payment",
            "checkoutId": checkout_id,
            "items": [
                {"id": "widget", "quantity": 2, "productDetails": {"physical": True}},
                {"id": "manual", "quantity": 1, "productDetails": {"physical": False}},
            ],
            "payment": {
                "charges": [{"id": "ch-1", "state": "pending", "amount": 49.90, "currency": "USD"}]
            },
        }
    )


def _accepted(order: Order) -> None:
    """``order.accepted``: the charge is authorized (capturable), the order accepted."""
    order.charges = tuple(attrs.evolve(c, state=ChargeState.CAPTURABLE) for c in order.charges)
    at = START + timedelta(minutes=5)
    fire(order, OrderEvent.ACCEPT, at=at, event_id=f"evt-{order.id}-accepted")


def walk(
    store: Store, out: list[str], *, order_id: str = "1001", checkout_id: str = "chk-1"
) -> None:
    """Walk one checkout and its order through their lifecycles in ``store``, saying each step."""
    body = store.begin_submission(checkout_id, at=START)
    out.append(f"POST /orders {json.dumps(body)}: the checkout is claimed for this submission")
    try:
        store.begin_submission(checkout_id)
    except SubmissionRefused as refused:
        out.append(f"  a second submission meanwhile? refused: {refused}")
    store.record_response(checkout_id, 201, _created_body(order_id, checkout_id), at=START)
    order = store.get_order(order_id)
    out.append(
        f"{order!r} created by POST /orders 201, stored in the transaction that consumed "
        f"{checkout_id}"
    )
    out.append(f"  events allowed now: {', '.join(allowed_events(order))}")
    try:
        store.update_order(
            order_id, lambda o: fulfil_items(o, {"widget": 2, "manual": 1}, at=START)
        )
    except OperationNotAllowed as refused:
        out.append(f"  ship it? refused: {refused}")
    out.append(f"  what would allow it: {explain(order, Operation.FULFIL_ITEMS)}")
    accepted = f"evt-{order_id}-accepted"  # the provider's event ids are unique
    store.update_order(order_id, _accepted, event_id=accepted)
    order = store.get_order(order_id)
    out.append(
        f"order.accepted arrives -> {order.state}; the shop may now: "
        f"{', '.join(allowed_operations(order))}"
    )
    try:
        store.update_order(order_id, _accepted, event_id=accepted)
    except DuplicateEvent as duplicate:
        out.append(f"  the same webhook delivered again: {duplicate}")
    store.update_order(
        order_id,
        lambda o: fulfil_items(o, {"widget": 2, "manual": 1}, at=START + timedelta(hours=2)),
    )
    store.update_order(
        order_id, lambda o: capture(o, "ch-1", "49.90", at=START + timedelta(hours=3))
    )
    order = store.get_order(order_id)
    out.append(f"shipped and captured -> {order.state}")
    try:
        store.update_order(
            order_id, lambda o: fire(o, OrderEvent.BLOCK), event_id=f"evt-{order_id}-blocked"
        )
    except TransitionNotAllowed as refused:
        out.append(f"  a late order.blocked? refused: {refused}")
    out.append(f"history, as stored in {store!r}:")
    out.extend(
        f"  {step.at:%Y-%m-%d %H:%M} {step.event or 'created'}: {step.source or '-'} -> {step.dest}"
        for step in order.history
    )
    illegal = store.check()
    verdict = "every stored history is legal" if not illegal else f"{len(illegal)} illegal"
    out.append(f"check against the order table (spec {ORDER_SPEC.version}): {verdict}")
    out.append("")
    out.append(render_spec(ORDER_SPEC, "md"))

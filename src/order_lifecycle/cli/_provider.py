"""The demo's provider: the bodies it answers ``POST /orders`` with and the events it posts.

Written by hand in the provider's shapes (an order object with ``items[]`` and
``payment.charges[]``, an event envelope, an ``errors[]`` body); ids, amounts and times are
made up. Every event is signed with the demo's secret, as the provider signs its webhooks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from order_lifecycle._json import stamp
from order_lifecycle.webhooks import Delivery, sign

__all__ = ["SECRET", "Line", "error_body", "event", "order_object"]

SECRET = "whsec-order-lifecycle-demo"  # noqa: S105 (the demo's own, public by design)
"""The webhook signing secret the demo's provider and inbox share."""

_FORGER = "whsec-someone-else"


@attrs.frozen
class Line:
    """An item the demo sells: units, price per unit, and whether it is shipped."""

    id: str
    quantity: int
    unit_price: int
    physical: bool


def _money(amount: float) -> float:
    return round(amount, 2)


def order_object(  # noqa: PLR0913 (an order object has this many parts)
    order_id: str,
    checkout_id: str,
    state: str,
    lines: Sequence[Line],
    *,
    at: datetime,
    fraud: str | None = None,
    charge_state: str = "capturable",
    captured: float = 0.0,
    item_state: str = "created",
) -> dict[str, Any]:
    """The provider's order object for one of the demo's orders, in ``state``."""
    total = _money(sum(line.quantity * line.unit_price for line in lines))
    charge: dict[str, Any] = {
        "id": f"ch-{order_id}",
        "createdTime": stamp(at),
        "currency": "USD",
        "amount": total,
        "state": charge_state,
        "captured": bool(captured),
        "refunded": False,
        "sourceId": f"src-{order_id}",
        "type": "customer_initiated",
    }
    if captured:
        charge["captures"] = [
            {
                "id": f"cap-{order_id}",
                "createdTime": stamp(at),
                "amount": captured,
                "state": "complete",
            }
        ]
    body: dict[str, Any] = {
        "id": order_id,
        "checkoutId": checkout_id,
        "createdTime": stamp(at),
        "currency": "USD",
        "email": "shopper@example.com",
        "locale": "en_US",
        "liveMode": False,
        "state": state,
        "stateTransitions": {state: stamp(at)},
        "totalAmount": total,
        "items": [
            {
                "id": line.id,
                "skuId": f"sku-{line.id}",
                "productDetails": {"id": f"sku-{line.id}", "physical": line.physical},
                "quantity": line.quantity,
                "amount": _money(line.quantity * line.unit_price),
                "state": item_state,
            }
            for line in lines
        ],
        "payment": {"charges": [charge]},
    }
    if fraud is not None:
        body["fraudState"] = fraud
    return body


def error_body(error_type: str, code: str, message: str) -> str:
    """A provider error response: ``{"type": ..., "errors": [{"code", "message"}]}``."""
    return json.dumps({"type": error_type, "errors": [{"code": code, "message": message}]})


def event(
    event_id: str,
    event_type: str,
    obj: Mapping[str, Any],
    at: datetime,
    *,
    forged: bool = False,
) -> Delivery:
    """The delivery of one event posted at ``at``, signed (by someone else when ``forged``)."""
    body = json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "data": {"object": obj},
            "liveMode": False,
            "createdTime": stamp(at),
            "webhookIds": ["wh-demo"],
        }
    ).encode()
    signature = sign(body, _FORGER if forged else SECRET, at)
    return Delivery(body, signature, received_at=at + timedelta(seconds=2))

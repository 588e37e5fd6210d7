"""The provider's JSON shapes, built by hand: event envelopes, order and charge objects.

Each builder returns the JSON-ready value the provider would post: an envelope (``id``,
``type``, ``createdTime``, ``data.object``, ``liveMode``, ``webhookIds``,
``digitalriverVersion``) around an order object (``id``, ``state``, ``stateTransitions``,
``fraudState``, ``items[]``, ``payment.charges[]``...; or, in API version 2020-01-07, a
top-level ``charges[]`` and no ``payment``), a charge object (``orderId``, ``captures[]``,
``cancels[]``...) or a refund object. Ids, amounts and times are made up; only the shapes
follow the provider's examples. The testing kit draws its random lives with these, and the
local provider (the ``send`` and ``sandbox`` commands) its scripted ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from order_lifecycle._json import stamp

__all__ = [
    "LEGACY_VERSION",
    "T0",
    "VERSION",
    "Json",
    "at",
    "charge",
    "event",
    "item",
    "legacy_order",
    "operation",
    "order",
    "raw",
    "refund",
    "stamp",
]

VERSION = "2021-12-13"
"""The API version of the provider's current shapes (``payment.charges[]``)."""
LEGACY_VERSION = "2020-01-07"
"""The older API version the parser still reads (top-level ``charges[]``)."""

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
"""When the kit's made-up lives begin."""

Json = dict[str, Any]
"""A JSON object, as ``json.loads`` gives it."""


def at(seconds: float) -> datetime:
    """``T0`` plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def item(  # noqa: PLR0913 (the provider's fields)
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


def charge(  # noqa: PLR0913 (the provider's fields)
    charge_id: str,
    state: str,
    amount: float,
    *,
    captures: Sequence[Json] = (),
    cancels: Sequence[Json] = (),
    refunds: Sequence[Json] = (),
    order_id: str | None = None,
    currency: str = "USD",
    created: datetime = T0,
) -> Json:
    """A charge, as in ``payment.charges[]``; with ``order_id``, the object of a charge event."""
    body: Json = {
        "id": charge_id,
        "createdTime": stamp(created),
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


def order(  # noqa: PLR0913 (the provider's fields)
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


def legacy_order(  # noqa: PLR0913 (the provider's fields)
    order_id: str,
    state: str,
    *,
    transitions: Mapping[str, datetime],
    items: Sequence[Json] = (),
    charges: Sequence[Json] | None = (),
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
        "state": state,
        "stateTransitions": {name: stamp(when) for name, when in transitions.items()},
        "liveMode": False,
    }
    if charges is not None:
        body["charges"] = list(charges)
    if fraud is not None:
        body["fraudState"] = fraud
    return body


def refund(refund_id: str, order_id: str, charge_id: str, operation: Json) -> Json:
    """A refund that succeeded, as ``refund.complete`` carries it: ``operation`` on its charge.

    ``operation`` is the charge's entry in ``refunds[]`` (see :func:`operation`).
    """
    return {
        "id": refund_id,
        "amount": operation["amount"],
        "createdTime": operation["createdTime"],
        "currency": "USD",
        "items": [],
        "orderId": order_id,
        "refundedAmount": operation["amount"],
        "state": "succeeded",
        "liveMode": False,
        "charges": [
            {
                "id": charge_id,
                "captured": True,
                "refunded": True,
                "refunds": [operation],
                "sourceId": f"src-{charge_id}",
            }
        ],
    }


def event(  # noqa: PLR0913 (the envelope's fields)
    event_id: str,
    event_type: str,
    obj: Json,
    created: datetime,
    *,
    previous: Json | None = None,
    version: str = VERSION,
) -> Json:
    """The envelope the provider posts around ``obj``, in API ``version``."""
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
        "digitalriverVersion": version,
    }


def raw(payload: Json) -> bytes:
    """The bytes of an event as posted."""
    return json.dumps(payload).encode()

"""What a reconciled delivery asks of the outbox: the shop's subscriptions, refund settlements.

A store hands each delivery whose type its policy takes (``ActionPolicy.delivers``) here,
with the event the reconciler parsed and the body it came in; :func:`received` answers
with the actions to write in the transaction that records the delivery's status:

- one action per subscription of the shop to the event's type, keyed by the order, the
  kind and the event's id (a redelivery names the same action: nothing new is written),
  its payload the event's envelope and its object's plain fields, bounded (read back as an
  :class:`~order_lifecycle.actions.EventReceived`);
- for ``refund.complete`` and ``refund.failed``, one :class:`RefundSettlement` per charge
  the refund names (with what it took from it), which the store matches to the order's
  ``confirm_refund``.

Never raises on what the provider sent: a body that cannot be read again, or an object
whose fields are not what they should be, gives an action with what could be read, and no
settlement.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from order_lifecycle._text import safe_text
from order_lifecycle.webhooks import Event

from ._derive import Action, Derived, RefundSettlement, action_key
from ._policy import SETTLING_TYPES, ActionPolicy
from ._requests import EVENT_RECEIVED

__all__ = ["received"]

_MAX_FIELDS = 64
_MAX_TEXT = 1_000
_MAX_KEY = 100
_MAX_CHARGES = 100
_MAX_DIGITS = 40  # an int longer than this is kept as its text's start


def _no_constant(name: str) -> None:
    raise ValueError(name)


def _object(body: bytes) -> Mapping[str, Any]:
    """The event's ``data.object`` read again from its body; empty when it cannot be."""
    try:
        value = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
        found = value["data"]["object"]
    except (ValueError, TypeError, KeyError, RecursionError):
        return {}
    return found if isinstance(found, dict) else {}


def _text(value: object, limit: int = _MAX_TEXT) -> str:
    """Text any database stores: bounded, NUL and lone surrogates escaped."""
    return safe_text(value, limit)


def _plain(value: object) -> str | int | float | bool | None:
    """A JSON value kept as a plain field; ``...`` (:data:`_SKIP`) for objects and lists."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if len(str(abs(value))) <= _MAX_DIGITS else _text(value, _MAX_DIGITS)
    if isinstance(value, Decimal):
        return _text(value, _MAX_DIGITS) if value.is_finite() else None
    if isinstance(value, str):
        return _text(value)
    raise _Skip


class _Skip(Exception):
    """A value that is not a plain field (an object, a list)."""


def _fields(obj: Mapping[str, Any]) -> dict[str, str | int | float | bool | None]:
    """The object's top-level plain fields, at most 64, keys and text bounded."""
    found: dict[str, str | int | float | bool | None] = {}
    for key, value in obj.items():
        if len(found) >= _MAX_FIELDS:
            break
        try:
            found[_text(key, _MAX_KEY)] = _plain(value)
        except _Skip:
            continue
    return found


def _amount(value: object) -> Decimal | None:
    """A provider's amount (a JSON number), exactly; ``None`` if it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    try:
        found = Decimal(value)
    except (InvalidOperation, ValueError):  # pragma: no cover (int and Decimal convert)
        return None
    return found if found.is_finite() and abs(found) < Decimal(10) ** 18 else None


def _optional_text(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return _text(value) if isinstance(value, str) and value else None


def _charges(obj: Mapping[str, Any], amount: Decimal | None) -> list[tuple[str, Decimal | None]]:
    """The charges a refund names, each with what it took from it (its ``refunds[]``)."""
    charges = obj.get("charges")
    if not isinstance(charges, list):
        return []
    found: list[tuple[str, Decimal | None]] = []
    for charge in charges[:_MAX_CHARGES]:
        charge_id = charge.get("id") if isinstance(charge, dict) else None
        if not isinstance(charge_id, str) or not charge_id:
            continue
        refunds = charge.get("refunds")
        taken = (
            [_amount(entry.get("amount")) for entry in refunds if isinstance(entry, dict)]
            if isinstance(refunds, list)
            else []
        )
        if taken and all(t is not None for t in taken):
            found.append((_text(charge_id), sum((t for t in taken if t is not None), Decimal(0))))
        else:
            found.append((_text(charge_id), None))
    if len(found) == 1 and found[0][1] is None:
        found = [(found[0][0], amount)]  # one charge: the refund's whole amount
    return found


def _refund(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The refund in a ``refund.*`` object, as a payload holds it; ``None`` if it is none."""
    refund_id = obj.get("id")
    if not isinstance(refund_id, str) or not refund_id:
        return None
    amount = _amount(obj.get("amount"))
    return {
        "id": _text(refund_id),
        "amount": None if amount is None else str(amount),
        "currency": _optional_text(obj, "currency"),
        "state": _optional_text(obj, "state"),
        "failure_reason": _optional_text(obj, "failureReason"),
        "charges": [
            {"charge_id": charge_id, "amount": None if taken is None else str(taken)}
            for charge_id, taken in _charges(obj, amount)
        ],
    }


def _settlements(
    event: Event, order_id: str, refund: Mapping[str, Any]
) -> Iterator[RefundSettlement]:
    """What the refund's event settles: per charge it names (or the refund, naming none)."""
    confirmed = event.type == "refund.complete"
    charges = refund["charges"] or [{"charge_id": None, "amount": refund["amount"]}]
    for charge in charges:
        if charge["amount"] is None:
            continue  # what it took from this charge is unknown: nothing to match
        yield RefundSettlement(
            order_id,
            event.id,
            event.type,
            refund["id"],
            charge["charge_id"],
            Decimal(charge["amount"]),
            refund["currency"],
            confirmed,
            refund["failure_reason"],
        )


def received(policy: ActionPolicy, event: Event, body: bytes) -> Derived:
    """The actions and settlements a reconciled delivery of ``event`` (in ``body``) asks for.

    ``event`` names its order (``event.order_id``); the store writes what this answers
    with the delivery's status, after the order's changes.
    """
    order_id = event.order_id
    kinds = policy.subscribe.kinds_for(event.type)
    settles = event.type in SETTLING_TYPES
    if order_id is None or not (kinds or settles):
        return Derived()
    obj = _object(body)
    refund = _refund(obj) if event.type.startswith("refund.") else None
    payload = {
        "request": EVENT_RECEIVED,
        "event_id": event.id,
        "type": event.type,
        "created_time": event.created_time.isoformat(),
        "object_id": _optional_text(obj, "id"),
        "fields": _fields(obj),
        "refund": refund,
    }
    created = tuple(
        Action(action_key(order_id, kind, event.id), order_id, kind, event.id, payload)
        for kind in kinds
    )
    settlements = tuple(_settlements(event, order_id, refund)) if settles and refund else ()
    return Derived(created=created, settlements=settlements)

"""What a handler is asked to do, typed: one value per kind of action, read from its payload.

An action's payload is JSON (what the outbox stores); :func:`request_of` reads it into the
value of its kind, so a handler works with named, typed fields (``request.quantity``, an
``int``; ``request.amount``, a ``Decimal``) instead of a dict:

========================  =====================================================
``ship``                  :class:`ShipRequest`
``deliver_digitally``     :class:`DeliverRequest`
``review_fulfilment``     :class:`ReviewRequest`
``notify_customer``       :class:`NotifyCustomer`
``capture``               :class:`CaptureRequest`
``confirm_refund``        :class:`ConfirmRefund`
``respond_to_dispute``    :class:`RespondToDispute`
a subscription's kind     :class:`EventReceived` (its refund, if any: :class:`Refund`)
a listener's kind         :class:`Transitioned`
========================  =====================================================

``StoredAction.request`` calls it; ``StoredAction.payload`` stays the JSON itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import attrs

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import ActionKind, OrderEvent, OrderState

__all__ = [
    "EVENT_RECEIVED",
    "TRANSITIONED",
    "CaptureRequest",
    "ConfirmRefund",
    "DeliverRequest",
    "EventReceived",
    "NotifyCustomer",
    "Refund",
    "RefundCharge",
    "Request",
    "RespondToDispute",
    "ReviewRequest",
    "ShipRequest",
    "Transitioned",
    "request_of",
]

EVENT_RECEIVED = "event_received"
"""The ``request`` field of a subscription's payload."""
TRANSITIONED = "transitioned"
"""The ``request`` field of a listener's payload."""

Scalar = str | int | float | bool | None


@attrs.frozen
class _ItemRequest:
    """The open units of one item of an order, and its SKU when the provider gave one."""

    order_id: str
    item_id: str
    quantity: int
    sku: str | None = None
    decided_by: str | None = None
    """``"classifier"`` when the shop's classifier decided the item's fulfilment."""


@attrs.frozen
class ShipRequest(_ItemRequest):
    """Ship ``quantity`` units of a physical item (``ship``)."""


@attrs.frozen
class DeliverRequest(_ItemRequest):
    """Deliver ``quantity`` units of a digital item: a download, a licence key."""


@attrs.frozen
class ReviewRequest(_ItemRequest):
    """Decide how to fulfil an item neither the provider nor the classifier decided.

    ``undecided`` says why (no flag and no SKU, a SKU not in the catalogue, the
    classifier's failure).
    """

    undecided: str | None = None


@attrs.frozen
class NotifyCustomer:
    """Tell the customer the order is now in ``state``; ``message`` is customer-safe."""

    order_id: str
    state: OrderState
    message: str


@attrs.frozen
class CaptureRequest:
    """Capture ``amount`` (what is still uncaptured) of a charge, the order being fulfilled."""

    order_id: str
    charge_id: str
    amount: Decimal
    currency: str | None


@attrs.frozen
class ConfirmRefund:
    """Follow a refund of ``amount`` on a charge (its refunds then total ``refunded``).

    ``refund_id`` is the provider's refund, when its own event made the action (a
    refund it reported before the order showed it).
    """

    order_id: str
    charge_id: str | None
    amount: Decimal
    refunded: Decimal | None
    currency: str | None
    refund_id: str | None = None


@attrs.frozen
class RespondToDispute:
    """Answer the bank's dispute with the order's evidence; ``entry`` says which (``dispute#2``)."""

    order_id: str
    entry: str


@attrs.frozen
class RefundCharge:
    """One charge a refund takes money back from, and how much."""

    charge_id: str
    amount: Decimal | None


@attrs.frozen
class Refund:
    """A refund as the provider's ``refund.*`` events carry it (the Refunds API's object).

    ``state`` is the provider's (``pending``, ``succeeded``, ``failed``...);
    ``failure_reason`` its ``failureReason`` (optional, for a failed one).
    """

    id: str
    amount: Decimal | None
    currency: str | None
    state: str | None
    failure_reason: str | None = None
    charges: tuple[RefundCharge, ...] = ()


@attrs.frozen
class EventReceived:
    """A provider event the shop subscribed to, as it was delivered and reconciled.

    ``fields`` holds the object's top-level fields that are plain values (text, numbers,
    flags), bounded; ``refund`` the refund, for a refund's event.
    """

    event_id: str
    type: str
    created_time: datetime
    order_id: str
    object_id: str | None
    fields: Mapping[str, Scalar] = attrs.field(factory=dict, hash=False)
    refund: Refund | None = None


@attrs.frozen
class Transitioned:
    """A transition of the order table, committed: step number ``step`` of its history.

    ``source`` and ``event`` are ``None`` for the order's creation; ``implied`` marks a
    step no event announced (reconstructed from a later snapshot).
    """

    order_id: str
    step: int
    event: OrderEvent | None
    source: OrderState | None
    dest: OrderState
    at: datetime
    implied: bool
    event_id: str | None = None


Request = (
    ShipRequest
    | DeliverRequest
    | ReviewRequest
    | NotifyCustomer
    | CaptureRequest
    | ConfirmRefund
    | RespondToDispute
    | EventReceived
    | Transitioned
)
"""What a handler is asked to do: the typed value of one kind of action."""


class _Bad(Exception):
    """A payload field missing or of a wrong type (reported as :class:`InvalidInput`)."""


def _get(payload: Mapping[str, Any], name: str, kinds: tuple[type, ...]) -> Any:  # noqa: ANN401 (one of kinds)
    """The field ``name`` if it is of one of ``kinds`` (a flag only where ``bool`` is one)."""
    value = payload.get(name)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise _Bad(f"{name} is {'missing' if value is None else type(value).__name__}")
    return value


def _text(payload: Mapping[str, Any], name: str) -> str:
    return _get(payload, name, (str,))  # type: ignore[no-any-return]


def _maybe_text(payload: Mapping[str, Any], name: str) -> str | None:
    return None if payload.get(name) is None else _text(payload, name)


def _money(payload: Mapping[str, Any], name: str) -> Decimal:
    value = _get(payload, name, (str, int, float))
    try:
        found = Decimal(str(value))
    except (InvalidOperation, ValueError):  # ValueError: an int too long to print
        raise _Bad(f"{name} is no amount") from None
    if not found.is_finite():
        raise _Bad(f"{name} is no amount")
    return found


def _maybe_money(payload: Mapping[str, Any], name: str) -> Decimal | None:
    return None if payload.get(name) is None else _money(payload, name)


def _moment(payload: Mapping[str, Any], name: str) -> datetime:
    try:
        found = datetime.fromisoformat(_text(payload, name))
    except ValueError:
        raise _Bad(f"{name} is no ISO 8601 time") from None
    if found.utcoffset() is None:
        raise _Bad(f"{name} has no offset")
    return found


def _item(kind: type[_ItemRequest]) -> Callable[[str, str, Mapping[str, Any]], Request]:
    def read(order_id: str, _subject: str, payload: Mapping[str, Any]) -> Request:
        quantity = _get(payload, "quantity", (int,))
        extra = {"undecided": _maybe_text(payload, "undecided")} if kind is ReviewRequest else {}
        return kind(  # type: ignore[return-value]
            order_id,
            _text(payload, "item_id"),
            quantity,
            _maybe_text(payload, "sku"),
            _maybe_text(payload, "decided_by"),
            **extra,
        )

    return read


def _state(value: object, name: str) -> OrderState:
    if not isinstance(value, str) or value not in set(OrderState):
        raise _Bad(f"{name} is no order state")
    return OrderState(value)


def _notify(order_id: str, _subject: str, payload: Mapping[str, Any]) -> Request:
    return NotifyCustomer(
        order_id, _state(payload.get("state"), "state"), _text(payload, "message")
    )


def _capture(order_id: str, _subject: str, payload: Mapping[str, Any]) -> Request:
    return CaptureRequest(
        order_id,
        _text(payload, "charge_id"),
        _money(payload, "amount"),
        _maybe_text(payload, "currency"),
    )


def _confirm(order_id: str, _subject: str, payload: Mapping[str, Any]) -> Request:
    return ConfirmRefund(
        order_id,
        _maybe_text(payload, "charge_id"),
        _money(payload, "amount"),
        _maybe_money(payload, "refunded"),
        _maybe_text(payload, "currency"),
        _maybe_text(payload, "refund_id"),
    )


def _dispute(order_id: str, subject: str, _payload: Mapping[str, Any]) -> Request:
    return RespondToDispute(order_id, subject)


def _refund(value: object) -> Refund | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _Bad("refund is no object")
    charges = value.get("charges") or []
    if not isinstance(charges, list) or not all(isinstance(c, Mapping) for c in charges):
        raise _Bad("refund.charges is no list of objects")
    return Refund(
        _text(value, "id"),
        _maybe_money(value, "amount"),
        _maybe_text(value, "currency"),
        _maybe_text(value, "state"),
        _maybe_text(value, "failure_reason"),
        tuple(RefundCharge(_text(c, "charge_id"), _maybe_money(c, "amount")) for c in charges),
    )


def _event(order_id: str, _subject: str, payload: Mapping[str, Any]) -> Request:
    fields = payload.get("fields") or {}
    if not isinstance(fields, Mapping) or not all(
        isinstance(v, (str, int, float, bool)) or v is None for v in fields.values()
    ):
        raise _Bad("fields is no object of plain values")
    return EventReceived(
        _text(payload, "event_id"),
        _text(payload, "type"),
        _moment(payload, "created_time"),
        order_id,
        _maybe_text(payload, "object_id"),
        MappingProxyType(dict(fields)),
        _refund(payload.get("refund")),
    )


def _transition(order_id: str, _subject: str, payload: Mapping[str, Any]) -> Request:
    event, source = payload.get("event"), payload.get("source")
    if event is not None and (not isinstance(event, str) or event not in set(OrderEvent)):
        raise _Bad("event is no order event")
    return Transitioned(
        order_id,
        _get(payload, "step", (int,)),
        None if event is None else OrderEvent(event),
        None if source is None else _state(source, "source"),
        _state(payload.get("dest"), "dest"),
        _moment(payload, "at"),
        _get(payload, "implied", (bool,)),
        _maybe_text(payload, "event_id"),
    )


_READERS: Mapping[str, Callable[[str, str, Mapping[str, Any]], Request]] = {
    ActionKind.SHIP: _item(ShipRequest),
    ActionKind.DELIVER_DIGITALLY: _item(DeliverRequest),
    ActionKind.REVIEW_FULFILMENT: _item(ReviewRequest),
    ActionKind.NOTIFY_CUSTOMER: _notify,
    ActionKind.CAPTURE: _capture,
    ActionKind.CONFIRM_REFUND: _confirm,
    ActionKind.RESPOND_TO_DISPUTE: _dispute,
    EVENT_RECEIVED: _event,
    TRANSITIONED: _transition,
}


_TABLE_KINDS = frozenset(ActionKind)


def request_of(kind: str, order_id: str, subject: str, payload: Mapping[str, Any]) -> Request:
    """The typed request an action of ``kind`` on ``subject`` stands for, read from ``payload``.

    A table kind's payload is read as that kind's request; a shop's kind (a subscription's,
    a listener's) by its payload's ``request`` field.

    Raises:
        InvalidInput: a payload that is not the kind's (a field missing or of a wrong type),
            naming the field.

    """
    if not isinstance(payload, Mapping):
        raise InvalidInput(f"the payload of a {kind!r} action is no object.")
    read = _READERS.get(kind) if isinstance(kind, str) and kind in _TABLE_KINDS else None
    if read is None:
        named = payload.get("request")
        read = _READERS.get(named) if isinstance(named, str) else None
    if read is None:
        raise InvalidInput(f"the payload of a {kind!r} action names no request it can be read as.")
    try:
        return read(order_id, subject, payload)
    except _Bad as bad:
        raise InvalidInput(f"the payload of a {kind!r} action cannot be read: {bad}.") from None

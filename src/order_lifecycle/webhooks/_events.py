"""Webhook events: the provider's envelope, and its ``data.object`` read by its shape.

The provider's event types do not say reliably what ``data.object`` holds: most
``order.charge.*`` events carry a charge, but ``order.charge.refund.failed`` and
``order.charge.reauth.failed`` carry the whole order. So :func:`parse_event` reads the
object by its shape (an order, a charge, or something else) and never by the type name;
the type only decides whether the library knows the event (:attr:`Event.known`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from order_lifecycle._json import (
    Problem,
    as_object,
    fail,
    loads,
    optional_id,
    optional_time,
    required_id,
)
from order_lifecycle.exceptions import InvalidEvent
from order_lifecycle.lifecycle import ORDER_SPEC
from order_lifecycle.models import SnapshotMark
from order_lifecycle.provider import (
    ChargeSnapshot,
    Keys,
    OrderSnapshot,
    read_charge_object,
    read_order,
    typed_event,
)

__all__ = ["KNOWN_EVENT_TYPES", "Event", "OtherObject", "checked_event", "parse_event"]

_ORDER_EVENT_TYPES = frozenset(
    {spec.announced_by for spec in ORDER_SPEC.events if spec.announced_by is not None}
    | {
        # Order objects whose type announces no transition of the table.
        "order.pending_payment",
        "order.review_closed",
        "order.refunded",
        "order.chargeback",
        "order.charge.failed",
        "order.charge.reauth.failed",
        "order.charge.refund.failed",
        "order.created",
        "order.submitted",
        "order.updated",
        "checkout_session.order.created",
    }
)
_CHARGE_EVENT_TYPES = frozenset(
    {f"order.charge.{s}" for s in ("pending", "capturable", "processing", "created")}
    | {f"order.charge.{s}" for s in ("complete", "completed", "cancelled")}
    | {f"order.charge.capture.{s}" for s in ("pending", "created", "complete", "completed")}
    | {"order.charge.capture.failed"}
    | {f"order.charge.cancel.{s}" for s in ("pending", "pending_information", "complete")}
    | {"order.charge.cancel.failed"}
    | {f"order.charge.refund.{s}" for s in ("pending", "created", "complete", "completed")}
)

KNOWN_EVENT_TYPES: frozenset[str] = _ORDER_EVENT_TYPES | _CHARGE_EVENT_TYPES
"""The event types the library reconciles: the provider's documented order and charge events.

Each may carry an order object or a charge object; the object's shape decides which.
"""


@attrs.frozen
class OtherObject:
    """A ``data.object`` that is neither an order nor a charge (a file, a refund...).

    ``kind`` is a guess from its keys (``file``, ``refund``, ``fulfillment``,
    ``subscription``, or ``object``); ``order_id`` its ``orderId`` when it has one.
    """

    kind: str
    id: str | None = None
    order_id: str | None = None


@attrs.frozen
class Event:
    """A webhook event: its envelope, and what its ``data.object`` holds.

    ``data`` is an :class:`OrderSnapshot`, a :class:`ChargeSnapshot` or an
    :class:`OtherObject`, by the object's shape. ``previous_attributes`` is the provider's
    ``data.previousAttributes`` (the changed attributes' old values), as sent.
    """

    id: str
    type: str
    created_time: datetime
    data: OrderSnapshot | ChargeSnapshot | OtherObject
    previous_attributes: Mapping[str, Any] = attrs.field(factory=dict, hash=False)

    @property
    def known(self) -> bool:
        """Whether the library reconciles this type of event (:data:`KNOWN_EVENT_TYPES`)."""
        return self.type in KNOWN_EVENT_TYPES

    @property
    def order_id(self) -> str | None:
        """The order the event is about, when its object names one."""
        if isinstance(self.data, OrderSnapshot):
            return self.data.id
        return self.data.order_id

    @property
    def mark(self) -> SnapshotMark:
        """The event as a mark of its snapshot: later events compare greater.

        Built at each read, not cached: a reconciler reads it once a delivery, and a cached
        property of a frozen class is computed through ``__getattr__`` the first time,
        about as dear again as building the mark.
        """
        return SnapshotMark(self.created_time, self.id)


# An event's fields set one by one, by their slots' descriptors, in the order attrs declares them.
_EVENT_SLOTS = tuple(Event.__dict__[field.name].__set__ for field in attrs.fields(Event))


def _event(
    event_id: str,
    event_type: str,
    created_time: datetime,
    data: OrderSnapshot | ChargeSnapshot,
    previous_attributes: Mapping[str, Any],
) -> Event:
    """``Event(...)`` of every field, its slots set directly (it checks nothing)."""
    made = object.__new__(Event)
    set_id, set_type, set_created_time, set_data, set_previous_attributes = _EVENT_SLOTS
    set_id(made, event_id)
    set_type(made, event_type)
    set_created_time(made, created_time)
    set_data(made, data)
    set_previous_attributes(made, previous_attributes)
    return made


def parse_event(raw_body: bytes | bytearray | str) -> Event:
    """The webhook event in ``raw_body``, the bytes the provider posted.

    The envelope needs ``id``, ``type``, ``createdTime`` (ISO 8601 with an offset; Java's
    ``...Z[UTC]`` zoned form too) and ``data.object``; ``data.previousAttributes`` is
    optional. The object is read as an order when it has a ``state`` and ``payment``,
    ``checkoutId``, ``items`` or ``charges``, and neither ``orderId`` (refunds,
    fulfilments) nor ``planId`` (subscriptions): API version 2020-01-07 puts ``charges[]``
    at the top level, with no ``payment`` or ``checkoutId``. It is read as a charge when it
    has an ``orderId`` and ``captured`` or ``sourceId``; otherwise it is an
    :class:`OtherObject`. An event type the library does not know parses all the same, with
    :attr:`Event.known` false.

    Limits, each refused as :class:`InvalidEvent` naming the field, so that the cost of a
    parse stays linear in the size of the body (the inbox caps that size):

    - ids (the event's, its ``type``, and order, checkout, item and charge ids): non-empty,
      at most 255 characters, no NUL, no lone surrogate;
    - at most 1000 items and 100 charges per order, and 1000 captures, cancels or refunds
      per charge;
    - amounts below 10^18 in size; integers of at most 4,300 digits;
    - JSON nested at most 32 deep.

    Raises:
        InvalidEvent: not JSON, or not the provider's shape; names the field.

    """
    return read_event(raw_body)


def read_event(raw_body: bytes | bytearray | str, keys: Keys | None = None) -> Event:
    """:func:`parse_event`; ``keys``, the body's :func:`typed_keys`, spare decoding it again.

    Raises:
        InvalidEvent: as :func:`parse_event`.

    """
    if not isinstance(raw_body, (bytes, bytearray, str)):
        raise InvalidEvent("", f"the body must be bytes or str, not {type(raw_body).__name__}")
    # The common case: read by the typed decoder, in one pass.
    typed = typed_event(raw_body, keys)
    if typed is not None:
        return _event(*typed)
    return checked_event(raw_body)


def checked_event(raw_body: bytes | bytearray | str) -> Event:
    """:func:`parse_event` by the checked reader alone: what a body the typed one did not take gets.

    Raises:
        InvalidEvent: not JSON, or not the provider's shape; names the field.

    """
    event_id: str | None = None
    try:
        envelope = as_object(loads(raw_body), "", "the body")
        event_id = required_id(envelope, "id", "", "the event id")
        event_type = required_id(envelope, "type", "", "the event type")
        created_time = optional_time(envelope, "createdTime", "")
        if created_time is None:
            fail("createdTime", "the time the event was created is missing")
        if envelope.get("data") is None:
            fail("data", "the event has no data")
        data = as_object(envelope["data"], "data")
        if data.get("object") is None:
            fail("data.object", "the event has no object")
        previous = data.get("previousAttributes")
        return Event(
            id=event_id,
            type=event_type,
            created_time=created_time,
            data=_read_object(data["object"]),
            previous_attributes={}
            if previous is None
            else as_object(previous, "data.previousAttributes"),
        )
    except Problem as problem:
        raise InvalidEvent(problem.field, problem.message, event_id) from None


def _read_object(value: object) -> OrderSnapshot | ChargeSnapshot | OtherObject:
    prefix = "data.object"
    body = as_object(value, prefix)
    if _is_order(body):
        return read_order(body, prefix)
    if "orderId" in body and ("captured" in body or "sourceId" in body):
        return read_charge_object(body, prefix)
    return OtherObject(
        kind=_kind_of(body),
        id=optional_id(body, "id", prefix, "the object id"),
        order_id=optional_id(body, "orderId", prefix, "the order id"),
    )


def _is_order(body: Mapping[str, Any]) -> bool:
    """An order object by its shape: a state, and the order's parts; not a refund or a plan.

    Refunds and fulfilments name their ``orderId``; subscriptions (``planId``) have a state
    and items too, and states (``cancelled``) an order may also be in.
    """
    if "orderId" in body or "planId" in body or "state" not in body:
        return False
    return any(key in body for key in ("payment", "checkoutId", "items", "charges"))


def _kind_of(body: Mapping[str, Any]) -> str:
    """A best guess at what a non-order, non-charge object is, for messages."""
    for key, kind in (
        ("fileId", "file"),
        ("refundedAmount", "refund"),
        ("orderDetails", "fulfillment"),
        ("trackingNumber", "fulfillment"),
        ("planId", "subscription"),
    ):
        if key in body:
            return kind
    return "object"

"""The webhook inbox: a batch of raw deliveries in, one outcome per delivery out.

Each delivery is checked (signature, then shape), parsed, and reconciled with the order it
is about (:func:`~order_lifecycle.apply_event`); it comes out ``applied``, ``duplicate``,
``stale``, ``conflict``, ``unknown`` or ``invalid``, with a reason. Nothing is dropped in
silence: conflicting, unknown and invalid deliveries are kept, raw bytes and reason, for an
operator. Where orders, applied event ids and kept deliveries live is a
:class:`WebhookStore`; :class:`MemoryWebhookStore` keeps them in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol, runtime_checkable

import attrs

from ._events import Event, OtherObject, parse_event
from ._machine import Step
from ._models import Order
from ._reconcile import EventOutcome, apply_event
from ._signature import verify_signature
from ._vocabulary import OrderEvent, OrderState
from .exceptions import EventConflict, InvalidEvent, InvalidInput, InvalidSignature, WrongType

__all__ = [
    "Delivery",
    "DeliveryResult",
    "Inbox",
    "Kept",
    "MemoryWebhookStore",
    "WebhookStore",
]

_KEPT = frozenset({EventOutcome.CONFLICT, EventOutcome.UNKNOWN, EventOutcome.INVALID})


def _utc_now() -> datetime:
    return datetime.now(UTC)


@runtime_checkable
class WebhookStore(Protocol):
    """Where the inbox finds orders and records what it did with each delivery.

    The contract:

    - :meth:`save` stores the order (new or changed) **and** records the event id as
      applied to it, in one transaction: both or neither. A redelivery of that event is
      then a duplicate, and an order never holds an event's effect without its id.
    - Reads give copies: changing what :meth:`get_order` returned changes nothing stored.
    - A store shared by several processes must make :meth:`save` conditional: refuse (by
      raising) when the order changed since it was read or the event id was recorded
      meanwhile. The inbox lets that error through; nothing of that delivery was stored,
      and the provider's redelivery (or a second call) reconciles it afresh.
    """

    def get_order(self, order_id: str) -> Order | None:
        """The stored order with this id, as a copy; ``None`` if there is none."""
        ...

    def order_of_event(self, event_id: str) -> str | None:
        """The id of the order the event was recorded for; ``None`` if never recorded."""
        ...

    def save(self, order: Order, event_id: str) -> None:
        """Store ``order`` and record ``event_id`` as applied to it, atomically."""
        ...

    def keep(
        self,
        raw: bytes,
        reason: str,
        *,
        event_id: str | None = None,
        order_id: str | None = None,
    ) -> None:
        """Keep a delivery for an operator: its raw bytes, why, and what could be read."""
        ...


class Kept(NamedTuple):
    """A delivery kept by :class:`MemoryWebhookStore`: raw bytes, reason, ids if read."""

    raw: bytes
    reason: str
    event_id: str | None = None
    order_id: str | None = None


class MemoryWebhookStore:
    """The reference :class:`WebhookStore`, in memory and thread-safe; orders copied in and out.

    ``orders`` seeds it with orders known already (created from ``POST /orders`` 201s).
    """

    def __init__(self, orders: Iterable[Order] = ()) -> None:
        self._lock = threading.Lock()
        self._orders = {order.id: order.copy() for order in orders}
        self._events: dict[str, str] = {}
        self._kept: list[Kept] = []

    def __repr__(self) -> str:
        return (
            f"<MemoryWebhookStore(num_orders={len(self._orders)}, "
            f"num_events={len(self._events)}, num_kept={len(self._kept)})>"
        )

    def get_order(self, order_id: str) -> Order | None:
        """The stored order with this id, as a copy; ``None`` if there is none."""
        with self._lock:
            order = self._orders.get(order_id)
            return None if order is None else order.copy()

    def order_of_event(self, event_id: str) -> str | None:
        """The id of the order the event was recorded for; ``None`` if never recorded."""
        with self._lock:
            return self._events.get(event_id)

    def save(self, order: Order, event_id: str) -> None:
        """Store ``order`` and record ``event_id`` as applied to it, together.

        Raises:
            InvalidInput: ``event_id`` was recorded for another order; nothing stored.
            WrongType: ``order`` is not an Order.

        """
        if not isinstance(order, Order):
            raise WrongType("order", "an Order", order)
        with self._lock:
            recorded = self._events.get(event_id, order.id)
            if recorded != order.id:
                raise InvalidInput(
                    f"event {event_id!r} was recorded for order {recorded!r}, not {order.id!r}."
                )
            self._orders[order.id] = order.copy()
            self._events[event_id] = order.id

    def keep(
        self,
        raw: bytes,
        reason: str,
        *,
        event_id: str | None = None,
        order_id: str | None = None,
    ) -> None:
        """Keep a delivery for an operator."""
        with self._lock:
            self._kept.append(Kept(bytes(raw), reason, event_id, order_id))

    @property
    def orders(self) -> dict[str, Order]:
        """Every stored order by id, as copies."""
        with self._lock:
            return {order_id: order.copy() for order_id, order in self._orders.items()}

    @property
    def event_ids(self) -> dict[str, str]:
        """Every recorded event id, with the order it was recorded for."""
        with self._lock:
            return dict(self._events)

    @property
    def kept(self) -> list[Kept]:
        """Every kept delivery, oldest first."""
        with self._lock:
            return list(self._kept)


def _body(value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise WrongType("Delivery.body", "the delivery's raw bytes", value)
    return bytes(value)


def _optional_aware(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise WrongType(f"Delivery.{attribute.name}", "an aware datetime or None", value)


@attrs.frozen
class Delivery:
    """One webhook delivery as received: the raw body, and the signature header if any.

    ``signature`` is the ``DigitalRiver-Signature`` header's value; ``received_at`` when the
    delivery arrived (the signature's age is judged against it; the inbox's clock when
    ``None``).
    """

    body: bytes = attrs.field(converter=_body)
    signature: str | None = None
    received_at: datetime | None = attrs.field(default=None, validator=_optional_aware)


@attrs.frozen
class DeliveryResult:
    """The outcome of one delivery, with its reason and what could be read of it.

    ``steps`` are the steps the delivery added to its order's history (for a new order,
    its whole history). ``kept`` says whether the delivery was kept for an operator.
    """

    outcome: EventOutcome
    reason: str
    event_id: str | None = None
    event_type: str | None = None
    order_id: str | None = None
    steps: tuple[Step[OrderState, OrderEvent], ...] = ()

    @property
    def kept(self) -> bool:
        """Whether the delivery was kept, raw, for an operator (conflict, unknown, invalid)."""
        return self.outcome in _KEPT


def _secrets(value: Iterable[str | bytes] | None) -> tuple[str | bytes, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        raise WrongType("Inbox.secrets", "a list of secrets (or None)", value)
    secrets = tuple(value)
    if not secrets:
        raise InvalidInput(
            "Inbox.secrets is empty: give the webhook's signing secrets, or None when "
            "signatures are checked before the inbox."
        )
    return secrets


@attrs.define
class Inbox:
    """Reconciles batches of raw webhook deliveries into the orders of ``store``.

    ``secrets`` are the webhook's signing secrets (several while one is rotated); every
    delivery must then carry a valid signature no older than ``max_age``. ``None`` turns
    the check off, for deliveries verified before they reach the inbox.
    """

    store: WebhookStore
    secrets: tuple[str | bytes, ...] | None = attrs.field(converter=_secrets)
    max_age: timedelta = timedelta(minutes=5)
    clock: Callable[[], datetime] = _utc_now

    def receive(self, deliveries: Iterable[Delivery | bytes]) -> list[DeliveryResult]:
        """One result per delivery, in order; each delivery applied or kept, never dropped.

        Deliveries are handled in turn. A conflict is tried again after the rest of the
        batch (a charge event may come before the event that makes its order known), as
        long as a round applies something; only then is it kept.

        Raises:
            WrongType: a delivery that is neither a :class:`Delivery` nor bytes.
            Exception: whatever the store raises; deliveries before it are done.

        """
        batch = [d if isinstance(d, Delivery) else Delivery(d) for d in deliveries]
        results: list[DeliveryResult] = []
        waiting: list[tuple[int, Delivery, Event]] = []
        for index, delivery in enumerate(batch):
            read = self._read(delivery)
            if isinstance(read, DeliveryResult):
                results.append(read)
                continue
            result = self._reconcile(delivery, read)
            if result.outcome is EventOutcome.CONFLICT:
                waiting.append((index, delivery, read))
            results.append(result)
        while waiting:
            retried = [(i, d, e, self._reconcile(d, e)) for i, d, e in waiting]
            for index, _, _, result in retried:
                results[index] = result
            still = [(i, d, e) for i, d, e, r in retried if r.outcome is EventOutcome.CONFLICT]
            if len(still) == len(waiting):
                break
            waiting = still
        for index, delivery, event in waiting:
            self.store.keep(
                delivery.body, results[index].reason, event_id=event.id, order_id=event.order_id
            )
        return results

    def _read(self, delivery: Delivery) -> DeliveryResult | Event:
        """The delivery's event; or its result, when it ends before reconciliation."""
        if self.secrets is not None:
            now = delivery.received_at or self.clock()
            try:
                verify_signature(
                    delivery.signature or "", delivery.body, self.secrets, now, self.max_age
                )
            except InvalidSignature as error:
                return self._keep(delivery, EventOutcome.INVALID, str(error))
        try:
            event = parse_event(delivery.body)
        except InvalidEvent as error:
            return self._keep(delivery, EventOutcome.INVALID, str(error), error.event_id)
        if not event.known or isinstance(event.data, OtherObject):
            reason = apply_event(None, event).reason
            kept = self._keep(delivery, EventOutcome.UNKNOWN, reason, event.id, event.order_id)
            return attrs.evolve(kept, event_type=event.type)
        return event

    def _keep(
        self,
        delivery: Delivery,
        outcome: EventOutcome,
        reason: str,
        event_id: str | None = None,
        order_id: str | None = None,
    ) -> DeliveryResult:
        self.store.keep(delivery.body, reason, event_id=event_id, order_id=order_id)
        return DeliveryResult(outcome, reason, event_id, order_id=order_id)

    def _reconcile(self, delivery: Delivery, event: Event) -> DeliveryResult:
        """Apply one parsed event to its order, recording its id with the result."""
        order_id = event.order_id or ""  # orders and charges always name their order

        def result(
            outcome: EventOutcome, reason: str, steps: tuple[Step[Any, Any], ...] = ()
        ) -> DeliveryResult:
            return DeliveryResult(outcome, reason, event.id, event.type, order_id, steps)

        recorded = self.store.order_of_event(event.id)
        if recorded is not None and recorded != order_id:
            reason = (
                f"event {event.id!r} was recorded for order {recorded!r}, but this delivery "
                f"names order {order_id!r}"
            )
            self.store.keep(delivery.body, reason, event_id=event.id, order_id=order_id)
            return result(EventOutcome.INVALID, reason)
        if recorded is not None:
            reason = f"event {event.id!r} was applied to order {order_id!r} already"
            return result(EventOutcome.DUPLICATE, reason)
        try:
            reconciled = apply_event(self.store.get_order(order_id), event)
        except EventConflict as conflict:
            return result(EventOutcome.CONFLICT, conflict.reason)
        if reconciled.order is not None:
            self.store.save(reconciled.order, event.id)
        return result(reconciled.outcome, reconciled.reason, reconciled.steps)

"""The inbox as it was before batching: one delivery at a time, one store transaction each.

The reference the batched :class:`~order_lifecycle.Inbox` is held to: each delivery is
parsed, checked against the event ids applied so far, reconciled with its order as last
committed, and committed (order and event id) before the next is read; a conflict is tried
again after the rest of the batch while rounds apply something, then kept. Signatures are
not checked (``secrets=None``).
"""

from __future__ import annotations

import attrs

from order_lifecycle import EventConflict, InvalidInput, Order
from order_lifecycle.exceptions import InvalidEvent
from order_lifecycle.store import Store, StoreError, UnknownOrder
from order_lifecycle.webhooks import (
    DeliveryResult,
    EventOutcome,
    OtherObject,
    apply_event,
    parse_event,
)
from order_lifecycle.webhooks._events import Event
from order_lifecycle.webhooks._kept import printable


def _keep(
    store: Store, raw: bytes, reason: str, event_id: str | None, order_id: str | None
) -> None:
    store.keep_delivery(
        raw,
        printable(reason),
        event_id=printable(event_id) if event_id else None,
        order_id=printable(order_id) if order_id else None,
    )


def _adopt(order: Order) -> object:
    def adopt(stored: Order) -> None:
        for field in attrs.fields(Order):
            setattr(stored, field.name, getattr(order, field.name))

    return adopt


def _apply(store: Store, raw: bytes, event: Event) -> DeliveryResult:
    order_id = event.order_id or ""

    def result(outcome: EventOutcome, reason: str, steps: tuple = ()) -> DeliveryResult:  # type: ignore[type-arg]
        return DeliveryResult(outcome, reason, event.id, event.type, order_id, steps)

    recorded = store.order_of_event(event.id)
    if recorded is not None and recorded != order_id:
        reason = (
            f"event {event.id!r} was recorded for order {recorded!r}, but this delivery "
            f"names order {order_id!r}"
        )
        _keep(store, raw, reason, event.id, order_id)
        return result(EventOutcome.INVALID, reason)
    if recorded is not None:
        return result(
            EventOutcome.DUPLICATE, f"event {event.id!r} was applied to order {order_id!r} already"
        )
    try:
        current: Order | None = store.get_order(order_id)
    except UnknownOrder:
        current = None
    try:
        reconciled = apply_event(current, event)
    except EventConflict as conflict:
        return result(EventOutcome.CONFLICT, conflict.reason)
    if reconciled.order is not None:
        if current is None:
            store.create_order(reconciled.order, event_id=event.id)
        else:
            store.update_order(order_id, _adopt(reconciled.order), event_id=event.id)  # type: ignore[arg-type]
    return result(reconciled.outcome, reconciled.reason, reconciled.steps)


def _reconcile(store: Store, raw: bytes, event: Event) -> DeliveryResult:
    try:
        return _apply(store, raw, event)
    except StoreError:
        raise
    except InvalidInput as error:
        reason = f"refused while reconciling: {error}"
        _keep(store, raw, reason, event.id, event.order_id)
        return DeliveryResult(EventOutcome.INVALID, reason, event.id, event.type, event.order_id)


def receive_one_at_a_time(store: Store, bodies: list[bytes]) -> list[DeliveryResult]:
    """The results of ``bodies``, handled one at a time, each committed on its own."""
    results: list[DeliveryResult] = []
    waiting: list[tuple[int, bytes, Event]] = []
    for index, raw in enumerate(bodies):
        try:
            event = parse_event(raw)
        except InvalidEvent as error:
            _keep(store, raw, str(error), error.event_id, None)
            results.append(DeliveryResult(EventOutcome.INVALID, str(error), error.event_id))
            continue
        if not event.known or isinstance(event.data, OtherObject):
            reason = apply_event(None, event).reason
            _keep(store, raw, reason, event.id, event.order_id)
            results.append(
                DeliveryResult(EventOutcome.UNKNOWN, reason, event.id, event.type, event.order_id)
            )
            continue
        result = _reconcile(store, raw, event)
        if result.outcome is EventOutcome.CONFLICT:
            waiting.append((index, raw, event))
        results.append(result)
    while waiting:
        retried = [(i, r, e, _reconcile(store, r, e)) for i, r, e in waiting]
        for index, _, _, result in retried:
            results[index] = result
        still = [(i, r, e) for i, r, e, res in retried if res.outcome is EventOutcome.CONFLICT]
        if len(still) == len(waiting):
            break
        waiting = still
    for index, raw, event in waiting:
        _keep(store, raw, results[index].reason, event.id, event.order_id)
    return results

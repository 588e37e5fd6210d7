"""Reconciling a webhook event's snapshot with the order it is about (DESIGN 1.3).

The provider delivers events at least once, in no documented order, and asks integrations
to re-read each payload's ``state``, ``fraudState`` and ``charges[].state``. So
:func:`apply_event` reconciles *snapshots*:

- an event already applied to the order changes nothing: ``duplicate`` while the order
  holds its step or its snapshot, ``stale`` once a newer snapshot replaced that (the
  inbox, which records every event id, tells every redelivery apart);
- an order snapshot older than the one the order holds (by the event's ``createdTime``,
  then its id) is ``stale`` when its state can lead to the order's or follow it, and a
  conflict otherwise;
- a newer one is applied: its data first (fraud state, items, charges), then its state
  along the shortest legal path, the guards judging the provider's data. Steps no event
  announced are marked implied; the step the event announces carries its id. A dispute
  resolved into another state than the one before it is recorded as the provider says
  ([X]: the payload's state wins);
- a newer snapshot whose state is behind the order's (the table leads from it to the
  order's state, not counting dispute resolutions, which end where the dispute began) is
  ``stale``; anything else raises :class:`EventConflict` and changes nothing;
- an order snapshot for an order not known yet creates it, in an entry state and then along
  implied steps to the payload's state;
- a charge snapshot updates that charge only (when newer than the charge's own mark) and
  never moves the order: sub-resource events do not move their parent.

Everything is tried on a copy first: a conflict leaves the order exactly as it was.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

from ._events import Event, OtherObject
from ._lifecycle import ORDER_MACHINE
from ._machine import Step
from ._models import Charge, Item, Order, SnapshotMark
from ._payload import ChargeSnapshot, ItemSnapshot, OrderSnapshot
from ._spec import TransitionSpec
from ._tables import ORDER_SPEC
from ._vocabulary import ChargeState, OrderEvent, OrderState
from .exceptions import EventConflict, InvalidInput, WrongType

__all__ = ["EventOutcome", "Reconciled", "apply_event"]

_Row = TransitionSpec[OrderState, OrderEvent]
_Step = Step[OrderState, OrderEvent]
_CLOSED = frozenset({OrderState.FULFILLED, OrderState.COMPLETE, OrderState.RETURNED})
_SETTLED = frozenset({ChargeState.COMPLETE, ChargeState.CANCELLED})


class EventOutcome(StrEnum):
    """What became of a webhook event (or a delivery that should have been one)."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    CONFLICT = "conflict"
    UNKNOWN = "unknown"
    INVALID = "invalid"


@attrs.frozen
class Reconciled:
    """What :func:`apply_event` did: ``applied``, ``duplicate``, ``stale`` or ``unknown``.

    ``order`` is the order the event was applied to (changed in place), the order it
    created (``created``), or ``None`` when none was given and none was created. ``steps``
    are the steps appended to its history (for a new order, its whole history).
    """

    outcome: EventOutcome
    order: Order | None
    reason: str
    steps: tuple[_Step, ...] = ()
    created: bool = False


@attrs.frozen
class _Move:
    """One step of a reconciliation path; ``forced`` when the provider's word passes a guard."""

    row: _Row
    forced: bool = False


def apply_event(order: Order | None, event: Event) -> Reconciled:
    """Reconcile ``order`` (``None`` when not known yet) with ``event``'s snapshot.

    Changes ``order`` in place when the event applies; see the module documentation for
    the rules. Events the library does not reconcile (an unknown type, a file or refund
    object) come back ``unknown`` and change nothing.

    Raises:
        EventConflict: the snapshot cannot be reconciled with the order; nothing changed.
        WrongType: ``order`` or ``event`` has the wrong type.

    """
    if order is not None and not isinstance(order, Order):
        raise WrongType("order", "an Order or None", order)
    if not isinstance(event, Event):
        raise WrongType("event", "an Event (see parse_event)", event)
    data = event.data
    if not event.known or isinstance(data, OtherObject):
        return Reconciled(EventOutcome.UNKNOWN, order, _unknown_reason(event))
    order_id = data.id if isinstance(data, OrderSnapshot) else data.order_id
    if order is not None and order_id != order.id:
        raise _conflict(event, order, data, f"it is about order {order_id!r}, not this one")
    if order is not None and _already_applied(order, event.id):
        return Reconciled(
            EventOutcome.DUPLICATE, order, f"event {event.id!r} was applied to the order already"
        )
    if isinstance(data, ChargeSnapshot):
        return _apply_charge(order, event, data)
    if order is None:
        return _create(event, data)
    return _apply_order(order, event, data)


def _unknown_reason(event: Event) -> str:
    if not event.known:
        return f"the library does not know event type {event.type!r}; kept and ignored"
    kind = event.data.kind if isinstance(event.data, OtherObject) else "object"
    return f"{event.type} carries a {kind}, not an order or a charge: nothing to reconcile"


def _conflict(
    event: Event, order: Order | None, data: OrderSnapshot | ChargeSnapshot, reason: str
) -> EventConflict:
    order_id = data.id if isinstance(data, OrderSnapshot) else data.order_id
    payload_state = data.state if isinstance(data, OrderSnapshot) else None
    state = None if order is None else order.state
    return EventConflict(
        event.id, event.type, order_id, state=state, payload_state=payload_state, reason=reason
    )


def _already_applied(order: Order, event_id: str) -> bool:
    marks = [order.as_of, *(c.as_of for c in order.charges)]
    return any(step.event_id == event_id for step in order.history) or any(
        mark is not None and mark.event_id == event_id for mark in marks
    )


# --- charge snapshots -----------------------------------------------------------------------


def _apply_charge(order: Order | None, event: Event, data: ChargeSnapshot) -> Reconciled:
    if order is None:
        raise _conflict(
            event,
            None,
            data,
            "a charge event cannot create its order; it applies once an order event (or the "
            "POST /orders response) made the order known",
        )
    charge_id = data.charge.id
    local = next((c for c in order.charges if c.id == charge_id), None)
    if local is not None and local.as_of is not None and local.as_of > event.mark:
        return Reconciled(
            EventOutcome.STALE,
            order,
            f"charge {charge_id!r} holds a newer snapshot ({local.as_of})",
        )
    charges = _merge_charges(order.charges, (data.charge,), event.mark)
    trial = _evolve(event, order, data, charges=charges)
    _require_consistent(event, order, data, trial)
    order.charges, order.currency = trial.charges, trial.currency
    return Reconciled(
        EventOutcome.APPLIED,
        order,
        f"charge {charge_id!r} is {data.charge.state}; the order "
        f"stays {order.state} (a charge event never moves its order)",
    )


def _merge_charges(
    local: Sequence[Charge], reported: Iterable[Charge] | None, mark: SnapshotMark
) -> tuple[Charge, ...]:
    """Each reported charge replaces the local one unless that holds a newer snapshot."""
    if reported is None:
        return tuple(local)
    fresh = {c.id: attrs.evolve(c, as_of=mark) for c in reported}
    kept = tuple(
        c if c.id not in fresh or (c.as_of is not None and c.as_of > mark) else fresh[c.id]
        for c in local
    )
    known = {c.id for c in local}
    return kept + tuple(c for c in fresh.values() if c.id not in known)


def _merge_items(
    local: Sequence[Item], reported: Sequence[ItemSnapshot] | None
) -> tuple[Item, ...]:
    """Each reported item applied onto the local one (units only close); new ones added."""
    if reported is None:
        return tuple(local)
    by_id = {s.id: s for s in reported}
    known = {i.id for i in local}
    merged = tuple(by_id[i.id].onto(i) if i.id in by_id else i for i in local)
    return merged + tuple(s.onto(None) for s in reported if s.id not in known)


def _evolve(
    event: Event,
    order: Order,
    data: OrderSnapshot | ChargeSnapshot,
    **changes: Any,  # noqa: ANN401 (fields of Order, checked by Order)
) -> Order:
    """A copy of ``order`` with ``changes``, validated as a new order is; else a conflict."""
    try:
        return attrs.evolve(order, history=list(order.history), **changes)
    except InvalidInput as error:
        raise _conflict(event, order, data, str(error).rstrip(".")) from None


def _require_consistent(
    event: Event, order: Order | None, data: OrderSnapshot | ChargeSnapshot, trial: Order
) -> None:
    """Refuse data that contradicts the state: open units when closed, open charges when complete.

    These are invariants ``order_lifecycle.testing`` checks.
    """
    problem = None
    if trial.state in _CLOSED:
        open_items = [i.id for i in trial.items if i.open_quantity]
        if open_items:
            problem = f"the order would be {trial.state} with items {open_items} still open"
    if trial.state is OrderState.COMPLETE:
        open_charges = [f"{c.id} ({c.state})" for c in trial.charges if c.state not in _SETTLED]
        if open_charges:
            problem = f"the order would be complete with charges {open_charges} not settled"
    if problem is not None:
        raise _conflict(event, order, data, problem)


# --- order snapshots ------------------------------------------------------------------------


def _apply_order(order: Order, event: Event, data: OrderSnapshot) -> Reconciled:
    if order.as_of is not None and event.mark < order.as_of:
        if _related(data.state, order.state):
            return Reconciled(
                EventOutcome.STALE,
                order,
                f"older than the snapshot the order holds ({order.as_of})",
            )
        raise _conflict(
            event,
            order,
            data,
            f"an older snapshot in {data.state}, which can neither lead to nor follow "
            f"{order.state}",
        )
    try:
        trial = _merged(order, event, data)
        moves = _moves(trial, data.state)
    except EventConflict as error:
        moves, refusal = None, error
    else:
        refusal = _conflict(
            event,
            order,
            data,
            f"no legal path leads from {order.state} to {data.state} with the snapshot's data",
        )
    if moves is None:
        if data.state is not order.state and _leads(data.state, order.state):
            return Reconciled(
                EventOutcome.STALE,
                order,
                f"its state {data.state} is behind the order's {order.state}",
            )
        raise refusal
    _walk(trial, moves, event, data)
    _require_consistent(event, order, data, trial)
    # The commit point: the data every guard passed on, then the same steps.
    before = order.state
    order.fraud_state, order.items, order.charges = trial.fraud_state, trial.items, trial.charges
    order.checkout_id, order.currency, order.as_of = trial.checkout_id, trial.currency, trial.as_of
    steps = _walk(order, moves, event, data)
    if not steps:
        reason = f"snapshot applied; the order stays {order.state}"
    else:
        reason = f"{before} -> {order.state}{_by_way_of(steps)}"
    return Reconciled(EventOutcome.APPLIED, order, reason, tuple(steps))


def _merged(order: Order, event: Event, data: OrderSnapshot) -> Order:
    """A copy of ``order`` holding the snapshot's data (its state is still the order's)."""
    if data.checkout_id is not None and order.checkout_id not in {None, data.checkout_id}:
        raise _conflict(
            event,
            order,
            data,
            f"it names checkout {data.checkout_id!r}, the order checkout {order.checkout_id!r}",
        )
    if data.currency is not None and order.currency not in {None, data.currency}:
        raise _conflict(
            event, order, data, f"it is in {data.currency}, the order in {order.currency}"
        )
    try:
        items = _merge_items(order.items, data.items)
    except InvalidInput as error:
        raise _conflict(event, order, data, str(error).rstrip(".")) from None
    return _evolve(
        event,
        order,
        data,
        fraud_state=data.reported_fraud_state,
        items=items,
        charges=_merge_charges(order.charges, data.charges, event.mark),
        checkout_id=order.checkout_id or data.checkout_id,
        currency=order.currency or data.currency,
        as_of=event.mark,
    )


def _leads(a: OrderState, b: OrderState, *, through_resolutions: bool = False) -> bool:
    """Whether the table leads from ``a`` to ``b`` (guards aside).

    Without ``through_resolutions``, no dispute resolution is taken: one resolved as the
    table means ends where the dispute began, so it takes an order neither forward nor back,
    and counting the [X] resolutions into other states would make every state after
    acceptance lead to every other. Where the state before a dispute is not known (a
    snapshot in dispute), ``through_resolutions`` lets the dispute end anywhere it may.
    """
    avoid = () if through_resolutions else (OrderEvent.RESOLVE_DISPUTE,)
    return ORDER_SPEC.shortest_path(a, lambda s: s is b, avoid=avoid) is not None


def _related(a: OrderState, b: OrderState) -> bool:
    """Whether one state may come before the other in some life of an order."""
    return _leads(a, b, through_resolutions=True) or _leads(b, a, through_resolutions=True)


def _by_way_of(steps: Sequence[_Step]) -> str:
    implied = [str(s.dest) for s in steps if s.implied]
    return f" (implied: {', '.join(implied)})" if implied else ""


def _moves(order: Order, target: OrderState) -> list[_Move] | None:
    """The shortest path the guards allow to ``target`` on the order's data, or ``None``.

    Only when none exists and the order is in dispute, a resolution into another state
    than the one before the dispute is allowed: the payload's state wins ([X]).
    """
    if order.state is target:
        return []
    path = _search(order, target, waive_resolution=False)
    if path is None and order.state is OrderState.DISPUTE:
        path = _search(order, target, waive_resolution=True)
    return path


def _search(start: Order, target: OrderState, *, waive_resolution: bool) -> list[_Move] | None:
    """Breadth first over copies of ``start``, firing each event the machine accepts."""
    at = start.history[-1].at
    queue: deque[tuple[Order, list[_Move]]] = deque([(start, [])])
    seen = {(start.state, start.state_before_dispute)}
    while queue:
        node, moves = queue.popleft()
        for row in ORDER_SPEC.transitions_from(node.state):
            child = _copy(node)
            if (
                ORDER_MACHINE.can_fire(node, row.event)
                and ORDER_MACHINE.fire(child, row.event, at=at).dest is row.dest
            ):
                move = _Move(row)
            elif waive_resolution and row.event is OrderEvent.RESOLVE_DISPUTE:
                child = _copy(node)
                ORDER_MACHINE.record(child, row, at=at)
                move = _Move(row, forced=True)
            else:
                continue  # refused, or the event takes another of its rows
            key = (child.state, child.state_before_dispute)
            if key in seen:
                continue
            seen.add(key)
            if child.state is target:
                return [*moves, move]
            queue.append((child, [*moves, move]))
    return None


def _copy(order: Order) -> Order:
    return attrs.evolve(order, history=list(order.history))


def _walk(order: Order, moves: Sequence[_Move], event: Event, data: OrderSnapshot) -> list[_Step]:
    """Take ``moves`` on ``order``; the step the event's type announces carries its id.

    A step's time is the snapshot's ``stateTransitions`` entry for a first entry into a
    state, else the event's ``createdTime``; never before the step before it.
    """
    announced = [
        i for i, m in enumerate(moves) if ORDER_SPEC.event(m.row.event).announced_by == event.type
    ]
    announcing = announced[-1] if announced else None
    entered = set(order.state_transitions)
    previous = order.history[-1].at
    steps = []
    for index, move in enumerate(moves):
        at = _step_time(move.row.dest, entered, data, event, previous)
        event_id = event.id if index == announcing else None
        implied = index != announcing
        if move.forced:
            step = ORDER_MACHINE.record(order, move.row, at=at, event_id=event_id, implied=implied)
        else:
            step = ORDER_MACHINE.fire(
                order, move.row.event, at=at, event_id=event_id, implied=implied
            )
        entered.add(step.dest)
        previous = step.at
        steps.append(step)
    return steps


def _step_time(
    dest: OrderState,
    entered: set[OrderState],
    data: OrderSnapshot,
    event: Event,
    previous: datetime,
) -> datetime:
    first_entry = data.state_transitions.get(dest) if dest not in entered else None
    return max(first_entry or event.created_time, previous)


# --- orders not known yet -------------------------------------------------------------------


def _create(event: Event, data: OrderSnapshot) -> Reconciled:
    """The order the snapshot describes, created in an entry state and led to its state.

    The entry state is the earliest one the snapshot's ``stateTransitions`` lists from
    which the guards allow a path; else the one with the shortest path (table order).
    """
    listed = sorted(
        (s for s in ORDER_SPEC.entry_states if s in data.state_transitions),
        key=lambda s: data.state_transitions[s],
    )
    others = [s for s in ORDER_SPEC.entry_states if s not in listed]
    chosen: tuple[Order, list[_Move]] | None = None
    for entry in listed:
        candidate = _new_order(event, data, entry)
        moves = _moves(candidate, data.state)
        if moves is not None:
            chosen = (candidate, moves)
            break
    for entry in others if chosen is None else ():
        candidate = _new_order(event, data, entry)
        moves = _moves(candidate, data.state)
        if moves is not None and (chosen is None or len(moves) < len(chosen[1])):
            chosen = (candidate, moves)
    if chosen is None:
        raise _conflict(
            event, None, data, f"no order can be created in {data.state} with the snapshot's data"
        )
    order, moves = chosen
    _walk(order, moves, event, data)
    _require_consistent(event, None, data, order)
    reason = f"order created in {order.state}{_by_way_of(order.history)}"
    return Reconciled(EventOutcome.APPLIED, order, reason, tuple(order.history), created=True)


def _new_order(event: Event, data: OrderSnapshot, entry: OrderState) -> Order:
    at = data.state_transitions.get(entry) or data.created_time or event.created_time
    direct = entry is data.state
    creation: _Step = Step(None, None, entry, at, event.id if direct else None, not direct)
    try:
        return Order(
            id=data.id,
            state=entry,
            checkout_id=data.checkout_id,
            fraud_state=data.reported_fraud_state,
            items=_merge_items((), data.items),
            charges=_merge_charges((), data.charges, event.mark),
            history=[creation],
            currency=data.currency,
            as_of=event.mark,
        )
    except InvalidInput as error:
        raise _conflict(event, None, data, str(error).rstrip(".")) from None

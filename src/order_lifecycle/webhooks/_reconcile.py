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
  through the states its ``stateTransitions`` lists after the order's last step (in time
  order, so a listed ``fulfilled`` is kept) when they form a legal path, else along the
  shortest legal path, the guards judging the provider's data. Steps no event
  announced are marked implied; the step the event announces carries its id. A dispute
  resolved into another state than the one before it is recorded as the provider says
  ([X]: the payload's state wins);
- the listed states are the provider's own record of what happened (DESIGN 1.3, turn 3):
  the data guards do not block the implied steps into them, so an item still marked
  ``created`` in a snapshot that lists ``fulfilled`` does not drop that step, and the
  state before a dispute is the one the record names. Still checked: the listed states,
  in time order, must form a path of the table (a dispute resolution the record does not
  show is never assumed on the way); the last leg, into the snapshot's own state, passes
  the guards on the snapshot's data; and the order's data must fit the state it ends in
  (no open unit in a closed state, no open charge when complete);
- a newer snapshot whose state is behind the order's (the table leads from it to the
  order's state, not counting dispute resolutions, which end where the dispute began) is
  ``stale``, unless it lists a dispute and the order's state among its first entries (it
  has been there, so it came back by that dispute's resolution); anything else raises
  :class:`EventConflict` and changes nothing;
- an order snapshot for an order not known yet creates it, in an entry state and then along
  implied steps to the payload's state: through the states its ``stateTransitions`` lists,
  in time order, when they form a legal path (so the history keeps ``fulfilled``, and a
  dispute the state it began in); else the shortest path;
- a charge snapshot updates that charge only (when newer than the charge's own mark) and
  never moves the order: sub-resource events do not move their parent.

The snapshot is applied to a copy, built once, which also takes the steps; the order takes
its data and those steps only when every check passed: a conflict leaves the order exactly
as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum

import attrs

from order_lifecycle.exceptions import EventConflict, InvalidInput, WrongType
from order_lifecycle.lifecycle import (
    ORDER_SPEC,
    SETTLED_CHARGE_STATES,
    OrderEvent,
    OrderGuard,
    OrderState,
    Step,
    TransitionSpec,
    announced,
    entries,
)
from order_lifecycle.models import ORDER_MACHINE, Charge, Item, Order, SnapshotMark, marked_charge
from order_lifecycle.provider import ChargeSnapshot, ItemSnapshot, OrderSnapshot

from ._events import Event, OtherObject
from ._paths import Move, announce, follow, leads, path_to, reach, related, walk

__all__ = [
    "POLL_EVENT_TYPE",
    "EventOutcome",
    "Reconciled",
    "already_applied",
    "applied_to_copy",
    "apply_event",
    "reconcile",
]

_Row = TransitionSpec[OrderState, OrderEvent]
_Step = Step[OrderState, OrderEvent]
# What a snapshot sets of an order, besides its state and history.
_SNAPSHOT_FIELDS = ("fraud_state", "items", "charges", "checkout_id", "currency", "as_of")
_ENTRY_STATES = ORDER_SPEC.entry_states
_RESOLUTION_ANNOUNCED_BY = ORDER_SPEC.event(OrderEvent.RESOLVE_DISPUTE).announced_by
# The table's order of states: it breaks ties between first entries listed at one time.
_RANK = {spec.value: index for index, spec in enumerate(ORDER_SPEC.states)}


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


def apply_event(order: Order | None, event: Event) -> Reconciled:
    """Reconcile ``order`` (``None`` when not known yet) with ``event``'s snapshot.

    Changes ``order`` in place when the event applies; see the module documentation for
    the rules. Events the library does not reconcile (an unknown type, a file or refund
    object) come back ``unknown`` and change nothing.

    Raises:
        EventConflict: the snapshot cannot be reconciled with the order; nothing changed.
        WrongType: ``order`` or ``event`` has the wrong type.

    """
    return _apply_event(order, event, in_place=True)


def applied_to_copy(order: Order | None, event: Event, *, unseen: bool = False) -> Reconciled:
    """:func:`apply_event`, the changes made on a new order: ``order`` itself never changes.

    What a reconciler chains (each change's order the next one's base): the trial order a
    snapshot is checked on becomes the result, so no copy is made before, nor the trial
    copied back after. ``Reconciled.order`` is ``order`` itself when nothing applied.
    ``unseen``: the caller found :func:`already_applied` false for this order and the
    event's id, the order unchanged since; it is not asked again.

    Raises:
        EventConflict: as :func:`apply_event`.
        WrongType: as :func:`apply_event`.

    """
    return _apply_event(order, event, in_place=False, unseen=unseen)


def _apply_event(
    order: Order | None, event: Event, *, in_place: bool, unseen: bool = False
) -> Reconciled:
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
    if order is not None and not unseen and already_applied(order, event.id):
        return Reconciled(
            EventOutcome.DUPLICATE, order, f"event {event.id!r} was applied to the order already"
        )
    if isinstance(data, ChargeSnapshot):
        return _apply_charge(order, event, data, event.mark, in_place=in_place)
    if order is None:
        return _create(event, data)
    return _apply_order(order, event, data, event.mark, in_place=in_place)


def _unknown_reason(event: Event) -> str:
    if not event.known:
        return f"the library does not know event type {event.type!r}; kept and ignored"
    kind = event.data.kind if isinstance(event.data, OtherObject) else "object"
    return f"{event.type} carries a {kind}, not an order or a charge: nothing to reconcile"


def _conflict(
    event: Event, order: Order | None, data: OrderSnapshot | ChargeSnapshot, reason: str
) -> EventConflict:
    if order is not None:
        order_id, state = order.id, order.state
    else:
        order_id = data.id if isinstance(data, OrderSnapshot) else data.order_id
        state = None
    payload_state = data.state if isinstance(data, OrderSnapshot) else None
    return EventConflict(
        event.id, event.type, order_id, state=state, payload_state=payload_state, reason=reason
    )


def already_applied(order: Order, event_id: str) -> bool:
    """Whether the order holds ``event_id``: a step it announced, or a snapshot's mark."""
    # No list built: every delivery asks this, and the answer is mostly no.
    if order.as_of is not None and order.as_of.event_id == event_id:
        return True
    if announced(order.history, event_id):
        return True
    for charge in order.charges:
        if charge.as_of is not None and charge.as_of.event_id == event_id:
            return True
    return False


# --- charge snapshots -----------------------------------------------------------------------


def _apply_charge(
    order: Order | None, event: Event, data: ChargeSnapshot, mark: SnapshotMark, *, in_place: bool
) -> Reconciled:
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
    if local is not None and local.as_of is not None and local.as_of > mark:
        return Reconciled(
            EventOutcome.STALE,
            order,
            f"charge {charge_id!r} holds a newer snapshot ({local.as_of})",
        )
    charges = _merge_charges(order.charges, (data.charge,), mark)
    trial = _with_charges(event, order, data, charges)
    _require_consistent(event, order, data, trial)
    if in_place:
        _commit(order, trial, ())  # its charges and currency: nothing else differs
        trial = order
    return Reconciled(
        EventOutcome.APPLIED,
        trial,
        f"charge {charge_id!r} is {data.charge.state}; the order "
        f"stays {order.state} (a charge event never moves its order)",
    )


def _merge_charges(
    local: Sequence[Charge], reported: Sequence[Charge] | None, mark: SnapshotMark
) -> tuple[Charge, ...]:
    """Each reported charge replaces the local one unless that holds a newer snapshot."""
    if reported is None:
        return tuple(local)
    if len(reported) == 1:  # the common case, told without a dict
        (charge,) = reported
        if not local:  # a new order's charge
            return (marked_charge(charge, mark),)
        if len(local) == 1 and local[0].id == charge.id:
            held = local[0]
            newer = held.as_of is not None and held.as_of > mark
            return (held,) if newer else (marked_charge(charge, mark),)
    fresh = {c.id: marked_charge(c, mark) for c in reported}
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
    if not local:  # a new order's: each reported item as it is (ids checked by the order)
        return tuple([s.onto(None) for s in reported])
    if len(reported) == len(local):  # the common case: the same items, in the same order
        pairwise: list[Item] = []
        changed = False
        for snapshot, item in zip(reported, local, strict=True):
            if snapshot.item.id != item.id:
                break
            applied = snapshot.onto(item)
            changed = changed or applied is not item
            pairwise.append(applied)
        else:
            return tuple(pairwise) if changed else tuple(local)
    by_id = {s.id: s for s in reported}
    known = {i.id for i in local}
    merged = tuple(by_id[i.id].onto(i) if i.id in by_id else i for i in local)
    added = tuple(s.onto(None) for s in reported if s.id not in known)
    if not added and all(m is i for m, i in zip(merged, local, strict=True)):
        return tuple(local)  # nothing changed: the same tuple, so nothing to assign again
    return merged + added


def _with_charges(
    event: Event, order: Order, data: ChargeSnapshot, charges: tuple[Charge, ...]
) -> Order:
    """A copy of ``order`` with ``charges`` (checked values of the snapshot); else a conflict.

    ``Order.evolved``: the order's own rules on its parts are checked (ids unique, one
    currency), not every converter again. An order naming no currency takes its charges'.
    """
    currency = order.currency
    if currency is None:
        currency = next((c.currency for c in order.charges if c.currency), None)
    try:
        return order.evolved(
            fraud_state=order.fraud_state,
            items=order.items,
            charges=charges,
            checkout_id=order.checkout_id,
            currency=currency,
            as_of=order.as_of,
        )
    except InvalidInput as error:
        raise _conflict(event, order, data, str(error).rstrip(".")) from None


def _require_consistent(
    event: Event, order: Order | None, data: OrderSnapshot | ChargeSnapshot, trial: Order
) -> None:
    """Refuse data that breaks what its state requires: open units when closed, open charges.

    What each state requires is the table's (``StateSpec.requires``), the same the
    invariants of ``order_lifecycle.testing`` check; the message shows the evidence.
    """
    unmet = ORDER_MACHINE.unmet_requirements(trial)
    if unmet:
        problems = (
            f"the order would be {trial.state} with {_EVIDENCE[g.name](trial)}"
            if g.name in _EVIDENCE
            else f"the order would be {trial.state}, which requires that {g.description}"
            for g in unmet
        )
        raise _conflict(event, order, data, "; ".join(problems))


def _settled(charge: Charge) -> bool:
    return charge.state in SETTLED_CHARGE_STATES


# What breaks a requirement, in an operator's words.
_EVIDENCE: dict[str, Callable[[Order], str]] = {
    OrderGuard.NOTHING_OPEN: lambda o: (
        f"items {[i.id for i in o.items if i.open_quantity]} still open"
    ),
    OrderGuard.EVERY_CHARGE_SETTLED: lambda o: (
        f"charges {[f'{c.id} ({c.state})' for c in o.charges if not _settled(c)]} not settled"
    ),
}


# --- order snapshots ------------------------------------------------------------------------


def _apply_order(
    order: Order, event: Event, data: OrderSnapshot, mark: SnapshotMark, *, in_place: bool
) -> Reconciled:
    if order.as_of is not None and mark < order.as_of:
        if related(data.state, order.state):
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
    resolving = _tells_of_a_missed_dispute(order, event, data)
    refusal: EventConflict | None = None
    try:
        trial = _merged(order, event, data, mark)
    except EventConflict as error:
        steps, refusal = None, error
    else:
        # The one walk: the trial (the order's own history list copied) takes the steps,
        # through the states the snapshot lists when they form a legal path.
        moves = _listed_path(trial, event, data, resolving=resolving)
        if moves is None:
            moves = reach(trial, data.state, event, data, resolving=resolving)
        steps = None if moves is None else trial.history[len(order.history) :]
    if steps is None:
        if data.state is not order.state and leads(data.state, order.state):
            return Reconciled(
                EventOutcome.STALE,
                order,
                f"its state {data.state} is behind the order's {order.state}",
            )
        raise refusal or _conflict(
            event,
            order,
            data,
            f"no legal path leads from {order.state} to {data.state} with the snapshot's data",
        )
    _require_consistent(event, order, data, trial)
    # The commit point: the data every guard passed on, then the steps the trial took
    # (checked values and steps: assigning them cannot fail).
    before = order.state
    if in_place:
        _commit(order, trial, steps)
        trial = order
    if not steps:
        reason = f"snapshot applied; the order stays {trial.state}"
    else:
        reason = f"{before} -> {trial.state}{_by_way_of(steps)}"
    return Reconciled(EventOutcome.APPLIED, trial, reason, tuple(steps))


def _listed_path(
    trial: Order, event: Event, data: OrderSnapshot, *, resolving: bool
) -> list[Move] | None:
    """The moves through the states the snapshot lists after the order's last step; walked.

    ``None`` when it lists none the order has not entered, or they form no legal path in
    time order (the trial is then as it was, for the shortest path). A resolution may end
    elsewhere than where its dispute began on the last leg only, as on the shortest path.
    """
    last = trial.history[-1].at
    later = [
        s
        for s, at in data.state_transitions.items()
        if at > last and s is not data.state and s is not trial.state
    ]
    if not later:  # the common case: the snapshot lists no state the order has not seen
        return None
    stops = sorted(
        (s for s in later if not entries(trial.history, s)),  # not entered yet
        key=lambda s: (data.state_transitions[s], _RANK[s]),
    )
    if not stops:
        return None
    length, state = len(trial.history), trial.state
    moves = _through(trial, stops, event, data, resolving=resolving)
    if moves is None:
        del trial.history[length:]
        trial.state = state
        return None
    # Walked leg by leg: only the step the whole path announces keeps the event's id.
    announce(trial, len(moves), event)
    return moves


def _commit(order: Order, trial: Order, steps: Sequence[_Step]) -> None:
    """Give ``order`` the trial's snapshot data, then the steps the trial took.

    The trial's values went through the fields' converters and the order's checks when it
    was built: they are set as they are (running a converter again returns an equal value).
    """
    for name in _SNAPSHOT_FIELDS:
        value = getattr(trial, name)
        if value is not getattr(order, name):
            object.__setattr__(order, name, value)
    if steps:
        order.history.extend(steps)
        order.state = trial.state


def _tells_of_a_missed_dispute(order: Order, event: Event, data: OrderSnapshot) -> bool:
    """Whether the snapshot says a dispute was resolved that the order has not been in.

    A dispute's resolution announced, or a dispute the snapshot's ``stateTransitions``
    lists and the order never entered, or (the map keeping first entries only, so a
    second dispute shows no new one) a dispute listed with the order's own state while
    the snapshot is in an earlier state: the provider's order has been where this one is
    and left it, and the only way back is a dispute resolved there. A newer snapshot in
    an earlier state then comes after a resolution into that state ([X]), not behind.
    """
    if order.state is OrderState.DISPUTE:
        return False
    if event.type == _RESOLUTION_ANNOUNCED_BY:
        return True
    listed = data.state_transitions
    if OrderState.DISPUTE not in listed:
        return False
    left = order.state in listed and data.state is not order.state
    if left and leads(data.state, order.state):
        return True
    return not entries(order.history, OrderState.DISPUTE)  # a long history's index answers


def _merged(order: Order, event: Event, data: OrderSnapshot, mark: SnapshotMark) -> Order:
    """A copy of ``order`` holding the snapshot's data (its state is still the order's)."""
    held = order.checkout_id
    if data.checkout_id is not None and held is not None and held != data.checkout_id:
        raise _conflict(
            event,
            order,
            data,
            f"it names checkout {data.checkout_id!r}, the order checkout {order.checkout_id!r}",
        )
    if data.currency is not None and order.currency is not None and order.currency != data.currency:
        raise _conflict(
            event, order, data, f"it is in {data.currency}, the order in {order.currency}"
        )
    try:
        items = _merge_items(order.items, data.items)
    except InvalidInput as error:
        raise _conflict(event, order, data, str(error).rstrip(".")) from None
    charges = _merge_charges(order.charges, data.charges, mark)
    fraud_state = data.reported_fraud_state
    try:  # Order.evolved: the order's own rules on its parts (not every converter again)
        return order.evolved(
            fraud_state=fraud_state,
            items=items,
            charges=charges,
            checkout_id=order.checkout_id or data.checkout_id,
            currency=order.currency or data.currency,
            as_of=mark,
        )
    except InvalidInput as error:
        raise _conflict(event, order, data, str(error).rstrip(".")) from None


def _by_way_of(steps: Sequence[_Step]) -> str:
    implied = [str(s.dest) for s in steps if s.implied]
    return f" (implied: {', '.join(implied)})" if implied else ""


# --- orders not known yet -------------------------------------------------------------------


def _create(event: Event, data: OrderSnapshot) -> Reconciled:
    """The order the snapshot describes, created in an entry state and led to its state.

    With ``stateTransitions``, the order lives the states it lists, in time order (each
    leg the shortest path to the next listed state, the guards waived where the
    snapshot's data lags behind the record), then reaches the snapshot's state: a
    ``fulfilled`` it lists is kept, and so is the state a dispute began in. Only
    when the map is absent, or its states in that order form no path of the table (a
    first entry listed after a later one), or the snapshot's state cannot follow them on
    its data, the order is created in the
    entry state with the shortest path (table order among equals).
    """
    listed = _listed_life(event, data)
    if listed is not None:
        # Walked leg by leg already: only the step the whole path announces keeps the id.
        order, moves = listed
        announce(order, len(moves), event)
    else:
        chosen = _shortest_life(event, data)
        if chosen is None:
            raise _conflict(
                event,
                None,
                data,
                f"no order can be created in {data.state} with the snapshot's data",
            )
        order, moves = chosen
        walk(order, moves, event, data)
    _require_consistent(event, None, data, order)
    reason = f"order created in {order.state}{_by_way_of(order.history)}"
    return Reconciled(EventOutcome.APPLIED, order, reason, tuple(order.history), created=True)


def _listed_life(event: Event, data: OrderSnapshot) -> tuple[Order, list[Move]] | None:
    """The order led through the states ``stateTransitions`` lists, in time order; walked.

    The first listed state is the entry state when it is one; else the entry state is the
    one that reaches the listed states in the fewest steps.
    """
    listed = sorted(data.state_transitions, key=lambda s: (data.state_transitions[s], _RANK[s]))
    if not listed:
        return None
    if listed[0] in _ENTRY_STATES:
        entries, stops = [listed[0]], listed[1:]
    else:
        entries, stops = list(_ENTRY_STATES), listed
    if stops and stops[-1] is data.state:
        stops = stops[:-1]  # the last leg, to the snapshot's own state, is guarded
    chosen: tuple[Order, list[Move]] | None = None
    for entry in entries:
        candidate = _new_order(event, data, entry)
        moves = _through(candidate, stops, event, data)
        if moves is not None and (chosen is None or len(moves) < len(chosen[1])):
            chosen = (candidate, moves)
    return chosen


def _through(
    order: Order,
    stops: Sequence[OrderState],
    event: Event,
    data: OrderSnapshot,
    *,
    resolving: bool = False,
) -> list[Move] | None:
    """The moves through each of ``stops`` in turn, then to the snapshot's state; walked.

    The stops are states the provider recorded entering (DESIGN 1.3): each leg to one is
    :func:`follow`'s, so item or charge data lagging behind that record blocks no step of
    it; the table must still lead there (no dispute resolution forced on the way). The
    last leg, to the snapshot's own state, is :func:`reach`'s: the guards judge it on the
    snapshot's data. ``None`` when a leg finds no path; the order is then part way, and
    not used.
    """
    moves: list[Move] = []
    for stop in stops:
        leg = follow(order, stop, event, data)
        if leg is None:
            return None
        moves += leg
    leg = reach(order, data.state, event, data, resolving=resolving)
    return None if leg is None else moves + leg


def _shortest_life(event: Event, data: OrderSnapshot) -> tuple[Order, list[Move]] | None:
    """The order created in an entry state and led to the snapshot's by the shortest path.

    The entry state is the earliest one the snapshot's ``stateTransitions`` lists from
    which the guards allow a path; else the one with the shortest path (table order).
    """
    listed = sorted(
        (s for s in _ENTRY_STATES if s in data.state_transitions),
        key=lambda s: data.state_transitions[s],
    )
    others = [s for s in _ENTRY_STATES if s not in listed]
    chosen: tuple[Order, list[Move]] | None = None
    for entry in listed:
        candidate = _new_order(event, data, entry)
        moves = path_to(candidate, data.state)
        if moves is not None:
            return candidate, moves
    for entry in others:
        candidate = _new_order(event, data, entry)
        moves = path_to(candidate, data.state)
        if moves is not None and (chosen is None or len(moves) < len(chosen[1])):
            chosen = (candidate, moves)
    return chosen


def _new_order(event: Event, data: OrderSnapshot, entry: OrderState) -> Order:
    at = data.state_transitions.get(entry) or data.created_time or event.created_time
    direct = entry is data.state
    creation: _Step = Step(None, None, entry, at, event.id if direct else None, not direct)
    mark = event.mark
    try:
        return Order(
            id=data.id,
            state=entry,
            checkout_id=data.checkout_id,
            fraud_state=data.reported_fraud_state,
            items=_merge_items((), data.items),
            charges=_merge_charges((), data.charges, mark),
            history=[creation],
            currency=data.currency,
            as_of=mark,
        )
    except InvalidInput as error:
        raise _conflict(event, None, data, str(error).rstrip(".")) from None


# --- snapshots the shop fetched ---------------------------------------------------------------

POLL_EVENT_TYPE = "order.updated"
"""The event type a fetched snapshot is reconciled as: an order event announcing no step."""


def reconcile(
    order: Order | None, snapshot: OrderSnapshot, *, at: datetime | None = None
) -> Reconciled:
    """Reconcile ``order`` (``None`` when not known yet) with a snapshot the shop fetched.

    ``snapshot`` is what ``GET /orders/{id}`` (or a lookup by checkout id) answered at
    ``at`` (now by default), read by :func:`~order_lifecycle.provider.parse_order`. It is
    reconciled exactly as a webhook's order snapshot (:func:`apply_event`), as an
    ``order.updated`` event created at ``at``: the steps it implies are marked implied
    and carry no event id, and a webhook event created before ``at`` is older than it
    (``stale`` when it comes later). So a checkout in doubt is settled, and an order
    polled, by the path webhooks take. Changes ``order`` in place when it applies.

    Raises:
        EventConflict: the snapshot cannot be reconciled with the order; nothing changed.
        WrongType: an argument of the wrong type.

    """
    if not isinstance(snapshot, OrderSnapshot):
        raise WrongType("snapshot", "an OrderSnapshot (see parse_order)", snapshot)
    when = datetime.now(UTC) if at is None else at
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise WrongType("at", "an aware datetime", at)
    poll = Event(f"poll:{snapshot.id}@{when.isoformat()}", POLL_EVENT_TYPE, when, snapshot)
    done = apply_event(order, poll)
    if done.order is None or not done.steps or done.steps[0].event_id != poll.id:
        return done
    # Only the step creating the order in the snapshot's own state names the event (walks
    # name none: the type announces no step); a fetch is no event, so none names it.
    history = done.order.history
    index = len(history) - len(done.steps)
    first = history[index]
    history[index] = Step(first.event, first.source, first.dest, first.at, None, first.implied)
    return attrs.evolve(done, steps=tuple(history[index:]))

"""The legal path from an order's state to a snapshot's, and walking it (DESIGN 1.3).

The path is the shortest the guards allow on the snapshot's data (table order among
equals); only where none exists from a dispute may a resolution end elsewhere than where
the dispute began (the provider's word wins, [X]). Walking it records each step, implied
unless the event announces it.

Where the provider's ``stateTransitions`` records a state, :func:`follow` takes the table's
path to it even when the snapshot's data would have a guard refuse a row (DESIGN 1.3, turn
3): the provider's record of what happened wins over item or charge data that lags behind.

Finding it is cheap in the common case: the shortest path of the table itself (guards
aside, found once per pair of states) is the one the guards allow whenever they pass along
it, since a breadth-first search that skips refused rows finds the same first path then.
Only when a guard refuses a row of it does the search fire the machine on copies. Both are
the library's one breadth-first search (``lifecycle.breadth_first``): over the table's
states, and over copies of the order the guards judge.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import cache
from typing import Literal, overload

import attrs

from order_lifecycle.lifecycle import (
    ORDER_SPEC,
    OrderEvent,
    OrderState,
    Step,
    TransitionSpec,
    breadth_first,
    entries,
)
from order_lifecycle.models import ORDER_MACHINE, Order
from order_lifecycle.provider import OrderSnapshot

from ._events import Event

__all__ = ["Move", "announce", "follow", "leads", "path_to", "reach", "related", "walk"]

_Row = TransitionSpec[OrderState, OrderEvent]
_Step = Step[OrderState, OrderEvent]
_Node = tuple[OrderState, OrderState | None]  # a state, and the state before its dispute
_ANNOUNCED_BY = {spec.value: spec.announced_by for spec in ORDER_SPEC.events}
_NO_RESOLUTIONS = (OrderEvent.RESOLVE_DISPUTE,)


@attrs.frozen
class Move:
    """One step of a path; ``forced`` when the provider's word passes a guard."""

    row: _Row
    forced: bool = False


def leads(a: OrderState, b: OrderState, *, through_resolutions: bool = False) -> bool:
    """Whether the table leads from ``a`` to ``b`` (guards aside).

    Without ``through_resolutions``, no dispute resolution is taken: one resolved as the
    table means ends where the dispute began, so it takes an order neither forward nor back,
    and counting the [X] resolutions into other states would make every state after
    acceptance lead to every other. Where the state before a dispute is not known (a
    snapshot in dispute), ``through_resolutions`` lets the dispute end anywhere it may.
    """
    return ORDER_MACHINE.leads(a, b, avoid=() if through_resolutions else _NO_RESOLUTIONS)


def related(a: OrderState, b: OrderState) -> bool:
    """Whether one state may come before the other in some life of an order."""
    return leads(a, b, through_resolutions=True) or leads(b, a, through_resolutions=True)


def path_to(order: Order, target: OrderState, *, resolving: bool = False) -> list[Move] | None:
    """The shortest path the guards allow to ``target`` on the order's data, or ``None``.

    Only when none exists, a resolution into another state than the one before the dispute
    is allowed: the payload's state wins ([X]). That is when the order is in dispute, or
    when the snapshot is ``resolving`` one (a newer ``order.dispute.resolved``, delivered
    before the dispute it resolves: the path then goes through that dispute).
    """
    if order.state is target:
        return []
    trial = order.copy()
    path = _table_path(trial, target)
    if path is None:
        return None  # the search (waiving or not) takes rows of the table only
    if _allowed(trial, path):
        return path
    path = _search(order, target, waive_resolution=False)
    if path is None and (resolving or order.state is OrderState.DISPUTE):
        path = _search(order, target, waive_resolution=True)
    return path


def reach(
    order: Order,
    target: OrderState,
    event: Event,
    data: OrderSnapshot,
    *,
    resolving: bool = False,
) -> list[Move] | None:
    """Walk ``order`` along :func:`path_to`'s path to ``target``; the path, or ``None``.

    The steps taken are the last ones of the order's history; ``None`` leaves the order
    unchanged. The table's own shortest path is walked straight away, each row checked as
    it is taken; a refused row undoes the walk and the search decides.
    """
    if order.state is target:
        return []
    path = _table_path(order, target)
    if path is None:
        return None  # the search (waiving or not) takes rows of the table only
    if walk(order, path, event, data, checked=True) is not None:
        return path
    moves = path_to(order, target, resolving=resolving)
    if moves is not None:
        walk(order, moves, event, data)
    return moves


def follow(
    order: Order, target: OrderState, event: Event, data: OrderSnapshot
) -> list[Move] | None:
    """Walk ``order`` to a state the provider recorded: :func:`reach`, else the table's path.

    The path the guards allow on the snapshot's data when there is one; else the table's
    shortest path, each row the guards refuse taken as the provider's word (``forced``):
    the provider recorded ``target``, so data that lags behind (an item still marked
    ``created`` in a snapshot listing ``fulfilled``) does not block it. ``None`` (the order
    unchanged) only when the table itself leads nowhere near ``target``.
    """
    moves = reach(order, target, event, data)
    if moves is not None:
        return moves
    # No dispute resolution is forced on the way: through one, every state after
    # acceptance leads to every other, and a dispute the provider did not record is no
    # part of its record (reach already takes a resolution where the order is in dispute).
    path = _shortest_moves((order.state, order.state_before_dispute), target, _NO_RESOLUTIONS)
    if path is None:
        return None
    trial, at, moves = order.copy(), order.history[-1].at, []
    for move in path:
        chosen = ORDER_MACHINE.row_for(trial, move.row.event)
        if chosen is not None and chosen.dest is move.row.dest:
            ORDER_MACHINE.fire(trial, move.row.event, at=at)
            moves.append(move)
        else:
            ORDER_MACHINE.record(trial, move.row, at=at)
            moves.append(Move(move.row, forced=True))
    walk(order, moves, event, data)
    return moves


def _table_path(order: Order, target: OrderState) -> list[Move] | None:
    """The first shortest path of the table from the order's state to ``target``, guards aside."""
    moves = _shortest_moves((order.state, order.state_before_dispute), target)
    return None if moves is None else list(moves)


@cache
def _shortest_moves(
    start: _Node, target: OrderState, avoid: tuple[OrderEvent, ...] = ()
) -> tuple[Move, ...] | None:
    """The table's first shortest path from ``start``'s state to ``target``, guards aside.

    It is what :func:`_search` finds when the guards allow every row of it: the search
    tries the same rows in the same table order, and its nodes (a state, and the state
    before its dispute) only tell apart what the guards would, so where every row is
    allowed, the first shortest path among all is the first among the allowed ones.
    """
    rows = ORDER_SPEC.shortest_path(start[0], lambda state: state is target, avoid=avoid)
    return None if rows is None else tuple(Move(row) for row in rows)


def _allowed(trial: Order, moves: Sequence[Move]) -> bool:
    """Whether the machine takes each of ``moves`` in turn; fires them on ``trial``."""
    at = trial.history[-1].at
    for move in moves:
        chosen = ORDER_MACHINE.row_for(trial, move.row.event)
        if chosen is None or chosen.dest is not move.row.dest:
            return False
        ORDER_MACHINE.fire(trial, move.row.event, at=at)
    return True


def _search(start: Order, target: OrderState, *, waive_resolution: bool) -> list[Move] | None:
    """Breadth first over copies of ``start``, firing each event the machine accepts."""
    at = start.history[-1].at

    def ways(node: Order) -> Iterator[tuple[Move, Order]]:
        for row in ORDER_SPEC.transitions_from(node.state):
            child = node.copy()
            if (
                ORDER_MACHINE.can_fire(node, row.event)
                and ORDER_MACHINE.fire(child, row.event, at=at).dest is row.dest
            ):
                yield Move(row), child
            elif waive_resolution and row.event is OrderEvent.RESOLVE_DISPUTE:
                child = node.copy()
                ORDER_MACHINE.record(child, row, at=at)
                yield Move(row, forced=True), child
            # else: refused, or the event takes another of its rows

    found = breadth_first(start, ways, key=lambda o: (o.state, o.state_before_dispute))
    return next((list(moves) for node, moves in found if node.state is target and moves), None)


@overload
def walk(
    order: Order,
    moves: Sequence[Move],
    event: Event,
    data: OrderSnapshot,
    *,
    checked: Literal[False] = False,
) -> list[_Step]: ...


@overload
def walk(
    order: Order, moves: Sequence[Move], event: Event, data: OrderSnapshot, *, checked: bool
) -> list[_Step] | None: ...


def walk(
    order: Order, moves: Sequence[Move], event: Event, data: OrderSnapshot, *, checked: bool = False
) -> list[_Step] | None:
    """Take ``moves`` on ``order``; the step the event's type announces carries its id.

    A step's time is the snapshot's ``stateTransitions`` entry for a first entry into a
    state, else the event's ``createdTime``; never before the step before it. When
    ``checked``, a move the machine would take along another row (or refuse) undoes the
    walk and gives ``None``: the order is as it was.
    """
    announcing = _announcing([m.row.event for m in moves], event)
    previous = order.history[-1].at
    state, length = order.state, len(order.history)
    steps = []
    for index, move in enumerate(moves):
        row = move.row
        if checked and not move.forced:
            # The row the machine takes (the first whose guard passes), recorded below as
            # fire would record it: its guards are not asked twice.
            chosen = ORDER_MACHINE.row_for(order, row.event)
            if chosen is None or chosen.dest is not row.dest:
                del order.history[length:]
                order.state = state
                return None
            row = chosen
        # Entered before (its history's entries, the steps just taken included; a long
        # history answers from its index): then not a first entry.
        entered = entries(order.history, row.dest) > 0
        at = _step_time(row.dest, entered, data, event, previous)
        event_id = event.id if index == announcing else None
        implied = index != announcing
        if checked or move.forced:
            step = ORDER_MACHINE.record(order, row, at=at, event_id=event_id, implied=implied)
        else:
            step = ORDER_MACHINE.fire(order, row.event, at=at, event_id=event_id, implied=implied)
        previous = at  # the step's own time (``step.at`` gives back an equal datetime)
        steps.append(step)
    return steps


def _announcing(events: Sequence[OrderEvent | None], event: Event) -> int | None:
    """The index of the step ``event`` announces: the last whose event its type announces."""
    announced = [i for i, e in enumerate(events) if e and _ANNOUNCED_BY[e] == event.type]
    return announced[-1] if announced else None


def announce(order: Order, count: int, event: Event) -> None:
    """Mark the last ``count`` steps as one :func:`walk` of them marks them.

    For a path walked in legs (each leg marked alone): the step the whole path announces
    carries the event's id; every other step is implied.
    """
    start = len(order.history) - count
    steps = order.history[start:]
    announcing = _announcing([s.event for s in steps], event)
    for index, step in enumerate(steps):
        event_id, implied = (event.id, False) if index == announcing else (None, True)
        if (step.event_id, step.implied) != (event_id, implied):
            order.history[start + index] = Step(
                step.event, step.source, step.dest, step.at, event_id, implied
            )


def _step_time(
    dest: OrderState,
    entered: bool,  # noqa: FBT001 (whether the order entered ``dest`` before)
    data: OrderSnapshot,
    event: Event,
    previous: datetime,
) -> datetime:
    first_entry = None if entered else data.state_transitions.get(dest)
    return max(first_entry or event.created_time, previous)

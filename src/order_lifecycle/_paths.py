"""The legal path from an order's state to a snapshot's, and walking it (DESIGN 1.3).

The path is the shortest the guards allow on the snapshot's data, found by trying the
machine on copies; only where none exists from a dispute may a resolution end elsewhere
than where the dispute began (the provider's word wins, [X]). Walking it records each step,
implied unless the event announces it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime

import attrs

from ._events import Event
from ._lifecycle import ORDER_MACHINE
from ._machine import Step
from ._models import Order
from ._payload import OrderSnapshot
from ._spec import TransitionSpec
from ._tables import ORDER_SPEC
from ._vocabulary import OrderEvent, OrderState

__all__ = ["Move", "leads", "path_to", "related", "walk"]

_Row = TransitionSpec[OrderState, OrderEvent]
_Step = Step[OrderState, OrderEvent]


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
    avoid = () if through_resolutions else (OrderEvent.RESOLVE_DISPUTE,)
    return ORDER_SPEC.shortest_path(a, lambda s: s is b, avoid=avoid) is not None


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
    path = _search(order, target, waive_resolution=False)
    if path is None and (resolving or order.state is OrderState.DISPUTE):
        path = _search(order, target, waive_resolution=True)
    return path


def _search(start: Order, target: OrderState, *, waive_resolution: bool) -> list[Move] | None:
    """Breadth first over copies of ``start``, firing each event the machine accepts."""
    at = start.history[-1].at
    queue: deque[tuple[Order, list[Move]]] = deque([(start, [])])
    seen = {(start.state, start.state_before_dispute)}
    while queue:
        node, moves = queue.popleft()
        for row in ORDER_SPEC.transitions_from(node.state):
            child = node.copy()
            if (
                ORDER_MACHINE.can_fire(node, row.event)
                and ORDER_MACHINE.fire(child, row.event, at=at).dest is row.dest
            ):
                move = Move(row)
            elif waive_resolution and row.event is OrderEvent.RESOLVE_DISPUTE:
                child = node.copy()
                ORDER_MACHINE.record(child, row, at=at)
                move = Move(row, forced=True)
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


def walk(order: Order, moves: Sequence[Move], event: Event, data: OrderSnapshot) -> list[_Step]:
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

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from order_lifecycle import ChargeState, Item, Order, OrderEvent, OrderState
from order_lifecycle.lifecycle import ORDER_SPEC, replay
from order_lifecycle.models import ORDER_MACHINE
from order_lifecycle.provider._payload import OrderSnapshot
from order_lifecycle.testing import charges, items, new_orders
from order_lifecycle.webhooks import Event, apply_event, parse_event
from order_lifecycle.webhooks._paths import (
    Move,
    _search,
    _shortest_moves,
    announce,
    follow,
    leads,
    path_to,
    reach,
    walk,
)

from . import webhook_events as ev


def _reference(order: Order, target: OrderState, *, resolving: bool) -> list[Move] | None:
    """path_to as it was: the breadth-first search on copies, then the waiving one."""
    if order.state is target:
        return []
    path = _search(order, target, waive_resolution=False)
    if path is None and (resolving or order.state is OrderState.DISPUTE):
        path = _search(order, target, waive_resolution=True)
    return path


@st.composite
def _orders_anywhere(draw: st.DrawFn) -> Order:
    """A new order moved along random rows of the table (guards aside), with random data."""
    order = draw(new_orders())
    for _ in range(draw(st.integers(0, 6))):
        rows = ORDER_SPEC.transitions_from(order.state)
        if not rows:
            break
        ORDER_MACHINE.record(order, draw(st.sampled_from(rows)), at=order.history[-1].at)
    order.items = tuple(draw(st.lists(_items(), max_size=3, unique_by=lambda i: i.id)))
    states = st.sampled_from(list(ChargeState))
    order.charges = tuple(draw(st.lists(charges(states), max_size=2, unique_by=lambda c: c.id)))
    return order


@st.composite
def _items(draw: st.DrawFn) -> Item:
    """An item with some of its units fulfilled, cancelled, returned (or none)."""
    item = draw(items())
    fulfilled = draw(st.integers(0, item.quantity))
    cancelled = draw(st.integers(0, item.quantity - fulfilled))
    returned = draw(st.integers(0, fulfilled))
    return attrs.evolve(item, fulfilled=fulfilled, cancelled=cancelled, returned=returned)


def _event(order: Order, target: OrderState) -> tuple[Event, OrderSnapshot]:
    obj = ev.order(order.id, target, transitions={target: ev.at(1)})
    event = parse_event(ev.raw(ev.event("evt-1", "order.updated", obj, ev.at(2))))
    assert isinstance(event.data, OrderSnapshot)
    return event, event.data


@given(_orders_anywhere(), st.sampled_from(list(OrderState)), st.booleans())
def test_the_table_path_is_the_one_the_search_finds(
    order: Order,
    target: OrderState,
    resolving: bool,
) -> None:
    """path_to and reach find the path the search finds; reach walks it, or not at all."""
    expected = _reference(order, target, resolving=resolving)
    assert path_to(order, target, resolving=resolving) == expected
    event, data = _event(order, target)
    walked, before = order.copy(), order.copy()
    assert reach(walked, target, event, data, resolving=resolving) == expected
    if expected is not None:
        walk(before, expected, event, data)
    assert (walked.state, walked.history) == (before.state, before.history)


@given(_orders_anywhere(), st.sampled_from(list(OrderState)))
def test_follow_takes_the_table_path_where_the_guards_refuse(
    order: Order, target: OrderState
) -> None:
    """The path follow takes is reach's, else the table's (refused rows forced, no resolution)."""
    event, data = _event(order, target)
    expected = reach(order.copy(), target, event, data)
    followed = order.copy()
    moves = follow(followed, target, event, data)
    if expected is not None:
        assert moves == expected
    elif moves is None:
        assert not leads(order.state, target)
        assert followed == order
    else:
        assert followed.state is target
        assert [m.row.source for m in moves] == [s.source for s in followed.history[-len(moves) :]]
        assert any(m.forced for m in moves)
        assert all(m.row.event is not OrderEvent.RESOLVE_DISPUTE for m in moves)
        assert replay(ORDER_SPEC, followed.history) is target


def _counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[None]:
    calls: list[None] = []
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(None)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_a_snapshot_is_walked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A newer snapshot moves the machine once per step and copies the order never."""
    life = ev.accepted_fulfilled_complete()
    order = apply_event(None, parse_event(ev.raw(life[0]))).order
    assert order is not None
    complete = parse_event(ev.raw(life[-1]))
    fired = _counting(monkeypatch, ORDER_MACHINE, "fire")
    recorded = _counting(monkeypatch, ORDER_MACHINE, "record")  # a checked walk's row
    copied = _counting(monkeypatch, Order, "copy")
    result = apply_event(order, complete)
    # Through the fulfilled its stateTransitions list, one move of the machine per step.
    assert [s.dest for s in result.steps] == [OrderState.FULFILLED, OrderState.COMPLETE]
    assert (len(fired) + len(recorded), len(copied)) == (2, 0)


_ANNOUNCING_TYPES = sorted({e.announced_by for e in ORDER_SPEC.events if e.announced_by})


@given(_orders_anywhere(), st.data())
def test_a_path_walked_in_legs_is_marked_as_one_walk(order: Order, data: st.DataObject) -> None:
    """Legs walked one by one, then announce: the same steps as one walk of the whole path."""
    probe, moves = order.copy(), []
    for _ in range(data.draw(st.integers(0, 5))):
        rows = ORDER_SPEC.transitions_from(probe.state)
        if not rows:
            break
        move = Move(data.draw(st.sampled_from(rows)), forced=True)
        ORDER_MACHINE.record(probe, move.row, at=probe.history[-1].at)
        moves.append(move)
    cut = data.draw(st.integers(0, len(moves)))
    event_type = data.draw(st.sampled_from(_ANNOUNCING_TYPES))
    obj = ev.order(order.id, probe.state, transitions={probe.state: ev.at(1)})
    event = parse_event(ev.raw(ev.event("evt-1", event_type, obj, ev.at(2))))
    assert isinstance(event.data, OrderSnapshot)
    whole, legs = order.copy(), order.copy()
    walk(whole, moves, event, event.data)
    walk(legs, moves[:cut], event, event.data)
    walk(legs, moves[cut:], event, event.data)
    announce(legs, len(moves), event)
    assert legs.history == whole.history


# --- the searches the one breadth-first search replaced, as they were --------------------------


def _old_shortest_rows(
    start: tuple[OrderState, OrderState | None], target: OrderState, avoid: Collection[OrderEvent]
) -> tuple[Any, ...] | None:
    previous: dict[Any, Any] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for row in ORDER_SPEC.transitions_from(node[0]):
            if row.event in avoid:
                continue
            child = (row.dest, row.source if row.dest is OrderState.DISPUTE else None)
            if child in previous:
                continue
            previous[child] = (node, row)
            if row.dest is target:
                path = []
                back = previous[child]
                while back is not None:
                    path.append(back[1])
                    back = previous[back[0]]
                return tuple(reversed(path))
            queue.append(child)
    return None


def _old_search(start: Order, target: OrderState, *, waive_resolution: bool) -> list[Move] | None:
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
                continue
            key = (child.state, child.state_before_dispute)
            if key in seen:
                continue
            seen.add(key)
            if child.state is target:
                return [*moves, move]
            queue.append((child, [*moves, move]))
    return None


STATES = st.sampled_from(list(OrderState))


@given(STATES, st.none() | STATES, STATES, st.sets(st.sampled_from(list(OrderEvent))))
def test_the_one_search_gives_reconciliations_table_paths(
    state: OrderState, before: OrderState | None, target: OrderState, avoid: set[OrderEvent]
) -> None:
    """The table's shortest path is the one reconciliation's own search over nodes found."""
    assume(state is not target)  # never asked: the order is there already
    moves = _shortest_moves((state, before), target, tuple(sorted(avoid)))
    rows = None if moves is None else tuple(move.row for move in moves)
    assert rows == _old_shortest_rows((state, before), target, avoid)


@given(_orders_anywhere(), STATES, st.booleans())
def test_the_one_search_gives_reconciliations_guarded_paths(
    order: Order, target: OrderState, waive: bool
) -> None:
    """Over copies of the order, the guards judging, it finds what the search on copies found."""
    assume(order.state is not target)  # never asked: the order is there already
    assert _search(order, target, waive_resolution=waive) == _old_search(
        order, target, waive_resolution=waive
    )

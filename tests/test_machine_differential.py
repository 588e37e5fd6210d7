"""The machine against two references: the ``transitions`` engine, and the checked commit.

Its compiled table decides as the engine it is compiled from. Its fast commit (a step built
past the constructor, the state written to its slot) leaves the model the validated commit
(``Step(...)`` and the model's own checked assignment) leaves.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st
from transitions import MachineError

from order_lifecycle import ChargeState, Checkout, Order, TransitionNotAllowed
from order_lifecycle.lifecycle import (
    CHECKOUT_SPEC,
    ORDER_SPEC,
    EventSpec,
    GuardSpec,
    Machine,
    MachineSpec,
    StateSpec,
    Step,
    TransitionSpec,
    slot_setter,
)
from order_lifecycle.lifecycle._machine import _Carrier
from order_lifecycle.models import CHECKOUT_MACHINE, ORDER_MACHINE
from order_lifecycle.models._guards import ORDER_GUARDS
from order_lifecycle.testing import IDS, checkout_events, checkouts, new_orders, order_events
from tests.test_step import ANY_TIMES

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Node(StrEnum):
    """The states of a random lifecycle: ``n0`` initial, ``n5`` final."""

    N0 = "n0"
    N1 = "n1"
    N2 = "n2"
    N3 = "n3"
    N4 = "n4"
    N5 = "n5"


class Move(StrEnum):
    """The events of a random lifecycle."""

    A = "a"
    B = "b"
    C = "c"
    D = "d"
    E = "e"


_NODES, _MOVES = list(Node), list(Move)
_GUARDS = ("g0", "g1", "g2")


@attrs.define
class Thing:
    """The least a machine needs of a model: a state and a history."""

    state: Any
    history: list[Step[Any, Any]]


@st.composite
def random_specs(draw: st.DrawFn) -> MachineSpec[Node, Move]:
    """A valid random lifecycle: a chain through every state, more rows, guards on some."""
    chain = [(_MOVES[i], _NODES[i], _NODES[i + 1]) for i in range(5)]
    extra = draw(
        st.lists(
            st.tuples(
                st.sampled_from(_MOVES), st.sampled_from(_NODES[:5]), st.sampled_from(_NODES)
            ),
            max_size=12,
        )
    )
    rows = chain + extra
    guards = draw(st.lists(st.sampled_from((None, *_GUARDS)), min_size=len(rows)))
    counts: dict[tuple[Move, Node], int] = {}
    for event, source, _ in rows:
        counts[event, source] = counts.get((event, source), 0) + 1
    transitions = tuple(
        TransitionSpec(
            event,
            source,
            dest,
            # Several rows for one event and source must all be guarded (else ambiguous).
            guard if guard is not None or counts[event, source] == 1 else "g0",
        )
        for (event, source, dest), guard in zip(rows, guards, strict=False)
    )
    entries = draw(st.sets(st.sampled_from(_NODES[1:5])))
    return MachineSpec(
        name="random",
        states=tuple(
            StateSpec(
                n,
                f"state {n}",
                f"{n} refuses it",
                initial=n is Node.N0,
                entry=n in entries,
                final=n is Node.N5,
            )
            for n in _NODES
        ),
        events=tuple(EventSpec(m, f"event {m}") for m in _MOVES),
        guards=tuple(
            GuardSpec(g, f"{g} holds") for g in _GUARDS if any(t.guard == g for t in transitions)
        ),
        transitions=transitions,
    )


class Oracle:
    """Random guard outcomes, fixed per step and row: both sides hear the same answer."""

    def __init__(self, seed: random.Random) -> None:
        self.random = seed
        self.step = 0
        self.answers: dict[tuple[int, TransitionSpec[Any, Any] | None], bool] = {}

    def guard(self, _model: object, row: TransitionSpec[Any, Any] | None) -> bool:
        """This step's outcome for ``row``: drawn the first time asked, then remembered."""
        key = (self.step, row)
        if key not in self.answers:
            self.answers[key] = self.random.random() < 0.5
        return self.answers[key]


def engine_decision(
    machine: Machine[Any, Any, Any], model: Thing, event: StrEnum
) -> TransitionSpec[Any, Any] | None:
    """The row the ``transitions`` engine takes for ``event``, on a carrier; ``None`` if refused."""
    carrier: _Carrier[Thing] = _Carrier(model, str(model.state))
    try:
        moved = machine.engine.events[str(event)].trigger(carrier)
    except MachineError:
        return None
    if not moved:
        return None
    row = carrier.row
    assert isinstance(row, TransitionSpec)
    assert carrier.state == str(row.dest)
    return row


def drive(spec: MachineSpec[Any, Any], data: st.DataObject) -> None:
    """Fire random events through the table and the engine; every decision must agree.

    The machine writes the state through the model's assignment, or straight to its slot.
    """
    oracle = Oracle(data.draw(st.randoms(use_true_random=False)))
    set_state = slot_setter(Thing) if data.draw(st.booleans(), label="fast") else None
    guards = {g.name: oracle.guard for g in spec.guards}
    machine: Machine[Any, Any, Any] = Machine(spec, guards, set_state=set_state)
    start = data.draw(st.sampled_from(spec.entry_states))
    thing = Thing(start, [Step(None, None, start, T0)])
    events = [e.value for e in spec.events]
    for step in range(data.draw(st.integers(1, 25))):
        oracle.step = step
        event = data.draw(st.sampled_from(events))
        expected = engine_decision(machine, thing, event)
        allowed = tuple(e for e in events if engine_decision(machine, thing, e) is not None)
        assert machine.allowed_events(thing) == allowed
        assert machine.can_fire(thing, event) is (expected is not None)
        assert machine.row_for(thing, event) == expected
        before = thing.state
        try:
            fired = machine.fire(thing, event, at=T0)
        except TransitionNotAllowed as refusal:
            refused = (refusal.event, refusal.state)
            assert expected is None
            assert refused == (event, before)
            assert thing.state == before
        else:
            assert expected is not None
            assert (fired.event, fired.source, fired.dest) == (event, before, expected.dest)
            assert thing.state == expected.dest


@given(st.data())
def test_order_table_decides_like_the_engine(data: st.DataObject) -> None:
    """The order table, random guard outcomes: same refusals, destinations and rows."""
    drive(ORDER_SPEC, data)


@given(st.data())
def test_checkout_table_decides_like_the_engine(data: st.DataObject) -> None:
    """The checkout table: same refusals and destinations as its engine."""
    drive(CHECKOUT_SPEC, data)


@given(random_specs(), st.data())
def test_random_tables_decide_like_the_engine(
    spec: MachineSpec[Node, Move], data: st.DataObject
) -> None:
    """Random valid specs, random guard outcomes: the table and the engine agree throughout."""
    drive(spec, data)


# --- the fast commit against the validated one ---------------------------------------------

# The order machine, committing as a shop's own code would: through the model's checked
# assignment (its converter) and the Step constructor's checks.
VALIDATED = Machine(ORDER_SPEC, ORDER_GUARDS)
CHECKOUT_PLAIN: Machine[Any, Any, Any] = Machine(CHECKOUT_SPEC, {})


def validated_fire(
    model: Order | Checkout, event: StrEnum, at: datetime, event_id: str | None, *, implied: bool
) -> Step[Any, Any] | None:
    """What ``fire`` commits, through the public, checked paths; ``None`` when refused."""
    machine: Machine[Any, Any, Any] = VALIDATED if isinstance(model, Order) else CHECKOUT_PLAIN
    row = machine.row_for(model, event)
    if row is None:
        return None
    step: Step[Any, Any] = Step(row.event, model.state, row.dest, at, event_id, implied)
    model.state = row.dest  # the model's converter runs
    model.history.append(step)
    return step


def settle(order: Order, data: st.DataObject) -> None:
    """Maybe fulfil every item and capture or cancel every charge, so that guards pass."""
    if data.draw(st.booleans(), label="fulfil all"):
        order.items = tuple(attrs.evolve(i, fulfilled=i.quantity) for i in order.items)
    if data.draw(st.booleans(), label="settle charges"):
        captured = data.draw(st.booleans(), label="captured")
        order.charges = tuple(
            attrs.evolve(
                c,
                state=ChargeState.COMPLETE if captured else ChargeState.CANCELLED,
                captured=c.amount if captured else Decimal(0),
                cancelled=Decimal(0) if captured else c.amount,
            )
            for c in order.charges
        )


def assert_same_steps(fast: Step[Any, Any] | None, checked: Step[Any, Any] | None) -> None:
    """The same step, part for part: the same members, times in the same zone."""
    assert (fast is None) is (checked is None)
    if fast is None or checked is None:
        return
    assert fast == checked
    for name in Step.__match_args__:
        mine, theirs = getattr(fast, name), getattr(checked, name)
        assert mine == theirs
        assert type(mine) is type(theirs)
    assert fast.at.tzinfo is checked.at.tzinfo
    assert fast.at.isoformat() == checked.at.isoformat()


def commit_both(
    fast: Order | Checkout, checked: Order | Checkout, event: StrEnum, data: st.DataObject
) -> None:
    """Fire ``event`` on ``fast`` and commit it the validated way on ``checked``; compare."""
    at = data.draw(ANY_TIMES, label="at")
    event_id = data.draw(st.none() | IDS, label="event_id")
    implied = data.draw(st.booleans(), label="implied")
    machine: Machine[Any, Any, Any] = ORDER_MACHINE if isinstance(fast, Order) else CHECKOUT_MACHINE
    try:
        step = machine.fire(fast, event, at=at, event_id=event_id, implied=implied)
    except TransitionNotAllowed:
        step = None
    assert_same_steps(step, validated_fire(checked, event, at, event_id, implied=implied))
    assert fast.state is checked.state
    assert fast.history == checked.history
    assert [s.at.tzinfo for s in fast.history] == [s.at.tzinfo for s in checked.history]


@given(new_orders(), st.data())
def test_fast_commits_make_the_orders_validated_commits_make(
    order: Order, data: st.DataObject
) -> None:
    """Random events, times in any zone, ids and marks: fire's order equals the checked one."""
    checked = order.copy()
    for _ in range(data.draw(st.integers(1, 12), label="events")):
        settle(order, data)
        checked.items, checked.charges = order.items, order.charges
        commit_both(order, checked, data.draw(order_events(), label="event"), data)


@given(checkouts(), st.data())
def test_fast_commits_make_the_checkouts_validated_commits_make(
    checkout: Checkout, data: st.DataObject
) -> None:
    """The checkout machine's fast commit: the same checkout as the checked path's."""
    checked = checkout.copy()
    for _ in range(data.draw(st.integers(1, 8), label="events")):
        commit_both(checkout, checked, data.draw(checkout_events(), label="event"), data)

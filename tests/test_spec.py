from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection
from enum import StrEnum
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import (
    CheckoutEvent,
    CheckoutState,
    Operation,
    OperationNotAllowed,
    OrderEvent,
    OrderState,
)
from order_lifecycle.exceptions import FulfillmentNotAllowed, InvalidDefinition, SubmissionRefused
from order_lifecycle.lifecycle import (
    CHECKOUT_SPEC,
    ORDER_SPEC,
    EventSpec,
    GuardSpec,
    ImpliedSpec,
    Machine,
    MachineSpec,
    OperationSpec,
    StateSpec,
    TransitionSpec,
    breadth_first,
)
from order_lifecycle.models import CHECKOUT_MACHINE, ORDER_MACHINE


class Light(StrEnum):
    """A tiny lifecycle's states, for building broken specs."""

    OFF = "off"
    ON = "on"
    BROKEN = "broken"


class Flip(StrEnum):
    """Its events."""

    FLIP = "flip"
    SMASH = "smash"


def states(*, finals: tuple[Light, ...] = (Light.BROKEN,)) -> tuple[StateSpec[Light], ...]:
    return tuple(
        StateSpec(s, f"{s} state", f"it is {s}", initial=s is Light.OFF, final=s in finals)
        for s in Light
    )


EVENTS = (EventSpec(Flip.FLIP, "flip it"), EventSpec(Flip.SMASH, "smash it"))
ROWS = (
    TransitionSpec(Flip.FLIP, Light.OFF, Light.ON),
    TransitionSpec(Flip.FLIP, Light.ON, Light.OFF),
    TransitionSpec(Flip.SMASH, Light.ON, Light.BROKEN),
)


def build(**overrides: object) -> MachineSpec[Light, Flip]:
    fields: dict[str, object] = {
        "name": "light",
        "states": states(),
        "events": EVENTS,
        "guards": (),
        "transitions": ROWS,
    }
    fields.update(overrides)
    return MachineSpec(**fields)  # type: ignore[arg-type]


def problems_of(**overrides: object) -> str:
    with pytest.raises(InvalidDefinition) as raised:
        build(**overrides)
    return str(raised.value)


def test_valid_spec_builds() -> None:
    """A consistent spec builds, and answers questions about itself."""
    spec = build()
    assert spec.initial is Light.OFF
    assert spec.entry_states == (Light.OFF,)
    assert spec.final_states == {Light.BROKEN}
    assert spec.transitions_from(Light.ON, Flip.SMASH) == (ROWS[2],)
    assert repr(spec) == (
        "<MachineSpec('light', num_states=3, num_events=2, num_transitions=3, num_operations=0)>"
    )


def test_order_spec_matches_design() -> None:
    """The order table has DESIGN 1.2's states, entry states and final states."""
    assert {s.value for s in ORDER_SPEC.states} == set(OrderState)
    assert ORDER_SPEC.initial is OrderState.PENDING_PAYMENT
    assert set(ORDER_SPEC.entry_states) == {
        OrderState.PENDING_PAYMENT,
        OrderState.IN_REVIEW,
        OrderState.ACCEPTED,
    }
    assert ORDER_SPEC.final_states == {OrderState.BLOCKED, OrderState.CANCELLED}
    fulfil_sources = {t.source for t in ORDER_SPEC.transitions if t.event is OrderEvent.FULFIL}
    assert fulfil_sources == {OrderState.ACCEPTED}


def test_order_events_carry_provider_webhook_types() -> None:
    """Every order event but a full return is announced by a provider webhook type."""
    announced = {e.value: e.announced_by for e in ORDER_SPEC.events}
    assert announced[OrderEvent.ACCEPT] == "order.accepted"
    assert announced[OrderEvent.RESOLVE_DISPUTE] == "order.dispute.resolved"
    assert [e for e, by in announced.items() if by is None] == [OrderEvent.RETURN]


def test_checkout_spec_matches_design() -> None:
    """The checkout table: claimed by one submission, then consumed, rejected, open or in doubt."""
    assert CHECKOUT_SPEC.initial is CheckoutState.OPEN
    assert CHECKOUT_SPEC.entry_states == (CheckoutState.OPEN,)
    assert CHECKOUT_SPEC.final_states == {CheckoutState.CONSUMED, CheckoutState.REJECTED}
    cs, ce = CheckoutState, CheckoutEvent
    assert {(t.source, t.event, t.dest) for t in CHECKOUT_SPEC.transitions} == {
        (cs.OPEN, ce.SUBMIT, cs.SUBMITTING),
        (cs.SUBMITTING, ce.ORDER_CREATED, cs.CONSUMED),
        (cs.SUBMITTING, ce.REJECTED, cs.REJECTED),
        (cs.SUBMITTING, ce.NEEDS_CHANGES, cs.OPEN),
        (cs.SUBMITTING, ce.NO_RESPONSE, cs.IN_DOUBT),
        (cs.IN_DOUBT, ce.ORDER_FOUND, cs.CONSUMED),
        (cs.IN_DOUBT, ce.NO_ORDER_FOUND, cs.OPEN),
    }
    assert CHECKOUT_SPEC.event(ce.SUBMIT).refused_with is SubmissionRefused


def test_shortest_path() -> None:
    """Paths are shortest, deterministic, empty at the goal and None when unreachable."""
    path = ORDER_SPEC.shortest_path(OrderState.PENDING_PAYMENT, lambda s: s is OrderState.COMPLETE)
    assert path is not None
    assert [t.event for t in path] == [OrderEvent.ACCEPT, OrderEvent.COMPLETE]
    assert ORDER_SPEC.shortest_path(OrderState.ACCEPTED, lambda s: s is OrderState.ACCEPTED) == ()
    blocked = ORDER_SPEC.shortest_path(OrderState.BLOCKED, lambda s: s is OrderState.ACCEPTED)
    assert blocked is None


def test_shortest_path_can_avoid_events() -> None:
    """Rows of avoided events are not taken: without resolutions, dispute leads nowhere back."""
    dispute, accepted = OrderState.DISPUTE, OrderState.ACCEPTED
    assert ORDER_SPEC.shortest_path(dispute, lambda s: s is accepted) is not None
    avoid = {OrderEvent.RESOLVE_DISPUTE}
    assert ORDER_SPEC.shortest_path(dispute, lambda s: s is accepted, avoid=avoid) is None
    assert ORDER_SPEC.shortest_path(accepted, lambda s: s is dispute, avoid=avoid) is not None


def test_version_follows_what_is_legal() -> None:
    """The version changes with any row, state mark or guard, and not with wording or order."""
    spec = build()
    assert len(spec.version) == 12
    assert int(spec.version, 16) >= 0
    assert build(transitions=tuple(reversed(ROWS))).version == spec.version
    reworded = tuple(
        StateSpec(s.value, "reworded", "reworded too", initial=s.initial, final=s.final)
        for s in spec.states
    )
    assert build(states=reworded).version == spec.version
    assert (
        build(transitions=(*ROWS, TransitionSpec(Flip.SMASH, Light.OFF, Light.BROKEN))).version
        != spec.version
    )
    entry_on = tuple(attrs.evolve(s, entry=s.value is Light.ON) for s in spec.states)
    assert build(states=entry_on).version != spec.version
    assert ORDER_SPEC.version != CHECKOUT_SPEC.version


class Chore(StrEnum):
    """The light's operations, for building broken operation tables."""

    CLEAN = "clean"
    REPLACE = "replace"


def chores(**overrides: object) -> tuple[OperationSpec[Light], ...]:
    clean: dict[str, object] = {
        "value": Chore.CLEAN,
        "description": "wipe it",
        "allowed_in": (Light.OFF,),
        "requested_as": "by hand",
    }
    clean.update(overrides)
    replace = OperationSpec(Chore.REPLACE, "swap it", (Light.OFF, Light.ON), "by hand")
    return (OperationSpec(**clean), replace)  # type: ignore[arg-type]


def test_operations_build_and_say_why_each_state_refuses() -> None:
    """An operation's refusal is its own sentence for a state, else the state's refusal."""
    spec = build(operations=chores(refusals=((Light.ON, "it is hot"),)))
    assert spec.operation_refusal(Chore.CLEAN, Light.OFF) is None
    assert spec.operation_refusal(Chore.CLEAN, Light.ON) == "it is hot"
    assert spec.operation_refusal(Chore.CLEAN, Light.BROKEN) == "it is broken"
    assert spec.operation(Chore.REPLACE).allowed_in == (Light.OFF, Light.ON)


def test_operations_change_the_version() -> None:
    """Which states allow an operation is part of what the spec allows: the version says so."""
    assert build().version != build(operations=chores()).version
    assert (
        build(operations=chores()).version
        != build(operations=chores(allowed_in=(Light.OFF, Light.ON))).version
    )
    reworded = build(operations=chores(description="polish it"))
    assert reworded.version == build(operations=chores()).version


def test_order_operations_are_declared_in_the_table() -> None:
    """Every merchant operation is in the order table, none in a final state, none an event."""
    declared = {o.value for o in ORDER_SPEC.operations}
    assert declared == set(Operation)
    assert not {str(o) for o in Operation} & {str(e) for e in OrderEvent}
    fulfil = ORDER_SPEC.operation(Operation.FULFIL_ITEMS)
    assert fulfil.allowed_in == (OrderState.ACCEPTED,)
    assert fulfil.refused_with is FulfillmentNotAllowed
    for operation in ORDER_SPEC.operations:
        assert issubclass(operation.refused_with, OperationNotAllowed)
        assert not set(operation.allowed_in) & ORDER_SPEC.final_states


# --- the one path search ----------------------------------------------------------------------
# The searches it replaced, as they were, as references: the spec's own breadth-first
# search, explain's nearest paths (one search per state, choices not planned through), and
# the reachability of leads (and of the operations' data events).


def _old_shortest_path(
    spec: MachineSpec[Any, Any], source: Any, goal: Callable[[Any], bool], avoid: Collection[Any]
) -> tuple[TransitionSpec[Any, Any], ...] | None:
    previous: dict[Any, TransitionSpec[Any, Any] | None] = {source: None}
    queue = deque([source])
    while queue:
        state = queue.popleft()
        if goal(state):
            return _old_path_back(previous, state)
        for row in spec.transitions_from(state):
            if row.event not in avoid and row.dest not in previous:
                previous[row.dest] = row
                queue.append(row.dest)
    return None


def _old_path_back(
    previous: dict[Any, TransitionSpec[Any, Any] | None], state: Any
) -> tuple[TransitionSpec[Any, Any], ...]:
    path: list[TransitionSpec[Any, Any]] = []
    step = previous[state]
    while step is not None:
        path.append(step)
        step = previous[step.source]
    return tuple(reversed(path))


def _old_nearest(machine: Machine[Any, Any, Any]) -> dict[tuple[Any, Any], Any]:
    table, spec = machine._table, machine.spec
    choices = {key for key, rows in table.items() if len(rows) > 1}
    nearest: dict[tuple[Any, Any], Any] = {}
    for start in spec.states:
        previous: dict[Any, TransitionSpec[Any, Any] | None] = {start.value: None}
        queue = deque([start.value])
        while queue:
            state = queue.popleft()
            path = _old_path_back(previous, state)
            for subject in (*machine._events_from[state], *machine._operations_in[state]):
                nearest.setdefault((start.value, subject), path)
            for row in spec.transitions_from(state):
                if (state, row.event) not in choices and row.dest not in previous:
                    previous[row.dest] = row
                    queue.append(row.dest)
    return nearest


def _old_reachable(spec: MachineSpec[Any, Any], start: Any, avoid: Collection[Any]) -> set[Any]:
    seen, frontier = {start}, [start]
    while frontier:
        for row in spec.transitions_from(frontier.pop()):
            if row.event not in avoid and row.dest not in seen:
                seen.add(row.dest)
                frontier.append(row.dest)
    return seen


SPECS = st.sampled_from([ORDER_SPEC, CHECKOUT_SPEC])


@given(SPECS, st.data())
def test_the_one_search_gives_the_shortest_paths_and_reach_it_replaced(
    spec: MachineSpec[Any, Any], data: st.DataObject
) -> None:
    """shortest_path and reachable give what the spec's own search and leads' search gave."""
    values = [s.value for s in spec.states]
    source = data.draw(st.sampled_from(values))
    goals = data.draw(st.sets(st.sampled_from(values)))
    avoid = data.draw(st.sets(st.sampled_from([e.value for e in spec.events])))
    found = spec.shortest_path(source, lambda s: s in goals, avoid=avoid)
    assert found == _old_shortest_path(spec, source, lambda s: s in goals, avoid)
    assert spec.reachable(source, avoid=avoid) == _old_reachable(spec, source, avoid)


@pytest.mark.parametrize("machine", [ORDER_MACHINE, CHECKOUT_MACHINE], ids=["order", "checkout"])
def test_the_one_search_gives_explains_nearest_paths(machine: Machine[Any, Any, Any]) -> None:
    """Explain's shortest ways to every event and operation are those its own search found."""
    assert machine._nearest == _old_nearest(machine)


def test_after_acceptance_is_read_off_the_table() -> None:
    """The states reached only through acceptance: the two hand-written sets, now one."""
    after = ORDER_SPEC.only_through(OrderState.ACCEPTED)
    assert after == {
        OrderState.ACCEPTED,
        OrderState.FULFILLED,
        OrderState.COMPLETE,
        OrderState.RETURNED,
        OrderState.DISPUTE,
    }
    assert CHECKOUT_SPEC.only_through(CheckoutState.CONSUMED) == {CheckoutState.CONSUMED}
    assert CHECKOUT_SPEC.only_through(CheckoutState.SUBMITTING) == {
        CheckoutState.SUBMITTING,
        CheckoutState.IN_DOUBT,
        CheckoutState.CONSUMED,
        CheckoutState.REJECTED,
    }


def test_breadth_first_is_lazy_and_keyed() -> None:
    """Nodes come nearest first, once per key, and ways are asked only when the caller goes on."""
    asked: list[int] = []

    def ways(n: int) -> list[tuple[str, int]]:
        asked.append(n)
        return [(f"{n}+1", n + 1), (f"{n}+2", n + 2)]

    walk = breadth_first(0, ways, key=lambda n: n % 5)
    assert next(walk) == (0, ())
    assert asked == []
    assert [node for node, _ in walk] == [1, 2, 3, 4]
    assert asked == [0, 1, 2, 3, 4]
    assert dict(breadth_first(0, ways, key=lambda n: n % 5))[4] == ("0+2", "2+2")


def test_requirements_and_the_implied_rule_count_in_the_version() -> None:
    """What a state requires, and the implied rows in their order, change the version."""
    hammer = GuardSpec("hammer", "a hammer is at hand")
    requiring = tuple(
        attrs.evolve(s, requires=("hammer",)) if s.value is Light.ON else s for s in states()
    )
    implied = (ImpliedSpec(Light.ON, "hammer"), ImpliedSpec(Light.OFF))
    plain = build(guards=(hammer,), states=requiring).version
    assert plain != build(guards=(hammer,), implied=implied, states=requiring).version
    assert (
        build(guards=(hammer,), states=requiring, implied=implied).version
        != build(
            guards=(hammer,),
            states=requiring,
            implied=(ImpliedSpec(Light.OFF, "hammer"), ImpliedSpec(Light.ON)),
        ).version
    )
    worded = tuple(attrs.evolve(s, customer="hello") for s in requiring)
    assert build(guards=(hammer,), states=worded).version == plain

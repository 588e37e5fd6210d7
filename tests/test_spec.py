from __future__ import annotations

from enum import StrEnum

import attrs
import pytest

from order_lifecycle import (
    CheckoutEvent,
    CheckoutState,
    Operation,
    OperationNotAllowed,
    OrderEvent,
    OrderState,
    TransitionNotAllowed,
)
from order_lifecycle.exceptions import FulfillmentNotAllowed, InvalidDefinition, SubmissionRefused
from order_lifecycle.lifecycle import (
    CHECKOUT_SPEC,
    ORDER_SPEC,
    EventSpec,
    GuardSpec,
    MachineSpec,
    OperationSpec,
    StateSpec,
    TransitionSpec,
)


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


def test_no_initial_state() -> None:
    """A spec without an initial state says to mark one."""
    no_initial = tuple(StateSpec(s.value, "", "", final=s.final) for s in states())
    assert "no state is initial: mark exactly one state initial=True" in problems_of(
        states=no_initial
    )


def test_two_initial_states() -> None:
    """Two initial states are both named."""
    two = tuple(
        StateSpec(s.value, "", "", initial=s.value is not Light.BROKEN, final=s.final)
        for s in states()
    )
    assert "several initial states 'off', 'on': mark exactly one initial=True" in problems_of(
        states=two
    )


def test_transition_out_of_final_state() -> None:
    """A way out of a final state is named with the fix."""
    message = problems_of(transitions=(*ROWS, TransitionSpec(Flip.FLIP, Light.BROKEN, Light.ON)))
    assert "final state 'broken' has a way out (broken -flip-> on)" in message
    assert "remove the transition or make 'broken' non-final" in message


def test_unreachable_state() -> None:
    """A state no transition leads to is named."""
    message = problems_of(transitions=ROWS[:2], events=EVENTS[:1])
    assert "unreachable states 'broken'" in message


def test_unknown_guard() -> None:
    """A transition naming an undeclared guard is named, with the declaration to add."""
    guarded = (*ROWS[:2], TransitionSpec(Flip.SMASH, Light.ON, Light.BROKEN, guard="hammer"))
    message = problems_of(transitions=guarded)
    assert "transition on -smash-> broken names unknown guard 'hammer'" in message
    assert "GuardSpec('hammer', ...)" in message


def test_unused_guard_and_event() -> None:
    """Declarations nothing uses are flagged, so the table cannot drift from them."""
    message = problems_of(guards=(GuardSpec("hammer", "a hammer is at hand"),))
    assert "guard 'hammer' guards no transition" in message
    assert "event 'smash' is in no transition" in problems_of(transitions=ROWS[:2])


def test_trap_state() -> None:
    """A non-final state without a way out must be made final or given a transition."""
    message = problems_of(states=states(finals=()))
    assert "state 'broken' has no way out but is not final" in message


def test_ambiguous_rows() -> None:
    """Two unguarded rows for one event from one state are ambiguous."""
    message = problems_of(transitions=(*ROWS, TransitionSpec(Flip.FLIP, Light.OFF, Light.BROKEN)))
    assert "event 'flip' from 'off' has 2 rows and 2 without a guard" in message


def test_enum_member_not_declared() -> None:
    """Every member of the state enum must be declared, or the table forgot a state."""
    message = problems_of(states=states()[:2], transitions=ROWS[:2], events=EVENTS[:1])
    assert "Light.BROKEN ('broken') is not declared as a state" in message


def test_duplicate_declaration() -> None:
    """A state declared twice is named."""
    message = problems_of(states=(*states(), states()[0]))
    assert "state 'off' is declared more than once" in message


def test_every_problem_is_listed() -> None:
    """All problems are reported at once, one per line."""
    message = problems_of(
        states=states(finals=()),
        guards=(GuardSpec("hammer", "a hammer is at hand"),),
    )
    assert message.startswith("The light lifecycle is invalid:\n- ")
    assert message.count("\n- ") == 2


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


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"allowed_in": (Light.BROKEN,)}, "operation 'clean' is allowed in final state 'broken'"),
        ({"allowed_in": ()}, "operation 'clean' is allowed in no state"),
        ({"allowed_in": ("dim",)}, "operation 'clean' names unknown state 'dim'"),
        (
            {"refusals": ((Light.OFF, "no"),)},
            "operation 'clean' gives a refusal for 'off', which is unknown or allows it",
        ),
        ({"needs": "dusty"}, "operation 'clean' needs unknown guard 'dusty'"),
        ({"value": Flip.FLIP}, "operation 'flip' is also an event's name"),
        ({"refused_with": TransitionNotAllowed}, "refuse operations with an OperationNotAllowed"),
        ({"value": Chore.REPLACE}, "operation 'replace' is declared more than once"),
    ],
)
def test_broken_operations_are_refused(overrides: dict[str, object], problem: str) -> None:
    """Each inconsistency of an operation is named when the spec is built."""
    assert problem in problems_of(operations=chores(**overrides))


def test_every_operation_member_is_declared() -> None:
    """An operation enum member without its OperationSpec is named, like states and events."""
    only_clean = chores()[:1]
    assert "Chore.REPLACE ('replace') is not declared as an operation" in problems_of(
        operations=only_clean
    )


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

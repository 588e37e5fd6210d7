"""Each rule a spec keeps is one named check, refusing a broken spec with the ids and the fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

from order_lifecycle.exceptions import (
    CheckoutRejected,
    InvalidDefinition,
    SubmissionRefused,
    TransitionNotAllowed,
)
from order_lifecycle.lifecycle import GuardSpec, ImpliedSpec, StateSpec, TransitionSpec, _checks

from .test_actions_spec import REPORT, SWEEP
from .test_spec import EVENTS, ROWS, Chore, Flip, Light, build, chores, problems_of, states

HAMMER = GuardSpec("hammer", "a hammer is at hand")
# Values no spec may hold, typed loosely so that the broken specs can be built at all.
DIM: Any = "dim"
STRAY: Any = "sweep"
BIN: Any = "each_bin"
Overrides = Callable[[], dict[str, object]]


def _with_state(light: Light, **changes: Any) -> tuple[StateSpec[Light], ...]:
    return tuple(attrs.evolve(s, **changes) if s.value is light else s for s in states())


def _guarded_rows() -> tuple[TransitionSpec[Light, Flip], ...]:
    return (*ROWS[:2], TransitionSpec(Flip.SMASH, Light.ON, Light.BROKEN, guard="hammer"))


# (check, the broken spec's fields, what the message must say: the offending ids, the fix)
CASES: list[tuple[str, Overrides, tuple[str, ...]]] = [
    (
        "_check_declared_once",
        lambda: {"states": (*states(), states()[0])},
        ("state 'off' is declared more than once", "declare each state once"),
    ),
    (
        "_check_enums_declared",
        lambda: {"states": states()[:2], "transitions": ROWS[:2], "events": EVENTS[:1]},
        ("Light.BROKEN ('broken') is not declared as a state", "remove it from Light"),
    ),
    (
        "_check_initial_state",
        lambda: {"states": tuple(attrs.evolve(s, initial=False) for s in states())},
        ("no state is initial", "mark exactly one state initial=True"),
    ),
    (
        "_check_initial_state",
        lambda: {"states": _with_state(Light.ON, initial=True)},
        ("several initial states 'off', 'on'", "mark exactly one initial=True"),
    ),
    (
        "_check_entry_states",
        lambda: {"states": _with_state(Light.BROKEN, entry=True)},
        ("state 'broken' is both final and an entry state", "a model would start dead"),
    ),
    (
        "_check_rows_known",
        lambda: {"transitions": _guarded_rows()},
        ("transition on -smash-> broken names unknown guard 'hammer'", "GuardSpec('hammer', ...)"),
    ),
    (
        "_check_final_states",
        lambda: {"transitions": (*ROWS, TransitionSpec(Flip.FLIP, Light.BROKEN, Light.ON))},
        ("final state 'broken' has a way out (broken -flip-> on)", "make 'broken' non-final"),
    ),
    (
        "_check_trap_states",
        lambda: {"states": states(finals=())},
        ("state 'broken' has no way out but is not final", "mark it final=True"),
    ),
    (
        "_check_ambiguous_rows",
        lambda: {"transitions": (*ROWS, TransitionSpec(Flip.FLIP, Light.OFF, Light.BROKEN))},
        ("event 'flip' from 'off' has 2 rows and 2 without a guard", "guard every row"),
    ),
    (
        "_check_state_refusals",
        lambda: {"states": _with_state(Light.ON, refused_with=CheckoutRejected)},
        ("state 'on' refuses with CheckoutRejected", "refused_with=<a base of CheckoutRejected>"),
    ),
    (
        "_check_state_refusals",
        lambda: {"states": _with_state(Light.ON, refused_with=ValueError)},
        ("state 'on' refuses with <class 'ValueError'>", "refuse events with a Transition"),
    ),
    (
        "_check_requirements",
        lambda: {"states": _with_state(Light.ON, requires=("hammer",))},
        ("state 'on' requires unknown guard 'hammer'", "GuardSpec('hammer', ...)"),
    ),
    (
        "_check_implied_states",
        lambda: {"implied": (ImpliedSpec(Light.ON), ImpliedSpec(Light.OFF))},
        ("implied states end with 'off' and leave 'on', 'off' unguarded", "but the last"),
    ),
    (
        "_check_implied_states",
        lambda: {"implied": (ImpliedSpec(Light.ON, "hammer"), ImpliedSpec(Light.ON))},
        ("implied state 'on' has several rows", "implied state 'on' names unknown guard"),
    ),
    (
        "_check_implied_states",
        lambda: {"implied": (ImpliedSpec(DIM),)},
        ("implied state 'dim' is no such state", "declare it first"),
    ),
    (
        "_check_operations_declared",
        lambda: {"operations": chores(value=Chore.REPLACE)},
        ("operation 'replace' is declared more than once", "declare each operation once"),
    ),
    (
        "_check_operations_declared",
        lambda: {"operations": chores()[:1]},
        ("Chore.REPLACE ('replace') is not declared as an operation", "remove it from Chore"),
    ),
    (
        "_check_operation_names",
        lambda: {"operations": (*chores(), *chores(value=Flip.FLIP)[:1])},
        ("operation 'flip' is also an event's name", "apart from the provider's events"),
    ),
    (
        "_check_operation_states",
        lambda: {"operations": chores(allowed_in=(Light.BROKEN, "dim"))},
        ("allowed in final state 'broken'", "operation 'clean' names unknown state 'dim'"),
    ),
    (
        "_check_operation_states",
        lambda: {"operations": chores(allowed_in=())},
        ("operation 'clean' is allowed in no state", "name the states that allow it"),
    ),
    (
        "_check_operation_refusals",
        lambda: {"operations": chores(refusals=((Light.OFF, "no"),))},
        ("gives a refusal for 'off', which is unknown or allows it", "only for the states"),
    ),
    (
        "_check_operation_limits",
        lambda: {"operations": chores(limits=((Light.ON, "only a little"),))},
        ("operation 'clean' gives a limit for 'on'", "only for states of allowed_in"),
    ),
    (
        "_check_operation_guards",
        lambda: {"operations": chores(needs="dusty")},
        ("operation 'clean' needs unknown guard 'dusty'", "GuardSpec('dusty', ...)"),
    ),
    (
        "_check_operation_classes",
        lambda: {"operations": chores(refused_with=TransitionNotAllowed)},
        ("'clean' is refused with TransitionNotAllowed", "with an OperationNotAllowed"),
    ),
    (
        "_check_action_kinds",
        lambda: {"actions": (attrs.evolve(SWEEP, kind=STRAY), REPORT)},
        ("action kind 'sweep' is unknown", "a member of one StrEnum"),
    ),
    (
        "_check_action_kinds",
        lambda: {"actions": (SWEEP,)},
        ("Chore.REPORT ('report') is declared as no action", "remove it from its enum"),
    ),
    (
        "_check_actions_declared_once",
        lambda: {"actions": (SWEEP, SWEEP, REPORT)},
        ("action 'sweep' on 'broken' is declared more than once", "declare it once"),
    ),
    (
        "_check_action_triggers",
        lambda: {"actions": (attrs.evolve(SWEEP, on=DIM), REPORT)},
        ("created on 'dim', which is no such state or operation", "name a declared state"),
    ),
    (
        "_check_action_scopes",
        lambda: {"actions": (attrs.evolve(SWEEP, for_each=BIN), REPORT)},
        ("action 'sweep' is for each 'each_bin', an unknown scope", "use an ActionScope"),
    ),
    (
        "_check_action_states",
        lambda: {"actions": (SWEEP, attrs.evolve(REPORT, while_in=(DIM,)))},
        ("action 'report' is kept while in 'dim', which is no such state",),
    ),
    (
        "_check_action_holds",
        lambda: {"actions": (SWEEP, attrs.evolve(REPORT, held_in=(Light.BROKEN,)))},
        ("action 'report' is held in 'broken', which does not keep it", "add 'broken' to"),
    ),
    (
        "_check_action_holds",
        lambda: {"actions": (SWEEP, attrs.evolve(REPORT, held_in=(Light.ON, Light.OFF)))},
        ("held in every state that keeps it", "leave at least one state of while_in out"),
    ),
    (
        "_check_action_messages",
        lambda: {"actions": (attrs.evolve(SWEEP, tells_customer=True), REPORT)},
        ("action 'sweep' tells the customer, but 'broken' has no customer sentence", "give"),
    ),
    (
        "_check_unused_events",
        lambda: {"transitions": ROWS[:2]},
        ("event 'smash' is in no transition", "remove it or add a transition"),
    ),
    (
        "_check_unused_guards",
        lambda: {"guards": (HAMMER,)},
        ("guard 'hammer' guards no transition", "remove it or use it"),
    ),
    (
        "_check_reachable_states",
        lambda: {"transitions": ROWS[:2], "events": EVENTS[:1]},
        ("unreachable states 'broken'", "mark it entry=True, or remove it"),
    ),
]


@pytest.mark.parametrize(
    ("check", "overrides", "says"), CASES, ids=[f"{c}-{n}" for n, (c, _, _) in enumerate(CASES)]
)
def test_each_check_refuses_its_broken_spec(
    monkeypatch: pytest.MonkeyPatch, check: str, overrides: Overrides, says: tuple[str, ...]
) -> None:
    """The check alone refuses the spec, naming the offending ids and the fix."""
    monkeypatch.setattr(_checks, "CHECKS", (getattr(_checks, check),))
    with pytest.raises(InvalidDefinition) as raised:
        build(**overrides())
    for words in says:
        assert words in str(raised.value)


def test_every_check_has_a_case() -> None:
    """No rule goes untested: every check of CHECKS is named by a case above."""
    assert {c.__name__ for c in _checks.CHECKS} == {check for check, _, _ in CASES}


def test_a_valid_spec_passes_every_check() -> None:
    """A spec with operations, actions, a requirement, a limit and an implied rule is valid."""
    valid: dict[str, Any] = {
        "states": _with_state(Light.ON, requires=("hammer",), customer="it shines"),
        "guards": (HAMMER,),
        "operations": chores(limits=((Light.OFF, "only a little"),)),
        "actions": (SWEEP, REPORT),
        "implied": (ImpliedSpec(Light.ON, "hammer"), ImpliedSpec(Light.OFF)),
    }
    spec = build(**valid)
    assert list(_checks.problems_of(spec)) == []


def test_a_state_refusal_refines_an_events_own_class() -> None:
    """A state's refusal class applies to the events whose own class it refines, only."""
    family = (attrs.evolve(EVENTS[0], refused_with=SubmissionRefused), EVENTS[1])
    spec = build(events=family, states=_with_state(Light.ON, refused_with=CheckoutRejected))
    assert spec.refused_with(Light.ON, Flip.FLIP) is CheckoutRejected
    assert spec.refused_with(Light.OFF, Flip.FLIP) is SubmissionRefused
    assert spec.refused_with(Light.ON, Flip.SMASH) is TransitionNotAllowed
    assert spec.refused_with(Light.BROKEN, Flip.SMASH) is TransitionNotAllowed


def test_every_problem_is_listed() -> None:
    """All problems are reported at once, one per line."""
    message = problems_of(states=states(finals=()), guards=(HAMMER,))
    assert message.startswith("The light lifecycle is invalid:\n- ")
    assert message.count("\n- ") == 2

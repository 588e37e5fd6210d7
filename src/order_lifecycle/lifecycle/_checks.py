"""The checks a spec passes when it is built: one named check per rule.

As python-statemachine's ``factory.py`` does (``_check_initial_state``,
``_check_final_states``, ``_check_trap_states``, ...), each rule a definition must keep is
one function yielding a sentence per offence: the offending ids, and the fix.
:func:`problems_of` runs them all, in :data:`CHECKS` order, so that a broken spec is refused
with every problem at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from order_lifecycle.exceptions import OperationNotAllowed, TransitionNotAllowed

from ._vocabulary import ActionScope

if TYPE_CHECKING:
    from ._spec import ActionSpec, MachineSpec, TransitionSpec

__all__ = ["CHECKS", "problems_of", "refines"]

Check = Callable[["MachineSpec[Any, Any]"], Iterator[str]]


def refines(refusal: type[TransitionNotAllowed], family: type[TransitionNotAllowed]) -> bool:
    """Whether ``refusal`` is a member of an event's own family of refusals (not the root's)."""
    return (
        family is not TransitionNotAllowed and refusal is not family and issubclass(refusal, family)
    )


# --- states, events, guards -------------------------------------------------------------------


def _check_declared_once(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """Each state, event and guard is declared once."""
    for kind, names in (
        ("state", [str(s.value) for s in spec.states]),
        ("event", [str(e.value) for e in spec.events]),
        ("guard", [g.name for g in spec.guards]),
    ):
        for name in sorted({n for n in names if names.count(n) > 1}):
            yield f"{kind} {_q(name)} is declared more than once: declare each {kind} once."


def _check_enums_declared(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """Every member of the state and event enums is declared: the table forgot none."""
    for kind, values in (
        ("state", [s.value for s in spec.states]),
        ("event", [e.value for e in spec.events]),
    ):
        yield from _members_missing(values, f"a {kind}")


def _check_initial_state(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """Exactly one state is initial."""
    initials = [s.value for s in spec.states if s.initial]
    if not initials:
        yield "no state is initial: mark exactly one state initial=True."
    elif len(initials) > 1:
        yield f"several initial states {_names(initials)}: mark exactly one initial=True."


def _check_entry_states(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """No model starts in a final state."""
    for s in spec.states:
        if s.final and (s.initial or s.entry):
            yield f"state {_q(s.value)} is both final and an entry state: a model would start dead."


def _check_rows_known(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """Every row names declared states, events and guards."""
    states, events = _states(spec), {e.value for e in spec.events}
    guards = _guards(spec)
    for t in spec.transitions:
        for end in (t.source, t.dest):
            if end not in states:
                yield f"transition {_row(t)} names unknown state {_q(end)}: declare it first."
        if t.event not in events:
            yield f"transition {_row(t)} names unknown event {_q(t.event)}: declare it first."
        if t.guard is not None and t.guard not in guards:
            yield (
                f"transition {_row(t)} names unknown guard {t.guard!r}: declare "
                f"GuardSpec({t.guard!r}, ...) or fix the name."
            )


def _check_final_states(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """A final state has no way out: it absorbs every event."""
    finals = spec.final_states
    for t in spec.transitions:
        if t.source in finals:
            yield (
                f"final state {_q(t.source)} has a way out ({_row(t)}): final states absorb every "
                f"event; remove the transition or make {_q(t.source)} non-final."
            )


def _check_trap_states(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """A state with no way out is final: no model is stuck in a state that says it is not."""
    for s in spec.states:
        if not s.final and not spec.transitions_from(s.value):
            yield (
                f"state {_q(s.value)} has no way out but is not final: mark it final=True "
                "or add a transition from it."
            )


def _check_ambiguous_rows(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """Several rows of one event from one state are told apart by guards."""
    seen: dict[tuple[object, object], list[TransitionSpec[Any, Any]]] = {}
    for t in spec.transitions:
        seen.setdefault((t.event, t.source), []).append(t)
    for (event, source), rows in seen.items():
        unguarded = [r for r in rows if r.guard is None]
        if len(rows) > 1 and unguarded:
            yield (
                f"event {_q(event)} from {_q(source)} has {len(rows)} rows and {len(unguarded)} "
                "without a guard: which one fires is ambiguous; guard every row or keep one."
            )


def _check_unused_events(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """Every event is in a row: a declaration nothing uses would drift from the table."""
    used = {t.event for t in spec.transitions}
    for e in spec.events:
        if e.value not in used:
            yield f"event {_q(e.value)} is in no transition: remove it or add a transition."


def _check_unused_guards(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """Every guard guards a row, an operation, an implied state or a state's requirement."""
    used = (
        {t.guard for t in spec.transitions}
        | {o.needs for o in spec.operations}
        | {i.guard for i in spec.implied}
        | {name for s in spec.states for name in s.requires}
    )
    for g in spec.guards:
        if g.name not in used:
            yield f"guard {g.name!r} guards no transition: remove it or use it."


def _check_reachable_states(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """Every state is reachable from an entry state."""
    entries = [s.value for s in spec.states if s.initial or s.entry]
    if not any(s.initial for s in spec.states):
        return  # without an initial state, the initial check says what to fix first
    reachable: set[object] = set()
    for entry in entries:
        reachable |= spec.reachable(entry)
    unreachable = [s.value for s in spec.states if s.value not in reachable]
    if unreachable:
        yield (
            f"unreachable states {_names(unreachable)}: add a transition into each from a "
            "reachable state, mark it entry=True, or remove it."
        )


def _check_state_refusals(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """A state's own refusal class refines the refusal class of some event."""
    families = {e.refused_with for e in spec.events}
    for s in spec.states:
        own = s.refused_with
        if own is None:
            continue
        if not isinstance(own, type) or not issubclass(own, TransitionNotAllowed):
            yield (
                f"state {_q(s.value)} refuses with {own!r}: refuse events with a "
                "TransitionNotAllowed."
            )
        elif not any(refines(own, family) for family in families):
            yield (
                f"state {_q(s.value)} refuses with {own.__name__}, which refines no event's "
                f"own refusal class: give the event it refuses refused_with=<a base of "
                f"{own.__name__}>, or remove it from the state."
            )


def _check_requirements(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """What a state requires is a declared guard."""
    guards = _guards(spec)
    for s in spec.states:
        for name in s.requires:
            if name not in guards:
                yield (
                    f"state {_q(s.value)} requires unknown guard {name!r}: declare "
                    f"GuardSpec({name!r}, ...) or fix the name."
                )


def _check_implied_states(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """Each implied state is declared, has one row and a declared guard; the last, no guard."""
    states, guards = _states(spec), _guards(spec)
    named = [i.state for i in spec.implied]
    for value in sorted({str(v) for v in named if named.count(v) > 1}):
        yield f"implied state {_q(value)} has several rows: give each state one row."
    for i in spec.implied:
        if i.state not in states:
            yield f"implied state {_q(i.state)} is no such state: declare it first."
        if i.guard is not None and i.guard not in guards:
            yield (
                f"implied state {_q(i.state)} names unknown guard {i.guard!r}: declare "
                f"GuardSpec({i.guard!r}, ...) or fix the name."
            )
    unguarded = [i.state for i in spec.implied if i.guard is None]
    if spec.implied and unguarded != [spec.implied[-1].state]:
        yield (
            f"the implied states end with {_q(spec.implied[-1].state)} and leave "
            f"{_names(unguarded) or 'none'} unguarded: give every row a guard but the last, "
            "the state implied when no other holds."
        )


# --- operations -------------------------------------------------------------------------------


def _check_operations_declared(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """Each operation is declared once, and every member of its enum is declared."""
    values = [o.value for o in spec.operations]
    for name in sorted({str(v) for v in values if values.count(v) > 1}):
        yield f"operation {_q(name)} is declared more than once: declare each operation once."
    yield from _members_missing(values, "an operation")


def _check_operation_names(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """No operation shares an event's name: the merchant's acts are not the provider's news."""
    events = {str(e.value) for e in spec.events}
    for o in spec.operations:
        if str(o.value) in events:
            yield (
                f"operation {_q(o.value)} is also an event's name: name the merchant's "
                "operations apart from the provider's events."
            )


def _check_operation_states(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """An operation is allowed in some declared state, and in no final one."""
    states, finals = _states(spec), spec.final_states
    for o in spec.operations:
        name = _q(o.value)
        if not o.allowed_in:
            yield f"operation {name} is allowed in no state: name the states that allow it."
        for state in o.allowed_in:
            if state not in states:
                yield f"operation {name} names unknown state {_q(state)}: declare it first."
            elif state in finals:
                yield (
                    f"operation {name} is allowed in final state {_q(state)}: a final state "
                    "absorbs every operation too; remove it."
                )


def _check_operation_refusals(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """An operation gives its own reasons only for declared states that refuse it."""
    states = _states(spec)
    for o in spec.operations:
        for state, _ in o.refusals:
            if state in o.allowed_in or state not in states:
                yield (
                    f"operation {_q(o.value)} gives a refusal for {_q(state)}, which is unknown "
                    "or allows it: give reasons only for the states that refuse it."
                )


def _check_operation_limits(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """An operation is limited only in states that allow it."""
    for o in spec.operations:
        for state, _ in o.limits:
            if state not in o.allowed_in:
                yield (
                    f"operation {_q(o.value)} gives a limit for {_q(state)}, which does not "
                    "allow it: give limits only for states of allowed_in."
                )


def _check_operation_guards(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """What an operation needs is a declared guard."""
    guards = _guards(spec)
    for o in spec.operations:
        if o.needs is not None and o.needs not in guards:
            yield (
                f"operation {_q(o.value)} needs unknown guard {o.needs!r}: declare "
                f"GuardSpec({o.needs!r}, ...) or fix the name."
            )


def _check_operation_classes(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """An operation is refused with an :class:`OperationNotAllowed`."""
    for o in spec.operations:
        if not (
            isinstance(o.refused_with, type) and issubclass(o.refused_with, OperationNotAllowed)
        ):
            yield (
                f"operation {_q(o.value)} is refused with {_class_name(o.refused_with)}: refuse "
                "operations with an OperationNotAllowed."
            )


# --- actions ----------------------------------------------------------------------------------


def _check_action_kinds(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """Each action's kind is a member of one StrEnum, and every member is an action."""
    kinds = [a.kind for a in spec.actions if isinstance(a.kind, StrEnum)]
    for a in spec.actions:
        if not isinstance(a.kind, StrEnum) or not str(a.kind):
            yield f"action kind {a.kind!r} is unknown: name each kind as a member of one StrEnum."
        elif type(a.kind) is not type(kinds[0]):
            yield f"action {_q(a.kind)} is not a {type(kinds[0]).__name__}: use one enum of kinds."
    if kinds:
        for member in type(kinds[0]):
            if member not in kinds:
                yield (
                    f"{type(member).__name__}.{member.name} ({member.value!r}) is declared as "
                    "no action: declare it, or remove it from its enum."
                )


def _check_actions_declared_once(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """One action of a kind per trigger and scope."""
    seen: set[tuple[str, str, str]] = set()
    for a in spec.actions:
        key = (str(a.kind), str(a.on), str(a.for_each))
        if key in seen:
            yield f"action {_q(a.kind)} on {_q(a.on)} is declared more than once: declare it once."
        seen.add(key)


def _check_action_triggers(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """An action is created on a declared state or operation."""
    triggers = _states(spec) | {o.value for o in spec.operations}
    for a in spec.actions:
        if a.on not in triggers:
            yield (
                f"action {_q(a.kind)} is created on {_q(a.on)}, which is no such state or "
                "operation: name a declared state or operation."
            )


def _check_action_scopes(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """An action is for the order or for each item or charge of a kind (an ActionScope)."""
    scopes = set(ActionScope)
    for a in spec.actions:
        if a.for_each not in scopes:
            yield (
                f"action {_q(a.kind)} is for each {a.for_each!r}, an unknown scope: use an "
                "ActionScope."
            )


def _check_action_states(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """The states keeping an action are declared."""
    states = _states(spec)
    for a in spec.actions:
        for state in a.while_in or ():
            if state not in states:
                yield f"action {_q(a.kind)} is kept while in {_q(state)}, which is no such state."


def _check_action_holds(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """A state holding an action keeps it, and one keeping state is left to run it in."""
    states = _states(spec)
    for a in spec.actions:
        yield from _hold_problems(a, states)


def _hold_problems(a: ActionSpec[Any], states: set[object]) -> Iterator[str]:
    name, kept = _q(a.kind), set(a.while_in or ())
    for state in a.held_in:
        if state not in states:
            yield f"action {name} is held in {_q(state)}, which is no such state."
        elif state not in kept:
            yield (
                f"action {name} is held in {_q(state)}, which does not keep it: entering a "
                f"state outside while_in cancels the action; add {_q(state)} to while_in or "
                "remove it from held_in."
            )
    if a.held_in and kept and kept <= set(a.held_in):
        yield (
            f"action {name} is held in every state that keeps it, so it would never run: "
            "leave at least one state of while_in out of held_in."
        )


def _check_action_messages(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """An action telling the customer is created on a state with a customer sentence."""
    sentences = {s.value: s.customer for s in spec.states}
    for a in spec.actions:
        if a.tells_customer and not sentences.get(a.on):
            yield (
                f"action {_q(a.kind)} tells the customer, but {_q(a.on)} has no customer "
                f"sentence: give StateSpec({_q(a.on)}, ..., customer=...) one, or do not tell."
            )


CHECKS: tuple[Check, ...] = (
    _check_declared_once,
    _check_enums_declared,
    _check_initial_state,
    _check_entry_states,
    _check_rows_known,
    _check_final_states,
    _check_trap_states,
    _check_ambiguous_rows,
    _check_state_refusals,
    _check_requirements,
    _check_implied_states,
    _check_operations_declared,
    _check_operation_names,
    _check_operation_states,
    _check_operation_refusals,
    _check_operation_limits,
    _check_operation_guards,
    _check_operation_classes,
    _check_action_kinds,
    _check_actions_declared_once,
    _check_action_triggers,
    _check_action_scopes,
    _check_action_states,
    _check_action_holds,
    _check_action_messages,
    _check_unused_events,
    _check_unused_guards,
    _check_reachable_states,
)
"""Every check, in the order their sentences are listed."""


def problems_of(spec: MachineSpec[Any, Any]) -> Iterator[str]:
    """One sentence per inconsistency of ``spec``; none when it is valid."""
    for check in CHECKS:
        yield from check(spec)


def _members_missing(values: Iterable[object], what: str) -> Iterator[str]:
    """The members of the enum of ``values`` (the first one's) that are not among them."""
    values = list(values)
    if not values or not isinstance(values[0], StrEnum):
        return
    enum = type(values[0])
    for member in enum:
        if member not in values:
            yield (
                f"{enum.__name__}.{member.name} ({member.value!r}) is not declared as {what}: "
                f"declare it, or remove it from {enum.__name__}."
            )


def _states(spec: MachineSpec[Any, Any]) -> set[object]:
    return {s.value for s in spec.states}


def _guards(spec: MachineSpec[Any, Any]) -> set[str]:
    return {g.name for g in spec.guards}


def _class_name(value: object) -> str:
    return value.__name__ if isinstance(value, type) else repr(value)


def _row(t: TransitionSpec[Any, Any]) -> str:
    return f"{t.source} -{t.event}-> {t.dest}"


def _names(values: Iterable[object]) -> str:
    return ", ".join(_q(v) for v in values)


def _q(value: object) -> str:
    """Quote a state, event or guard by its plain string (an enum's repr is noise here)."""
    return repr(str(value))

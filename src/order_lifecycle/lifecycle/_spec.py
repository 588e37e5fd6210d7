"""A lifecycle as data: states, events, guards by name, transitions, actions; validated when built.

A :class:`MachineSpec` is the single source of truth of one machine. The runtime
(``_machine``), the diagrams and the tests all read it; nothing restates it. Building a spec
that could not run as intended raises :class:`InvalidDefinition` listing every problem, each
naming the offending ids and the fix.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

import attrs

from order_lifecycle.exceptions import InvalidDefinition, OperationNotAllowed, TransitionNotAllowed

__all__ = [
    "ActionScope",
    "ActionSpec",
    "EventSpec",
    "GuardSpec",
    "MachineSpec",
    "OperationSpec",
    "StateSpec",
    "TransitionSpec",
    "path_back",
]

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


@attrs.frozen
class StateSpec(Generic[S]):
    """One state: what it means, and why events it does not allow are refused.

    ``refusal`` completes the sentence "Can't <event> when in <state>: ...", for example
    "the order has not been accepted (payment is not yet authorized)".
    ``initial`` marks the one state a new model starts in; ``entry`` marks further states a
    model may be created in (an order the provider creates already ``accepted``).
    """

    value: S
    description: str
    refusal: str
    initial: bool = False
    entry: bool = False
    final: bool = False


@attrs.frozen
class EventSpec(Generic[E]):
    """One event, what the provider sends to announce it, and the class of its refusals.

    ``announced_by`` is the provider's webhook type for order events (``"order.accepted"``)
    and the HTTP outcome for checkout events (``"POST /orders 409"``); ``None`` when the
    provider announces nothing.
    """

    value: E
    description: str
    announced_by: str | None = None
    refused_with: type[TransitionNotAllowed] = TransitionNotAllowed


@attrs.frozen
class GuardSpec:
    """A named condition a transition needs beyond its source state.

    ``description`` states the condition ("every charge is cancelled"); the machine binds
    the name to a predicate when it is built.
    """

    name: str
    description: str


@attrs.frozen
class TransitionSpec(Generic[S, E]):
    """One row of the table: ``event`` moves ``source`` to ``dest`` when ``guard`` holds.

    ``rule`` cites where the row comes from ([R] read, [I] inferred, [X] sources disagree).
    """

    event: E
    source: S
    dest: S
    guard: str | None = None
    rule: str = ""


@attrs.frozen
class OperationSpec(Generic[S]):
    """A merchant operation: the states that allow it, and why every other state refuses it.

    ``requested_as`` is the provider request that reports it (``"POST /fulfillments"``).
    In a state not in ``allowed_in`` the reason given is the one ``refusals`` names for it,
    else the state's own ``refusal``. ``needs`` names a guard (a condition on the model's
    data, asked with no row) that must also hold; ``refused_with`` is the class of the
    refusal, an :class:`OperationNotAllowed`.
    """

    value: StrEnum
    description: str
    allowed_in: tuple[S, ...]
    requested_as: str
    refusals: tuple[tuple[S, str], ...] = ()
    needs: str | None = None
    refused_with: type[OperationNotAllowed] = OperationNotAllowed


class ActionScope(StrEnum):
    """What one action is for: the order, or each item or charge of a kind (``actions``)."""

    ORDER = "order"
    PHYSICAL_ITEM = "physical_item"
    DIGITAL_ITEM = "digital_item"
    UNKNOWN_ITEM = "unknown_item"
    UNCAPTURED_CHARGE = "uncaptured_charge"
    REFUNDED_CHARGE = "refunded_charge"


@attrs.frozen
class ActionSpec(Generic[S]):
    """Something the shop must do once the order enters a state, or an operation is applied.

    ``on`` is the state whose entry (or the operation whose application) creates it, one
    action per subject of ``for_each`` (the order, each physical item with open units, each
    charge with an uncaptured amount, ...); an entry from a state of ``while_in`` creates
    nothing (the action made before still stands). ``while_in`` names the states in which
    an action keeps its reason: the order moving to any other state cancels it, whatever
    state it is in (``None``: never cancelled by a state). ``held_in`` names states of
    ``while_in`` in which the provider refuses the act (a dispute refuses
    ``POST /fulfillments``): while the order is in one, no claim takes the action (it is
    held); it resumes when the order moves back to another state of ``while_in``.
    ``message`` is what the customer may be told (the customer-safe text of a notification).
    """

    kind: StrEnum
    description: str
    on: StrEnum
    for_each: ActionScope
    while_in: tuple[S, ...] | None = None
    message: str | None = None
    held_in: tuple[S, ...] = ()


@attrs.frozen
class MachineSpec(Generic[S, E]):
    """The complete, validated definition of one machine.

    Raises:
        InvalidDefinition: when the definition is inconsistent; the message lists every
            problem found.

    """

    name: str
    states: tuple[StateSpec[S], ...]
    events: tuple[EventSpec[E], ...]
    guards: tuple[GuardSpec, ...]
    transitions: tuple[TransitionSpec[S, E], ...]
    operations: tuple[OperationSpec[S], ...] = ()
    actions: tuple[ActionSpec[S], ...] = ()
    # The rows indexed once, so that every question about the table is a dict lookup.
    _by_source: dict[S, tuple[TransitionSpec[S, E], ...]] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )
    _by_key: dict[tuple[S, E], tuple[TransitionSpec[S, E], ...]] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        by_source: dict[S, list[TransitionSpec[S, E]]] = {}
        by_key: dict[tuple[S, E], list[TransitionSpec[S, E]]] = {}
        for row in self.transitions:
            by_source.setdefault(row.source, []).append(row)
            by_key.setdefault((row.source, row.event), []).append(row)
        # A frozen class: the indexes are set once, here, and never change.
        object.__setattr__(self, "_by_source", {k: tuple(v) for k, v in by_source.items()})
        object.__setattr__(self, "_by_key", {k: tuple(v) for k, v in by_key.items()})
        problems = list(_problems(self))
        if problems:
            listing = "\n".join(f"- {p}" for p in problems)
            raise InvalidDefinition(f"The {self.name} lifecycle is invalid:\n{listing}")

    def __repr__(self) -> str:
        actions = f", num_actions={len(self.actions)}" if self.actions else ""
        return (
            f"<MachineSpec({self.name!r}, num_states={len(self.states)}, "
            f"num_events={len(self.events)}, num_transitions={len(self.transitions)}, "
            f"num_operations={len(self.operations)}{actions})>"
        )

    @property
    def initial(self) -> S:
        """The state a new model starts in."""
        return next(s.value for s in self.states if s.initial)

    @property
    def entry_states(self) -> tuple[S, ...]:
        """The states a model may be created in, the initial one first."""
        return tuple(s.value for s in self.states if s.initial or s.entry)

    @property
    def final_states(self) -> frozenset[S]:
        """States that absorb every event."""
        return frozenset(s.value for s in self.states if s.final)

    @property
    def version(self) -> str:
        """A short fingerprint of what the spec allows: 12 hex digits of a SHA-256.

        Derived from the table, never maintained by hand: the states (with their initial,
        entry and final marks), the events, the guards' names, every row (event, source,
        destination, guard), every operation (the states allowing it, its guard) and every
        action (its kind, trigger, scope, the states keeping and holding it), each sorted.
        Descriptions, refusal sentences and rule tags do not count, so rewording a row
        keeps the version; any change to what is legal changes it. Stores stamp each
        history step with it.
        """
        canonical = {
            "name": self.name,
            "states": sorted([str(s.value), s.initial, s.entry, s.final] for s in self.states),
            "events": sorted(str(e.value) for e in self.events),
            "guards": sorted(g.name for g in self.guards),
            "rows": sorted(
                [str(t.event), str(t.source), str(t.dest), t.guard or ""] for t in self.transitions
            ),
        }
        if self.operations:  # absent when none: a table without operations keeps its version
            canonical["operations"] = sorted(
                [str(o.value), sorted(str(s) for s in o.allowed_in), o.needs or ""]
                for o in self.operations
            )
        if self.actions:  # absent when none, as operations
            canonical["actions"] = sorted(
                [
                    str(a.kind),
                    str(a.on),
                    str(a.for_each),
                    None if a.while_in is None else sorted(str(s) for s in a.while_in),
                    *([sorted(str(s) for s in a.held_in)] if a.held_in else []),
                ]
                for a in self.actions
            )
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def state(self, value: S) -> StateSpec[S]:
        """The spec of one state."""
        return next(s for s in self.states if s.value == value)

    def event(self, value: E) -> EventSpec[E]:
        """The spec of one event."""
        return next(e for e in self.events if e.value == value)

    def guard(self, name: str) -> GuardSpec:
        """The spec of one guard."""
        return next(g for g in self.guards if g.name == name)

    def operation(self, value: StrEnum) -> OperationSpec[S]:
        """The spec of one operation."""
        return next(o for o in self.operations if o.value == value)

    def actions_on(self, trigger: StrEnum) -> tuple[ActionSpec[S], ...]:
        """The actions entering state ``trigger`` (or applying operation ``trigger``) creates."""
        return tuple(a for a in self.actions if a.on == trigger)

    def holds(self) -> dict[StrEnum, frozenset[S]]:
        """For each kind of action some state holds, the states holding it (``held_in``)."""
        held: dict[StrEnum, frozenset[S]] = {}
        for a in self.actions:
            if a.held_in:
                held[a.kind] = held.get(a.kind, frozenset()) | frozenset(a.held_in)
        return held

    def operation_refusal(self, value: StrEnum, state: S) -> str | None:
        """Why ``state`` refuses the operation (``None`` when it allows it), guards aside."""
        operation = self.operation(value)
        if state in operation.allowed_in:
            return None
        return dict(operation.refusals).get(state) or self.state(state).refusal

    def transitions_from(
        self, source: S, event: E | None = None
    ) -> tuple[TransitionSpec[S, E], ...]:
        """The rows leaving ``source`` (for ``event`` only, when given), in table order."""
        if event is None:
            return self._by_source.get(source, ())
        return self._by_key.get((source, event), ())

    def shortest_path(
        self, source: S, goal: Callable[[S], bool], *, avoid: Collection[E] = ()
    ) -> tuple[TransitionSpec[S, E], ...] | None:
        """The fewest rows leading from ``source`` to a state where ``goal`` holds.

        Guards are not evaluated: they depend on data the table does not hold. ``()`` when
        ``source`` already satisfies ``goal``; ``None`` when no state reachable does. Ties
        break by table order, so the answer is deterministic. Rows of the events in
        ``avoid`` are not taken.
        """
        previous: dict[S, TransitionSpec[S, E] | None] = {source: None}
        queue = deque([source])
        while queue:
            state = queue.popleft()
            if goal(state):
                return path_back(previous, state)
            for row in self.transitions_from(state):
                if row.event not in avoid and row.dest not in previous:
                    previous[row.dest] = row
                    queue.append(row.dest)
        return None


def path_back(
    previous: Mapping[S, TransitionSpec[S, E] | None], state: S
) -> tuple[TransitionSpec[S, E], ...]:
    """The rows a breadth-first search took to ``state``, from where it started."""
    path: list[TransitionSpec[S, E]] = []
    step = previous[state]
    while step is not None:
        path.append(step)
        step = previous[step.source]
    return tuple(reversed(path))


def _problems(spec: MachineSpec[S, E]) -> Iterator[str]:  # noqa: C901, PLR0912
    """Yield one sentence per inconsistency; an empty iterator means the spec is valid."""
    state_values = [s.value for s in spec.states]
    event_values = [e.value for e in spec.events]
    guard_names = [g.name for g in spec.guards]
    for kind, names in (
        ("state", [str(v) for v in state_values]),
        ("event", [str(v) for v in event_values]),
        ("guard", guard_names),
    ):
        for name in sorted({n for n in names if names.count(n) > 1}):
            yield f"{kind} {_q(name)} is declared more than once: declare each {kind} once."
    for kind, values in (("state", state_values), ("event", event_values)):
        if values:
            enum = type(values[0])
            for member in enum:
                if member not in values:
                    yield (
                        f"{enum.__name__}.{member.name} ({member.value!r}) is not declared as a "
                        f"{kind}: declare it, or remove it from {enum.__name__}."
                    )

    initials = [s.value for s in spec.states if s.initial]
    if not initials:
        yield "no state is initial: mark exactly one state initial=True."
    elif len(initials) > 1:
        yield f"several initial states {_names(initials)}: mark exactly one initial=True."
    for s in spec.states:
        if s.final and (s.initial or s.entry):
            yield f"state {_q(s.value)} is both final and an entry state: a model would start dead."

    known_states, known_events = set(state_values), set(event_values)
    for t in spec.transitions:
        for end in (t.source, t.dest):
            if end not in known_states:
                yield f"transition {_row(t)} names unknown state {_q(end)}: declare it first."
        if t.event not in known_events:
            yield f"transition {_row(t)} names unknown event {_q(t.event)}: declare it first."
        if t.guard is not None and t.guard not in guard_names:
            yield (
                f"transition {_row(t)} names unknown guard {t.guard!r}: declare "
                f"GuardSpec({t.guard!r}, ...) or fix the name."
            )

    finals = {s.value for s in spec.states if s.final}
    for t in spec.transitions:
        if t.source in finals:
            yield (
                f"final state {_q(t.source)} has a way out ({_row(t)}): final states absorb every "
                f"event; remove the transition or make {_q(t.source)} non-final."
            )
    for s in spec.states:
        if not s.final and not spec.transitions_from(s.value):
            yield (
                f"state {_q(s.value)} has no way out but is not final: mark it final=True "
                "or add a transition from it."
            )

    seen: dict[tuple[E, S], list[TransitionSpec[S, E]]] = {}
    for t in spec.transitions:
        seen.setdefault((t.event, t.source), []).append(t)
    for (event, source), rows in seen.items():
        unguarded = [r for r in rows if r.guard is None]
        if len(rows) > 1 and unguarded:
            yield (
                f"event {_q(event)} from {_q(source)} has {len(rows)} rows and {len(unguarded)} "
                "without a guard: which one fires is ambiguous; guard every row or keep one."
            )

    yield from _operation_problems(spec, known_states, finals)
    yield from _action_problems(spec, known_states)

    used_events = {t.event for t in spec.transitions}
    for value in event_values:
        if value not in used_events:
            yield f"event {_q(value)} is in no transition: remove it or add a transition."
    used_guards = {t.guard for t in spec.transitions} | {o.needs for o in spec.operations}
    for name in guard_names:
        if name not in used_guards:
            yield f"guard {name!r} guards no transition: remove it or use it."

    reachable = {s.value for s in spec.states if s.initial or s.entry}
    frontier = list(reachable)
    while frontier:
        for t in spec.transitions_from(frontier.pop()):
            if t.dest in known_states and t.dest not in reachable:
                reachable.add(t.dest)
                frontier.append(t.dest)
    unreachable = [v for v in state_values if v not in reachable]
    if unreachable and initials:
        yield (
            f"unreachable states {_names(unreachable)}: add a transition into each from a "
            "reachable state, mark it entry=True, or remove it."
        )


def _operation_problems(  # noqa: C901, PLR0912 (one check per sentence, as _problems)
    spec: MachineSpec[S, E], known_states: set[S], finals: set[S]
) -> Iterator[str]:
    """Yield one sentence per inconsistency among the operations."""
    values = [o.value for o in spec.operations]
    for name in sorted({str(v) for v in values if values.count(v) > 1}):
        yield f"operation {_q(name)} is declared more than once: declare each operation once."
    if values:
        enum = type(values[0])
        for member in enum:
            if member not in values:
                yield (
                    f"{enum.__name__}.{member.name} ({member.value!r}) is not declared as an "
                    f"operation: declare it, or remove it from {enum.__name__}."
                )
    event_names = {str(e.value) for e in spec.events}
    guard_names = {g.name for g in spec.guards}
    for o in spec.operations:
        name = _q(o.value)
        if str(o.value) in event_names:
            yield (
                f"operation {name} is also an event's name: name the merchant's operations "
                "apart from the provider's events."
            )
        if not o.allowed_in:
            yield f"operation {name} is allowed in no state: name the states that allow it."
        for state in o.allowed_in:
            if state not in known_states:
                yield f"operation {name} names unknown state {_q(state)}: declare it first."
            elif state in finals:
                yield (
                    f"operation {name} is allowed in final state {_q(state)}: a final state "
                    "absorbs every operation too; remove it."
                )
        for state, _ in o.refusals:
            if state in o.allowed_in or state not in known_states:
                yield (
                    f"operation {name} gives a refusal for {_q(state)}, which is unknown or "
                    "allows it: give reasons only for the states that refuse it."
                )
        if o.needs is not None and o.needs not in guard_names:
            yield (
                f"operation {name} needs unknown guard {o.needs!r}: declare "
                f"GuardSpec({o.needs!r}, ...) or fix the name."
            )
        if not issubclass(o.refused_with, OperationNotAllowed):
            yield (
                f"operation {name} is refused with {o.refused_with.__name__}: refuse "
                "operations with an OperationNotAllowed."
            )


def _action_problems(  # noqa: C901 (one check per sentence, as _problems)
    spec: MachineSpec[S, E], known_states: set[S]
) -> Iterator[str]:
    """Yield one sentence per inconsistency among the actions."""
    operations = {o.value for o in spec.operations}
    scopes = set(ActionScope)
    seen: set[tuple[str, str, str]] = set()
    kinds = [a.kind for a in spec.actions if isinstance(a.kind, StrEnum)]
    for a in spec.actions:
        if not isinstance(a.kind, StrEnum) or not str(a.kind):
            yield f"action kind {a.kind!r} is unknown: name each kind as a member of one StrEnum."
            continue
        name = _q(a.kind)
        if kinds and type(a.kind) is not type(kinds[0]):
            yield f"action {name} is not a {type(kinds[0]).__name__}: use one enum of kinds."
        if a.on not in known_states and a.on not in operations:
            yield (
                f"action {name} is created on {_q(a.on)}, which is no such state or operation: "
                "name a declared state or operation."
            )
        if a.for_each not in scopes:
            yield (
                f"action {name} is for each {a.for_each!r}, an unknown scope: use an ActionScope."
            )
        for state in a.while_in or ():
            if state not in known_states:
                yield f"action {name} is kept while in {_q(state)}, which is no such state."
        yield from _hold_problems(a, name, known_states)
        key = (str(a.kind), str(a.on), str(a.for_each))
        if key in seen:
            yield f"action {name} on {_q(a.on)} is declared more than once: declare it once."
        seen.add(key)
    if kinds:
        for member in type(kinds[0]):
            if member not in kinds:
                yield (
                    f"{type(member).__name__}.{member.name} ({member.value!r}) is declared as "
                    "no action: declare it, or remove it from its enum."
                )


def _hold_problems(a: ActionSpec[S], name: str, known_states: set[S]) -> Iterator[str]:
    """Yield one sentence per inconsistency of an action's ``held_in``."""
    kept = set(a.while_in or ())
    for state in a.held_in:
        if state not in known_states:
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


def _row(t: TransitionSpec[S, E]) -> str:
    return f"{t.source} -{t.event}-> {t.dest}"


def _names(values: list[S]) -> str:
    return ", ".join(_q(v) for v in values)


def _q(value: object) -> str:
    """Quote a state, event or guard by its plain string (an enum's repr is noise here)."""
    return repr(str(value))

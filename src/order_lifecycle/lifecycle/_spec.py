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
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator
from enum import StrEnum
from typing import Generic, TypeVar

import attrs

from order_lifecycle.exceptions import InvalidDefinition, OperationNotAllowed, TransitionNotAllowed

from ._checks import problems_of, refines
from ._vocabulary import ActionScope

__all__ = [
    "ActionScope",
    "ActionSpec",
    "EventSpec",
    "GuardSpec",
    "ImpliedSpec",
    "MachineSpec",
    "OperationSpec",
    "StateSpec",
    "TransitionSpec",
    "breadth_first",
]

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)
N = TypeVar("N")
W = TypeVar("W")


@attrs.frozen
class StateSpec(Generic[S]):
    """One state: what it means, what holds in it, and how it refuses what it does not allow.

    ``refusal`` completes the sentence "Can't <event> when in <state>: ...", for example
    "the order has not been accepted (payment is not yet authorized)"; ``refused_with`` is
    the class of those refusals, for the events whose own ``refused_with`` it refines (a
    checkout in doubt refuses a submission with ``SubmissionInDoubt``, a
    ``SubmissionRefused``); ``None``: the event's own class.
    ``initial`` marks the one state a new model starts in; ``entry`` marks further states a
    model may be created in (an order the provider creates already ``accepted``).
    ``requires`` names guards that hold for every model in this state (a fulfilled order
    has no open unit): a model whose data breaks one is inconsistent. ``customer`` is what
    a customer may be told of a model in this state (no provider code, ever).
    """

    value: S
    description: str
    refusal: str
    initial: bool = False
    entry: bool = False
    final: bool = False
    requires: tuple[str, ...] = ()
    refused_with: type[TransitionNotAllowed] | None = None
    customer: str | None = None


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
class ImpliedSpec(Generic[S]):
    """A row of the rule saying which state a model's data implies: ``state``, when ``guard`` holds.

    A spec's rows are read in order, the first whose guard holds giving the state (an order
    with every unit cancelled is ``cancelled`` before it is anything else); the last row
    has no guard: the state implied when no other row holds.
    """

    state: S
    guard: str | None = None


@attrs.frozen
class OperationSpec(Generic[S]):
    """A merchant operation: the states that allow it, and why every other state refuses it.

    ``requested_as`` is the provider request that reports it (``"POST /fulfillments"``).
    In a state not in ``allowed_in`` the reason given is the one ``refusals`` names for it,
    else the state's own ``refusal``. ``limits`` names states of ``allowed_in`` that allow
    it only in part, with the reason refusing the rest (pending payment, only the whole
    order may be cancelled). ``needs`` names a guard (a condition on the model's data,
    asked with no row) that must also hold; ``refused_with`` is the class of the refusal,
    an :class:`OperationNotAllowed`.
    """

    value: StrEnum
    description: str
    allowed_in: tuple[S, ...]
    requested_as: str
    refusals: tuple[tuple[S, str], ...] = ()
    needs: str | None = None
    refused_with: type[OperationNotAllowed] = OperationNotAllowed
    limits: tuple[tuple[S, str], ...] = ()


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
    tells_customer: bool = False
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
    implied: tuple[ImpliedSpec[S], ...] = ()
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
        problems = list(problems_of(self))
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
        entry and final marks, and what they require), the events, the guards' names, every
        row (event, source, destination, guard), every operation (the states allowing it,
        its guard), every action (its kind, trigger, scope, the states keeping and holding
        it) and the rule of implied states (its rows in order). Descriptions, refusal
        sentences, customer sentences and rule tags do not count, so rewording a row keeps
        the version; any change to what is legal changes it. Stores stamp each history step
        with it.
        """
        canonical = {
            "name": self.name,
            "states": sorted(_state_key(s) for s in self.states),
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
        if self.implied:  # absent when none; in order: the first row that holds wins
            canonical["implied"] = [[str(i.state), i.guard or ""] for i in self.implied]
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

    def refused_with(self, state: S, event: E) -> type[TransitionNotAllowed]:
        """The class of a refusal of ``event`` in ``state``: the state's, if it refines the event's.

        An event's ``refused_with`` (other than the plain :class:`TransitionNotAllowed`)
        names a family of refusals; a state's names the member of that family it refuses
        with. Any other event keeps its own class.
        """
        family = self.event(event).refused_with
        own = self.state(state).refused_with
        if own is not None and refines(own, family):
            return own
        return family

    def sources(self, event: E) -> tuple[S, ...]:
        """The states with a row of ``event``, in table order, each once."""
        return tuple(dict.fromkeys(row.source for row in self.transitions if row.event == event))

    def transitions_from(
        self, source: S, event: E | None = None
    ) -> tuple[TransitionSpec[S, E], ...]:
        """The rows leaving ``source`` (for ``event`` only, when given), in table order."""
        if event is None:
            return self._by_source.get(source, ())
        return self._by_key.get((source, event), ())

    def paths(
        self,
        source: S,
        *,
        avoid: Collection[E] = (),
        skip: Callable[[TransitionSpec[S, E]], bool] | None = None,
    ) -> Iterator[tuple[S, tuple[TransitionSpec[S, E], ...]]]:
        """Every state the table leads to from ``source``, nearest first, with the rows there.

        The one path search of the table (:func:`breadth_first` over its rows, guards aside:
        they depend on data the table does not hold): ``explain``'s shortest ways, what
        leads where for reconciliation and the testing kit, and the checks of a spec all
        read it. Each state comes once, with the first of its shortest paths in table
        order (``source`` itself first, with ``()``). Rows of the events in ``avoid``, and
        rows ``skip`` says to leave out, are not taken.
        """

        def ways(state: S) -> Iterator[tuple[TransitionSpec[S, E], S]]:
            for row in self.transitions_from(state):
                if row.event not in avoid and (skip is None or not skip(row)):
                    yield row, row.dest

        return breadth_first(source, ways)

    def shortest_path(
        self,
        source: S,
        goal: Callable[[S], bool],
        *,
        avoid: Collection[E] = (),
        skip: Callable[[TransitionSpec[S, E]], bool] | None = None,
    ) -> tuple[TransitionSpec[S, E], ...] | None:
        """The fewest rows leading from ``source`` to a state where ``goal`` holds (:meth:`paths`).

        ``()`` when ``source`` already satisfies ``goal``; ``None`` when no state reachable
        does. Ties break by table order, so the answer is deterministic.
        """
        return next(
            (path for state, path in self.paths(source, avoid=avoid, skip=skip) if goal(state)),
            None,
        )

    def reachable(
        self,
        source: S,
        *,
        avoid: Collection[E] = (),
        skip: Callable[[TransitionSpec[S, E]], bool] | None = None,
    ) -> frozenset[S]:
        """The states the table leads to from ``source`` (itself included), guards aside."""
        return frozenset(state for state, _ in self.paths(source, avoid=avoid, skip=skip))

    def only_through(self, state: S) -> frozenset[S]:
        """The states a model reaches only by way of ``state`` (itself included).

        From no entry state but ``state`` does a path that never enters it lead there: for
        the order, every state after acceptance (``fulfilled``, ``dispute``, ...).
        """
        around: set[S] = set()
        for entry in self.entry_states:
            if entry != state:
                around |= self.reachable(entry, skip=lambda row: row.dest == state)
        return frozenset(s.value for s in self.states if s.value not in around)


def _state_key(state: StateSpec[S]) -> list[object]:
    """What of a state counts in a spec's version (its requirements only when it has some)."""
    key: list[object] = [str(state.value), state.initial, state.entry, state.final]
    if state.requires:  # absent when none: a state that requires nothing keeps its version
        key.append(sorted(state.requires))
    return key


def breadth_first(
    start: N,
    ways: Callable[[N], Iterable[tuple[W, N]]],
    key: Callable[[N], Hashable] = lambda node: node,
) -> Iterator[tuple[N, tuple[W, ...]]]:
    """Every node reachable from ``start``, nearest first, each with the ways taken to it.

    ``ways`` gives a node's ways on (a way, such as a row, and the node it leads to) in the
    order to try them; nodes with one ``key`` are one node. Each node comes once, with the
    first of its shortest paths in that order (``start`` first, with ``()``), so the answer
    is deterministic. Lazy: a caller stops once it has what it needs, and a node's ways are
    asked for only when the caller goes on past it. The library's one breadth-first search:
    over a table's states (:meth:`MachineSpec.paths`), and over models the guards judge
    (reconciliation's search on copies of an order).
    """
    seen = {key(start)}
    queue: deque[tuple[N, tuple[W, ...]]] = deque([(start, ())])
    while queue:
        node, path = queue.popleft()
        yield node, path
        for way, child in ways(node):
            child_key = key(child)
            if child_key not in seen:
                seen.add(child_key)
                queue.append((child, (*path, way)))

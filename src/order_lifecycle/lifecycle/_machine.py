"""A typed facade over a lifecycle table compiled once from a :class:`MachineSpec`.

``transitions.Machine`` stays the declared engine: each :class:`Machine` builds one from its
spec (``auto_transitions=False``, the guards as conditions) and compiles its own table from
the engine's transitions, checking that they agree row for row. Every question (``fire``,
``can_fire``, ``allowed_events``, ``explain``) is then a dict lookup keyed by state and
event, with the guards as plain callables and the shortest paths between states found once.
A differential property test drives the table and the engine with the same events and guard
outcomes and asserts the same decisions (``tests/test_machine_differential.py``).

Why a facade at all: ``transitions`` attaches trigger methods to models at run time (invisible
to a type checker) and raises a string-only ``MachineError``. Here the engine never sees our
models (it runs on a carrier holding the state as a plain string), and a successful transition
is committed to the model in one place, together with its history step. Refusals raise our
:class:`TransitionNotAllowed` (or the event's own subclass).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, cast

from transitions import Machine as _Engine
from transitions.core import EventData

from order_lifecycle.exceptions import (
    InvalidDefinition,
    InvalidInput,
    OperationNotAllowed,
    TransitionNotAllowed,
    UnknownEvent,
    UnknownOperation,
    WrongType,
)

from ._spec import GuardSpec, MachineSpec, TransitionSpec

__all__ = ["Machine", "slot_setter"]

from ._step import (
    E,
    Explanation,
    Guard,
    M,
    Move,
    S,
    Stateful,
    Step,
    coerce,
    move,
    recorded,
)


class _Carrier(Generic[M]):
    """What the engine sees instead of a model: the state as a plain string, and the row taken."""

    __slots__ = ("model", "row", "state")

    def __init__(self, model: M, state: str) -> None:
        self.model = model
        self.state = state
        self.row: object = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


_Compiled = tuple[tuple[TransitionSpec[S, E], "Guard[M, S, E] | None"], ...]
# What fire reads per row: the row, its guard, its destination and its two shared moves
# (announced, implied), so that recording a step builds nothing but the step.
_Firing = tuple[tuple[TransitionSpec[S, E], "Guard[M, S, E] | None", S, tuple[Move, Move]], ...]


def _assign_state(model: Stateful[S, E], state: S) -> None:
    model.state = state


def slot_setter(cls: type[Any], name: str = "state") -> Callable[[Any, Any], None]:
    """A writer of the slot ``name`` of ``cls``'s instances that skips ``cls.__setattr__``.

    For a model whose ``__setattr__`` only checks and converts what is assigned (an attrs
    class's converter and validators), given to a :class:`Machine` as ``set_state``: what
    the machine writes is a member of its spec's states, which the check would give back
    unchanged, at a cost (for ``Order``, more than the rest of ``fire``). Assignments from
    anywhere else still go through the check.

    Raises:
        InvalidDefinition: ``name`` is no slot of ``cls`` (a plain attribute or a property
            cannot be written this way).

    """
    slot: object = next((vars(k)[name] for k in cls.__mro__ if name in vars(k)), None)
    if not isinstance(slot, types.MemberDescriptorType):
        raise InvalidDefinition(f"{cls.__name__}.{name} is not a slot, so it has no direct writer.")
    return slot.__set__


def _made(event_id: object, implied: object) -> int:
    """Which of a row's two moves a step makes (1: implied), once its id and flag are checked."""
    if event_id is not None and type(event_id) is not str:
        raise WrongType("event_id", "a str or None", event_id)
    if implied is not True and implied is not False:
        raise WrongType("implied", "a bool", implied)
    return 1 if implied else 0


class Machine(Generic[S, E, M]):
    """Fires events at models of one spec, enforcing its table and guards.

    ``set_state`` commits a move to the model (by default an assignment to ``state``); a
    model whose assignment re-checks every value may pass its slot's own writer,
    :func:`slot_setter`, since the machine writes only states of its spec.

    Raises:
        InvalidDefinition: when ``guards`` does not bind exactly the guards the spec names,
            or when the compiled table and the ``transitions`` engine disagree.

    """

    def __init__(
        self,
        spec: MachineSpec[S, E],
        guards: Mapping[str, Guard[M, S, E]],
        clock: Callable[[], datetime] = _utc_now,
        *,
        set_state: Callable[[M, S], None] | None = None,
    ) -> None:
        declared = {g.name for g in spec.guards}
        missing, extra = sorted(declared - guards.keys()), sorted(guards.keys() - declared)
        if missing or extra:
            raise InvalidDefinition(
                f"The {spec.name} machine's guards do not match its spec: "
                f"missing predicates for {missing}, predicates for undeclared guards {extra}; "
                "bind one predicate per GuardSpec."
            )
        self.spec = spec
        self._set_state: Callable[[M, S], None] = set_state or _assign_state
        self._guards = dict(guards)
        self._clock = clock
        self._states = type(spec.states[0].value)
        self._events = type(spec.events[0].value)
        self.engine = _Engine(
            model=None,
            states=[str(s.value) for s in spec.states],
            initial=str(spec.initial),
            transitions=[self._engine_row(row) for row in spec.transitions],
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        self._table = self._compile()
        # Each row's two moves (announced, implied), shared by every step taking it.
        self._moves: dict[TransitionSpec[S, E], tuple[Move, Move]] = {
            row: (
                move(row.event, row.source, row.dest, implied=False),
                move(row.event, row.source, row.dest, implied=True),
            )
            for row in spec.transitions
        }
        self._firing: dict[tuple[S, E], _Firing[S, E, M]] = {
            key: tuple((row, guard, row.dest, self._moves[row]) for row, guard in rows)
            for key, rows in self._table.items()
        }
        self._events_from = {
            s.value: tuple(e.value for e in spec.events if (s.value, e.value) in self._table)
            for s in spec.states
        }
        self._operations = {o.value: o for o in spec.operations}
        self._operation_enum = type(spec.operations[0].value) if spec.operations else None
        self._performable = {
            (state, o.value): None if o.needs is None else self._guards[o.needs]
            for o in spec.operations
            for state in o.allowed_in
        }
        self._operations_in = {
            s.value: tuple(o.value for o in spec.operations if s.value in o.allowed_in)
            for s in spec.states
        }
        self._nearest = self._nearest_paths()
        self._reach: dict[frozenset[E], dict[S, frozenset[S]]] = {}
        # What each state requires of a model's data, and the rule of implied states, as the
        # guards that decide them.
        self._requires = {
            s.value: tuple((self._guards[name], spec.guard(name)) for name in s.requires)
            for s in spec.states
        }
        self._implied = tuple(
            (i.state, None if i.guard is None else self._guards[i.guard]) for i in spec.implied
        )
        self._refused_with = {
            (s.value, e.value): spec.refused_with(s.value, e.value)
            for s in spec.states
            for e in spec.events
        }

    def __repr__(self) -> str:
        return f"<Machine({self.spec.name!r}, num_transitions={len(self.spec.transitions)})>"

    def _engine_row(self, row: TransitionSpec[S, E]) -> dict[str, object]:
        def taken(data: EventData) -> None:
            cast("_Carrier[M]", data.model).row = row

        engine_row: dict[str, object] = {
            "trigger": str(row.event),
            "source": str(row.source),
            "dest": str(row.dest),
            "before": [taken],
        }
        if row.guard is not None:
            guard = self._guards[row.guard]

            def condition(data: EventData) -> bool:
                return guard(cast("_Carrier[M]", data.model).model, row)

            engine_row["conditions"] = [condition]
        return engine_row

    def _compile(self) -> dict[tuple[S, E], _Compiled[S, E, M]]:
        """The table as ``(state, event) -> ((row, guard or None), ...)``, from the engine's rows.

        The engine keeps, per trigger and source, its transitions in declaration order: the
        order in which it tries their conditions. The compiled table takes the same order,
        so the first row whose guard passes is the one both take.
        """
        table: dict[tuple[S, E], _Compiled[S, E, M]] = {}
        for trigger, engine_event in self.engine.events.items():
            event = self._events(trigger)
            for source, engine_rows in engine_event.transitions.items():
                state = self._states(source)
                rows = self.spec.transitions_from(state, event)
                if [r.dest for r in rows] != [self._states(str(t.dest)) for t in engine_rows]:
                    raise InvalidDefinition(
                        f"The {self.spec.name} table and its transitions engine disagree on "
                        f"{event} from {state}."
                    )
                table[state, event] = tuple(
                    (row, None if row.guard is None else self._guards[row.guard]) for row in rows
                )
        if len(table) != len({(r.source, r.event) for r in self.spec.transitions}):
            raise InvalidDefinition(f"The {self.spec.name} engine lost rows of its table.")
        return table

    def _nearest_paths(self) -> dict[tuple[S, StrEnum], tuple[TransitionSpec[S, E], ...]]:
        """For each state and event (or operation), the fewest rows to where it is defined.

        The spec's one path search, from each state, guards aside. Rows of an event that
        has several from one state (the guard chooses among them, as a resolved dispute
        goes back where it began) are not planned through: which one is taken depends on
        data, so :meth:`explain` takes them only as a first step, where the guards can say.
        """
        choices = {key for key, rows in self._table.items() if len(rows) > 1}
        nearest: dict[tuple[S, StrEnum], tuple[TransitionSpec[S, E], ...]] = {}
        for start in self.spec.states:
            ways = self.spec.paths(start.value, skip=lambda row: (row.source, row.event) in choices)
            for state, path in ways:
                subjects: tuple[StrEnum, ...] = (
                    *self._events_from[state],
                    *self._operations_in[state],
                )
                for subject in subjects:
                    nearest.setdefault((start.value, subject), path)
        return nearest

    def leads(self, source: S, dest: S, *, avoid: Collection[E] = ()) -> bool:
        """Whether the table leads from ``source`` to ``dest`` (guards aside), without ``avoid``.

        Reachability is computed once per set of avoided events (the spec's path search
        from every state) and kept, so reconciliation's questions about states are set
        lookups.
        """
        key = frozenset(avoid)
        reach = self._reach.get(key)
        if reach is None:
            reach = self._reach[key] = {
                s.value: self.spec.reachable(s.value, avoid=key) for s in self.spec.states
            }
        return dest in reach[source]

    def implied_state(self, model: M) -> S | None:
        """The state the model's data implies: the first row of the spec's rule that holds.

        ``None`` when the spec declares no such rule.
        """
        for state, guard in self._implied:
            if guard is None or guard(model, None):
                return state
        return None

    def unmet_requirements(self, model: M) -> tuple[GuardSpec, ...]:
        """The guards the model's state requires (``StateSpec.requires``) that its data breaks."""
        requires = self._requires[model.state]
        if not requires:  # most states require nothing: no generator started
            return ()
        return tuple(spec for guard, spec in requires if not guard(model, None))

    def event(self, value: object) -> E:
        """``value`` as one of this machine's events (its name is accepted)."""
        if type(value) is self._events:  # the hot path: a member, as it is
            return value
        return coerce(self._events, value, self.spec.name, UnknownEvent)

    def row_for(self, model: M, event: E) -> TransitionSpec[S, E] | None:
        """The row ``event`` takes now: the first whose guard passes; ``None`` if none."""
        for row, guard in self._table.get((model.state, event), ()):
            if guard is None or guard(model, row):
                return row
        return None

    def can_fire(self, model: M, event: E | str) -> bool:
        """Whether ``event`` would be accepted now; never changes anything."""
        return self.row_for(model, self.event(event)) is not None

    def allowed_events(self, model: M) -> tuple[E, ...]:
        """Every event that would be accepted now, in declaration order."""
        return tuple(e for e in self._events_from[model.state] if self.row_for(model, e))

    def fire(
        self,
        model: M,
        event: E | str,
        *,
        at: datetime | None = None,
        event_id: str | None = None,
        implied: bool = False,
    ) -> Step[S, E]:
        """Move ``model`` along ``event`` and record the step in its history.

        Raises:
            UnknownEvent: ``event`` is not one of this machine's events.
            WrongType: ``event``, ``at``, ``event_id`` or ``implied`` has the wrong type.
            TransitionNotAllowed: the event is refused now (or the event's own subclass,
                such as ``FulfillmentNotAllowed``); the model is unchanged.

        """
        if type(event) is not self._events:  # a member is taken as it is
            event = self.event(event)
        if at is None:
            at = self._clock()
        elif not isinstance(at, datetime) or at.tzinfo is None:
            raise WrongType("at", "a timezone-aware datetime", at)
        made = 0 if event_id is None and implied is False else _made(event_id, implied)
        for row, guard, dest, moves in self._firing.get((model.state, event), ()):
            if guard is None or guard(model, row):
                # The one commit point. The step is built from checked parts only (a row of
                # the table, an aware time, an id checked above), so past the constructor's
                # checks; the state is one of the table's, so written past the model's own
                # converter when the machine was given its slot's writer.
                step: Step[S, E] = recorded(moves[made], at, event_id)
                self._set_state(model, dest)
                model.history.append(step)
                return step
        raise self._refusal(model, event)

    def record(
        self,
        model: M,
        row: TransitionSpec[S, E],
        *,
        at: datetime,
        event_id: str | None = None,
        implied: bool = False,
    ) -> Step[S, E]:
        """Move ``model`` along ``row`` without asking its guard, and record the step.

        Only for a step the provider reports that the library's guard would refuse, where
        the provider's word wins: a dispute resolved into a state other than the one before
        it (DESIGN 1.2, [X]). The step is still a row of the table, so the history replays.

        Raises:
            InvalidInput: ``row`` is not a row of this machine's table leaving the model's
                state; the model is unchanged.
            WrongType: ``at``, ``event_id`` or ``implied`` has the wrong type.

        """
        moves = self._moves.get(row)
        if moves is None or row.source != model.state:
            raise InvalidInput(
                f"{row.source} -{row.event}-> {row.dest} is not a row of the {self.spec.name} "
                f"table leaving {model.state}."
            )
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise WrongType("at", "a timezone-aware datetime", at)
        made = _made(event_id, implied)
        step: Step[S, E] = recorded(moves[made], at, event_id)
        self._set_state(model, row.dest)
        model.history.append(step)
        return step

    def operation(self, value: object) -> StrEnum:
        """``value`` as one of this machine's operations (its name is accepted)."""
        if self._operation_enum is None:
            raise UnknownOperation(self.spec.name, value, ())
        if type(value) is self._operation_enum:
            return value  # a member, as it is
        return coerce(self._operation_enum, value, self.spec.name, UnknownOperation)

    def operation_refusal(self, model: M, operation: StrEnum | str) -> str | None:
        """Why the operation is refused now (``None`` when it is allowed); changes nothing."""
        operation = self.operation(operation)
        key = (model.state, operation)
        if key not in self._performable:
            return self.spec.operation_refusal(operation, model.state)
        guard = self._performable[key]
        if guard is None or guard(model, None):
            return None
        needs = self._operations[operation].needs
        return f"not until {self.spec.guard(needs).description}" if needs else None

    def can_perform(self, model: M, operation: StrEnum | str) -> bool:
        """Whether the table (and the operation's guard) allows the operation now."""
        return self.operation_refusal(model, operation) is None

    def allowed_operations(self, model: M) -> tuple[StrEnum, ...]:
        """Every operation the table allows now, in declaration order."""
        return tuple(
            o for o in self._operations_in[model.state] if self.operation_refusal(model, o) is None
        )

    def require(self, model: M, operation: StrEnum | str) -> None:
        """Raise the operation's refusal unless the table allows it now; changes nothing.

        Raises:
            OperationNotAllowed: the operation's own subclass, naming the state and why.
            UnknownOperation: not an operation of this machine.

        """
        reason = self.operation_refusal(model, operation)
        if reason is not None:
            raise self.operation_refused(model, operation, reason)

    def operation_refused(
        self, model: M, operation: StrEnum | str, reason: str
    ) -> OperationNotAllowed:
        """The operation's refusal (its spec's class) in the model's state, for ``reason``."""
        operation = self.operation(operation)
        return self._operations[operation].refused_with(operation, model.state, reason)

    def _subject(self, value: object) -> tuple[E | None, StrEnum | None]:
        """``value`` as ``(event, None)`` or as ``(None, operation)``."""
        if self._operation_enum is not None and (
            isinstance(value, self._operation_enum)
            or (
                isinstance(value, str)
                and not isinstance(value, StrEnum)
                and value in self._operations
            )
        ):
            return None, self.operation(value)
        try:
            return self.event(value), None
        except UnknownEvent as error:
            known = [*error.known, *(str(o) for o in self._operations)]
            raise UnknownEvent(self.spec.name, value, known) from None

    def explain(self, model: M, subject: E | StrEnum | str) -> Explanation[S, E]:
        """Why an event or operation is refused now, and the shortest way to allowing it.

        Read from the paths found when the machine was built; the guards are asked about
        the model's data as it is now. A first step the guards choose among (a resolved
        dispute) is the row they pass, so the path goes on from where the dispute began.
        Each condition is given with the row (or operation) that needs it.
        """
        event, operation = self._subject(subject)
        state = model.state
        asked: StrEnum
        if event is not None:
            asked, refusal = (
                event,
                None if self.row_for(model, event) else self._reason(model, event),
            )
        else:
            asked = cast("StrEnum", operation)  # one of the two is set, by _subject
            refusal = self.operation_refusal(model, asked)
        if refusal is None:
            return Explanation(asked, state, allowed=True, reason="", path=(), conditions=())
        path = self._path_to(model, asked, is_operation=event is None)
        if path is None:
            return Explanation(
                asked, state, allowed=False, reason=refusal, path=None, conditions=()
            )
        goal = path[-1].dest if path else state
        needs = self._event_needs(model, goal, event) if event is not None else ()
        if operation is not None:
            needs = self._operation_needs(model, goal, operation)
        return Explanation(
            asked,
            state,
            allowed=False,
            reason=refusal,
            path=tuple(row.event for row in path),
            conditions=needs,
            path_conditions=tuple(self._unmet(model, row) for row in path),
        )

    def _event_needs(self, model: M, goal: S, event: E) -> tuple[str, ...]:
        """What ``event`` still needs in ``goal``: its rows' unmet guards (none if one passes)."""
        unmet = [self._unmet(model, row) for row, _ in self._table[goal, event]]
        return tuple(dict.fromkeys(u for u in unmet if u)) if all(unmet) else ()

    def _operation_needs(self, model: M, goal: S, operation: StrEnum) -> tuple[str, ...]:
        """What ``operation`` still needs in ``goal``: its guard, unless it holds now."""
        guard = self._performable[goal, operation]
        needs = self._operations[operation].needs
        if guard is None or needs is None or guard(model, None):
            return ()
        return (self.spec.guard(needs).description,)

    def _path_to(
        self, model: M, subject: StrEnum, *, is_operation: bool
    ) -> tuple[TransitionSpec[S, E], ...] | None:
        """The fewest rows from the model's state to one where ``subject`` is defined."""
        state = model.state
        if (state, subject) in (self._performable if is_operation else self._table):
            return ()
        best: tuple[TransitionSpec[S, E], ...] | None = None
        for first in self._events_from[state]:
            rows = self._table[state, first]
            if len(rows) > 1:  # a choice: the row the guards pass, else none of them
                chosen = self.row_for(model, first)
                candidates = (chosen,) if chosen is not None else ()
            else:
                candidates = (rows[0][0],)
            for row in candidates:
                rest = self._nearest.get((row.dest, subject))
                if rest is not None and (best is None or len(rest) + 1 < len(best)):
                    best = (row, *rest)
        return best

    def _unmet(self, model: M, row: TransitionSpec[S, E]) -> str | None:
        """The description of ``row``'s guard when it does not hold now, else ``None``."""
        if row.guard is None or self._guards[row.guard](model, row):
            return None
        return self.spec.guard(row.guard).description

    def _reason(self, model: M, event: E) -> str:
        rows = self._table.get((model.state, event))
        if not rows:
            return self.spec.state(model.state).refusal
        failing = dict.fromkeys(
            self.spec.guard(row.guard).description
            for row, guard in rows
            if row.guard is not None and guard is not None and not guard(model, row)
        )
        return f"not until {' or '.join(failing)}"

    def refused_with(self, state: S, event: E) -> type[TransitionNotAllowed]:
        """The class of a refusal of ``event`` in ``state`` (:meth:`MachineSpec.refused_with`)."""
        return self._refused_with[state, event]

    def _refusal(self, model: M, event: E) -> TransitionNotAllowed:
        refused_with = self._refused_with[model.state, event]
        return refused_with(event, model.state, self._reason(model, event))

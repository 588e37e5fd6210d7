"""A typed facade over ``transitions.Machine``, built from a :class:`MachineSpec`.

Why a facade: ``transitions`` attaches trigger methods to models at run time (invisible to a
type checker) and raises a string-only ``MachineError``. Here the engine never sees our
models: it runs on a throwaway carrier holding the state as a plain string, and a successful
transition is committed to the model in one place (:meth:`Machine.fire`), together with its
history step. Refusals raise our :class:`TransitionNotAllowed` (or the event's own subclass).
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar, cast

import attrs
from transitions import Machine as _Engine
from transitions import MachineError
from transitions.core import EventData

from ._spec import MachineSpec, TransitionSpec
from .exceptions import (
    InvalidDefinition,
    InvalidInput,
    TransitionNotAllowed,
    UnknownEvent,
    WrongType,
)

__all__ = ["Explanation", "Guard", "Machine", "Stateful", "Step", "coerce"]

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)
V = TypeVar("V", bound=StrEnum)


@attrs.frozen
class Step(Generic[S, E]):
    """One entry of a model's history: ``event`` moved it from ``source`` to ``dest`` at ``at``.

    ``event`` and ``source`` are ``None`` for the step that created the model.
    ``event_id`` is the provider's event id when a webhook announced the step; ``implied``
    marks a step no event announced (reconstructed from a later snapshot).
    """

    event: E | None
    source: S | None
    dest: S
    at: datetime
    event_id: str | None = None
    implied: bool = False


class Stateful(Protocol[S, E]):
    """What a machine needs of a model: a state it may set and a history it may append to."""

    state: S
    history: list[Step[S, E]]


M = TypeVar("M", bound=Stateful[Any, Any])

Guard = Callable[[M, TransitionSpec[S, E]], bool]
"""A predicate over the model and the row it would take; named in the spec, bound here."""


@attrs.frozen
class Explanation(Generic[S, E]):
    """Why ``event`` is (or is not) allowed in ``state``, and what would allow it.

    ``path`` is the shortest sequence of events after which ``event`` is defined (``()`` when
    it already is), or ``None`` when no sequence of events leads there. ``conditions`` are
    the guards that must also hold along the way, as sentences.
    """

    event: E
    state: S
    allowed: bool
    reason: str
    path: tuple[E, ...] | None
    conditions: tuple[str, ...]

    def __str__(self) -> str:
        if self.allowed:
            return f"{self.event} is allowed in {self.state}."
        text = f"Can't {self.event} when in {self.state}: {self.reason}."
        if self.path is None:
            return f"{text} No sequence of events makes it possible."
        if self.path:
            text += f" It becomes possible after: {', '.join(self.path)}"
            text += f" (when {'; '.join(self.conditions)})." if self.conditions else "."
        return text


def coerce(
    enum: type[V],
    value: object,
    machine: str,
    error: Callable[[str, object, list[str]], InvalidInput],
) -> V:
    """``value`` as a member of ``enum``, accepting its string value; else a typed error."""
    if isinstance(value, enum):
        return value
    if not isinstance(value, str) or isinstance(value, StrEnum):
        raise WrongType(enum.__name__, f"an {enum.__name__} member or its str value", value)
    try:
        return enum(value)
    except ValueError:
        raise error(machine, value, [str(m) for m in enum]) from None


class _Carrier(Generic[M]):
    """What the engine sees instead of a model: the state as a plain string."""

    __slots__ = ("model", "state")

    def __init__(self, model: M, state: str) -> None:
        self.model = model
        self.state = state


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Machine(Generic[S, E, M]):
    """Fires events at models of one spec, enforcing its table and guards.

    Raises:
        InvalidDefinition: when ``guards`` does not bind exactly the guards the spec names.

    """

    def __init__(
        self,
        spec: MachineSpec[S, E],
        guards: Mapping[str, Guard[M, S, E]],
        clock: Callable[[], datetime] = _utc_now,
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
        self._guards = dict(guards)
        self._clock = clock
        self._states = type(spec.states[0].value)
        self._events = type(spec.events[0].value)
        self._engine = _Engine(
            model=None,
            states=[str(s.value) for s in spec.states],
            initial=str(spec.initial),
            transitions=[self._engine_row(row) for row in spec.transitions],
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )

    def __repr__(self) -> str:
        return f"<Machine({self.spec.name!r}, num_transitions={len(self.spec.transitions)})>"

    def _engine_row(self, row: TransitionSpec[S, E]) -> dict[str, object]:
        engine_row: dict[str, object] = {
            "trigger": str(row.event),
            "source": str(row.source),
            "dest": str(row.dest),
        }
        if row.guard is not None:
            guard = self._guards[row.guard]

            def condition(data: EventData) -> bool:
                carrier = cast("_Carrier[M]", data.model)
                return guard(carrier.model, row)

            engine_row["conditions"] = [condition]
        return engine_row

    def event(self, value: object) -> E:
        """``value`` as one of this machine's events (its name is accepted)."""
        return coerce(self._events, value, self.spec.name, UnknownEvent)

    def _passes(self, model: M, row: TransitionSpec[S, E]) -> bool:
        return row.guard is None or self._guards[row.guard](model, row)

    def can_fire(self, model: M, event: E | str) -> bool:
        """Whether ``event`` would be accepted now; never changes anything."""
        rows = self.spec.transitions_from(model.state, self.event(event))
        return any(self._passes(model, row) for row in rows)

    def allowed_events(self, model: M) -> tuple[E, ...]:
        """Every event that would be accepted now, in declaration order."""
        return tuple(e.value for e in self.spec.events if self.can_fire(model, e.value))

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
            WrongType: ``event`` or ``at`` has the wrong type.
            TransitionNotAllowed: the event is refused now (or the event's own subclass,
                such as ``FulfillmentNotAllowed``); the model is unchanged.

        """
        event = self.event(event)
        when = self._clock() if at is None else at
        if not isinstance(when, datetime) or when.tzinfo is None:
            raise WrongType("at", "a timezone-aware datetime", at)
        source = model.state
        carrier = _Carrier(model, str(source))
        try:
            moved = self._engine.events[str(event)].trigger(carrier)
        except MachineError as error:  # the event has no row from this state
            raise self._refusal(model, event) from error
        if not moved:  # rows exist, but every guard said no
            raise self._refusal(model, event)
        step: Step[S, E] = Step(event, source, self._states(carrier.state), when, event_id, implied)
        return self._commit(model, step)

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
            WrongType: ``at`` is not a timezone-aware datetime.

        """
        if row not in self.spec.transitions or row.source != model.state:
            raise InvalidInput(
                f"{row.source} -{row.event}-> {row.dest} is not a row of the {self.spec.name} "
                f"table leaving {model.state}."
            )
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise WrongType("at", "a timezone-aware datetime", at)
        return self._commit(model, Step(row.event, row.source, row.dest, at, event_id, implied))

    @staticmethod
    def _commit(model: M, step: Step[S, E]) -> Step[S, E]:
        # The one commit point: state first (it validates), then the history that explains it.
        model.state = step.dest
        model.history.append(step)
        return step

    def explain(self, model: M, event: E | str) -> Explanation[S, E]:
        """Why ``event`` is refused now, and the shortest sequence of events that would allow it.

        The search runs on copies of ``model``: where a row of an event passes its guard now,
        that row is the one the event would take (a resolved dispute goes back to where the
        order was); where none passes, each stays possible once its guard holds, and the guard
        becomes one of the explanation's conditions.
        """
        event = self.event(event)
        state = model.state
        if self.can_fire(model, event):
            return Explanation(event, state, allowed=True, reason="", path=(), conditions=())
        reason = self._reason(model, event)
        queue: deque[tuple[M, tuple[E, ...], tuple[str, ...]]] = deque([(model, (), ())])
        seen = {state}
        while queue:
            node, path, conditions = queue.popleft()
            goal = self._rows_taken(node, event)
            if goal:
                needed = tuple(self._unmet(node, goal))
                met = tuple(dict.fromkeys(conditions + needed))
                return Explanation(
                    event, state, allowed=False, reason=reason, path=path, conditions=met
                )
            for spec in self.spec.events:
                for row in self._rows_taken(node, spec.value):
                    if row.dest not in seen:
                        seen.add(row.dest)
                        child = copy.deepcopy(node)
                        child.state = row.dest
                        child.history.append(Step(row.event, row.source, row.dest, _utc_now()))
                        unmet = conditions + tuple(self._unmet(node, [row]))
                        queue.append((child, (*path, row.event), unmet))
        return Explanation(event, state, allowed=False, reason=reason, path=None, conditions=())

    def _rows_taken(self, model: M, event: E) -> list[TransitionSpec[S, E]]:
        """The row ``event`` takes now if a guard passes, else every row it might take later."""
        rows = self.spec.transitions_from(model.state, event)
        passing = [row for row in rows if self._passes(model, row)]
        return passing[:1] or list(rows)

    def _unmet(self, model: M, rows: list[TransitionSpec[S, E]]) -> Iterator[str]:
        """The descriptions of the guards on ``rows`` that do not hold now."""
        for row in rows:
            if not self._passes(model, row):
                yield self.spec.guard(row.guard).description if row.guard else ""

    def _reason(self, model: M, event: E) -> str:
        rows = self.spec.transitions_from(model.state, event)
        if not rows:
            return self.spec.state(model.state).refusal
        failing = dict.fromkeys(
            self.spec.guard(row.guard).description
            for row in rows
            if row.guard is not None and not self._passes(model, row)
        )
        return f"not until {' or '.join(failing)}"

    def _refusal(self, model: M, event: E) -> TransitionNotAllowed:
        refused_with = self.spec.event(event).refused_with
        return refused_with(event, model.state, self._reason(model, event))

"""What a machine hands out and asks for: a history step, an explanation, a stateful model.

These are values (and one protocol) that models, stores and reports share without needing the
machine itself: a :class:`Step` of a history, the :class:`Explanation` of why an event or
operation is or is not allowed, the :class:`Stateful` shape a machine moves, and the
:data:`Guard` signature the spec's guard names are bound to.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

import attrs

from order_lifecycle.exceptions import InvalidInput, WrongType

from ._spec import TransitionSpec

__all__ = [
    "EPOCH",
    "EXACT_SECONDS",
    "STEP_FIELDS",
    "Explanation",
    "Guard",
    "Move",
    "Stateful",
    "Step",
    "coerce",
    "compact",
    "expand",
    "move",
    "recorded",
]

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)
V = TypeVar("V", bound=StrEnum)


STEP_FIELDS = ("event", "source", "dest", "at", "event_id", "implied")
"""A step's fields, in the order its constructor takes them (and a store's history columns)."""

Move = tuple[Any, Any, Any, bool]
"""What a step records besides its time and event id: ``(event, source, dest, implied)``."""

# One tuple per distinct move, shared by every step that makes it: the steps of all orders
# repeat the few rows of a table. Keyed by the members' ids, not their values: a StrEnum
# member equals its string, so the members of two enums spelled alike would be taken for
# one another. The tuples hold the members, so no id here is reused.
_MOVES: dict[tuple[int, int, int, bool], Move] = {}

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EXACT_SECONDS = 8.5e9
"""How far from 1970 a UTC time kept as a float of seconds reads back to the microsecond.

Up to ``2**33`` seconds (years 1697 to 2242) two microseconds are further apart than two
neighbouring floats, so ``datetime.timestamp`` and ``datetime.fromtimestamp`` give each
time back exactly (``tests/test_step.py`` checks it); a time further out is kept as it is.
"""


def move(event: StrEnum | None, source: StrEnum | None, dest: StrEnum, *, implied: bool) -> Move:
    """The one shared tuple ``(event, source, dest, implied)``; its parts are not checked."""
    key = (id(event), id(source), id(dest), implied)
    found = _MOVES.get(key)
    if found is None:
        found = _MOVES[key] = (event, source, dest, implied)
    return found


def compact(at: datetime) -> datetime | float:
    """``at`` as seconds since 1970 when they read back exactly, else ``at`` as it is.

    A float takes 24 bytes, a datetime 48 (an int of microseconds 32, and it takes twice
    as long to compute), and a live order holds one per step. Only a UTC time within
    :data:`EXACT_SECONDS` of 1970 is turned into a float: a time in another zone (or of a
    subclass of datetime) is kept, so that it reads back in its zone.
    """
    if at.tzinfo is UTC and type(at) is datetime and not at.fold:
        seconds = at.timestamp()
        if -EXACT_SECONDS < seconds < EXACT_SECONDS:
            return seconds
    return at


def expand(at: datetime | float) -> datetime:
    """The time :func:`compact` kept, as the aware datetime it was."""
    if type(at) is not float:
        return at  # type: ignore[return-value]
    # fromtimestamp is the quicker; before 1970 some platforms refuse it.
    return datetime.fromtimestamp(at, UTC) if at >= 0 else EPOCH + timedelta(seconds=at)


class Step(Generic[S, E]):
    """One entry of a model's history: ``event`` moved it from ``source`` to ``dest`` at ``at``.

    ``event`` and ``source`` are ``None`` for the step that created the model.
    ``event_id`` is the provider's event id when a webhook announced the step; ``implied``
    marks a step no event announced (reconstructed from a later snapshot).

    A value: its attributes are read-only, and equal steps compare and hash equal (times
    as instants, whatever their zone). Small, since a live order holds one per step: the
    event, states and ``implied`` are one tuple shared by every step making the same move,
    and a UTC time is kept as a float of seconds (``at`` gives back the same datetime).

    Raises:
        WrongType: a part of the wrong type (the event and states must be enum members,
            ``at`` an aware datetime, ``event_id`` a str or ``None``, ``implied`` a bool).

    """

    __slots__ = ("_at", "_event_id", "_move")
    __match_args__ = ("event", "source", "dest", "at", "event_id", "implied")

    _move: Move
    _at: datetime | float
    _event_id: str | None

    def __init__(  # noqa: PLR0913, PLR0917 (a step has these parts, positional as ever)
        self,
        event: E | None,
        source: S | None,
        dest: S,
        at: datetime,
        event_id: str | None = None,
        implied: bool = False,  # noqa: FBT001, FBT002 (positional as ever)
    ) -> None:
        if event is not None and not isinstance(event, StrEnum):
            raise WrongType("Step.event", "an enum member or None", event)
        if source is not None and not isinstance(source, StrEnum):
            raise WrongType("Step.source", "an enum member or None", source)
        if not isinstance(dest, StrEnum):
            raise WrongType("Step.dest", "an enum member", dest)
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise WrongType("Step.at", "a timezone-aware datetime", at)
        if event_id is not None and not isinstance(event_id, str):
            raise WrongType("Step.event_id", "a str or None", event_id)
        if not isinstance(implied, bool):
            raise WrongType("Step.implied", "a bool", implied)
        self._move = move(event, source, dest, implied=implied)
        self._at = compact(at)
        self._event_id = event_id

    @property
    def event(self) -> E | None:
        """The event that moved the model; ``None`` for its creation."""
        event: E | None = self._move[0]
        return event

    @property
    def source(self) -> S | None:
        """The state the model left; ``None`` for its creation."""
        source: S | None = self._move[1]
        return source

    @property
    def dest(self) -> S:
        """The state the model entered."""
        dest: S = self._move[2]
        return dest

    @property
    def at(self) -> datetime:
        """When, as an aware datetime (in the zone it was given in)."""
        return expand(self._at)

    @property
    def event_id(self) -> str | None:
        """The provider's id of the event that announced the step, if one did."""
        return self._event_id

    @property
    def implied(self) -> bool:
        """Whether no event announced the step (reconstructed from a later snapshot)."""
        return self._move[3]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Step) or type(other) is not type(self):
            return NotImplemented
        mine, theirs = self._at, other._at
        return (
            self._move == other._move
            and self._event_id == other._event_id
            # Two kept floats are equal exactly when their times are; else as instants.
            and (mine == theirs if type(mine) is type(theirs) is float else self.at == other.at)
        )

    def __hash__(self) -> int:
        return hash((self._move, self.at, self._event_id))

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}={getattr(self, name)!r}" for name in STEP_FIELDS)
        return f"Step({parts})"

    def __reduce__(self) -> tuple[type[Step[S, E]], tuple[object, ...]]:
        # Copies and pickles go through the constructor: the slots are its own.
        return type(self), tuple(getattr(self, name) for name in STEP_FIELDS)


def recorded(made: Move, at: datetime, event_id: str | None) -> Step[Any, Any]:
    """A step of parts already checked, built past the constructor: the machine's own path.

    ``made`` comes from :func:`move`, ``at`` is an aware datetime and ``event_id`` a str or
    ``None``: :class:`~order_lifecycle.lifecycle.Machine` checks them once per event, and
    ``Step(...)`` would check them again (a third of the cost of recording a step).
    """
    step: Step[Any, Any] = _new(Step)
    step._move = made  # noqa: SLF001 (the class's own module)
    step._at = compact(at)  # noqa: SLF001
    step._event_id = event_id  # noqa: SLF001
    return step


_new = object.__new__


class Stateful(Protocol[S, E]):
    """What a machine needs of a model: a state it may set and a history it may append to."""

    state: S
    history: list[Step[S, E]]


M = TypeVar("M", bound=Stateful[Any, Any])

Guard = Callable[[M, TransitionSpec[S, E] | None], bool]
"""A predicate over the model and the row it would take; named in the spec, bound here.

The row is ``None`` when the guard is asked for an operation (``OperationSpec.needs``).
"""


@attrs.frozen
class Explanation(Generic[S, E]):
    """Why ``subject`` (an event or an operation) is or is not allowed in ``state``, and how.

    ``path`` is the shortest sequence of events after which ``subject`` is defined (``()``
    when it already is), or ``None`` when no sequence of events leads there.
    ``path_conditions`` has one entry per event of ``path``: the condition its own row still
    needs (``None`` when it needs none). ``conditions`` are what ``subject`` itself needs
    once there. A condition is never attached to another row than its own.
    """

    subject: E | StrEnum
    state: S
    allowed: bool
    reason: str
    path: tuple[E, ...] | None
    conditions: tuple[str, ...]
    path_conditions: tuple[str | None, ...] = ()

    def __str__(self) -> str:
        if self.allowed:
            return f"{self.subject} is allowed in {self.state}."
        text = f"Can't {self.subject} when in {self.state}: {self.reason}."
        if self.path is None:
            return f"{text} No sequence of events makes it possible."
        if self.path:
            conditions = self.path_conditions or (None,) * len(self.path)
            steps = (
                f"{event} (when {condition})" if condition else str(event)
                for event, condition in zip(self.path, conditions, strict=True)
            )
            text += f" It becomes possible after: {', '.join(steps)}"
            needs = " or ".join(self.conditions)
            text += f"; then only when {needs}." if needs else "."
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

"""What a machine hands out and asks for: a history step, an explanation, a stateful model.

These are values (and one protocol) that models, stores and reports share without needing the
machine itself: a :class:`Step` of a history, the :class:`Explanation` of why an event or
operation is or is not allowed, the :class:`Stateful` shape a machine moves, and the
:data:`Guard` signature the spec's guard names are bound to.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

import attrs

from order_lifecycle.exceptions import InvalidInput, WrongType

from ._spec import TransitionSpec

__all__ = ["Explanation", "Guard", "Stateful", "Step", "coerce"]

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)
V = TypeVar("V", bound=StrEnum)


@attrs.frozen(weakref_slot=False)  # a value: a live order holds many, none weakly
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

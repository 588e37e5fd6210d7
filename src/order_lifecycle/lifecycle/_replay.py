"""Replaying a history against a spec: the state it leads to, or the first illegal step."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar

from order_lifecycle.exceptions import InvalidHistory

from ._spec import MachineSpec
from ._step import Step

__all__ = ["replay"]

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


def replay(spec: MachineSpec[S, E], history: Sequence[Step[S, E]]) -> S:
    """The state ``history`` leads to, checking every step is a row of ``spec``'s table.

    Guards are not re-evaluated: they read data (charges, items) a history does not keep.

    Raises:
        InvalidHistory: the history is empty, does not start with a creation in an entry
            state, or has a step that is not a row of the table (named by its index).

    """
    if not history:
        raise InvalidHistory(spec.name, 0, "the history is empty")
    first = history[0]
    if first.event is not None or first.source is not None:
        raise InvalidHistory(spec.name, 0, f"it starts with {first.event}, not a creation")
    if first.dest not in spec.entry_states:
        raise InvalidHistory(spec.name, 0, f"no {spec.name} is created in {first.dest}")
    state = first.dest
    for index, step in enumerate(history[1:], start=1):
        if step.source != state:
            raise InvalidHistory(
                spec.name, index, f"it leaves {step.source}, but the {spec.name} was in {state}"
            )
        if step.event is None or not any(
            row.dest == step.dest for row in spec.transitions_from(state, step.event)
        ):
            raise InvalidHistory(
                spec.name, index, f"{state} -{step.event}-> {step.dest} is not in the table"
            )
        state = step.dest
    return state

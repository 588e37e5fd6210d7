"""Checking stored histories against a spec: which records a table change would make illegal.

A store hands over each history as stored (state and steps as plain data, with the spec
version each step was written under); :func:`find_illegal` decodes and replays them. It
never raises for a bad history: an unknown state name, a step the table no longer has, or
a history that does not end in the stored state are all reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from order_lifecycle.exceptions import OrderLifecycleError
from order_lifecycle.lifecycle import MachineSpec, replay

from ._codec import CHECKOUT, ORDER, Kind, decode

__all__ = ["IllegalHistory", "StoredHistory", "find_illegal"]

KINDS: Mapping[str, Kind] = {"order": ORDER, "checkout": CHECKOUT}


@attrs.frozen
class StoredHistory:
    """One record's history as a store holds it: plain data, not yet decoded."""

    kind: str
    id: str
    state: str
    steps: tuple[Mapping[str, Any], ...]
    spec_versions: tuple[str, ...]


@attrs.frozen
class IllegalHistory:
    """A stored order (or checkout) whose history the current spec does not allow.

    ``problem`` says where and why; ``spec_versions`` are the versions of the table its
    steps were written under, oldest first.
    """

    kind: str
    id: str
    problem: str
    spec_versions: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.id}: {self.problem} "
            f"(written under spec {', '.join(self.spec_versions)})"
        )


def find_illegal(
    histories: Iterable[StoredHistory],
    specs: Mapping[str, MachineSpec[Any, Any]],
    progress: Callable[[int], object] | None = None,
) -> list[IllegalHistory]:
    """Every history in ``histories`` that its kind's spec in ``specs`` does not allow.

    ``progress`` is called with 1 after each history checked.
    """
    illegal = []
    for stored in histories:
        if progress is not None:
            progress(1)
        problem = _problem(stored, specs[stored.kind])
        if problem is not None:
            illegal.append(IllegalHistory(stored.kind, stored.id, problem, stored.spec_versions))
    return illegal


def _problem(stored: StoredHistory, spec: MachineSpec[Any, Any]) -> str | None:
    step_type = KINDS[stored.kind].step_type
    try:
        steps = [decode(step_type, data) for data in stored.steps]
        reached = replay(spec, steps)
    except OrderLifecycleError as error:
        return str(error)
    if str(reached) != stored.state:
        return f"its history leads to {reached}, but it is stored in {stored.state}."
    return None

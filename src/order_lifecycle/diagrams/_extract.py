"""From a spec to plain data: the nodes and labelled edges every renderer draws."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from order_lifecycle.lifecycle import MachineSpec

__all__ = ["ActionRow", "Diagram", "Edge", "Node", "OperationRow", "extract", "highlight"]


@attrs.frozen
class Node:
    """A state, with what it means, how a model can start or end there, and what it allows.

    ``operations`` are the merchant's operations the state allows, in the table's order;
    ``actions`` the kinds of action entering it creates, ``holds`` the kinds it holds (not
    run while the model is there; they resume when it leaves). ``visited`` and ``current``
    mark one model's path (:func:`highlight`).
    """

    name: str
    description: str
    initial: bool
    entry: bool
    final: bool
    operations: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    holds: tuple[str, ...] = ()
    visited: bool = False
    current: bool = False


@attrs.frozen
class ActionRow:
    """An action: what creates it, for what, what it asks, the states keeping and holding it."""

    kind: str
    on: str
    for_each: str
    description: str
    while_in: tuple[str, ...] | None
    held_in: tuple[str, ...] = ()


@attrs.frozen
class OperationRow:
    """A merchant operation: the states allowing it, its condition, how refusals are raised."""

    name: str
    description: str
    requested_as: str
    allowed_in: tuple[str, ...]
    needs: str | None
    refused_with: str


@attrs.frozen
class Edge:
    """A row of the table: ``label`` is what announces it (a webhook type, or the event).

    ``taken`` marks a row one model's path went along (:func:`highlight`).
    """

    source: str
    dest: str
    event: str
    label: str
    guard: str | None
    guard_description: str | None
    rule: str
    taken: bool = False


@attrs.frozen
class Diagram:
    """Everything a renderer needs, in the table's order.

    ``started_in`` is the state one model's path began in (:func:`highlight`).
    """

    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    operations: tuple[OperationRow, ...] = ()
    actions: tuple[ActionRow, ...] = ()
    started_in: str | None = None


def extract(spec: MachineSpec[Any, Any]) -> Diagram:
    """The diagram of ``spec``: its states as nodes, its rows as edges, its operations."""
    nodes = tuple(
        Node(
            str(s.value),
            s.description,
            s.initial,
            s.entry and not s.initial,
            s.final,
            tuple(str(o.value) for o in spec.operations if s.value in o.allowed_in),
            tuple(dict.fromkeys(str(a.kind) for a in spec.actions_on(s.value))),
            tuple(dict.fromkeys(str(a.kind) for a in spec.actions if s.value in a.held_in)),
        )
        for s in spec.states
    )
    operations = tuple(
        OperationRow(
            name=str(o.value),
            description=o.description,
            requested_as=o.requested_as,
            allowed_in=tuple(str(s) for s in o.allowed_in),
            needs=spec.guard(o.needs).description if o.needs else None,
            refused_with=o.refused_with.__name__,
        )
        for o in spec.operations
    )
    edges = tuple(
        Edge(
            source=str(row.source),
            dest=str(row.dest),
            event=str(row.event),
            label=spec.event(row.event).announced_by or str(row.event),
            guard=row.guard,
            guard_description=spec.guard(row.guard).description if row.guard else None,
            rule=row.rule,
        )
        for row in spec.transitions
    )
    actions = tuple(
        ActionRow(
            str(a.kind),
            str(a.on),
            str(a.for_each),
            a.description,
            None if a.while_in is None else tuple(str(s) for s in a.while_in),
            tuple(str(s) for s in a.held_in),
        )
        for a in spec.actions
    )
    return Diagram(spec.name, nodes, edges, operations, actions)


def highlight(diagram: Diagram, steps: Iterable[Any], current: str) -> Diagram:
    """``diagram`` with one model's path marked: the states it entered, the rows it took.

    ``steps`` are the model's history (each with ``source``, ``event`` and ``dest``);
    ``current`` is the state it is in now.
    """
    entered: set[str] = set()
    taken: set[tuple[str, str, str]] = set()
    started_in = None
    for step in steps:
        entered.add(str(step.dest))
        if step.source is None and started_in is None:
            started_in = str(step.dest)
        if step.source is not None and step.event is not None:
            taken.add((str(step.source), str(step.event), str(step.dest)))
    nodes = tuple(
        attrs.evolve(n, visited=n.name in entered, current=n.name == current) for n in diagram.nodes
    )
    edges = tuple(
        attrs.evolve(e, taken=(e.source, e.event, e.dest) in taken) for e in diagram.edges
    )
    return attrs.evolve(diagram, nodes=nodes, edges=edges, started_in=started_in)

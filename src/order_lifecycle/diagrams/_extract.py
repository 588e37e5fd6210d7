"""From a spec to plain data: the nodes and labelled edges every renderer draws."""

from __future__ import annotations

from typing import Any

import attrs

from order_lifecycle._spec import MachineSpec

__all__ = ["Diagram", "Edge", "Node", "extract"]


@attrs.frozen
class Node:
    """A state, with what it means and how a model can start or end there."""

    name: str
    description: str
    initial: bool
    entry: bool
    final: bool


@attrs.frozen
class Edge:
    """A row of the table: ``label`` is what announces it (a webhook type, or the event)."""

    source: str
    dest: str
    event: str
    label: str
    guard: str | None
    guard_description: str | None
    rule: str


@attrs.frozen
class Diagram:
    """Everything a renderer needs, in the table's order."""

    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def extract(spec: MachineSpec[Any, Any]) -> Diagram:
    """The diagram of ``spec``: its states as nodes, its rows as edges."""
    nodes = tuple(
        Node(str(s.value), s.description, s.initial, s.entry and not s.initial, s.final)
        for s in spec.states
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
    return Diagram(spec.name, nodes, edges)

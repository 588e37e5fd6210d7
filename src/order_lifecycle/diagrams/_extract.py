"""From a spec to plain data: the nodes and labelled edges every renderer draws."""

from __future__ import annotations

from typing import Any

import attrs

from order_lifecycle.lifecycle._spec import MachineSpec

__all__ = ["ActionRow", "Diagram", "Edge", "Node", "OperationRow", "extract"]


@attrs.frozen
class Node:
    """A state, with what it means, how a model can start or end there, and what it allows.

    ``operations`` are the merchant's operations the state allows, in the table's order;
    ``actions`` the kinds of action entering it creates.
    """

    name: str
    description: str
    initial: bool
    entry: bool
    final: bool
    operations: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()


@attrs.frozen
class ActionRow:
    """An action: what creates it, for what, what it asks, and the states keeping it."""

    kind: str
    on: str
    for_each: str
    description: str
    while_in: tuple[str, ...] | None


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
    operations: tuple[OperationRow, ...] = ()
    actions: tuple[ActionRow, ...] = ()


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
        )
        for a in spec.actions
    )
    return Diagram(spec.name, nodes, edges, operations, actions)

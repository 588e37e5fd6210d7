"""The renderers: Mermaid, Graphviz DOT, SVG (through Graphviz) and a Markdown table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import MachineSpec

from ._extract import Diagram, Edge, Node, extract
from ._svg import draw_svg

__all__ = ["FORMATS", "SUFFIXES", "render", "render_spec"]


def _edge_label(edge: Edge) -> str:
    return f"{edge.label} [{edge.guard}]" if edge.guard else edge.label


def mermaid(diagram: Diagram) -> str:
    """A Mermaid ``stateDiagram-v2``; entry states other than the initial one are dashed-in."""
    lines = ["---", f"title: {diagram.name} lifecycle", "---", "stateDiagram-v2"]
    for node in diagram.nodes:
        if node.initial:
            lines.append(f"    [*] --> {node.name}")
        elif node.entry:
            lines.append(f"    [*] --> {node.name} : created")
    lines.extend(
        f"    {edge.source} --> {edge.dest} : {_edge_label(edge)}" for edge in diagram.edges
    )
    lines.extend(f"    {node.name} --> [*]" for node in diagram.nodes if node.final)
    lines.extend(_mermaid_path(diagram))
    # The merchant's operations each state allows, as a note beside it.
    lines.extend(
        f"    note right of {node.name} : {', '.join(node.operations)}"
        for node in diagram.nodes
        if node.operations
    )
    # The actions entering a state creates, and those it holds, as a note on its other side.
    lines.extend(
        f"    note left of {node.name} : {'; '.join(_action_notes(node))}"
        for node in diagram.nodes
        if node.actions or node.holds
    )
    return "\n".join(lines) + "\n"


def _action_notes(node: Node) -> list[str]:
    """What a state does to actions: the kinds its entry creates, the kinds it holds."""
    notes = [f"creates {', '.join(node.actions)}"] if node.actions else []
    if node.holds:
        notes.append(f"holds {', '.join(node.holds)} (resumed on leaving)")
    return notes


def _mermaid_path(diagram: Diagram) -> list[str]:
    """Classes marking one model's path (:func:`~._extract.highlight`); none for a whole spec."""
    visited = [n.name for n in diagram.nodes if n.visited and not n.current]
    current = [n.name for n in diagram.nodes if n.current]
    lines = []
    if visited:
        lines.append("    classDef visited fill:#dbeafe,stroke:#1d4ed8")
        lines.append(f"    class {','.join(visited)} visited")
    if current:
        lines.append(
            "    classDef current fill:#1d4ed8,color:#ffffff,stroke:#1e3a8a,stroke-width:3px"
        )
        lines.append(f"    class {','.join(current)} current")
    return lines


def dot_quote(text: str) -> str:
    """``text`` as a DOT string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(diagram: Diagram) -> str:
    """Graphviz DOT source; final states have a double border."""
    lines = [
        f"digraph {diagram.name} {{",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        '    __start__ [shape=point, label=""];',
    ]
    for node in diagram.nodes:
        extra = ", peripheries=2" if node.final else ""
        if node.current:  # one model's path: where it is now, and where it has been
            extra += ', style="rounded,filled,bold", fillcolor="#1d4ed8", fontcolor=white'
        elif node.visited:
            extra += ', style="rounded,filled", fillcolor="#dbeafe", color="#1d4ed8"'
        if node.operations or node.actions or node.holds:  # operations two to a line; actions
            pairs = [
                ", ".join(node.operations[i : i + 2]) for i in range(0, len(node.operations), 2)
            ]
            extra += ', label="' + "\\n".join([node.name, *pairs, *_action_notes(node)]) + '"'
        lines.append(f"    {node.name} [tooltip={dot_quote(node.description)}{extra}];")
    taken = ', color="#1d4ed8", penwidth=2.5, fontcolor="#1d4ed8"'
    for node in diagram.nodes:
        began = taken if node.name == diagram.started_in else ""
        if node.initial:
            lines.append(f"    __start__ -> {node.name}{f' [{began[2:]}]' if began else ''};")
        elif node.entry:
            lines.append(f'    __start__ -> {node.name} [label="created", style=dashed{began}];')
    lines.extend(
        f"    {edge.source} -> {edge.dest} [label={dot_quote(_edge_label(edge))}"
        f"{taken if edge.taken else ''}];"
        for edge in diagram.edges
    )
    lines.append("}")
    return "\n".join(lines) + "\n"


def markdown(diagram: Diagram) -> str:
    """The states and the transition table, as Markdown."""
    lines = ["| state | meaning |", "|---|---|"]
    for node in diagram.nodes:
        marks = [m for m, on in (("initial", node.initial), ("entry", node.entry)) if on]
        marks += ["final"] if node.final else []
        suffix = f" ({', '.join(marks)})" if marks else ""
        lines.append(f"| `{node.name}`{suffix} | {node.description} |")
    lines += [
        "",
        "| from | event | announced by | to | only when | rule |",
        "|---|---|---|---|---|---|",
    ]
    for edge in diagram.edges:
        announced = f"`{edge.label}`" if edge.label != edge.event else "—"
        lines.append(
            f"| `{edge.source}` | `{edge.event}` | {announced} | `{edge.dest}` "
            f"| {edge.guard_description or ''} | {edge.rule} |"
        )
    if diagram.operations:
        lines += [
            "",
            "| operation | requested as | allowed in | only when | refused otherwise with |",
            "|---|---|---|---|---|",
        ]
        for op in diagram.operations:
            states = ", ".join(f"`{s}`" for s in op.allowed_in)
            lines.append(
                f"| `{op.name}` | {op.requested_as} | {states} | {op.needs or ''} "
                f"| `{op.refused_with}` |"
            )
    if diagram.actions:
        lines += [
            "",
            "| action | created on | for each | kept while in | held while in | what to do |",
            "|---|---|---|---|---|---|",
        ]
        for action in diagram.actions:
            kept = "—" if action.while_in is None else ", ".join(f"`{s}`" for s in action.while_in)
            held = ", ".join(f"`{s}`" for s in action.held_in) or "—"
            lines.append(
                f"| `{action.kind}` | `{action.on}` | {action.for_each} | {kept} | {held} "
                f"| {action.description} |"
            )
    return "\n".join(lines) + "\n"


def svg(diagram: Diagram) -> str:
    """SVG drawn from :func:`dot` (see :func:`~._svg.draw_svg`), stamped with its digest."""
    return draw_svg(dot(diagram), diagram.name)


_RENDERERS: dict[str, Callable[[Diagram], str]] = {
    "mermaid": mermaid,
    "dot": dot,
    "svg": svg,
    "md": markdown,
}
FORMATS: tuple[str, ...] = tuple(_RENDERERS)
"""The formats :func:`render` knows."""

SUFFIXES: dict[str, str] = {"mermaid": ".mmd", "dot": ".dot", "svg": ".svg", "md": ".md"}
"""The file suffix of each format, as used in ``diagrams/``."""


def render(diagram: Diagram, fmt: str) -> str:
    """``diagram`` in format ``fmt`` (one of :data:`FORMATS`)."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise InvalidInput(
            f"Unknown diagram format {fmt!r}: expected one of {', '.join(FORMATS)}."
        ) from None
    return renderer(diagram)


def render_spec(spec: MachineSpec[Any, Any], fmt: str) -> str:
    """``spec`` drawn in format ``fmt``."""
    return render(extract(spec), fmt)

"""One model's path, step by step: the states it went through in order, as a picture.

Where :func:`~._extract.highlight` marks a path on the whole machine (wide: every state in
one row), a path diagram draws only the steps taken, top to bottom, numbered, each edge
labelled with what announced it (a webhook type, or the event) and dashed where the step
was implied. It stays readable on a screen however long the path is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import MachineSpec

from ._render import dot_quote
from ._svg import draw_svg

__all__ = ["PATH_FORMATS", "PathDiagram", "PathStep", "extract_path", "render_path"]


@attrs.frozen
class PathStep:
    """A step of a path: the state entered, what announced it, when; ``implied`` if no event."""

    number: int
    state: str
    via: str
    at: datetime
    implied: bool = False


@attrs.frozen
class PathDiagram:
    """The steps of one model's path, oldest first (``title`` names the model)."""

    title: str
    steps: tuple[PathStep, ...]


def extract_path(spec: MachineSpec[Any, Any], title: str, history: Iterable[Any]) -> PathDiagram:
    """The path ``history`` (its steps: event, dest, at, implied) took in ``spec``."""
    steps = []
    for number, step in enumerate(history, start=1):
        if step.event is None:
            via = "created"
        else:
            via = spec.event(step.event).announced_by or str(step.event)
        steps.append(PathStep(number, str(step.dest), via, step.at, bool(step.implied)))
    return PathDiagram(title, tuple(steps))


_DOT_NEWLINE = "\\n"


def _label(step: PathStep, newline: str) -> str:
    return f"{step.number}. {step.state}{newline}{step.at:%Y-%m-%d %H:%M}"


def _via(step: PathStep) -> str:
    return f"{step.via} (implied)" if step.implied else step.via


def mermaid(path: PathDiagram) -> str:
    """A Mermaid flowchart, top to bottom; the state the path ends in is filled."""
    lines = ["---", f"title: {path.title}", "---", "flowchart TB"]
    for step in path.steps:
        text = _label(step, "<br/>").replace('"', "#quot;")
        lines.append(f'    s{step.number}["{text}"]')
    for before, step in zip(path.steps, path.steps[1:], strict=False):
        arrow = "-.->" if step.implied else "-->"
        via = _via(step).replace('"', "#quot;").replace("|", "#124;")
        lines.append(f'    s{before.number} {arrow}|"{via}"| s{step.number}')
    if path.steps:
        lines.append("    classDef current fill:#1d4ed8,color:#ffffff,stroke:#1e3a8a")
        lines.append(f"    class s{path.steps[-1].number} current")
    return "\n".join(lines) + "\n"


def dot(path: PathDiagram) -> str:
    """Graphviz DOT, top to bottom; the state the path ends in is filled."""
    lines = [
        "digraph path {",
        "    rankdir=TB;",
        f"    label={dot_quote(path.title)}; labelloc=t; fontname=Helvetica;",
        (
            '    node [shape=box, style="rounded,filled", fillcolor="#dbeafe", color="#1d4ed8",'
            ' fontname="Helvetica"];'
        ),
        '    edge [fontname="Helvetica", fontsize=10, color="#1d4ed8"];',
    ]
    last = path.steps[-1].number if path.steps else None
    for step in path.steps:
        extra = ', fillcolor="#1d4ed8", fontcolor=white' if step.number == last else ""
        # A state's name and a time need no quoting; DOT's line break is backslash n.
        lines.append(f'    s{step.number} [label="{_label(step, _DOT_NEWLINE)}"{extra}];')
    for before, step in zip(path.steps, path.steps[1:], strict=False):
        style = ", style=dashed" if step.implied else ""
        lines.append(
            f"    s{before.number} -> s{step.number} [label={dot_quote(' ' + _via(step))}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(path: PathDiagram) -> str:
    """SVG drawn from :func:`dot` (Graphviz or the ``svg`` extra)."""
    return draw_svg(dot(path), "path")


_RENDERERS = {"mermaid": mermaid, "dot": dot, "svg": svg}
PATH_FORMATS: tuple[str, ...] = tuple(_RENDERERS)
"""The formats a path is drawn in."""


def render_path(path: PathDiagram, fmt: str) -> str:
    """``path`` in ``fmt``: one of :data:`PATH_FORMATS`.

    Raises:
        InvalidInput: an unknown format.
        GraphvizMissing: ``svg`` with neither Graphviz nor the ``svg`` extra installed.

    """
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise InvalidInput(
            f"Unknown path format {fmt!r}: expected one of {', '.join(PATH_FORMATS)}."
        )
    return renderer(path)

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from order_lifecycle import InvalidInput
from order_lifecycle.diagrams import extract, render, render_spec, source_digest, svg_engine
from order_lifecycle.exceptions import GraphvizMissing
from order_lifecycle.lifecycle import CHECKOUT_SPEC, ORDER_SPEC, OUTBOX_SPEC, MachineSpec

ROOT = Path(__file__).resolve().parent.parent
needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is missing")


def load_sync() -> ModuleType:
    """scripts/sync_diagrams.py, the one place that knows which files are generated."""
    spec = importlib.util.spec_from_file_location(
        "sync_diagrams", ROOT / "scripts" / "sync_diagrams.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_diagrams_match_the_specs() -> None:
    """Every file in diagrams/ (but SVG) and each generated section (README, docs/) is current."""
    sync = load_sync()
    stale = [
        str(path.relative_to(ROOT))
        for path, content in sync.expected_files(ROOT, with_svg=False).items()
        if not path.exists() or path.read_text(encoding="utf-8") != content
    ]
    assert not stale, f"run ./scripts/diagrams: {stale} differ from the specs"


@pytest.mark.parametrize("machine", ["order", "checkout", "outbox"])
def test_committed_svg_was_drawn_from_todays_dot(machine: str) -> None:
    """The SVG carries the digest of the DOT source it was drawn from, and it is today's."""
    specs: dict[str, MachineSpec[Any, Any]] = {
        "order": ORDER_SPEC,
        "checkout": CHECKOUT_SPEC,
        "outbox": OUTBOX_SPEC,
    }
    spec = specs[machine]
    svg = (ROOT / "diagrams" / f"{machine}.svg").read_text(encoding="utf-8")
    stamp = re.search(r"<!-- drawn from \w+\.dot sha256:(\w+) -->", svg)
    assert stamp is not None
    assert stamp[1] == source_digest(render_spec(spec, "dot")), "run ./scripts/diagrams"
    for state in spec.states:
        assert f">{state.value}</text>" in svg


def test_readme_shows_the_order_diagram_and_table() -> None:
    """The README embeds the order's Mermaid diagram and its transition table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```mermaid\n{render_spec(ORDER_SPEC, 'mermaid')}```" in readme
    assert render_spec(ORDER_SPEC, "md") in readme
    assert "/blob/main/diagrams/order.svg)" in readme  # absolute: it works on the package index


def test_every_row_is_drawn() -> None:
    """Each renderer draws every transition row of the spec, with its label and guard."""
    diagram = extract(ORDER_SPEC)
    mermaid, dot, table = (render(diagram, fmt) for fmt in ("mermaid", "dot", "md"))
    for edge in diagram.edges:
        label = f"{edge.label} [{edge.guard}]" if edge.guard else edge.label
        assert f"{edge.source} --> {edge.dest} : {label}" in mermaid
        assert f'{edge.source} -> {edge.dest} [label="{label}"];' in dot
        assert f"| `{edge.source}` | `{edge.event}` |" in table
    assert len(diagram.edges) == len(ORDER_SPEC.transitions)


def test_entry_and_final_states_are_marked() -> None:
    """The initial state has a plain start arrow, other entry states a 'created' one."""
    mermaid = render_spec(ORDER_SPEC, "mermaid")
    assert "[*] --> pending_payment\n" in mermaid
    assert "[*] --> accepted : created\n" in mermaid
    assert "blocked --> [*]\n" in mermaid
    assert "cancelled [tooltip=" in render_spec(ORDER_SPEC, "dot")
    assert "peripheries=2" in render_spec(ORDER_SPEC, "dot")


def test_unknown_format() -> None:
    """An unknown format is refused with the list of known ones."""
    with pytest.raises(InvalidInput, match="Unknown diagram format 'png': expected one of mermaid"):
        render_spec(ORDER_SPEC, "png")


@needs_graphviz
def test_svg_render() -> None:
    """SVG is drawn by Graphviz and stamped with its DOT source's digest."""
    svg = render_spec(CHECKOUT_SPEC, "svg")
    digest = source_digest(render_spec(CHECKOUT_SPEC, "dot"))
    assert f"<!-- drawn from checkout.dot sha256:{digest} -->\n<svg" in svg


@pytest.mark.usefixtures("no_svg_engine")
def test_svg_without_graphviz() -> None:
    """Without Graphviz or the svg extra, SVG output is a typed error that says what to install."""
    assert svg_engine() is None
    with pytest.raises(GraphvizMissing, match=r"install Graphviz, or .*order-lifecycle\[svg\]"):
        render_spec(ORDER_SPEC, "svg")


def test_svg_from_the_svg_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without Graphviz's dot, the svg extra (WebAssembly Graphviz) draws the same stamped SVG."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert svg_engine() == "wasm"
    svg = render_spec(CHECKOUT_SPEC, "svg")
    digest = source_digest(render_spec(CHECKOUT_SPEC, "dot"))
    assert f"<!-- drawn from checkout.dot sha256:{digest} -->\n<svg" in svg
    assert "in_doubt" in svg


def test_every_way_into_in_doubt_is_drawn() -> None:
    """The checkout diagram's edge into in_doubt names every cause: 404, 5xx, timeouts..."""
    (edge,) = [e for e in extract(CHECKOUT_SPEC).edges if e.dest == "in_doubt"]
    for cause in ("404", "5xx", "bad body", "timeout", "lost connection"):
        assert cause in edge.label
        assert cause in render_spec(CHECKOUT_SPEC, "mermaid")


def test_every_operation_is_drawn() -> None:
    """Each merchant operation shows beside the states allowing it, and in the table."""
    mermaid = render_spec(ORDER_SPEC, "mermaid")
    dot = render_spec(ORDER_SPEC, "dot")
    table = render_spec(ORDER_SPEC, "md")
    assert "note right of accepted : fulfil_items, cancel_items, capture," in mermaid
    assert 'label="pending_payment\\ncancel_items"' in dot
    for operation in ORDER_SPEC.operations:
        states = ", ".join(f"`{s}`" for s in operation.allowed_in)
        assert f"| `{operation.value}` | {operation.requested_as} | {states} |" in table
    assert "note right of" not in render_spec(CHECKOUT_SPEC, "mermaid")

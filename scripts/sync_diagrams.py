"""Regenerate ``diagrams/`` and the generated sections of the README and the site's pages.

Run through ``./scripts/diagrams``. ``tests/test_diagrams.py`` imports :func:`expected_files`
and fails when a committed file differs from what the specs render now.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

from order_lifecycle.diagrams import FORMATS, SUFFIXES, render_spec
from order_lifecycle.lifecycle import CHECKOUT_SPEC, ORDER_SPEC, OUTBOX_SPEC, MachineSpec

ROOT = Path(__file__).resolve().parent.parent
SPECS: dict[str, MachineSpec[Any, Any]] = {
    "order": ORDER_SPEC,
    "checkout": CHECKOUT_SPEC,
    "outbox": OUTBOX_SPEC,
}

# A section between these markers (in README.md or a page under docs/) is the named diagram
# file, verbatim; Mermaid sections are fenced so that code hosts and the site draw them.
SECTION = re.compile(
    r"(<!-- generated from (?P<name>[\w.]+) by scripts/diagrams -->\n)(?P<body>.*?)(<!-- end -->)",
    re.DOTALL,
)


def diagram_files(*, with_svg: bool) -> dict[str, str]:
    """File name in ``diagrams/`` -> content, for every machine and format."""
    return {
        f"{machine}{SUFFIXES[fmt]}": render_spec(spec, fmt)
        for machine, spec in SPECS.items()
        for fmt in FORMATS
        if with_svg or fmt != "svg"
    }


def fill_sections(text: str, files: dict[str, str]) -> str:
    """``text`` with every generated section replaced by its current diagram."""

    def fill(match: re.Match[str]) -> str:
        body = files[match["name"]]
        if match["name"].endswith(".mmd"):
            body = f"```mermaid\n{body}```\n"
        return f"{match[1]}{body}{match[4]}"

    return SECTION.sub(fill, text)


def expected_files(root: Path = ROOT, *, with_svg: bool) -> dict[Path, str]:
    """Every generated path under ``root`` -> the content the specs render now."""
    files = diagram_files(with_svg=with_svg)
    expected = {root / "diagrams" / name: content for name, content in files.items()}
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if page.name == "README.md" or SECTION.search(text):
            expected[page] = fill_sections(text, files)
    return expected


def main() -> int:
    """Write every generated file; SVG too when Graphviz is installed."""
    with_svg = shutil.which("dot") is not None
    if not with_svg:
        print("Graphviz's dot is missing: SVG files left as they are.", file=sys.stderr)
    for path, content in expected_files(with_svg=with_svg).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

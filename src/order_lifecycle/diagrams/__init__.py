"""State diagrams rendered from the specs: extract -> plain data -> one renderer per format.

Formats: ``mermaid`` (code hosts render it), ``dot`` (Graphviz source), ``svg`` (needs
Graphviz's ``dot`` program) and ``md`` (the transition table). Output is deterministic, so
the committed files in ``diagrams/`` can be checked against what the spec renders now.
"""

from __future__ import annotations

from ._extract import Diagram, Edge, Node, extract, highlight
from ._render import FORMATS, SUFFIXES, render, render_spec, source_digest

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "Diagram",
    "Edge",
    "Node",
    "extract",
    "highlight",
    "render",
    "render_spec",
    "source_digest",
]

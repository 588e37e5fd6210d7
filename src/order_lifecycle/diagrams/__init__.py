"""State diagrams rendered from the specs: extract -> plain data -> one renderer per format.

Formats: ``mermaid`` (code hosts render it), ``dot`` (Graphviz source), ``svg`` and ``md``
(the transition table). SVG is drawn by Graphviz's ``dot`` program, or without any system
package by the ``svg`` extra (:func:`svg_engine` says which is here); nothing else needs
either. Output is deterministic, so the committed files in ``diagrams/`` can be checked
against what the spec renders now. :func:`extract_path` draws one model's path alone, step
by step (:func:`render_path`).
"""

from __future__ import annotations

from ._extract import Diagram, Edge, Node, extract, highlight
from ._path import PATH_FORMATS, PathDiagram, PathStep, extract_path, render_path
from ._render import FORMATS, SUFFIXES, render, render_spec
from ._svg import source_digest, svg_engine

__all__ = [
    "FORMATS",
    "PATH_FORMATS",
    "SUFFIXES",
    "Diagram",
    "Edge",
    "Node",
    "PathDiagram",
    "PathStep",
    "extract",
    "extract_path",
    "highlight",
    "render",
    "render_path",
    "render_spec",
    "source_digest",
    "svg_engine",
]

"""MkDocs hooks for the documentation site: the parts of pages the code itself writes.

A page holds a marker where generated text goes:

- ``<!-- cli: order-lifecycle -->``: the ``--help`` of the command and of every subcommand,
  as the installed ``order-lifecycle`` prints it (100 columns wide);
- ``<!-- top-level names -->``: the names ``order_lifecycle`` re-exports, grouped by the
  package face that documents them, each linked to its entry in the reference.

Generated at build time, never committed, so they cannot fall behind the code.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pkgutil
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import order_lifecycle
from order_lifecycle.cli import main

CLI_MARKER = "<!-- cli: order-lifecycle -->"
NAMES_MARKER = "<!-- top-level names -->"
PROG = "order-lifecycle"
COLUMNS = "100"
SUBCOMMANDS = re.compile(r"^  \{(?P<names>[\w,-]+)\}", re.MULTILINE)


def help_text(command: list[str]) -> str:
    """What ``order-lifecycle COMMAND... --help`` prints."""
    out = io.StringIO()
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = COLUMNS
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            main([*command, "--help"])
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return out.getvalue()


def commands(command: list[str]) -> Iterator[tuple[list[str], str]]:
    """``command`` and every subcommand under it, each with its help, depth first.

    A ``{a,b}`` list is a subcommand's only when ``a``'s help is its own (``kept``'s
    ``{list,refeed}`` is a positional argument's choices: its help is ``kept``'s).
    """
    text = help_text(command)
    yield command, text
    listed = SUBCOMMANDS.search(text)
    for name in listed["names"].split(",") if listed else ():
        if help_text([*command, name]).startswith(f"usage: {' '.join([PROG, *command, name])} "):
            yield from commands([*command, name])


def cli_reference() -> str:
    """Every command's help, each under its own heading."""
    sections = []
    for command, text in commands([]):
        name = " ".join([PROG, *command])
        level = "#" * min(2 + len(command), 4)
        sections.append(f"{level} `{name}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(sections)


# The Django app's own modules (models, admin, its commands) load only in a configured
# project, as Django loads them; its face is documented, and exports the app's names.
_DJANGO_APP = "order_lifecycle.integrations.django."


def faces() -> list[ModuleType]:
    """The public package faces under ``order_lifecycle`` that export names."""
    found = []
    for info in pkgutil.walk_packages(order_lifecycle.__path__, "order_lifecycle."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        if info.name.startswith(_DJANGO_APP):
            continue
        module = importlib.import_module(info.name)
        if getattr(module, "__all__", None):
            found.append(module)
    return found


def home(name: str, candidates: list[ModuleType]) -> str:
    """The face that documents the top-level ``name``: the one its definition lives under."""
    value = getattr(order_lifecycle, name)
    exporting = [
        face.__name__
        for face in candidates
        if name in face.__all__ and getattr(face, name) is value
    ]
    defined = getattr(value, "__module__", "") or ""
    for face in exporting:
        if defined == face or defined.startswith(f"{face}."):
            return face
    if not exporting:
        raise LookupError(f"order_lifecycle.{name} is exported by no package face")
    return exporting[0]


def top_level_names() -> str:
    """The top level's names, grouped by the face documenting each, as linked lists."""
    candidates = faces()
    groups: dict[str, list[str]] = {}
    for name in order_lifecycle.__all__:
        if name.startswith("_"):
            continue
        face = home(name, candidates)
        groups.setdefault(face, []).append(f"[`{name}`][{face}.{name}]")
    return "\n".join(
        f"- from [`{face}`][{face}]: {', '.join(names)}" for face, names in sorted(groups.items())
    )


def on_page_markdown(markdown: str, **kwargs: Any) -> str:  # noqa: ANN401, ARG001 (MkDocs's hook signature)
    """Fill a page's markers."""
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if NAMES_MARKER in markdown:
        markdown = markdown.replace(NAMES_MARKER, top_level_names())
    return markdown

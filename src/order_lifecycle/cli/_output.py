"""What the commands print: lines, tables and progress, through ``rich``.

On a terminal: colours and a progress bar. Anywhere else (a pipe, a file, a test): plain
text, no colour codes, no progress bar, and lines never wrapped. Text from outside (ids,
reasons, kept deliveries) is printed as it is, never read as ``rich`` markup, with NUL and
lone surrogates escaped.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from order_lifecycle._text import printable

__all__ = ["Output", "advance", "clean"]

_PLAIN_WIDTH = 200


def clean(value: object) -> str:
    """``value`` as text any terminal and file can take (NUL, lone surrogates escaped)."""
    return printable(str(value))


class Output:
    """Where a command writes: stdout by default, a terminal or not."""

    def __init__(self, file: TextIO | None = None) -> None:
        stream = sys.stdout if file is None else file
        self.console = Console(
            file=stream, highlight=False, markup=False, emoji=False, soft_wrap=True
        )
        if not self.console.is_terminal:
            self.console = Console(
                file=stream,
                highlight=False,
                markup=False,
                emoji=False,
                soft_wrap=True,
                no_color=True,
                width=_PLAIN_WIDTH,
            )

    @property
    def terminal(self) -> bool:
        """Whether the output is a terminal (then colours and progress bars are shown)."""
        return self.console.is_terminal

    def line(self, text: object = "", style: str | None = None) -> None:
        """One line of text."""
        self.console.print(Text(clean(text), style=style or ""), soft_wrap=True)

    def heading(self, text: str) -> None:
        """A heading before a group of lines or a table."""
        self.line()
        self.line(text, style="bold")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """A table with ``columns``, one row per entry of ``rows``."""
        self.heading(title)  # not the table's title: that would wrap to the table's width
        table = Table(box=box.SIMPLE_HEAD, expand=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(Text(clean(cell)) for cell in row))
        self.console.print(table, soft_wrap=False)

    @contextmanager
    def progress(self, description: str, total: int | None) -> Iterator[Progress | None]:
        """A progress bar on a terminal (advance it by ``advance``); ``None`` elsewhere."""
        if not self.terminal:
            yield None
            return
        columns = (TextColumn(description), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=self.console, transient=True) as bar:
            bar.add_task(description, total=total)
            yield bar


def advance(bar: Progress | None, steps: int = 1) -> None:
    """Move a progress bar from :meth:`Output.progress` on, if there is one."""
    if bar is not None:
        bar.advance(bar.task_ids[0], steps)

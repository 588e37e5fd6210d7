"""What the commands print: lines, tables and progress, through ``rich``.

On a terminal: colours and a progress bar. Anywhere else (a pipe, a file, a test): plain
text, no colour codes, no progress bar, and lines never wrapped. Text from outside (ids,
reasons, kept deliveries) is printed as it is, never read as ``rich`` markup, with NUL and
lone surrogates escaped.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from rich import box
from rich.columns import Columns
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table
from rich.text import Text

from order_lifecycle._text import printable

__all__ = ["Column", "Output", "Rate", "advance", "clean", "fixed"]

_PLAIN_WIDTH = 200


def clean(value: object) -> str:
    """``value`` as text any terminal and file can take (NUL, lone surrogates escaped)."""
    return printable(str(value))


class Rate(ProgressColumn):
    """How many steps a second a task advances (``1,234/s``), once it is known."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        """The task's speed, or nothing before it has one."""
        speed = task.speed
        return Text("" if speed is None else f"{speed:,.0f} {self.unit}/s", style="cyan")


class Output:
    """Where a command writes: stdout by default, a terminal or not.

    ``width`` fixes a terminal's width (tests draw for 100 columns); a terminal's own
    otherwise.
    """

    def __init__(self, file: TextIO | None = None, *, width: int | None = None) -> None:
        stream = sys.stdout if file is None else file
        self.console = Console(
            file=stream, highlight=False, markup=False, emoji=False, soft_wrap=True, width=width
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

    def table(
        self, title: str, columns: Sequence[str | Column], rows: Sequence[Sequence[object]]
    ) -> None:
        """A table with ``columns``, one row per entry of ``rows``.

        A column named by text folds long cells; a :class:`rich.table.Column` says how its
        own are shown (``no_wrap=True`` keeps a date, a type or a status on one line).
        """
        self.heading(title)  # not the table's title: that would wrap to the table's width
        self.console.print(_table(columns, rows), soft_wrap=False)

    def tables(
        self, tables: Sequence[tuple[str, Sequence[str], Sequence[Sequence[object]]]]
    ) -> None:
        """Several small tables: side by side on a terminal, one after another elsewhere."""
        if not self.terminal:
            for title, columns, rows in tables:
                self.table(title, columns, rows)
            return
        drawn = [_table(columns, rows, title=title) for title, columns, rows in tables]
        self.line()
        self.console.print(Columns(drawn, padding=(0, 2)), soft_wrap=False)

    def json(self, document: object) -> None:
        """One JSON document, on one line (``--json``: nothing else is printed)."""
        self.console.file.write(json.dumps(document) + "\n")

    @contextmanager
    def progress(
        self, description: str, total: int | None, unit: str = ""
    ) -> Iterator[Progress | None]:
        """A progress bar on a terminal (advance it by ``advance``); ``None`` elsewhere.

        It shows how far, how fast (``unit`` a second) and how long until done.
        """
        if not self.terminal:
            yield None
            return
        columns = (
            TextColumn(description),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(unit),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.console, transient=True) as bar:
            bar.add_task(description, total=total)
            yield bar


def _table(
    columns: Sequence[str | Column], rows: Sequence[Sequence[Any]], title: str | None = None
) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD,
        expand=False,
        title=title,
        title_style="bold",
        title_justify="left",
    )
    for column in columns:
        if isinstance(column, Column):  # a copy: a Column holds the cells of its table
            table.columns.append(dataclasses.replace(column, _index=len(table.columns), _cells=[]))
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(clean(cell)) for cell in row))
    return table


def fixed(header: str) -> Column:
    """A column whose cells stay on one line (a moment, a type, a status, a count)."""
    return Column(header, no_wrap=True)


def advance(bar: Progress | None, steps: int = 1) -> None:
    """Move a progress bar from :meth:`Output.progress` on, if there is one."""
    if bar is not None:
        bar.advance(bar.task_ids[0], steps)


def reach(bar: Progress | None, completed: int) -> None:
    """Move a progress bar from :meth:`Output.progress` to ``completed``, if there is one."""
    if bar is not None:
        bar.update(bar.task_ids[0], completed=completed)

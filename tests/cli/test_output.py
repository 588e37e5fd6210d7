from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.progress import Progress, TimeRemainingColumn

from order_lifecycle.cli import _COMMANDS, _parser
from order_lifecycle.cli._output import Output, Rate, advance
from order_lifecycle.store import open_store
from tests.store.test_pages import inbox_rows, shipped_orders

from .test_replay import SECRET, accepted, wrapped


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_plain_output_prints_text_as_it_is() -> None:
    """Not a terminal: markup is not read, NUL and lone surrogates are escaped, no colour."""
    stream = io.StringIO()
    out = Output(stream)
    out.line("[bold]order[/bold] \x00 \ud800")
    assert stream.getvalue() == "[bold]order[/bold] \\x00 \\ud800\n"


def test_no_progress_bar_unless_a_terminal() -> None:
    """Not a terminal: the progress context gives nothing, and advancing it is harmless."""
    with Output(io.StringIO()).progress("work", 3) as bar:
        assert bar is None
        advance(bar)


def test_a_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal, the progress context gives a bar that advances to its total."""
    for variable in ("NO_COLOR", "TERM", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(variable, raising=False)
    out = Output(_Terminal())
    assert out.terminal
    with out.progress("work", 3) as bar:
        assert bar is not None
        advance(bar, 3)
        assert bar.tasks[0].completed == 3


def test_a_progress_bar_shows_its_rate_and_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal the bar shows how many a second, and how long until done."""
    for variable in ("NO_COLOR", "TERM", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(variable, raising=False)
    with Output(_Terminal()).progress("work", 3, "rows") as bar:
        assert bar is not None
        kinds = {type(column) for column in bar.columns}
        assert {Rate, TimeRemainingColumn} <= kinds


def test_the_rate_reads_the_tasks_speed() -> None:
    """The rate column shows a task's speed in its unit a second, nothing before it is known."""
    now = [0.0]
    progress = Progress(Rate("rows"), get_time=lambda: now[0])
    task = progress.add_task("work", total=10_000)
    column = Rate("rows")
    assert column.render(progress.tasks[0]).plain == ""
    progress.advance(task, 10)
    now[0] = 2.0
    progress.advance(task, 2_000)
    assert column.render(progress.tasks[0]).plain == "1,000 rows/s"


@pytest.fixture
def long_work(tmp_path: Path) -> dict[str, list[str]]:
    """A store (2,500 deliveries, 40 orders) and a log of 300 lines; each long command's argv."""
    db = str(tmp_path / "shop.db")
    with open_store(db) as store:
        store.accept_deliveries(inbox_rows(2_500))
        shipped_orders(store, batches=2, per_batch=20)
    log = tmp_path / "log.jsonl"
    lines = [wrapped(accepted(f"o-{n}", f"e-{n}")) for n in range(300)]
    log.write_bytes(b"\r\n".join(lines) + b"\n\n")  # CRLF and a blank line: the bar counts bytes
    return {
        "replay": ["replay", str(log), "--db", str(tmp_path / "replayed.db"), "--secret", SECRET],
        "refeed": ["inbox", "refeed", "--status", "invalid", "--db", db],
        "check": ["check", "--db", db],
    }


@pytest.mark.parametrize("command", ["replay", "refeed", "check"])
def test_each_long_command_draws_a_bar_to_its_total(
    command: str, long_work: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal replay, refeed and check each draw a bar that ends at its nonzero total."""
    for variable in ("NO_COLOR", "TERM", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(variable, raising=False)
    bars: list[Progress | None] = []
    drawn = Output.progress

    @contextlib.contextmanager
    def recorded(self: Output, *args: Any, **kwargs: Any) -> Iterator[Progress | None]:
        with drawn(self, *args, **kwargs) as bar:
            bars.append(bar)
            yield bar

    monkeypatch.setattr(Output, "progress", recorded)
    args = _parser().parse_args(long_work[command])
    with contextlib.redirect_stderr(io.StringIO()):  # replay's warning about --secret
        assert _COMMANDS[args.command](args, Output(_Terminal(), width=100)) == 0
    assert len(bars) == 1
    assert bars[0] is not None
    task = bars[0].tasks[0]
    assert task.total
    assert task.completed == task.total

from __future__ import annotations

import io

import pytest

from order_lifecycle.cli._output import Output, advance


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

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from order_lifecycle import CHECKOUT_SPEC, ORDER_SPEC
from order_lifecycle.cli import main
from order_lifecycle.diagrams import render_spec


def test_demo_walks_an_order(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo shows a refused fulfilment, the way to allow it, the history and the table."""
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "ship it? refused: Can't fulfil when in pending_payment" in out
    assert "It becomes possible after: accept" in out
    assert "shipped and captured -> complete" in out
    assert "fulfil: accepted -> fulfilled" in out
    assert render_spec(ORDER_SPEC, "md") in out


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "md"])
def test_diagram_to_stdout(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`diagram` prints the chosen machine in the chosen format."""
    assert main(["diagram", "--machine", "checkout", "--format", fmt]) == 0
    assert capsys.readouterr().out == render_spec(CHECKOUT_SPEC, fmt)


def test_diagram_to_file(tmp_path: Path) -> None:
    """`diagram -o FILE` writes the file and prints nothing."""
    target = tmp_path / "order.mmd"
    assert main(["diagram", "--format", "mermaid", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_spec(ORDER_SPEC, "mermaid")


def test_library_errors_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A library error becomes a one-line message and exit status 1, not a traceback."""
    monkeypatch.setattr("shutil.which", lambda _name: None)
    assert main(["diagram", "--format", "svg"]) == 1
    assert capsys.readouterr().err.startswith("order-lifecycle: SVG needs Graphviz")


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown machine is refused by the argument parser."""
    with pytest.raises(SystemExit) as raised:
        main(["diagram", "--machine", "invoice"])
    assert raised.value.code == 2
    assert "invalid choice: 'invoice'" in capsys.readouterr().err


def test_python_dash_m() -> None:
    """`python -m order_lifecycle` is the same command."""
    done = subprocess.run(
        [sys.executable, "-m", "order_lifecycle", "diagram", "--format", "md"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == render_spec(ORDER_SPEC, "md")

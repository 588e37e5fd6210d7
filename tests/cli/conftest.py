"""A store the demo filled, shared by the command tests that read one."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from order_lifecycle.cli import main


@pytest.fixture(scope="session")
def demo_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A SQLite store after one demo day of 11 checkouts, and what the demo printed."""
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "shop.db"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["demo", "--db", str(db), "--orders", "11", "--picture", str(folder / "p")])
    assert code == 0
    return db, printed.getvalue()

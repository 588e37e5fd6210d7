"""``order-lifecycle status``: the store at a glance, in one screen, plain or on a terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from order_lifecycle.cli import _parser, _status, main
from order_lifecycle.cli._output import Output
from order_lifecycle.store import open_store
from tests.store.test_pages import inbox_rows, shipped_orders

from .test_output import _Terminal

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_status_counts_the_demo_day_and_names_what_needs_an_operator(
    demo_day: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Orders, deliveries and actions counted by state; the waiting delivery and its command."""
    db, _ = demo_day
    assert main(["status", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "orders: 10" in out
    assert re.search(r"complete +9\b", out)
    assert re.search(r"waiting +1 +\d+[dhms]", out)  # an open status shows its oldest's age
    assert re.search(r"applied +\d+ *\n", out)  # a settled one does not
    assert "needs an operator: 1 waiting delivery (oldest " in out
    assert "order-lifecycle inbox list --status waiting" in out


def test_status_json_is_one_document_of_the_overview(
    demo_day: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints one document whose counts are the store's overview."""
    db, _ = demo_day
    assert main(["status", "--db", str(db), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    with open_store(db, read_only=True) as store:
        overview = store.overview()
    assert set(document) == {"store", "at", "orders", "deliveries", "actions"}
    assert document["orders"] == {str(k): v for k, v in overview.orders.items()}
    assert {k: v["count"] for k, v in document["deliveries"].items()} == {
        str(k): t.count for k, t in overview.deliveries.items()
    }
    waiting = document["deliveries"]["waiting"]
    assert waiting["oldest"] is not None
    assert waiting["age_seconds"] > 0


def test_status_of_a_store_at_volume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """At thousands of rows the totals are the true ones, with thousands separated."""
    db = tmp_path / "shop.db"
    with open_store(db) as store:
        store.accept_deliveries(inbox_rows(5_200))
        shipped_orders(store, batches=2, per_batch=500)
    assert main(["status", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "orders: 1,000" in out
    assert "deliveries: 5,200" in out
    assert "actions: 6,000" in out
    assert "needs an operator: 743 invalid deliveries" in out


def test_status_fits_a_terminal_100_columns_wide(
    demo_day: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal of 100 columns the three tables stand side by side, no line wider."""
    for variable in ("NO_COLOR", "TERM", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(variable, raising=False)
    stream = _Terminal()
    args = _parser().parse_args(["status", "--db", str(demo_day[0])])
    assert _status.run(args, Output(stream, width=100)) == 0
    lines = ANSI.sub("", stream.getvalue()).splitlines()
    assert max(len(line) for line in lines) <= 100
    assert any(re.search(r"orders: 10 +deliveries: \d+ +actions: \d+", line) for line in lines)


def test_status_of_no_store_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A status of a path with no store: one line on stderr, exit 1, nothing created."""
    assert main(["status", "--db", str(tmp_path / "none.db")]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert not (tmp_path / "none.db").exists()
    assert captured.out == ""

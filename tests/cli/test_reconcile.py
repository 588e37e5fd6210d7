"""``order-lifecycle reconcile``: a reconciler process, until SIGTERM or, with --once, done."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from order_lifecycle import Inbox
from order_lifecycle.cli import main
from order_lifecycle.store import open_store
from tests import webhook_events as ev


def stored(db: Path, *payloads: dict[str, object]) -> None:
    with open_store(db) as store:
        Inbox(store, verified_upstream=True).accept([ev.raw(p) for p in payloads])


def test_once_settles_what_is_due_and_says_what(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--once settles every due delivery, then stops with a summary."""
    db = tmp_path / "shop.db"
    stored(db, *ev.accepted_fulfilled_complete())
    assert main(["reconcile", "--db", str(db), "--once"]) == 0
    out = capsys.readouterr().out
    assert "deliveries settled: 6 (applied 5, unknown 1)" in out
    with open_store(db) as store:
        assert str(store.get_order("1005").state) == "complete"


def test_it_runs_until_sigterm_and_applies_what_arrives(tmp_path: Path) -> None:
    """The process reconciles what is stored while it runs; SIGTERM ends it cleanly (0)."""
    db = tmp_path / "shop.db"
    open_store(db).close()
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "order_lifecycle", "reconcile", "--db", str(db), "--idle", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stored(db, *ev.card_order_accepted())
        deadline = time.monotonic() + 60
        with open_store(db) as store:
            while not store.order_ids():
                assert time.monotonic() < deadline, "nothing was reconciled"
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert (process.returncode, err) == (0, "")
    assert "deliveries settled: 1 (applied 1)" in out


def test_a_fetch_order_hook_must_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--fetch-order names module:attribute; one that does not load is one line, exit 1."""
    db = tmp_path / "shop.db"
    open_store(db).close()
    for reference in ("nope", "no_such_module_here:fetch", "json:no_such_name", "json:__doc__"):
        assert main(["reconcile", "--db", str(db), "--once", "--fetch-order", reference]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "fetch-order" in err or "fetch_order" in err or "not callable" in err

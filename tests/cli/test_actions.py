"""``order-lifecycle actions``: the outbox listed, a dead action retried, the worker run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from order_lifecycle import Item, Order, OrderEvent
from order_lifecycle.actions import action_key
from order_lifecycle.cli import main
from order_lifecycle.models import fire
from order_lifecycle.orders import cancel_items
from order_lifecycle.store import open_store

SHIP = action_key("o1", "ship", "box")
DELIVER = action_key("o1", "deliver_digitally", "key")

_RECORDING = '''
"""The shop's handlers for the tests: each writes the action's key to a log beside it."""
import pathlib

LOG = pathlib.Path(__file__).with_suffix(".log")


def record(action):
    with LOG.open("a", encoding="utf-8") as log:
        log.write(action.key + "\\n")
    return {"done": action.subject}


HANDLERS = {"ship": record, "deliver_digitally": record}
'''

_FAILING = """
def ship(action):
    raise TimeoutError("the warehouse did not answer")


HANDLERS = {"ship": ship}
"""


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A SQLite store holding one accepted order: a box to ship, a key to e-mail."""
    path = tmp_path / "shop.db"
    order = Order.create(
        "o1", items=[Item("box", 2, physical=True), Item("key", 1, physical=False)]
    )
    fire(order, OrderEvent.ACCEPT)
    with open_store(path) as store:
        store.create_order(order)
    return str(path)


@pytest.fixture
def handlers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """Write a handler module into tmp_path, importable; returns its ``module:HANDLERS``."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "path", list(sys.path))  # `run` may add the current folder
    written: list[str] = []

    def write(source: str) -> str:
        name = f"shop_handlers_{len(written)}_{os.getpid()}"
        (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
        written.append(name)
        return f"{name}:HANDLERS"

    yield write
    for name in written:
        sys.modules.pop(name, None)


def listed(db: str, capsys: pytest.CaptureFixture[str], *options: str) -> list[dict[str, Any]]:
    """The actions `actions list --json` prints, parsed (the whole page, on one page)."""
    assert main(["actions", "list", "--db", db, "--json", *options]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total"] == document["shown"] == len(document["actions"])
    assert document["next_after"] is None
    parsed: list[dict[str, Any]] = document["actions"]
    return parsed


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The error printed on stderr, checked to be one line and nothing on stdout."""
    captured = capsys.readouterr()
    assert captured.err.startswith("order-lifecycle: ")
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err
    return captured.err


def test_list_prints_the_outbox_as_a_table_and_as_json(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`list` shows each action's key and state; --json prints the same as one JSON document."""
    assert main(["actions", "list", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "showing 2 of 2 actions" in out
    assert re.search(rf"  {re.escape(SHIP)}\s+pending\s+0\s", out)
    assert DELIVER in out
    found = {a["key"]: a for a in listed(db, capsys)}
    ship, deliver = found.pop(SHIP), found.pop(DELIVER)
    assert found == {}
    assert ship == ship | {"order_id": "o1", "kind": "ship", "subject": "box", "state": "pending"}
    assert ship["payload"] == {"item_id": "box", "quantity": 2}
    assert (ship["tries"], ship["last_error"], ship["result"]) == (0, None, None)
    assert datetime.fromisoformat(ship["created_at"]).tzinfo is not None
    assert deliver["kind"] == "deliver_digitally"


def test_list_filters_by_state_kind_and_order(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--state, --kind (each repeatable) and --order narrow the list."""
    assert [a["key"] for a in listed(db, capsys, "--kind", "deliver_digitally")] == [DELIVER]
    both = listed(db, capsys, "--kind", "ship", "--kind", "deliver_digitally", "--order", "o1")
    assert len(both) == 2
    assert listed(db, capsys, "--order", "o2") == []
    assert listed(db, capsys, "--state", "done", "--state", "dead") == []
    assert len(listed(db, capsys, "--state", "pending")) == 2


def test_run_once_runs_the_due_actions_through_the_handlers(
    db: str, handlers: Callable[[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run --once` runs a batch through the module's handlers and prints its counters."""
    reference = handlers(_RECORDING)
    assert main(["actions", "run", "--db", db, "--handlers", reference, "--once"]) == 0
    assert capsys.readouterr().out == (
        "actions claimed: 2, done: 2, failed (to retry): 0, dead: 0\n"
    )
    log = tmp_path / f"{reference.partition(':')[0]}.log"
    assert sorted(log.read_text(encoding="utf-8").split()) == sorted([SHIP, DELIVER])
    done = {a["key"]: a for a in listed(db, capsys)}
    assert done[SHIP]["state"] == "done"
    assert done[SHIP]["result"] == {"done": "box"}
    assert main(["actions", "run", "--db", db, "--handlers", reference, "--once"]) == 0
    assert "claimed: 0," in capsys.readouterr().out  # done actions are not run again


def test_run_only_the_kinds_asked_for(
    db: str, handlers: Callable[[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--kinds runs only those of the handlers' kinds; the other actions stay pending."""
    reference = handlers(_RECORDING)
    argv = ["actions", "run", "--db", db, "--handlers", reference, "--once", "--kinds", "ship"]
    assert main(argv) == 0
    assert "claimed: 1, done: 1," in capsys.readouterr().out
    states = {a["key"]: a["state"] for a in listed(db, capsys)}
    assert states == {SHIP: "done", DELIVER: "pending"}


def test_a_failing_handler_is_retried_with_backoff_and_its_error_listed(
    db: str, handlers: Callable[[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A handler that raises fails its action: kept with its error, due again after a backoff."""
    reference = handlers(_FAILING)
    before = datetime.now().astimezone()
    assert main(["actions", "run", "--db", db, "--handlers", reference, "--once"]) == 0
    assert capsys.readouterr().out == (
        "actions claimed: 1, done: 0, failed (to retry): 1, dead: 0\n"
    )
    (failed,) = listed(db, capsys, "--state", "failed")
    assert failed["key"] == SHIP
    assert failed["tries"] == 1
    assert failed["last_error"] == "TimeoutError: the warehouse did not answer"
    assert datetime.fromisoformat(failed["retry_at"]) >= before + timedelta(seconds=2)
    assert main(["actions", "list", "--db", db, "--state", "failed"]) == 0
    out = capsys.readouterr().out
    assert "TimeoutError: the warehouse did not answer" in out
    assert f"{datetime.fromisoformat(failed['retry_at']):%Y-%m-%d %H:%M:%S}" in out
    # Within the backoff the action is not due: a second run claims nothing.
    assert main(["actions", "run", "--db", db, "--handlers", reference, "--once"]) == 0
    assert "claimed: 0," in capsys.readouterr().out


def test_a_dead_action_retried_runs_again(
    db: str, handlers: Callable[[str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`retry KEY` makes a dead action pending, tries from 0; the next run completes it."""
    with open_store(db) as store:
        store.max_tries = 1
        store.claim_actions(["ship"])
        assert store.fail_action(SHIP, "the courier went bust").state == "dead"
    (dead,) = listed(db, capsys, "--state", "dead")
    assert (dead["key"], dead["last_error"]) == (SHIP, "the courier went bust")
    assert main(["actions", "retry", SHIP, "--db", db]) == 0
    assert capsys.readouterr().out == (
        f"action {SHIP} is pending again (tries from 0): the next run takes it\n"
    )
    (again,) = listed(db, capsys, "--kind", "ship")
    assert (again["state"], again["tries"]) == ("pending", 0)
    reference = handlers(_RECORDING)
    assert main(["actions", "run", "--db", db, "--handlers", reference, "--once"]) == 0
    assert "done: 2," in capsys.readouterr().out
    assert listed(db, capsys, "--kind", "ship")[0]["state"] == "done"


def test_a_dead_action_whose_order_was_cancelled_is_not_retried(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dead ship whose order was cancelled since: cancelled, and its retry says why."""
    with open_store(db) as store:
        store.max_tries = 1
        store.claim_actions(["ship"])
        assert store.fail_action(SHIP, "the courier went bust").state == "dead"
        store.update_order("o1", lambda o: cancel_items(o, {"box": 2, "key": 1}))
    (cancelled,) = listed(db, capsys, "--kind", "ship")
    assert cancelled["state"] == "cancelled"
    assert main(["actions", "retry", SHIP, "--db", db]) == 1
    said = one_line_error(capsys)
    assert f"Can't retry action {SHIP} when cancelled" in said
    assert "the order left accepted for cancelled" in said
    assert listed(db, capsys, "--kind", "ship")[0]["state"] == "cancelled"
    assert main(["actions", "list", "--db", db, "--kind", "ship"]) == 0
    assert "cancelled: the order left accepted for cancelled" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (SHIP, f"Can't retry action {SHIP} when pending: it is due already"),
        ("nope", "Unknown action 'nope'"),
        ('["o9", "ship", "box"]', "Unknown action"),
        ("[]", "Unknown action"),
    ],
)
def test_retry_refuses_what_is_not_dead_or_failed(
    db: str, key: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Retrying a pending action or an unknown key: one line on stderr, exit 1, nothing changed."""
    assert main(["actions", "retry", key, "--db", db]) == 1
    assert says in one_line_error(capsys)
    assert {a["state"] for a in listed(db, capsys)} == {"pending"}


def test_run_errors_are_one_line(
    db: str, handlers: Callable[[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Handlers that cannot be loaded, a kind with no handler, no store: one line, exit 1."""
    broken = handlers("def broken(:\n")
    unknown_kind = handlers('HANDLERS = {"teleport": print}\n')
    cases = [
        (["--handlers", "no_such_module_here:HANDLERS"], "No module named"),
        (["--handlers", "no_colon"], "module:attribute"),
        (["--handlers", broken], "SyntaxError"),
        (["--handlers", unknown_kind], "Unknown action kind 'teleport'"),
        (["--handlers", handlers(_RECORDING), "--kinds", "capture"], "no handler for capture"),
    ]
    for options, says in cases:
        assert main(["actions", "run", "--db", db, "--once", *options]) == 1, options
        assert says in one_line_error(capsys), options
    missing = str(tmp_path / "missing.db")
    assert main(["actions", "run", "--db", missing, "--handlers", handlers(_RECORDING)]) == 1
    one_line_error(capsys)
    assert main(["actions", "list", "--db", missing]) == 1
    one_line_error(capsys)


def test_prune_deletes_the_finished_actions_before_a_moment(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`prune --before ISO` deletes done and cancelled actions finished before it, says how many."""
    with open_store(db) as store:
        store.claim_actions(["ship"])
        store.complete_action(SHIP, "shipped")
    assert main(["actions", "prune", "--before", "2020-01-01T00:00:00+00:00", "--db", db]) == 0
    assert "0 finished actions pruned" in capsys.readouterr().out
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert main(["actions", "prune", "--before", later, "--db", db]) == 0
    assert "1 finished action pruned" in capsys.readouterr().out
    assert [(a["key"], a["state"]) for a in listed(db, capsys)] == [(DELIVER, "pending")]


@pytest.mark.parametrize(
    "argv",
    [
        ["prune", "--before", "yesterday"],
        ["prune", "--before", "2026-01-01T00:00:00"],
        ["prune"],
        ["list", "--state", "lost"],
        ["list", "--kind", "teleport"],
        ["run", "--handlers", "m:H", "--lease", "0"],
        ["run", "--handlers", "m:H", "--batch", "many"],
        ["run"],
        ["retry"],
        [],
    ],
)
def test_bad_arguments_are_one_line(
    db: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Arguments the parser refuses: one line on stderr, exit 2."""
    with pytest.raises(SystemExit) as raised:
        main(["actions", *argv, *(["--db", db] if argv else [])])
    assert raised.value.code == 2
    one_line_error(capsys)


@pytest.mark.parametrize("verb", ["list", "retry", "run", "prune"])
def test_help_on_each_verb(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each of `actions list|retry|run|prune` has --help."""
    with pytest.raises(SystemExit) as raised:
        main(["actions", verb, "--help"])
    assert raised.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: order-lifecycle actions {verb}")


def test_run_until_sigterm_in_a_process(db: str, tmp_path: Path) -> None:
    """`run` keeps running until SIGTERM, then stops gracefully and prints its counters."""
    (tmp_path / "shop_signalled.py").write_text(_RECORDING, encoding="utf-8")
    log = tmp_path / "shop_signalled.log"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    argv = ["actions", "run", "--db", db, "--handlers", "shop_signalled:HANDLERS", "--idle", "0.1"]
    with subprocess.Popen(  # noqa: S603 (our own command)
        [sys.executable, "-m", "order_lifecycle", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path.parent,  # the handlers are found through PYTHONPATH, not the folder
    ) as worker:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and worker.poll() is None:
            if log.exists() and len(log.read_text(encoding="utf-8").split()) == 2:
                break
            time.sleep(0.05)
        assert worker.poll() is None, worker.communicate()
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    assert (worker.returncode, err) == (0, "")
    assert out.startswith("running deliver_digitally, ship (SIGTERM or Ctrl-C stops)\n")
    assert out.endswith("actions claimed: 2, done: 2, failed (to retry): 0, dead: 0\n")
    with open_store(db, read_only=True) as store:
        assert {str(a.state) for a in store.list_actions()} == {"done"}

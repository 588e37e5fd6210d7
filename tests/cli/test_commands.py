from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from order_lifecycle import Order, OrderEvent, __version__, cli, fire
from order_lifecycle.cli import main
from order_lifecycle.diagrams import render_spec
from order_lifecycle.lifecycle import ORDER_SPEC
from order_lifecycle.store import open_store


def test_show_tells_state_history_and_what_is_allowed(
    demo_day: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`show` prints the order, its history, and explains each operation it refuses."""
    db, _ = demo_day
    assert main(["show", "ord-1003", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("order ord-1003: blocked (fraud state: blocked; checkout chk-1003)")
    assert "evt-ord-1003-blocked" in out  # the history names the webhook event
    assert "events allowed next: none" in out
    assert "operations allowed now: none" in out
    assert "  fulfil_items: Can't fulfil_items when in blocked" in out
    assert "actions (1: what its changes asked the shop to do)" in out
    assert re.search(r"\n  notify_customer +blocked#1 +done +1 ", out)


def test_show_lists_done_and_pending_actions(
    demo_day: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`show` lists the order's actions: those the worker did and those still pending."""
    db, _ = demo_day
    assert main(["show", "ord-1010", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\n  capture +ch-ord-1010 +done +1 ", out)
    assert re.search(r"\n  confirm_refund +ch-ord-1010@\d+ +pending +0 ", out)


def test_show_names_the_events_that_left_no_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`show` counts the webhook events applied, naming those its history cannot show."""
    db = tmp_path / "shop.db"
    with open_store(db, create=True) as store:
        store.create_order(Order.create("o-1"), event_id="evt-created")
        store.update_order(
            "o-1",
            lambda o: fire(o, OrderEvent.ACCEPT, event_id="evt-accepted"),
            event_id="evt-accepted",
        )
        store.update_order("o-1", lambda _order: None, event_id="evt-stale")
    assert main(["show", "o-1", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    quiet = "without a step of their own (stale, or data only): evt-created, evt-stale"
    assert f"webhook events applied: 3; {quiet}\n" in out


def test_show_an_unknown_order_is_one_line(
    demo_day: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An order the store does not hold: one line on stderr, exit 1."""
    db, _ = demo_day
    assert main(["show", "nope", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("order-lifecycle: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_diagram_of_an_order_marks_its_path(
    demo_day: tuple[Path, str], fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`diagram --order` draws the order machine with the path taken and the state marked."""
    db, _ = demo_day
    assert main(["diagram", "--order", "ord-1011", "--db", str(db), "--format", fmt]) == 0
    out = capsys.readouterr().out
    whole = render_spec(ORDER_SPEC, fmt)
    assert out != whole
    if fmt == "mermaid":
        assert "    class complete current" in out
        assert "    class accepted,fulfilled,dispute visited" in out
    else:
        assert "complete [tooltip=" in out
        assert 'style="rounded,filled,bold"' in out
        assert out.count("penwidth=2.5") == 5  # created, fulfil, complete, dispute, resolved
        assert '__start__ -> accepted [label="created", style=dashed, color=' in out


def test_diagram_into_a_missing_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`diagram -o` into a folder that does not exist: one line on stderr, exit 1."""
    target = tmp_path / "missing" / "order.mmd"
    assert main(["diagram", "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert err == f"order-lifecycle: No such file or directory: {target}\n"


def test_inbox_lists_what_needs_an_operator_and_what_was_refused(
    demo_day: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`inbox list` shows the waiting and unknown deliveries; `refused` the forgery's summary."""
    db, _ = demo_day
    assert main(["inbox", "list", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "showing 2 of 2 deliveries (waiting, invalid, unknown, unknown_order)" in out
    assert re.search(r"order.blocked +ord-\d+ +waiting \(1 tries\) ", out)
    assert re.search(r"invoice.created +ord-\d+ +unknown +the library does not know", out)
    assert main(["inbox", "list", "--db", str(db), "--all", "--status", "waiting"]) == 0
    assert "(every status)" in capsys.readouterr().out
    assert main(["inbox", "refused", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "1 deliveries refused unread (kept as summaries)" in out
    assert "The webhook signature is not valid." in out


def test_inbox_show_refeed_and_dismiss_one_delivery(
    demo_day: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Show prints one with its body; refeed makes it pending, reconcile tries it; dismiss."""
    db = tmp_path / "shop.db"
    shutil.copyfile(demo_day[0], db)
    assert main(["inbox", "list", "--db", str(db), "--status", "waiting", "--json"]) == 0
    (late,) = json.loads(capsys.readouterr().out)["deliveries"]
    assert (late["event_id"], late["status"], late["attempts"]) == (
        "evt-late-blocked",
        "waiting",
        1,
    )
    seq = str(late["seq"])
    assert main(["inbox", "show", seq, "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"seq: {seq}\n" in out
    assert '"id": "evt-late-blocked"' in out
    assert main(["inbox", "refeed", seq, "--db", str(db)]) == 0
    assert "is pending again" in capsys.readouterr().out
    assert main(["reconcile", "--db", str(db), "--once"]) == 0
    assert "deliveries settled: 1 (waiting 1)" in capsys.readouterr().out
    assert main(["inbox", "dismiss", seq, "--db", str(db)]) == 0
    assert "is dismissed" in capsys.readouterr().out
    assert main(["inbox", "list", "--db", str(db), "--status", "dismissed", "--json"]) == 0
    dismissed = json.loads(capsys.readouterr().out)["deliveries"]
    assert [row["seq"] for row in dismissed] == [late["seq"]]
    assert main(["inbox", "dismiss", "1", "--db", str(db)]) == 1
    assert "settled for good, nothing to dismiss" in capsys.readouterr().err
    assert main(["inbox", "show", "99999", "--db", str(db)]) == 1
    assert "Unknown delivery 99999" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the program and its version."""
    with pytest.raises(SystemExit) as raised:
        main(["--version"])
    assert raised.value.code == 0
    assert capsys.readouterr().out == f"order-lifecycle {__version__}\n"


@pytest.mark.parametrize(
    "command",
    [
        "demo",
        "replay",
        "show",
        "diagram",
        "inbox",
        "reconcile",
        "actions",
        "check",
        "migrate",
        "schema",
        "send",
        "sandbox",
    ],
)
def test_help_on_every_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every command has --help."""
    with pytest.raises(SystemExit) as raised:
        main([command, "--help"])
    assert raised.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: order-lifecycle {command}")


def test_installed_console_script(tmp_path: Path) -> None:
    """The installed script runs the demo in a new process with Graphviz hidden from PATH."""
    script = Path(sys.executable).parent / "order-lifecycle"
    assert script.exists()
    done = subprocess.run(  # noqa: S603 (our own script)
        [str(script), "demo", "--orders", "11", "--picture", str(tmp_path / "p")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # Only the environment's own programs: no Graphviz `dot` there.
        env={**os.environ, "COLUMNS": "200", "PATH": str(script.parent)},
    )
    assert not (script.parent / "dot").exists()
    assert (done.returncode, done.stderr) == (0, "")
    assert "refund during the dispute" in done.stdout
    assert "flowchart TB" in (tmp_path / "p.mmd").read_text(encoding="utf-8")
    assert "digraph path" in (tmp_path / "p.dot").read_text(encoding="utf-8")


def test_a_bug_is_one_line_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unexpected exception inside a command: one line naming it as a bug, exit 1."""

    def broken(_args: object, _out: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setitem(cli._COMMANDS, "check", broken)
    assert main(["check", "--db", "x"]) == 1
    assert capsys.readouterr().err == (
        "order-lifecycle: unexpected RuntimeError (a bug: please report it): boom\n"
    )

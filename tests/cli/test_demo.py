from __future__ import annotations

import re
from pathlib import Path

import pytest

from order_lifecycle.cli import main
from order_lifecycle.store import open_store


def test_demo_shows_every_outcome_it_promises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The day's summary shows each POST /orders outcome, each delivery outcome, the refusals."""
    picture = tmp_path / "path"
    assert main(["demo", "--orders", "11", "--picture", str(picture)]) == 0
    out = capsys.readouterr().out
    assert "(SQLite, the embedded default" in out
    for outcome in (
        "201 accepted",
        "201 in_review",
        "201 pending_payment",
        "409 payment",
        "409 fraud",
        "400 fixed, resubmitted",
        "timeout, settled by lookup",
        "404 after a client retry, settled by lookup",
    ):
        assert outcome in out
    for outcome in ("applied", "duplicate", "stale", "waiting", "unknown", "invalid"):
        assert f"  {outcome} " in out
    assert re.search(r"the store's inbox, by status \(\d+ deliveries stored\)", out)
    assert "The webhook signature is not valid." in out
    assert (
        "ship before acceptance (ord-1002): FulfillmentNotAllowed: Can't fulfil_items when in "
        "pending_payment" in out
    )
    assert "resubmit a rejected checkout (chk-1004): CheckoutRejected" in out
    assert "refund during the dispute (ord-1011): RefundNotAllowed" in out
    assert "actions, run by the shop's worker" in out
    for action in ("ship", "deliver_digitally", "notify_customer", "capture"):
        assert re.search(rf"\n  {action} +0 +[1-9]", out), action  # none pending, some done
    assert (
        "ship ord-1001/mug: done on try 2 (the last failure: TimeoutError: the warehouse did "
        "not answer in 30 s)" in out
    )
    assert "told 1 customer(s): We could not accept your order" in out
    assert "every stored history is legal" in out
    assert "'s path (accepted -> fulfilled -> complete -> dispute -> complete)" in out
    assert re.search(r"\n +4 +dispute +order\.dispute +\d\d:\d\d", out)  # a step per row
    drawn = (tmp_path / "path.svg").read_text(encoding="utf-8")
    assert "<svg" in drawn
    assert "#1d4ed8" in drawn  # the state the path ends in is filled


@pytest.mark.usefixtures("no_svg_engine")
def test_demo_needs_no_graphviz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On a bare machine the demo succeeds: the path in the terminal, as Mermaid and DOT, no SVG."""
    picture = tmp_path / "path"
    assert main(["demo", "--orders", "11", "--picture", str(picture)]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["path.dot", "path.mmd"]
    assert "no SVG: install Graphviz, or `pip install 'order-lifecycle[svg]'`" in out
    assert "every stored history is legal" in out


def test_demo_without_a_picture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--no-picture writes no file, and still shows the path in the terminal."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--orders", "11", "--no-picture"]) == 0
    assert "'s path (accepted -> fulfilled" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SystemExit) as raised:
        main(["demo", "--picture", "p", "--no-picture"])
    assert raised.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


PROVIDER_CODES = ("failed-request", "fraud_block", "invalid_parameter", "not_found", "conflict")


def test_demo_ships_and_emails_through_the_worker(demo_day: tuple[Path, str]) -> None:
    """Every handled action of the day is done (or cancelled); each shipped item is fulfilled."""
    db, printed = demo_day
    with open_store(db, read_only=True) as store:
        actions = store.list_actions(limit=10_000)
        handled = [a for a in actions if a.kind in {"ship", "deliver_digitally", "capture"}]
        assert {str(a.state) for a in handled} <= {"done", "cancelled"}
        shipped = [a for a in actions if a.kind == "ship" and a.state == "done"]
        assert shipped
        for action in shipped:
            order = store.get_order(action.order_id)
            item = next(i for i in order.items if i.id == action.subject)
            assert item.open_quantity == 0
            assert item.fulfilled == item.quantity - item.cancelled
        captured = [a for a in actions if a.kind == "capture" and a.state == "done"]
        assert all(store.get_order(a.order_id).state != "fulfilled" for a in captured)
        (told,) = [a for a in actions if a.kind == "notify_customer"]
        assert (told.order_id, str(told.state)) == ("ord-1003", "done")
    messages = [line for line in printed.splitlines() if line.startswith("  told ")]
    assert messages
    for line in messages:
        assert not any(code in line for code in PROVIDER_CODES), line


def test_demo_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same seed gives the same day, summary for summary."""
    runs = []
    for n in range(2):
        assert (
            main(["demo", "--orders", "13", "--seed", "7", "--picture", str(tmp_path / "p")]) == 0
        )
        runs.append(capsys.readouterr().out.split("\n", 1)[1])  # the store's path differs
        del n
    assert runs[0] == runs[1]


def test_demo_refuses_too_small_a_day(capsys: pytest.CaptureFixture[str]) -> None:
    """Fewer orders than stories: one line on stderr, exit 2."""
    with pytest.raises(SystemExit) as raised:
        main(["demo", "--orders", "3"])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "give 11 to 10000" in err


def test_demo_plain_output_has_no_colour(capsys: pytest.CaptureFixture[str]) -> None:
    """Not a terminal: no escape codes, no progress bar."""
    assert main(["demo", "--orders", "11", "--no-picture"]) == 0
    assert "\x1b[" not in capsys.readouterr().out

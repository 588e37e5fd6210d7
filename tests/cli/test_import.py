"""``order-lifecycle import``: orders backfilled from GET /orders bodies, idempotent, streaming."""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_lifecycle import Inbox
from order_lifecycle.cli import main
from order_lifecycle.cli._import import MAX_LINE, Imported, _bar, import_lines
from order_lifecycle.cli._output import Output
from order_lifecycle.store import MemoryStore, Store, open_store
from order_lifecycle.testing import hostile_bodies
from tests import webhook_events as ev


def body(order_id: str, state: str, hours: int, **extra: Any) -> bytes:
    """A GET /orders/{id} body: order ``order_id`` in ``state``, last changed at hour ``hours``."""
    transitions = {"accepted": ev.at(1)}
    if state in {"fulfilled", "complete"}:
        transitions["fulfilled"] = ev.at(hours)
    items = [ev.item(f"{order_id}-1", 1, amount=10.0, physical=True, state="created")]
    if state != "accepted":
        items = [ev.item(f"{order_id}-1", 1, amount=10.0, physical=True, state="fulfilled")]
    obj = ev.order(
        order_id,
        state,
        transitions=transitions,
        items=items,
        charges=[ev.charge(f"ch-{order_id}", "capturable", 10.0)],
    )
    obj["updatedTime"] = ev.stamp(ev.at(hours))
    obj.update(extra)
    return json.dumps(obj).encode()


def write(path: Path, lines: Sequence[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def snapshot(store: Store) -> dict[str, object]:
    """Everything an import may change: orders (versions, histories), event ids, actions."""
    orders = store.read_orders(store.order_ids())
    return {
        "orders": {
            key: (version, order, order.history) for key, (version, order) in orders.items()
        },
        "actions": sorted(a.key for a in store.list_actions()),
    }


def run(path: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["import", str(path), "--db", str(db)])
    return code, capsys.readouterr().out.splitlines()


def test_a_file_of_orders_creates_each_with_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each body becomes its order, in its state; the summary counts one line per outcome."""
    path = write(
        tmp_path / "orders.jsonl", [body("o-1", "accepted", 2), body("o-2", "fulfilled", 5)]
    )
    db = tmp_path / "shop.db"
    code, lines = run(path, db, capsys)
    assert (code, lines) == (0, ["created: 2", "updated: 0", "unchanged: 0", "refused: 0"])
    with open_store(db) as store:
        assert str(store.get_order("o-1").state) == "accepted"
        assert str(store.get_order("o-2").state) == "fulfilled"


def test_importing_the_same_file_twice_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second import of one file writes nothing: every line is unchanged."""
    path = write(
        tmp_path / "orders.jsonl",
        [body("o-1", "accepted", 2), body("o-2", "fulfilled", 5), body("o-1", "fulfilled", 6)],
    )
    db = tmp_path / "shop.db"
    assert run(path, db, capsys)[0] == 0
    with open_store(db) as store:
        before = snapshot(store)
    code, lines = run(path, db, capsys)
    assert (code, lines) == (0, ["created: 0", "updated: 0", "unchanged: 3", "refused: 0"])
    with open_store(db) as store:
        assert snapshot(store) == before


def test_a_newer_body_brings_a_known_order_up_to_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A body newer than what the store holds moves the order on: updated."""
    db = tmp_path / "shop.db"
    assert run(write(tmp_path / "a.jsonl", [body("o-1", "accepted", 2)]), db, capsys)[0] == 0
    code, lines = run(write(tmp_path / "b.jsonl", [body("o-1", "fulfilled", 6)]), db, capsys)
    assert (code, lines[1]) == (0, "updated: 1")
    with open_store(db) as store:
        assert str(store.get_order("o-1").state) == "fulfilled"


def test_an_order_newer_in_the_store_is_not_moved_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An export older than the webhooks applied since leaves the order as it is: unchanged."""
    db = tmp_path / "shop.db"
    with open_store(db) as store:
        Inbox(store, verified_upstream=True).receive(
            [ev.raw(p) for p in ev.accepted_fulfilled_complete()]
        )
        before = snapshot(store)
        assert str(store.get_order("1005").state) == "complete"
    old = body("1005", "accepted", 1, checkoutId="chk-1005")
    code, lines = run(write(tmp_path / "old.jsonl", [old]), db, capsys)
    assert (code, lines[2]) == (0, "unchanged: 1")
    with open_store(db) as store:
        assert snapshot(store) == before


def test_refused_lines_say_why_in_one_line_and_the_rest_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad lines are refused one by one, with reasons; the good ones around them are imported."""
    bad = [
        b"not json",
        b"[1, 2]",
        b'{"id": "o-9"}',
        json.dumps({"id": "o-\x00", "state": "accepted", "items": []}).encode(),
        b'{"id": "o-\\ud800", "state": "accepted", "items": []}',
        body("o-8", "accepted", 2, payment={"charges": [{"id": "c", "amount": 1e999999999}]}),
        b'{"id": "o-7", "state": "accepted", "items": [], "n": ' + b"9" * 5000 + b"}",
        body("o-6", "accepted", 2, updatedTime=None, stateTransitions=None, createdTime=None),
    ]
    path = write(tmp_path / "orders.jsonl", [body("o-1", "accepted", 2), *bad, b"  "])
    code, lines = run(path, tmp_path / "shop.db", capsys)
    assert code == 1
    assert lines[:4] == ["created: 1", "updated: 0", "unchanged: 0", f"refused: {len(bad)}"]
    reasons = lines[4:]
    assert [line.split(":")[0] for line in reasons] == [f"line {n}" for n in range(2, 10)]
    assert all("refused: " in line and len(line) < 400 for line in reasons)
    assert "not JSON" in reasons[0]
    assert "lone surrogate" in reasons[4]
    assert "nothing dates it" in reasons[7]


def test_a_100_mb_line_is_refused_unread_in_constant_memory(tmp_path: Path) -> None:
    """A line over 1 MiB (here 100 MB) is skipped unread; memory stays far below its size."""
    path = tmp_path / "orders.jsonl"
    with path.open("wb") as out:
        out.write(body("o-1", "accepted", 2) + b"\n")
        out.write(b'{"id": "' + b"x" * (100 * 2**20) + b'"}\n')
        out.write(body("o-2", "accepted", 2) + b"\n")
    store = MemoryStore()
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            counts, refused = import_lines(store, stream)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (counts[Imported.CREATED], counts[Imported.REFUSED]) == (2, 1)
    assert refused == [(2, f"the line is longer than {MAX_LINE} bytes; not read")]
    assert peak < 8 * MAX_LINE


def _order_bodies() -> st.SearchStrategy[dict[str, Any]]:
    """Order objects (the data.object of the fixture lives' order events)."""
    lines = [
        p["data"]["object"]
        for life in (ev.accepted_fulfilled_complete(), ev.dispute_and_resolution())
        for p in life
        if "state" in p["data"]["object"]
    ]
    return st.sampled_from(lines)


@settings(max_examples=60, deadline=None)
@given(st.lists(hostile_bodies(_order_bodies()), min_size=1, max_size=4))
def test_hostile_lines_end_as_typed_outcomes_and_refusals_change_nothing(
    lines: list[bytes],
) -> None:
    """Any hostile line is created, updated, unchanged or refused; refused lines write nothing."""
    store = MemoryStore()
    stream = io.BytesIO(b"\n".join(line.replace(b"\n", b" ") for line in lines) + b"\n")
    counts, refused = import_lines(store, stream)
    assert sum(counts.values()) == len(lines)
    assert len(refused) == counts[Imported.REFUSED]
    written = counts[Imported.CREATED] + counts[Imported.UPDATED]
    assert (written == 0) == (store.order_ids() == [])
    assert store.check() == []


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_progress_bar_with_rate_and_time_left_and_a_pipe_none() -> None:
    """On a terminal the import shows a bar with its rate and time left; piped, nothing."""
    with _bar(Output(_Terminal()), 1000) as bar:
        assert bar is not None
        names = {type(column).__name__ for column in bar.columns}
    assert {"TransferSpeedColumn", "TimeRemainingColumn"} <= names
    with _bar(Output(io.StringIO()), 1000) as bar:
        assert bar is None

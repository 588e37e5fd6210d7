"""SQLite's pending rows from a low-water mark (schema 9): the mark never passes one.

No index holds SQLite's pending inbox rows: claims and counts read them by rowid from the
``ol_counters`` row ``inbox_pending_from``, which settlements move up and triggers move
down. A mark above a pending row would hide it from every reconciler for good. Since
schema 10 a row is pending when ``ol_inbox_status`` has no settled row for it: a shop's SQL
that deletes or changes status rows makes rows pending too.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from order_lifecycle.store import (
    Incoming,
    SettledGroup,
    Settlement,
    Store,
    _schema,
    _sql,
    open_store,
)
from order_lifecycle.store._schema import PENDING_MARK
from order_lifecycle.webhooks import DeliveryStatus

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
LATER = (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
ORDERS = ("o-1", "o-2", "o-3", None)
SETTLED = ("applied", "duplicate", "stale", "waiting", "invalid", "unknown", "unknown_order")
Key = tuple[str | None, str]
LOWEST_PENDING = (
    "SELECT MIN(seq) FROM ol_inbox i WHERE NOT EXISTS "
    "(SELECT 1 FROM ol_inbox_status s WHERE s.seq = i.seq AND s.status <> 'pending')"
)


def incoming(order_id: str | None, event_id: str) -> Incoming:
    return Incoming(
        event_id, "order.accepted", order_id, None, NOW.isoformat(), "pending", None, b"{}"
    )


def mark(path: Path) -> int:
    """The mark as stored in the file."""
    with sqlite3.connect(path) as connection:
        ((value,),) = connection.execute(
            "SELECT value FROM ol_counters WHERE name = ?", [PENDING_MARK]
        ).fetchall()
    connection.close()
    return int(value)


def raw(path: Path, sql: str, params: tuple[object, ...] = ()) -> None:
    """A shop's own SQL on the store's file, from a connection of its own."""
    with sqlite3.connect(path) as connection:
        connection.execute(sql, params)
    connection.close()


def settle(store: Store, seq: int, was: str, status: str) -> None:
    due = LATER if status == "waiting" else None
    order_id = store.get_delivery(seq).order_id
    group = SettledGroup(order_id, (), (Settlement(seq, was, status, "a test", 1, due),))
    (result,) = store.settle_deliveries([group])
    assert result.committed


def claimed_pending(store: Store, limit: int = 10_000) -> list[Key]:
    """The pending rows one claim of ``limit`` orders brings, released again."""
    claim = store.claim_deliveries(limit=limit, now=NOW)
    store.release_claim(claim)
    return [(r.order_id, r.event_id) for r in claim.deliveries if r.status.value == "pending"]


class MarkMachine(RuleBasedStateMachine):
    """Accept, claim and settle, refeed, dismiss, delete by hand, reopen: against a model."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[Key, str] = {}  # the model: each stored row's status
        self.events = 0

    @initialize()
    def open(self) -> None:
        """A new store at the newest schema."""
        self.path = Path(self._folder) / f"mark-{id(self)}.db"
        self.path.unlink(missing_ok=True)
        self.store = open_store(str(self.path), create=True)

    _folder = ""

    def seq_of(self, key: Key) -> int:
        """The stored row's seq."""
        order_id, event_id = key
        (row,) = [
            r for r in self.store.list_deliveries(limit=10_000) if (r.order_id, r.event_id) == key
        ]
        assert (row.order_id, row.event_id) == (order_id, event_id)
        return row.seq

    @rule(orders=st.lists(st.sampled_from(ORDERS), min_size=1, max_size=4), again=st.booleans())
    def accept(self, orders: list[str | None], again: bool) -> None:
        """New deliveries (a redelivery of a stored one when ``again``): pending at the top."""
        batch = []
        for order_id in orders:
            stored = [key for key in self.statuses if key[0] == order_id]
            if again and stored:
                batch.append(stored[0])
            else:
                self.events += 1
                batch.append((order_id, f"e-{self.events}"))
        self.store.accept_deliveries([incoming(*key) for key in batch])
        for key in batch:
            self.statuses.setdefault(key, "pending")

    @rule(limit=st.integers(1, 3), data=st.data())
    def reconcile(self, limit: int, data: st.DataObject) -> None:
        """A reconciler's round: a claim of a few orders, each pending row given a status."""
        claim = self.store.claim_deliveries(limit=limit, now=NOW)
        try:
            for row in claim.deliveries:
                if row.status.value == "pending":
                    status = data.draw(st.sampled_from(SETTLED))
                    settle(self.store, row.seq, "pending", status)
                    self.statuses[row.order_id, row.event_id] = status
        finally:
            self.store.release_claim(claim)

    @precondition(lambda self: self.statuses)
    @rule(data=st.data())
    def refeed(self, data: st.DataObject) -> None:
        """An operator feeds a row again, whatever its status: pending, maybe below the mark."""
        key = data.draw(st.sampled_from(sorted(self.statuses, key=str)))
        assert self.store.refeed_delivery(self.seq_of(key))
        self.statuses[key] = "pending"

    @precondition(lambda self: "waiting" in self.statuses.values())
    @rule(data=st.data())
    def dismiss(self, data: st.DataObject) -> None:
        """An operator sets a waiting row aside."""
        key = data.draw(
            st.sampled_from(
                sorted((k for k, s in self.statuses.items() if s == "waiting"), key=str)
            )
        )
        self.store.dismiss_delivery(self.seq_of(key))
        self.statuses[key] = "dismissed"

    @precondition(lambda self: self.statuses)
    @rule(data=st.data(), newest=st.booleans())
    def delete(self, data: st.DataObject, newest: bool) -> None:
        """A shop's own SQL deletes a row (the newest: its seq is given again to the next)."""
        keys = sorted(self.statuses, key=self.seq_of)
        key = keys[-1] if newest else data.draw(st.sampled_from(keys))
        raw(self.path, "DELETE FROM ol_inbox WHERE seq = ?", (self.seq_of(key),))
        del self.statuses[key]

    @precondition(lambda self: any(s != "pending" for s in self.statuses.values()))
    @rule(data=st.data(), how=st.sampled_from(["delete", "pending", "move"]))
    def change_a_status_row(self, data: st.DataObject, how: str) -> None:
        """A shop's own SQL deletes a status row, makes it pending, or moves it to a pending row."""
        settled = sorted((k for k, s in self.statuses.items() if s != "pending"), key=str)
        key = data.draw(st.sampled_from(settled))
        seq = self.seq_of(key)
        if how == "delete":
            raw(self.path, "DELETE FROM ol_inbox_status WHERE seq = ?", (seq,))
        elif how == "pending":
            raw(self.path, "UPDATE ol_inbox_status SET status = 'pending' WHERE seq = ?", (seq,))
        else:
            pending = sorted((k for k, s in self.statuses.items() if s == "pending"), key=str)
            if not pending:
                return
            other = data.draw(st.sampled_from(pending))
            # Only a row with no status row can take it: a fed-again one has its own.
            raw(self.path, "DELETE FROM ol_inbox_status WHERE seq = ?", (self.seq_of(other),))
            raw(
                self.path,
                "UPDATE ol_inbox_status SET seq = ? WHERE seq = ?",
                (self.seq_of(other), seq),
            )
            self.statuses[other] = self.statuses[key]
        self.statuses[key] = "pending"

    @rule()
    def reopen(self) -> None:
        """The process starts again: the mark is the file's."""
        self.store.close()
        self.store = open_store(str(self.path))

    @invariant()
    def every_pending_row_is_claimed(self) -> None:
        """A claim brings every pending row; every count and page counts them as the model."""
        pending = sorted((k for k, s in self.statuses.items() if s == "pending"), key=str)
        assert sorted(claimed_pending(self.store), key=str) == pending
        counts = {str(s): n for s, n in self.store.delivery_counts().items()}
        assert counts == dict(Counter(self.statuses.values()))
        for shown in (["pending"], ["pending", "waiting"], ["waiting", "applied"]):
            page = self.store.page_deliveries(statuses=shown, limit=10_000)
            listed = [(r.order_id, r.event_id) for r in page.items]
            assert sorted(listed, key=str) == sorted(
                (k for k, s in self.statuses.items() if s in shown), key=str
            )
            assert page.total == len(listed)
        backlog = self.store.backlog().deliveries
        assert backlog[DeliveryStatus.PENDING].count == len(pending)
        overview = self.store.overview(open_only=True)
        assert overview.delivery_count("pending") == len(pending)

    @invariant()
    def the_mark_is_at_or_below_every_pending_row(self) -> None:
        """No pending row is numbered below the mark."""
        with sqlite3.connect(self.path) as connection:
            (lowest,) = connection.execute(LOWEST_PENDING).fetchone()
        connection.close()
        assert lowest is None or mark(self.path) <= lowest

    def teardown(self) -> None:
        """The store closed."""
        self.store.close()


@pytest.fixture
def machine_folder(tmp_path: Path) -> str:
    return str(tmp_path)


def test_the_mark_never_passes_a_pending_row(machine_folder: str) -> None:
    """Accept, settle, refeed, dismiss, delete by hand, reopen: each pending row is claimed."""
    MarkMachine._folder = machine_folder
    run = MarkMachine.TestCase
    run.settings = settings(
        run.settings, stateful_step_count=30, suppress_health_check=[HealthCheck.too_slow]
    )
    run().runTest()


def applied(store: Store, count: int) -> list[int]:
    """``count`` deliveries of o-1 stored and settled applied; their seqs."""
    seqs = store.accept_deliveries([incoming("o-1", f"e-{n}") for n in range(count)])
    for seq in seqs:
        assert seq is not None
        settle(store, seq, "pending", "applied")
    return [seq for seq in seqs if seq is not None]


def test_a_row_refed_below_the_mark_is_claimed(tmp_path: Path) -> None:
    """An operator refeeds an applied row long after the mark passed it: the next claim takes it."""
    path = tmp_path / "refeed.db"
    with open_store(str(path), create=True) as store:
        seqs = applied(store, 5)
        assert mark(path) == 6
        assert claimed_pending(store) == []
        store.refeed_delivery(seqs[1])
        assert mark(path) == seqs[1]
        assert claimed_pending(store) == [("o-1", "e-1")]


def test_a_delivery_after_the_top_rows_are_deleted_is_claimed(tmp_path: Path) -> None:
    """Rows deleted at the top by a shop's SQL: the next delivery, given their seq, is claimed."""
    path = tmp_path / "top.db"
    with open_store(str(path), create=True) as store:
        applied(store, 4)
        assert mark(path) == 5
        raw(path, "DELETE FROM ol_inbox WHERE seq >= 3")
        (seq,) = store.accept_deliveries([incoming("o-2", "e-new")])
        assert seq == 3  # SQLite numbers it past the highest row left: below the old mark
        assert claimed_pending(store) == [("o-2", "e-new")]


def test_the_request_path_fires_nothing_and_writes_no_status_row(tmp_path: Path) -> None:
    """A pending row stored leaves the mark as it is and has no status row, nor index entry."""
    path = tmp_path / "insert.db"
    with open_store(str(path), create=True) as store:
        store.accept_deliveries([incoming("o-1", "e-1")])
        assert mark(path) == 1
        store.accept_deliveries([incoming("o-1", "e-2"), incoming("o-2", "e-3")])
    with sqlite3.connect(path) as connection:
        indexed = connection.execute("SELECT COUNT(*) FROM ol_inbox_status").fetchone()
        triggers = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%INSERT ON%'"
        ).fetchall()
    connection.close()
    assert (indexed, triggers) == ((0,), [])


def at_version(
    version: int,
    path: Path,
    rows: list[tuple[str, str | None, int, str | None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A store made by this code as ``version`` (patched), a row of each (status, reason, ...).

    Written by the SQL of that version (this code's request path writes the newest's).
    """
    with monkeypatch.context() as patch:
        for newer in range(version + 1, _schema.SCHEMA_VERSION + 1):
            patch.delitem(_schema.MIGRATIONS, newer)
        for module in (_schema, _sql):
            patch.setattr(module, "SCHEMA_VERSION", version)
        open_store(str(path), create=True).close()
    for n, (status, reason, attempts, due_at) in enumerate(rows):
        raw(
            path,
            "INSERT INTO ol_inbox (event_id, event_type, order_id, received_at, status, reason, "
            "attempts, due_at, body) VALUES (?, 'order.accepted', 'o-1', ?, ?, ?, ?, ?, ?)",
            (f"e-{n}", NOW.isoformat(), status, reason, attempts, due_at, f"body {n}".encode()),
        )


def at_version_8(path: Path, statuses: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A store made by this code as version 8 (patched), a row in each of ``statuses``."""
    at_version(8, path, [(status, None, 0, None) for status in statuses], monkeypatch)


def test_a_store_at_schema_8_migrates_with_its_mark_at_the_lowest_pending_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows pending, waiting and applied at version 8: after 9 each pending one is claimed."""
    path = tmp_path / "eight.db"
    statuses = ["applied", "waiting", "pending", "applied", "pending", "invalid"]
    at_version_8(path, statuses, monkeypatch)
    with open_store(str(path), migrate=True) as store:
        assert store.found_version == 8  # type: ignore[attr-defined]
        assert mark(path) == 3  # the first pending row's seq
        assert claimed_pending(store) == [("o-1", "e-2"), ("o-1", "e-4")]
        assert {str(s): n for s, n in store.delivery_counts().items()} == {
            "applied": 2,
            "waiting": 1,
            "pending": 2,
            "invalid": 1,
        }
        (seq,) = store.accept_deliveries([incoming("o-2", "e-new")])
        assert claimed_pending(store)[-1] == ("o-2", "e-new")
        assert seq == 7


def test_a_store_at_schema_8_without_pending_rows_gets_its_mark_past_the_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No pending row at version 8: the mark starts past the highest seq (none: at 1)."""
    for rows, expected in (([], 1), (["applied", "waiting"], 3)):
        path = tmp_path / f"eight-{len(rows)}.db"
        at_version_8(path, rows, monkeypatch)
        with open_store(str(path), migrate=True):
            assert mark(path) == expected


def test_a_settlement_written_order_by_order_moves_the_mark_up_too(tmp_path: Path) -> None:
    """One order's group lost (settled meanwhile), the other's committed: the mark passes it."""
    path = tmp_path / "lost.db"
    with open_store(str(path), create=True) as store:
        one, two = store.accept_deliveries([incoming("o-1", "e-1"), incoming("o-2", "e-2")])
        assert one is not None
        assert two is not None
        settle(store, one, "pending", "applied")
        assert mark(path) == two
        results = store.settle_deliveries(
            [
                SettledGroup("o-1", (), (Settlement(one, "pending", "stale", "no", 1, None),)),
                SettledGroup("o-2", (), (Settlement(two, "pending", "applied", "ok", 1, None),)),
            ]
        )
        assert [r.committed for r in results] == [False, True]
        assert mark(path) == two + 1
        assert claimed_pending(store) == []

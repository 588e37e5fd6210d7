"""SQLite's inbox rows are written once (schema 10): statuses are rows of ``ol_inbox_status``.

Each settlement rewrote its delivery's row of ``ol_inbox``, 2 to 3 kB of body with it,
about a page a delivery. Now the request path writes the body's row and nothing writes it
again: settlements, refeeds and dismissals write small rows keyed by ``seq`` beside it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from order_lifecycle.exceptions import MigrationNeeded
from order_lifecycle.store import Incoming, SettledGroup, Settlement, Store, open_store

from .test_inbox_mark import NOW, at_version, claimed_pending, incoming, mark, raw, settle

# A statement that writes ol_inbox itself (not ol_inbox_status).
WRITES_INBOX = re.compile(r"^\s*(UPDATE|INSERT INTO|DELETE FROM|REPLACE INTO)\s+ol_inbox\b")
PAGE = 4096


def body(n: int) -> bytes:
    """A body of about a page, found again in the file by its bytes."""
    return f"<body {n:04}>".encode() * 180


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """Every statement the store runs meanwhile, as SQLite traces it."""
    connection = store._connection  # type: ignore[attr-defined]
    traced: list[str] = []
    connection.set_trace_callback(traced.append)
    try:
        yield traced
    finally:
        connection.set_trace_callback(None)


def body_pages(path: Path, count: int) -> dict[int, bytes]:
    """The pages of the file that hold the ``count`` bodies, with their bytes, checkpointed."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert connection.execute("PRAGMA page_size").fetchone() == (PAGE,)
    connection.close()
    data = path.read_bytes()
    pages = {}
    for n in range(count):
        at = data.find(body(n))
        assert at >= 0
        pages[at // PAGE] = data[at // PAGE * PAGE : (at // PAGE + 1) * PAGE]
    return pages


def test_settling_refeeding_and_dismissing_never_rewrite_a_bodys_page(tmp_path: Path) -> None:
    """Settled at once and order by order, fed again, dismissed: each body's page as stored."""
    path = tmp_path / "pages.db"
    with open_store(str(path), create=True) as store:
        rows = [
            Incoming(f"e-{n}", "order.accepted", f"o-{n}", None, NOW.isoformat(), "pending",
                     None, body(n))
            for n in range(6)
        ]  # fmt: skip
        seqs = [seq for seq in store.accept_deliveries(rows) if seq is not None]
        before = body_pages(path, len(rows))
        with statements(store) as traced:
            for seq in seqs[:3]:
                settle(store, seq, "pending", "waiting")
            settle(store, seqs[0], "waiting", "applied")
            lost = Settlement(seqs[0], "waiting", "stale", "x", 1, None)
            new = Settlement(seqs[3], "pending", "applied", "ok", 1, None)
            results = store.settle_deliveries(
                [SettledGroup("o-0", (), (lost,)), SettledGroup("o-3", (), (new,))]
            )
            assert [r.committed for r in results] == [False, True]  # one lost: order by order
            store.refeed_delivery(seqs[1])
            store.dismiss_delivery(seqs[2])
            settle(store, seqs[1], "pending", "duplicate")
        assert [str(r.status) for r in store.list_deliveries()] == [
            "applied", "duplicate", "dismissed", "applied", "pending", "pending"
        ]  # fmt: skip
        assert [r.body for r in store.list_deliveries()] == [row.body for row in rows]
    assert [sql for sql in traced if WRITES_INBOX.match(sql)] == []
    assert body_pages(path, len(rows)) == before


def test_a_delivery_stored_invalid_has_its_status_and_reason(tmp_path: Path) -> None:
    """An envelope that could not be read: stored alone or in a batch, invalid with its reason."""
    with open_store(str(tmp_path / "invalid.db"), create=True) as store:
        bad = incoming(None, "sha256:1")._replace(status="invalid", reason="not JSON")
        (one,) = store.accept_deliveries([bad])
        batch = [incoming("o-1", "e-1"), bad._replace(event_id="sha256:2")]
        assert store.accept_deliveries([bad]) == [None]  # its key is stored: a duplicate
        _, two = store.accept_deliveries(batch)
        assert one is not None
        assert two is not None
        for seq in (one, two):
            row = store.get_delivery(seq)
            assert (str(row.status), row.reason) == ("invalid", "not JSON")
        assert claimed_pending(store) == [("o-1", "e-1")]


LATER = "2026-04-11T12:00:00.000000Z"
# (status, reason, attempts, due_at) of each row stored at version 9.
AT_NINE = [
    ("pending", None, 0, None),
    ("pending", "fed again by an operator (it was waiting: later)", 0, None),
    ("applied", "ok", 1, None),
    ("waiting", "order o-1 not created yet", 2, LATER),
    ("dismissed", "dismissed by an operator (it was waiting: no order)", 3, None),
    ("invalid", "not JSON", 0, None),
]


def test_a_store_at_schema_9_migrates_keeping_every_body_and_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows in every status at version 9: after 10 each reads as it did, pending ones claimed."""
    path = tmp_path / "nine.db"
    at_version(9, path, AT_NINE, monkeypatch)
    with open_store(str(path), migrate=True) as store:
        assert store.found_version == 9  # type: ignore[attr-defined]
        found = [
            (str(r.status), r.reason, r.attempts, r.due_at, r.body) for r in store.list_deliveries()
        ]
        later = datetime(2026, 4, 11, 12, tzinfo=UTC)
        assert found == [
            (status, reason, attempts, due and later, f"body {n}".encode())
            for n, (status, reason, attempts, due) in enumerate(AT_NINE)
        ]
        assert claimed_pending(store) == [("o-1", "e-0"), ("o-1", "e-1")]
        assert mark(path) == 1
        (seq,) = store.accept_deliveries([incoming("o-2", "e-new")])
        assert seq == len(AT_NINE) + 1
        assert claimed_pending(store)[-1] == ("o-2", "e-new")
    with sqlite3.connect(path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(ol_inbox)")]
        status_rows = connection.execute("SELECT seq FROM ol_inbox_status ORDER BY seq").fetchall()
    connection.close()
    assert columns == [
        "seq", "event_id", "event_type", "order_id", "created_time", "received_at", "body"
    ]  # fmt: skip
    assert status_rows == [(n,) for n in range(2, len(AT_NINE) + 1)]  # all but plain pending


def test_a_store_at_schema_9_without_deliveries_migrates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No row at version 9: version 10 stores, settles and counts as a new store does."""
    path = tmp_path / "empty.db"
    at_version(9, path, [], monkeypatch)
    with open_store(str(path), migrate=True) as store:
        (seq,) = store.accept_deliveries([incoming("o-1", "e-1")])
        assert seq == 1
        settle(store, seq, "pending", "applied")
        assert {str(s): n for s, n in store.delivery_counts().items()} == {"applied": 1}
        assert mark(path) == 2
        raw(path, "DELETE FROM ol_inbox_status WHERE seq = 1")  # a shop's SQL: pending again
        assert mark(path) == 1
        assert claimed_pending(store) == [("o-1", "e-1")]


def test_a_store_at_schema_9_opened_read_only_is_told_to_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read-only at version 9: MigrationNeeded, naming the command, and not a byte written."""
    path = tmp_path / "nine.db"
    at_version(9, path, AT_NINE, monkeypatch)
    before = path.read_bytes()
    with pytest.raises(MigrationNeeded, match="schema version 9"):
        open_store(str(path), read_only=True)
    assert path.read_bytes() == before


def test_a_body_row_deleted_takes_its_status_row_with_it(tmp_path: Path) -> None:
    """A shop's SQL deletes the newest row: a delivery given its seq again is pending."""
    path = tmp_path / "deleted.db"
    with open_store(str(path), create=True) as store:
        (seq,) = store.accept_deliveries([incoming("o-1", "e-1")])
        assert seq is not None
        settle(store, seq, "pending", "applied")
        raw(path, "DELETE FROM ol_inbox WHERE seq = ?", (seq,))
        assert store.accept_deliveries([incoming("o-2", "e-2")]) == [seq]
        assert str(store.get_delivery(seq).status) == "pending"
        assert claimed_pending(store) == [("o-2", "e-2")]

"""SQLite plans the inbox's reads by the indexes that bound them, however large the backlog."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from order_lifecycle.store import Incoming, Store, open_store
from order_lifecycle.store._inbox_sql import ADVANCE_MARK

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
# What a read of pending rows names (schema 10: no settled row in ol_inbox_status).
PENDING = "FROM ol_inbox_status s WHERE s.seq = ol_inbox.seq"
# A scan of the inbox's rows, bodies and all (not of ol_inbox_status or an index of it).
SCAN_OF_BODIES = re.compile(r"SCAN ol_inbox(?!_)")


def _incoming(n: int) -> Incoming:
    order_id = f"o-{n % 40}"
    return Incoming(
        f"e-{n}", "order.accepted", order_id, None, NOW.isoformat(), "pending", None, b"{}"
    )


def _plans(path: Path, reads: Callable[[Store], object]) -> dict[str, str]:
    """Each read of the inbox that ``reads`` runs on a store of 400 deliveries, with its plan."""
    with open_store(str(path), create=True) as store:
        store.accept_deliveries([_incoming(n) for n in range(400)])
        connection = store._connection  # type: ignore[attr-defined]
        traced: list[str] = []
        connection.set_trace_callback(traced.append)
        try:
            reads(store)
        finally:
            connection.set_trace_callback(None)
        return {
            sql: " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for sql in traced
            if sql.lstrip().upper().startswith("SELECT") and "FROM ol_inbox" in sql
        }


def test_a_claim_reads_its_orders_rows_by_key_and_the_due_rows_by_status_and_due_time(
    tmp_path: Path,
) -> None:
    """Claimed orders' open rows by ol_inbox_by_key; pending by rowid from the mark, waiting by due.

    Planned by the status index instead, each claim read every open row of the inbox: a
    backlog of a million pending deliveries settled at a few hundred a second. Since schema
    version 9 no index holds the pending rows: they are a range of rowids from their mark.
    """
    plans = _plans(
        tmp_path / "plans.db",
        lambda store: store.release_claim(store.claim_deliveries(limit=5, now=NOW)),
    )
    by_order = [plan for sql, plan in plans.items() if "COALESCE(order_id, '') IN" in sql]
    pending = [plan for sql, plan in plans.items() if PENDING in sql]
    assert pending
    # Read in seq order from the mark: no scan of the inbox, no sort of its pending rows.
    assert all(
        plan.startswith("SEARCH ol_inbox USING INTEGER PRIMARY KEY (rowid>?)")
        and "TEMP B-TREE" not in plan
        for plan in pending
    ), pending
    waiting = [plan for sql, plan in plans.items() if "status = 'waiting'" in sql]
    assert not [plan for plan in plans.values() if SCAN_OF_BODIES.search(plan)], plans
    assert by_order
    # Searched by the key's order part: no scan of the inbox, whatever its size.
    assert all(
        "SEARCH ol_inbox USING INDEX ol_inbox_by_key" in plan and "SCAN" not in plan
        for plan in by_order
    ), by_order
    assert waiting
    assert all("USING INDEX ol_inbox_status_due" in plan for plan in waiting), waiting


def test_an_operator_lists_an_orders_deliveries_by_key_however_many_rows_there_are(
    tmp_path: Path,
) -> None:
    """Listing one order's deliveries (with or without statuses) searches ol_inbox_by_key."""
    listed: list[str] = []

    def pages(store: Store) -> None:
        page = store.page_deliveries(order_id="o-3", limit=4)
        assert isinstance(page.next_after, int)
        pending = store.page_deliveries(
            order_id="o-3", statuses=["pending"], after=page.next_after, limit=4
        )
        listed.extend(row.event_id for row in (*page.items, *pending.items))

    plans = list(_plans(tmp_path / "plans.db", pages).values())
    assert listed == [f"e-{n}" for n in range(3, 400, 40)][:8]
    assert len(plans) == 4  # each page and its count
    assert all("USING INDEX ol_inbox_by_key" in plan and "SCAN" not in plan for plan in plans), (
        plans
    )


def test_an_operators_counts_read_pending_rows_from_the_mark_and_others_from_their_index(
    tmp_path: Path,
) -> None:
    """Counts and pages by status: pending rows by rowid from the mark, others by their index.

    Schema 9 keeps pending rows out of the index by status (the request path writes no page
    of it): a read that named pending rows by status alone would scan the whole inbox.
    Schema 10 keeps the statuses in a table of their own: a page of one status is read in
    ``seq`` order from its index (joined the other way round, it sorted every such row).
    """

    def reads(store: Store) -> None:
        store.overview()
        store.overview(open_only=True)
        store.backlog()
        store.delivery_counts()
        for statuses in (["pending"], ["applied"], ["applied", "waiting"]):
            store.page_deliveries(statuses=statuses, limit=4)
            store.page_deliveries(statuses=statuses, after=50, limit=4)

    plans = _plans(tmp_path / "plans.db", reads)
    pending = [plan for sql, plan in plans.items() if PENDING in sql]
    settled = {
        sql: plan
        for sql, plan in plans.items()
        if "status <> 'pending'" in sql and PENDING not in sql
    }
    assert not [plan for plan in plans.values() if SCAN_OF_BODIES.search(plan)], plans
    assert len(pending) == 4  # the count, the page's count, the page, the next page
    assert all(
        plan.startswith("SEARCH ol_inbox USING INTEGER PRIMARY KEY (rowid>?)")
        and "TEMP B-TREE" not in plan
        for plan in pending
    ), pending
    assert len(settled) == 9  # the counts (all, open, backlog's), each page and its count
    assert all("INDEX ol_inbox_status_by_status" in plan for plan in settled.values()), settled
    one = [plan for sql, plan in settled.items() if "IN ('applied') ORDER BY" in sql]
    assert one
    assert all("TEMP B-TREE" not in plan for plan in one), one


def test_a_page_of_pending_and_other_deliveries_reads_no_row_twice_nor_every_row(
    tmp_path: Path,
) -> None:
    """A page of pending and waiting rows reads each part from its range or index, no scan.

    An operator's "what is stuck" (``--status pending,waiting``): read as one ``OR``,
    SQLite scanned the whole inbox (every row's body), however few rows were stuck.
    """

    def reads(store: Store) -> None:
        for after in (None, 50):
            store.page_deliveries(statuses=["pending", "waiting"], after=after, limit=4)

    plans = _plans(tmp_path / "plans.db", reads)
    assert len(plans) == 3, plans  # the count, the page, the next page
    for plan in plans.values():
        assert not SCAN_OF_BODIES.search(plan), plan
        assert "USING INTEGER PRIMARY KEY (rowid>?)" in plan, plan
        assert "INDEX ol_inbox_status_by_status" in plan, plan


def test_a_settlement_moves_the_mark_up_by_rowid(tmp_path: Path) -> None:
    """The mark's advance reads from the old mark up by rowid, and the highest seq from its end."""
    path = tmp_path / "plans.db"
    with open_store(str(path), create=True):
        pass
    with sqlite3.connect(path) as connection:
        plan = [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {ADVANCE_MARK}")]
    connection.close()
    assert "SEARCH ol_inbox USING INTEGER PRIMARY KEY (rowid>?)" in plan
    assert not [step for step in plan if step.startswith("SCAN")], plan

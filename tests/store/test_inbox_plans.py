"""SQLite plans the claim's reads by the indexes that bound them, however large the backlog."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from order_lifecycle.store import Incoming, open_store

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)


def _incoming(n: int) -> Incoming:
    order_id = f"o-{n % 40}"
    return Incoming(
        f"e-{n}", "order.accepted", order_id, None, NOW.isoformat(), "pending", None, b"{}"
    )


def test_a_claim_reads_its_orders_rows_by_order_and_the_due_rows_by_status_and_due_time(
    tmp_path: Path,
) -> None:
    """Claimed orders' open rows by ol_inbox_by_order; pending by status, waiting by due time.

    Planned by the status index instead, each claim read every open row of the inbox: a
    backlog of a million pending deliveries settled at a few hundred a second.
    """
    with open_store(str(tmp_path / "plans.db"), create=True) as store:
        store.accept_deliveries([_incoming(n) for n in range(400)])
        connection = store._connection  # type: ignore[attr-defined]
        traced: list[str] = []
        connection.set_trace_callback(traced.append)
        try:
            store.release_claim(store.claim_deliveries(limit=5, now=NOW))
        finally:
            connection.set_trace_callback(None)
        plans = {
            sql: " / ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for sql in traced
            if sql.lstrip().upper().startswith("SELECT") and "FROM ol_inbox" in sql
        }
    by_order = [plan for sql, plan in plans.items() if "order_id IN" in sql]
    pending = [plan for sql, plan in plans.items() if "status = 'pending'" in sql]
    assert pending
    # Read in seq order from the index itself: no sort of every pending row for a claim.
    assert all(
        "USING INDEX ol_inbox_by_status" in plan and "TEMP B-TREE" not in plan for plan in pending
    ), pending
    waiting = [plan for sql, plan in plans.items() if "status = 'waiting'" in sql]
    assert by_order
    assert all("USING INDEX ol_inbox_by_order" in plan for plan in by_order), by_order
    assert waiting
    assert all("USING INDEX ol_inbox_due" in plan for plan in waiting), waiting

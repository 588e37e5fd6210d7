"""The inbox's write alone, a delivery a transaction: SQLite's ``ol_inbox`` against the floor.

Run: ``.venv/bin/python benchmarks/bench_inbox_write.py`` (``--quick`` for a smoke run).
Run it again with ``PYTHONPATH=OTHER/src`` (another order-lifecycle's ``src``, e.g.
``git archive``'d) to measure that code's table in turn.

What the request path's one delivery a request costs in the store, apart from verifying
and reading the envelope: ``store.accept_deliveries([one])`` into a SQLite store (WAL,
``synchronous = FULL``: its own transaction, its own ``fsync``), against the floor's
``INSERT ... ON CONFLICT DO NOTHING`` of the event id and body into a table with an
integer rowid and one unique index on the event id (``bench_scale.py``'s floor), each in a
new file filled first (``--fill`` deliveries, untimed, as one transaction) so that the
indexes are past a few pages. Reported per delivery, median of ``--repeats`` runs taken
in turns: CPU (this process: SQLite runs in it), wall time (the ``fsync`` of each commit
and the machine's other work), and the WAL frames each commit wrote (pages dirtied: the
count does not depend on the load; each is written again by the checkpoint). The traffic is
``_traffic.deliveries`` (realistic bodies, random event and order ids, 10% redeliveries).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _traffic

from order_lifecycle.store import Incoming, SQLiteStore

Row = tuple[Incoming, ...]


def _order_id(body: bytes) -> str | None:
    obj: Any = json.loads(body).get("data", {}).get("object", {})
    found = obj.get("orderId", obj.get("id")) if isinstance(obj, dict) else None
    return found if isinstance(found, str) else None


def traffic(count: int) -> list[Incoming]:
    """``count`` deliveries as the request path hands them to the store."""
    rows = []
    for signed in _traffic.deliveries(count, seed=0):
        received = signed.received_at.isoformat()
        order_id = _order_id(signed.body)
        rows.append(
            Incoming(
                signed.event_id, "order.x", order_id, None, received, "pending", None, signed.body
            )
        )
    return rows


def _frames(path: str, page_size: int) -> int:
    wal = Path(f"{path}-wal")
    return (wal.stat().st_size - 32) // (page_size + 24) if wal.exists() else 0


def inbox(folder: str, fill: list[Incoming], timed: list[Incoming]) -> tuple[float, float, float]:
    """The store's own table: CPU and wall seconds a delivery, WAL frames a commit."""
    path = str(Path(folder) / "inbox.db")
    with SQLiteStore(path, create=True) as store:
        store.accept_deliveries(fill)
        connection: sqlite3.Connection = store._connection  # noqa: SLF001 (counting frames)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA wal_autocheckpoint = 0")  # every frame stays countable
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        cpu, wall = time.process_time(), time.perf_counter()
        for row in timed:
            store.accept_deliveries([row])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        frames = _frames(path, page_size)
    return cpu / len(timed), wall / len(timed), frames / len(timed)


def floor(folder: str, fill: list[Incoming], timed: list[Incoming]) -> tuple[float, float, float]:
    """The floor's table, as ``bench_scale.py`` makes it, on the store's settings."""
    path = str(Path(folder) / "floor.db")
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA cache_size = -65536")
        connection.execute(
            "CREATE TABLE floor (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, body BLOB)"
        )
        connection.execute("CREATE UNIQUE INDEX floor_by_event ON floor (event_id)")
        insert = "INSERT INTO floor (event_id, body) VALUES (?, ?) ON CONFLICT DO NOTHING"
        connection.execute("BEGIN")
        connection.executemany(insert, [(row.event_id, row.body) for row in fill])
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA wal_autocheckpoint = 0")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        cpu, wall = time.process_time(), time.perf_counter()
        for row in timed:
            connection.execute(insert, (row.event_id, row.body))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        frames = _frames(path, page_size)
    finally:
        connection.close()
    return cpu / len(timed), wall / len(timed), frames / len(timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=4000, help="timed, one a transaction")
    parser.add_argument("--fill", type=int, default=20000, help="stored first, untimed")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.deliveries, args.fill, args.repeats = 200, 1000, 1
    rows = traffic(args.fill + args.deliveries)
    fill, timed = rows[: args.fill], rows[args.fill :]
    runs: dict[str, list[tuple[float, float, float]]] = {"floor": [], "ol_inbox": []}
    for _ in range(args.repeats):
        for name, measure in (("floor", floor), ("ol_inbox", inbox)):
            with tempfile.TemporaryDirectory(prefix="bench-inbox-write-") as folder:
                runs[name].append(measure(folder, fill, timed))
    print(f"command: {' '.join(sys.argv)}")
    print(f"sqlite {sqlite3.sqlite_version}; load {os.getloadavg()}")
    print("| table | CPU a delivery | wall a delivery | WAL frames a commit | CPU ratio |")
    print("|---|---|---|---|---|")
    base = statistics.median(run[0] for run in runs["floor"])
    for name, found in runs.items():
        cpu, wall, frames = (statistics.median(run[i] for run in found) for i in range(3))
        print(
            f"| {name} | {cpu * 1e6:,.1f} µs | {wall * 1e6:,.1f} µs | {frames:.2f} "
            f"| {cpu / base:.2f}x |"
        )


if __name__ == "__main__":
    main()

"""An operator's reads at volume: the overview and pages by key, against their floors.

Run: ``.venv/bin/python benchmarks/bench_operator.py`` (``--rows N`` deliveries, a tenth as
many orders with an action each; ``--quick`` for a smoke run; ``--postgres DSN`` to use a
server, else a throwaway cluster). Each store is filled once through its own API, then
every read is timed ``--repeats`` times, interleaved, and the median taken:

- ``status``: :meth:`Store.overview` (three ``GROUP BY`` queries and the oldest arrivals),
  against its ``floor``, one ``SELECT COUNT(*) FROM ol_inbox`` on the same connection (the
  least a store can read to know its size).
- ``first page`` / ``last page``: ``page_deliveries`` (a count and 100 rows) at the start
  and after the last thousand rows; keyset pages cost the same at any depth. ``offset``
  is what an ``OFFSET`` pager would read for the last page (the rows it skips), shown for
  the contrast.
- ``page by status``: the waiting deliveries (one in a hundred), a page after their
  middle, with their total; ``actions first page`` and ``actions last page``: the outbox,
  oldest first, with its total.

The machine is shared and noisy: read the ratios, and the load average printed beside.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from order_lifecycle import Item, Order
from order_lifecycle.store import Incoming, OrderChange, Store, migrate, open_store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.pgcluster import throwaway_cluster  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 5_000


def fill(store: Store, rows: int) -> None:
    """``rows`` deliveries (1% waiting), ``rows // 10`` accepted orders of one item each."""
    for start in range(0, rows, BATCH):
        store.accept_deliveries(
            [
                Incoming(
                    f"evt-{n}",
                    "order.accepted",
                    f"o-{n % (rows // 10 or 1)}",
                    None,
                    (T0 + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "pending",
                    None,
                    b'{"id": "evt"}',
                )
                for n in range(start, min(start + BATCH, rows))
            ]
        )
    waiting = ", ".join(str(seq) for seq in range(1, rows + 1, 100))
    if store.dialect.name == "sqlite":  # type: ignore[attr-defined]  # statuses apart (schema 10)
        _execute(
            store,
            "INSERT INTO ol_inbox_status (seq, status) "  # noqa: S608 (ints)
            f"SELECT seq, 'waiting' FROM ol_inbox WHERE seq IN ({waiting})",
        )
    else:
        _execute(store, f"UPDATE ol_inbox SET status = 'waiting' WHERE seq IN ({waiting})")  # noqa: S608 (ints)
    orders = rows // 10
    for start in range(0, orders, 1_000):
        store.commit_changes(
            [
                OrderChange(
                    Order.create(f"o-{n}", "accepted", at=T0, items=[Item("i", 1, physical=True)])
                )
                for n in range(start, min(start + 1_000, orders))
            ]
        )


def _execute(store: Store, sql: str) -> None:
    with store._transaction(write=True):  # type: ignore[attr-defined]  # noqa: SLF001 (a benchmark's setup)
        store._write(sql)  # type: ignore[attr-defined]  # noqa: SLF001


def _count(store: Store, sql: str) -> list[tuple[Any, ...]]:
    with store._transaction(write=False):  # type: ignore[attr-defined]  # noqa: SLF001 (the floor)
        found: list[tuple[Any, ...]] = store._query(sql)  # type: ignore[attr-defined]  # noqa: SLF001
        return found


def measure(store: Store, rows: int, repeats: int) -> dict[str, float]:
    """Each read's median seconds."""
    orders = rows // 10
    ((late_key,),) = _count(
        store,
        f"SELECT key FROM ol_actions ORDER BY created_at, key LIMIT 1 OFFSET {orders - 1_000}",  # noqa: S608 (an int)
    )
    reads: dict[str, Callable[[], object]] = {
        "floor": lambda: _count(store, "SELECT COUNT(*) FROM ol_inbox"),
        "status": store.overview,
        "first page": lambda: store.page_deliveries(limit=100),
        "last page": lambda: store.page_deliveries(after=rows - 1_000, limit=100),
        "offset": lambda: _count(
            store,
            f"SELECT seq, body FROM ol_inbox ORDER BY seq LIMIT 100 OFFSET {rows - 1_000}",  # noqa: S608 (an int)
        ),
        "page by status": lambda: store.page_deliveries(
            statuses=["waiting"], after=rows // 2, limit=100
        ),
        "actions first page": lambda: store.page_actions(limit=100),
        "actions last page": lambda: store.page_actions(after=late_key, limit=100),
    }
    times: dict[str, list[float]] = {name: [] for name in reads}
    for _ in range(repeats):
        for name, read in reads.items():
            started = time.perf_counter()
            read()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(found) for name, found in times.items()}


def stores(kinds: list[str], postgres: str | None) -> Iterator[tuple[str, str]]:
    """A URL for each kind of store: a new SQLite file, a PostgreSQL database."""
    with tempfile.TemporaryDirectory(prefix="bench-operator-") as folder:
        urls = [("sqlite", str(Path(folder) / "bench.db"))] if "sqlite" in kinds else []
        if "postgres" not in kinds:
            yield from urls
            return
        if postgres is not None:
            yield from [*urls, ("postgres", postgres)]
            return
        with throwaway_cluster() as dsn:
            yield from [*urls, ("postgres", dsn)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--postgres", help="a DSN of a server (else a throwaway cluster)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 3 repeats")
    args = parser.parse_args()
    rows, repeats = (20_000, 3) if args.quick else (args.rows, args.repeats)
    print(f"{rows:,} deliveries, {rows // 10:,} orders and actions; load {os.getloadavg()[0]:.2f}")
    print("| store | read | ms | x floor |")
    print("|---|---|---:|---:|")
    for kind, url in stores(args.stores, args.postgres):
        migrate(url)
        with open_store(url) as store:
            started = time.perf_counter()
            fill(store, rows)
            filled = time.perf_counter() - started
            found: dict[str, Any] = measure(store, rows, repeats)
        floor = found["floor"]
        for name, seconds in found.items():
            print(f"| {kind} | {name} | {seconds * 1000:.1f} | {seconds / floor:.1f} |")
        print(f"| {kind} | (filled in {filled:.0f} s) | | |")


if __name__ == "__main__":
    main()

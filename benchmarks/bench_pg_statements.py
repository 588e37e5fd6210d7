"""What PostgreSQL's server does for each statement: time and WAL a delivery, by statement.

Run: ``.venv/bin/python benchmarks/bench_pg_statements.py`` (``--deliveries N``, 10,000 by
default). Run it again with ``PYTHONPATH=OTHER/src`` (another order-lifecycle's ``src``)
to compare that code's statements.

A throwaway cluster with PostgreSQL's durable defaults and ``pg_stat_statements`` loaded;
the request path stores ``_traffic.deliveries(N, seed=0)`` in batches of 100, then one
reconciler (claims of 100 orders) settles them all. Each part is read from
``pg_stat_statements`` alone (reset before it): the server's execution time (its CPU, and
its waits for locks and disk, but not the commit's flush) and the WAL written, a delivery,
for each statement that takes at least 0.5 µs a delivery. Statements of many rows are one
text each for each number of rows: a text's calls are the batches of that many rows.
The client's own time is ``bench_scale.py``'s; this is the server's side of it.
"""

from __future__ import annotations

import argparse
import re

import _traffic
import bench_scale  # noqa: F401 (puts the repository on the path: tests.pgcluster)
import psycopg
from tests.pgcluster import throwaway_cluster

from order_lifecycle import Delivery, Inbox, Reconciler
from order_lifecycle.store import open_store

_STATEMENTS = """
SELECT query, calls, total_exec_time, wal_bytes FROM pg_stat_statements
WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC
"""
_SHOWN = 0.5  # µs a delivery: a statement below is summed, not listed


def _report(connection: psycopg.Connection[tuple[object, ...]], part: str, count: int) -> str:
    """A part's table: the server's time and WAL a delivery, in all and by statement."""
    rows = [
        (re.sub(r"\s+", " ", str(query)), int(str(calls)), float(str(ms)), int(str(wal)))
        for query, calls, ms, wal in connection.execute(_STATEMENTS).fetchall()
    ]
    total = sum(ms for _, _, ms, _ in rows) * 1000 / count
    wal = sum(w for *_, w in rows) / count
    head = f"### {part}: {count:,} deliveries, {total:.1f} µs of execution and {wal:,.0f} B"
    lines = [
        f"{head} of WAL a delivery",
        "",
        "| µs a delivery | WAL a delivery | calls | statement |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {ms * 1000 / count:.1f} | {w / count:,.0f} B | {calls:,} | `{query[:90]}` |"
        for query, calls, ms, w in rows
        if ms * 1000 / count >= _SHOWN
    ]
    return "\n".join([*lines, ""])


def measure(deliveries: int) -> str:
    """Both parts' tables, from one throwaway cluster."""
    signed = [
        Delivery(s.body, s.signature, s.received_at)
        for s in _traffic.deliveries(deliveries, seed=0)
    ]
    settings = ("shared_preload_libraries=pg_stat_statements", "pg_stat_statements.track=all")
    with (
        throwaway_cluster(durable=True, settings=settings) as dsn,
        psycopg.connect(dsn, autocommit=True) as connection,
        open_store(dsn, create=True) as store,
    ):
        connection.execute("CREATE EXTENSION pg_stat_statements")
        inbox = Inbox(store, secrets=[_traffic.SECRET])
        connection.execute("SELECT pg_stat_statements_reset()")
        for start in range(0, deliveries, 100):
            inbox.accept(signed[start : start + 100])
        tables = [_report(connection, "The request path, batches of 100", deliveries)]
        connection.execute("SELECT pg_stat_statements_reset()")
        reconciler = Reconciler(store, batch=100)
        settled = 0
        while done := reconciler.run_once():
            settled += done
        tables.append(_report(connection, "One reconciler, claims of 100 orders", settled))
    return "\n".join(tables)


def main() -> None:
    """Print both parts' tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    print(measure(parser.parse_args().deliveries))


if __name__ == "__main__":
    main()

"""Store throughput: operations per second, as ratios to the memory store measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_store.py`` (after ``./scripts/test`` made the
environment). PostgreSQL runs on ``--postgres DSN`` when given, else on a throwaway cluster
started like the tests' one (skipped when none can start). Machines and disks are noisy:
absolute numbers are printed for context; compare the ratios.

- ``create``: ``create_order`` of a new order (one item, one charge), event id recorded.
- ``update``: ``update_order`` capturing 0.01 of the charge with a new event id, round
  robin over the orders: read, change, conditional write, one transaction each.
- ``get``: ``get_order``, a read and decode of one order with a short history.

SQLite commits with ``synchronous = FULL`` (a commit is on disk); the throwaway PostgreSQL
cluster runs with ``fsync = off``, so its numbers flatter a real server's.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

from order_lifecycle import Charge, ChargeState, Item, Order, capture
from order_lifecycle.orders import fulfil_items
from order_lifecycle.store import MemoryStore, Store, open_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.pgcluster import ClusterUnavailable, throwaway_cluster

ORDERS = 50


def new_order(order_id: str) -> Order:
    order = Order.create(
        order_id,
        "accepted",
        items=[Item("widget", 1, physical=True)],
        charges=[Charge("ch-1", ChargeState.CAPTURABLE, Decimal("1000000.00"), "USD")],
    )
    fulfil_items(order, {"widget": 1})
    return order


def per_second(operation: Callable[[int], object], count: int) -> float:
    start = time.perf_counter()
    for n in range(count):
        operation(n)
    return count / (time.perf_counter() - start)


def measure(store: Store, count: int) -> dict[str, float]:
    """Operations per second of each kind on ``store``."""
    created = per_second(
        lambda n: store.create_order(new_order(f"o-{n}"), event_id=f"c-{n}"), ORDERS
    )
    events = itertools.count()

    def update(n: int) -> None:
        store.update_order(
            f"o-{n % ORDERS}", lambda o: capture(o, "ch-1", "0.01"), event_id=f"u-{next(events)}"
        )

    return {
        "create": created,
        "update": per_second(update, count),
        "get": per_second(lambda n: store.get_order(f"o-{n % ORDERS}"), count),
    }


@contextlib.contextmanager
def postgres(dsn: str | None) -> Iterator[str | None]:
    if dsn is not None:
        yield dsn
        return
    try:
        with throwaway_cluster() as started:
            yield started
    except ClusterUnavailable as error:
        print(f"PostgreSQL skipped: {error}")
        yield None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="updates and reads per store")
    parser.add_argument("--postgres", metavar="DSN", help="an empty database to measure on")
    args = parser.parse_args()
    results = {"memory": measure(MemoryStore(), args.count)}
    with tempfile.TemporaryDirectory() as folder, open_store(Path(folder) / "bench.db") as lite:
        results["sqlite"] = measure(lite, args.count)
    with postgres(args.postgres) as dsn:
        if dsn is not None:
            with open_store(dsn, create=True) as pg:
                results["postgres"] = measure(pg, args.count)
    baseline = results["memory"]
    print(f"{'store':9}" + "".join(f"{kind:>22}" for kind in baseline))
    for name, rates in results.items():
        cells = "".join(
            f"{rate:10.0f}/s {rate / baseline[kind]:8.3f}x" for kind, rate in rates.items()
        )
        print(f"{name:9}{cells}")


if __name__ == "__main__":
    main()

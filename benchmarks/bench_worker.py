"""The action worker's cost per action: a batch under one heartbeat, against one claim at a time.

Run: ``.venv/bin/python benchmarks/bench_worker.py`` (after ``./scripts/test`` made the
environment). PostgreSQL runs on ``--postgres DSN`` when given, else on a throwaway cluster
started like the tests' one (skipped when none can start). Machines and disks are noisy:
compare the ratios, measured in the same run (``--repeats N``: the median of N interleaved
runs of each way).

Each run stores ``--orders`` accepted orders of one physical item (one ``ship`` action
each) and drains the outbox with a handler that does nothing, so what is measured is the
worker's own cost: claims, leases, the handler's thread, the recording of outcomes.

- ``floor``: the store alone, no worker: ``claim_actions(limit=50)`` then one
  ``finish_actions`` of the batch's completions; the least a worker can cost.
- ``batch N``: an ``ActionWorker(batch=N)``: one claim of N actions, one heartbeat thread
  for the batch, each handler run under its time limit, the N outcomes in one transaction.
- ``batch 10, reading orders``: the same, each handler reading its order
  (``action.order``: the batch's orders read at the first ask, in one read): what giving
  handlers the order costs when they use it (a handler that does not, pays nothing).
- ``one at a time``: ``ActionWorker(batch=1)``: a claim, a heartbeat and a commit per action.

SQLite commits with ``synchronous = FULL`` (a commit is on disk); the throwaway PostgreSQL
cluster runs with ``fsync = off``, so its numbers flatter a real server's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from order_lifecycle import Item, Order, OrderEvent
from order_lifecycle.actions import ActionWorker, Completed, StoredAction
from order_lifecycle.models import fire
from order_lifecycle.store import MemoryStore, Store, open_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_store import postgres


def stock(store: Store, orders: int) -> None:
    """``orders`` accepted orders, one ship action each."""
    for n in range(orders):
        order = Order.create(f"o-{n}", items=[Item("box", 1, physical=True)])
        fire(order, OrderEvent.ACCEPT)
        store.create_order(order)


def nothing(action: StoredAction) -> str:  # noqa: ARG001 (a handler's shape)
    return "ok"


def reading(action: StoredAction) -> str:
    """A handler that reads the order it acts on, and does nothing with it."""
    return "ok" if action.order is not None else "no order"


def floor(store: Store) -> int:
    """Drain the outbox through the store alone; how many actions."""
    done = 0
    while claimed := store.claim_actions(["ship"], limit=50):
        store.finish_actions([Completed(a.key, a.tries, "ok") for a in claimed])
        done += len(claimed)
    return done


def with_worker(
    batch: int, handler: Callable[[StoredAction], str] = nothing
) -> Callable[[Store], int]:
    """Drain the outbox through a running worker claiming ``batch`` at a time; how many."""

    def drain(store: Store) -> int:
        worker = ActionWorker(store, {"ship": handler}, batch=batch, idle=0.001)
        total = len(store.list_actions(states=["pending"], limit=10_000))

        def stop_when_drained() -> None:
            while worker.counts.done < total:
                time.sleep(0.001)
            worker.stop()

        watcher = threading.Thread(target=stop_when_drained)
        watcher.start()
        worker.run_forever(install_signals=False)  # as a worker process runs
        watcher.join()
        return worker.counts.done

    return drain


WAYS: dict[str, Callable[[Store], int]] = {
    "floor": floor,
    "batch 50": with_worker(50),
    "batch 10": with_worker(10),
    "batch 10, reading orders": with_worker(10, reading),
    "one at a time": with_worker(1),
}


def measure(new_store: Callable[[], Store], orders: int, repeats: int = 1) -> dict[str, float]:
    """Actions per second each way drains ``orders`` actions, each on a fresh store.

    With ``repeats``, each way runs that many times, interleaved (so that drift hits each
    alike), and the median rate is kept.
    """
    runs: dict[str, list[float]] = {name: [] for name in WAYS}
    with new_store() as warm:  # the first use of a database costs more: not measured
        stock(warm, 50)
        floor(warm)
    for _ in range(repeats):
        for name, drain in WAYS.items():
            with new_store() as store:
                stock(store, orders)
                start = time.perf_counter()
                done = drain(store)
                elapsed = time.perf_counter() - start
            if done != orders:
                raise AssertionError(f"{name}: {done} of {orders} actions done")
            runs[name].append(orders / elapsed)
    return {name: statistics.median(rates) for name, rates in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000, help="actions drained each way")
    parser.add_argument("--postgres", metavar="DSN", help="an empty database to measure on")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each way (median)")
    args = parser.parse_args()
    results = {"memory": measure(MemoryStore, args.orders, args.repeats)}
    with tempfile.TemporaryDirectory() as folder:
        files = iter(range(10_000))
        results["sqlite"] = measure(
            lambda: open_store(Path(folder) / f"bench-{next(files)}.db"), args.orders, args.repeats
        )
    with postgres(args.postgres) as dsn:
        if dsn is not None:
            schemas = iter(range(10_000))

            def fresh() -> Store:
                import psycopg  # noqa: PLC0415 (only with PostgreSQL)

                schema = f"bench_{next(schemas)}"
                with psycopg.connect(dsn, autocommit=True) as connection:
                    connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                    connection.execute(f"CREATE SCHEMA {schema}")
                return open_store(f"{dsn}?options=-csearch_path%3D{schema}", create=True)

            results["postgres"] = measure(fresh, args.orders, args.repeats)
    print(f"{args.orders} actions each way; actions per second, and the floor's per action")
    print(f"{'store':9}" + "".join(f"{name:>26}" for name in WAYS))
    for store, rates in results.items():
        cells = "".join(f"{rate:14.0f}/s {rates['floor'] / rate:8.2f}x" for rate in rates.values())
        print(f"{store:9}{cells}")


if __name__ == "__main__":
    main()

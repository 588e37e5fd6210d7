"""Instructions a delivery, counted by Valgrind: the floor, the request path, a reconciler.

Run: ``.venv/bin/python benchmarks/bench_instructions.py`` (needs ``valgrind``: ``apt-get
install -y valgrind``). Timed figures on a shared machine move by a third between runs;
the instructions a program executes do not (the same run gives the same count to a few
parts in a million). So a change's cost can be read in one run, without a quiet machine.

Each job runs in its own process under ``valgrind --tool=cachegrind --cache-sim=no``
(which counts every instruction executed in user space: Python, SQLite, msgspec, OpenSSL;
not the kernel's, so not the writes and ``fsync`` s, which ``bench_inbox_write.py``
counts as WAL frames), twice: once doing only its set-up (reading the traffic, opening
the store or table, filling the inbox, and a warm-up on a store of its own so that no
first-time import or cache counts), once doing the set-up and the work. The difference,
divided by the deliveries the work handled, is the work's instructions a delivery.

- ``floor``: ``bench_scale.py``'s own: ``json.loads``, the HMAC check, one batched ``INSERT
  ... ON CONFLICT DO NOTHING`` into a table with an integer rowid and a unique index on
  the event id, one transaction a batch (``--batch``), SQLite in WAL mode, ``synchronous
  = FULL``;
- ``request path``: ``bench_scale.py``'s own: ``Inbox.accept`` into a SQLite store,
  batches of ``--batch`` (both timing each batch, as they do there: a few instructions);
- ``reconciler``: ``Reconciler(store, batch=100).run_once()`` until nothing is due, on the
  inbox the request path filled; a delivery is one it settled.

- with ``--steps``: a reconciler settling one ``order.dispute`` each of 100 orders whose
  histories are that long, as ``bench_history.py`` measures it (flat in the length?).

The traffic is ``_traffic.deliveries(--deliveries, seed=0)``, as ``bench_scale.py``'s.
With ``--src DIR`` (another tree's ``src``), that code is counted instead, beside this one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from pathlib import Path

import _traffic
from bench_history import dispute
from bench_ingest import fresh_database, long_order
from bench_scale import Result, floor, load, request_path, write_traffic
from tests.pgcluster import throwaway_cluster  # importable once bench_scale set the path

# In a child, the tree that PYTHONPATH names (--src) is the one imported.
from order_lifecycle import Inbox, Reconciler
from order_lifecycle.store import open_store

JOBS = ("floor", "request path", "reconciler")
POSTGRES_JOB = "reconciler on PostgreSQL"  # with --postgres: this process's share only
_SERVER = "BENCH_INSTRUCTIONS_POSTGRES"  # the server's DSN, for the children
VALGRIND = shutil.which("valgrind")
HISTORY_ORDERS = 100  # orders of each history length (--steps), one dispute each
_WARM_UP = 200  # deliveries handled first on a store of the job's own, in both runs


def _as_bench_scale(
    worker: Callable[[Result], Result], where: Path, traffic: str, batch: int, *, work: bool
) -> int:
    """``bench_scale.py``'s own ``worker`` (its floor, its request path) into ``where``.

    Run on a warm-up's deliveries first (beside ``where``), then on the traffic; the
    set-up run reads the traffic as the worker does and has it open its store on no
    delivery instead.
    """
    spec: Result = {"batch": batch, "database": "sqlite", "worker": "request_path"}
    lines = Path(traffic).read_text().splitlines(keepends=True)
    warm, none = where.with_name("warm.jsonl"), where.with_name("none.jsonl")
    warm.write_text("".join(lines[:_WARM_UP]))
    none.write_text("")
    worker(spec | {"traffic": str(warm), "where": str(where.with_name("warm.db"))})
    count = len(load(traffic)) if not work else 0  # what the work run's worker reads
    done = worker(spec | {"traffic": traffic if work else str(none), "where": str(where)})
    return count or int(done["count"])


def _floor(traffic: str, folder: str, batch: int, *, work: bool) -> int:
    return _as_bench_scale(floor, Path(folder) / "floor.db", traffic, batch, work=work)


def _request_path(traffic: str, folder: str, batch: int, *, work: bool) -> int:
    return _as_bench_scale(request_path, Path(folder) / "inbox.db", traffic, batch, work=work)


def _reconciler(traffic: str, folder: str, _batch: int, *, work: bool) -> int:
    return _reconcile(traffic, lambda name: nullcontext(str(Path(folder) / name)), work=work)


def _reconciler_on_postgres(traffic: str, _folder: str, _batch: int, *, work: bool) -> int:
    # A database of its own each time, on the server the parent started (not counted).
    server = os.environ[_SERVER]
    return _reconcile(traffic, lambda _name: fresh_database("postgres", server), work=work)


def _reconcile(
    traffic: str, database: Callable[[str], AbstractContextManager[str]], *, work: bool
) -> int:
    deliveries = load(traffic)
    settled = 0
    for name, chunk_of, timed in (
        ("warm.db", deliveries[:_WARM_UP], False),
        ("inbox.db", deliveries, True),
    ):
        with database(name) as where, open_store(where, create=True) as store:
            inbox = Inbox(store, secrets=[_traffic.SECRET])
            for start in range(0, len(chunk_of), 500):
                inbox.accept(chunk_of[start : start + 500])
            worker = Reconciler(store, batch=100)
            while (work or not timed) and (count := worker.run_once()):
                settled += count if timed else 0
    return settled


def _long_histories(steps: int, folder: str, *, work: bool) -> int:
    """``bench_history.py``'s measure: one dispute each of orders ``steps`` steps long."""
    settled = 0
    for name, orders, timed in (("warm.db", 10, False), ("history.db", HISTORY_ORDERS, True)):
        with open_store(str(Path(folder) / name), create=True) as store:
            ids = [f"long-{steps}-{n}" for n in range(orders)]
            for order_id in ids:
                store.create_order(long_order(order_id, steps))
            Inbox(store, secrets=[_traffic.SECRET]).accept([dispute(i) for i in ids])
            worker = Reconciler(store, batch=100)
            while (work or not timed) and (count := worker.run_once()):
                settled += count if timed else 0
    return settled


_CHILDREN = {
    "floor": _floor,
    "request path": _request_path,
    "reconciler": _reconciler,
    POSTGRES_JOB: _reconciler_on_postgres,
}


def _child(job: str, traffic: str, batch: int, phase: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as folder:
        if job.startswith("history:"):
            count = _long_histories(int(job.removeprefix("history:")), folder, work=phase == "all")
        else:
            count = _CHILDREN[job](traffic, folder, batch, work=phase == "all")
    print(json.dumps({"count": count}))


def _instructions(
    job: str, traffic: str, batch: int, phase: str, src: str | None
) -> tuple[int, int]:
    """The instructions one child executed (Valgrind's ``I refs``), and its count."""
    assert VALGRIND is not None  # main() said so
    env = os.environ | {"PYTHONHASHSEED": "0"}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    done = subprocess.run(  # noqa: S603 (our own command)
        [
            VALGRIND,
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--child",
            job,
            phase,
            traffic,
            str(batch),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    refs = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if refs is None:
        sys.exit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(refs.group(1).replace(",", "")), json.loads(done.stdout.splitlines()[-1])["count"]


def per_delivery(job: str, traffic: str, batch: int, src: str | None) -> float:
    """The job's instructions a delivery: (set-up and work) minus set-up, over its deliveries."""
    alone, _ = _instructions(job, traffic, batch, "setup", src)
    whole, count = _instructions(job, traffic, batch, "all", src)
    return (whole - alone) / count


def main() -> None:
    """Print each job's instructions a delivery and its ratio to the floor's."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[4], int(sys.argv[5]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000, help="deliveries of traffic")
    parser.add_argument("--batch", type=int, default=1, help="deliveries a request (floor, path)")
    parser.add_argument("--src", help="another tree's src folder, counted beside this one")
    parser.add_argument(
        "--steps",
        default="",
        help="also a reconciler's dispute of orders this many steps long, e.g. 10,1000",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also a reconciler on PostgreSQL (a throwaway cluster; this process's "
        "instructions, not the server's)",
    )
    args = parser.parse_args()
    if VALGRIND is None:
        sys.exit("valgrind is not installed (apt-get install -y valgrind)")
    trees = {"this tree": None} | ({f"--src {args.src}": args.src} if args.src else {})
    print(
        f"python {sys.version.split()[0]}; sqlite {sqlite3.sqlite_version}; "
        f"{args.deliveries:,} deliveries of _traffic (seed 0); floor and request path "
        f"in batches of {args.batch}; the reconciler claims 100 orders at a time"
    )
    print("| job | code | instructions a delivery | ratio to the floor |")
    print("|---|---|---|---|")
    jobs = JOBS[1:] + ((POSTGRES_JOB,) if args.postgres else ())
    with ExitStack() as stack:
        folder = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="bench-instructions-traffic-")
        )
        if args.postgres:
            os.environ[_SERVER] = stack.enter_context(throwaway_cluster(durable=True))
        traffic = write_traffic(args.deliveries, 0, folder)
        floor = per_delivery("floor", traffic, args.batch, None)
        print(f"| floor | | {floor:,.0f} | 1.00x |")
        for job in jobs:
            for name, src in trees.items():
                count = per_delivery(job, traffic, args.batch, src)
                print(f"| {job} | {name} | {count:,.0f} | {count / floor:.2f}x |", flush=True)
        for name, src in trees.items():
            first = None
            for steps in [int(n) for n in args.steps.split(",") if n]:
                count = per_delivery(f"history:{steps}", traffic, args.batch, src)
                first = first or count
                print(
                    f"| a dispute of a {steps:,}-step order | {name} | {count:,.0f} | "
                    f"{count / floor:.2f}x ({count / first:.2f}x the first length's) |",
                    flush=True,
                )


if __name__ == "__main__":
    main()

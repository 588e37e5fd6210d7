"""Accept first, reconcile after: the request path against its floor, and scale-out on PostgreSQL.

Run: ``.venv/bin/python benchmarks/bench_scale.py`` (``--quick`` for a smoke run,
``--markdown`` for the README). PostgreSQL runs with ``fsync`` on (a throwaway cluster with
PostgreSQL's durable defaults, or ``--postgres DSN``); SQLite as the store sets it (WAL,
``synchronous = FULL``). Every measurement runs in its own processes; the traffic is
``_traffic.deliveries`` (realistic, signed, 10% duplicates, 20% late by up to 256).

- ``request path``: ``Inbox.accept`` (verify, read the envelope, one ``INSERT`` per
  delivery in one transaction per batch of ``--batch``) into a store's inbox, against its
  ``floor``, measured alike in the same run: ``json.loads``, the HMAC check, and one
  batched ``INSERT`` of the event id and body into a table with an integer rowid and a
  unique index on the event id, ``ON CONFLICT DO NOTHING``, in one transaction per batch.
  Only that work is timed, per delivery; with ``--repeats N`` each is run N times,
  interleaved, and the median taken. With ``--before SRC`` (the ``src`` folder of an
  older order-lifecycle, e.g. ``git archive``'d), ``before`` is that code's request path,
  ``Inbox.receive`` (everything done inside the request), measured alike in the same run.
- ``scale``: on PostgreSQL, 1, 2, 4 and 8 app-server processes (``--processes``), fed
  round-robin (server ``n`` takes deliveries ``n``, ``n + P`` ...), accept in batches of
  ``--batch`` while ``--reconcilers`` reconciler processes settle what they stored
  (``--reconcilers 0``: the request path alone); timed from the first server's first
  batch (start-up and reading the traffic excluded) until everything is stored
  (``accept/s``) and until everything is settled (``settled/s``). Each process reports
  its own CPU seconds: ``per CPU-s`` is a process's deliveries per second of its own CPU
  (a server's while it serves; a reconciler's whole, its polling included), and
  ``PostgreSQL CPU a delivery`` the server's own processes' (read from ``/proc``, when
  the server runs on this host). Deadlocks come from ``pg_stat_database``; failed
  batches are ``StoreError`` s the processes met; non-2xx the answers that were not.
- ``--reconciler``: one reconciler process settling what the request path stored into
  each store (the filling untimed), against the floor above (batches of 100); with
  ``--before SRC``, that code's reconciler too. ``peak RSS`` is the reconciler process's,
  filling included (the traffic read 500 deliveries at a time).

The machine is shared and noisy: read the ratios, and the load average printed beside.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import _traffic
from bench_ingest import _signed, fresh_database

from order_lifecycle import Delivery, Inbox
from order_lifecycle.exceptions import StoreError
from order_lifecycle.store import open_store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.pgcluster import ClusterUnavailable, throwaway_cluster  # noqa: E402

Result = dict[str, Any]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def delivery(line: str) -> Delivery:
    row = json.loads(line)
    at = _traffic.T0.fromisoformat(row["received_at"])
    return Delivery(row["body"].encode(), row["signature"], at)


def load(traffic: str, first: int = 0, step: int = 1) -> list[Delivery]:
    """The deliveries of the traffic file, every ``step``-th from ``first``."""
    return [delivery(line) for line in Path(traffic).read_text().splitlines()[first::step]]


def streamed(traffic: str, size: int) -> Iterator[list[Delivery]]:
    """The deliveries of the traffic file, ``size`` at a time (never all in memory)."""
    with Path(traffic).open() as lines:
        while chunk := [delivery(line) for line in itertools.islice(lines, size)]:
            yield chunk


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


# --- the request path and its floor (one process each) ------------------------------------------


def request_path(spec: Result) -> Result:
    deliveries = load(spec["traffic"])
    batch = spec["batch"]
    with open_store(spec["where"], create=True) as store:
        inbox = Inbox(store, secrets=[_traffic.SECRET])
        # Before: the request did everything (receive); now it stores (accept).
        handle = inbox.receive if spec["worker"] == "before" else inbox.accept
        seconds = cpu = 0.0
        answers: dict[str, int] = {}
        for start in range(0, len(deliveries), batch):
            chunk = deliveries[start : start + batch]
            began, used = time.perf_counter(), cpu_seconds()
            results = handle(chunk)
            seconds += time.perf_counter() - began
            cpu += cpu_seconds() - used
            for result in results:
                answers[str(result.outcome)] = answers.get(str(result.outcome), 0) + 1
    return {"seconds": seconds, "cpu": cpu, "count": len(deliveries), "answers": answers}


def floor(spec: Result) -> Result:
    deliveries = load(spec["traffic"])
    batch, key = spec["batch"], _traffic.SECRET.encode()
    insert: Callable[[list[tuple[str, bytes]]], None]
    with contextlib.ExitStack() as stack:
        if spec["database"] == "sqlite":
            lite = sqlite3.connect(spec["where"], isolation_level=None)
            stack.callback(lite.close)
            lite.execute("PRAGMA journal_mode = WAL")
            lite.execute("PRAGMA synchronous = FULL")
            lite.execute(
                "CREATE TABLE floor (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, body BLOB)"
            )
            lite.execute("CREATE UNIQUE INDEX floor_by_event ON floor (event_id)")

            def insert(rows: list[tuple[str, bytes]]) -> None:
                lite.execute("BEGIN IMMEDIATE")
                lite.executemany(
                    "INSERT INTO floor (event_id, body) VALUES (?, ?) ON CONFLICT DO NOTHING", rows
                )
                lite.execute("COMMIT")

        else:
            import psycopg  # noqa: PLC0415 (only when PostgreSQL is measured)

            pg = stack.enter_context(psycopg.connect(spec["where"], autocommit=True))
            pg.execute(
                "CREATE TABLE floor (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                "event_id text NOT NULL, body bytea)"
            )
            pg.execute("CREATE UNIQUE INDEX floor_by_event ON floor (event_id)")

            def insert(rows: list[tuple[str, bytes]]) -> None:
                with pg.transaction(), pg.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO floor (event_id, body) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        rows,
                    )

        seconds = cpu = 0.0
        for start in range(0, len(deliveries), batch):
            chunk = deliveries[start : start + batch]
            began, used = time.perf_counter(), cpu_seconds()
            rows = []
            for delivery in chunk:
                event_id = json.loads(delivery.body)["id"]
                if not _signed(delivery.signature or "", delivery.body, key):
                    sys.exit("floor: a delivery's signature does not verify")
                rows.append((event_id, delivery.body))
            insert(rows)
            seconds += time.perf_counter() - began
            cpu += cpu_seconds() - used
    return {"seconds": seconds, "cpu": cpu, "count": len(deliveries)}


def reconcile_alone(spec: Result) -> Result:
    """One reconciler process settling an inbox the request path filled (filling untimed).

    The traffic is read 500 deliveries at a time, so the process's peak RSS is the
    library's: the store, the inbox and the reconciler's batches.
    """
    from order_lifecycle import Reconciler  # noqa: PLC0415 (absent from code --before names)

    with open_store(spec["where"], create=True) as store:
        inbox = Inbox(store, secrets=[_traffic.SECRET])
        for chunk in streamed(spec["traffic"], 500):
            inbox.accept(chunk)
        worker = Reconciler(store, batch=spec["orders"])
        settled = 0
        began, cpu = time.perf_counter(), cpu_seconds()
        while count := worker.run_once():
            settled += count
        seconds, cpu = time.perf_counter() - began, cpu_seconds() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "count": settled,
        "settled": worker.counts.settled,
        "rss": peak_rss_mb(),
    }


# --- scale: app servers and reconcilers at once ------------------------------------------------


def app_server(spec: Result) -> Result:
    deliveries = load(spec["traffic"], spec["first"], spec["step"])
    batch = spec["batch"]
    answers: dict[int, int] = {}
    failed = 0
    with open_store(spec["where"]) as store:
        inbox = Inbox(store, secrets=[_traffic.SECRET])
        # Timed from here: the traffic read and the imports are no server's work.
        began, used = time.time(), cpu_seconds()
        for start in range(0, len(deliveries), batch):
            chunk = deliveries[start : start + batch]
            try:
                codes = [result.status_code for result in inbox.accept(chunk)]
            except StoreError:
                failed += 1
                codes = [503] * len(chunk)
            for code in codes:
                answers[code] = answers.get(code, 0) + 1
    return {
        "count": len(deliveries),
        "answers": answers,
        "failed": failed,
        "cpu": cpu_seconds() - used,
        "began": began,
        "ended": time.time(),
    }


def reconciler(spec: Result) -> Result:
    from order_lifecycle import Reconciler  # noqa: PLC0415 (absent from code --before names)

    stop = Path(spec["stop"])
    failed = settled = 0
    with open_store(spec["where"]) as store:
        worker = Reconciler(store, batch=spec["orders"], idle=0.01)
        while True:
            done = stop.exists()
            try:
                count = worker.run_once()
            except StoreError:
                failed += 1
                continue
            settled += count
            if done and not count:
                break
            if not count:
                time.sleep(0.01)
    return {"count": settled, "failed": failed, "lost": worker.counts.lost, "cpu": cpu_seconds()}


WORKERS: dict[str, Callable[[Result], Result]] = {
    "before": request_path,
    "request_path": request_path,
    "floor": floor,
    "app_server": app_server,
    "reconciler": reconciler,
    "reconcile_alone": reconcile_alone,
}


def start(job: Result, source: str | None = None) -> subprocess.Popen[str]:
    """This file's ``job`` in a new process (importing the library from ``source`` if given)."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([source, env.get("PYTHONPATH", "")])
    return subprocess.Popen(  # noqa: S603 (this file, our own arguments)
        [sys.executable, __file__, "--worker", json.dumps(job)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen[str]) -> Result:
    out, err = process.communicate()
    if process.returncode != 0:
        sys.exit(f"a worker failed:\n{err.strip()}")
    result: Result = json.loads(out.strip().splitlines()[-1])
    return result


def deadlocks(where: str) -> int:
    import psycopg  # noqa: PLC0415 (only when PostgreSQL is measured)

    with psycopg.connect(where) as pg:
        row = pg.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def server_cpu(where: str) -> float | None:
    """The CPU seconds PostgreSQL's processes used so far (Linux, a server of this host).

    The postmaster's own and its reaped children's (exited backends), and each live
    child's; ``None`` where that cannot be read (another host, no ``/proc``, no right).
    """
    import psycopg  # noqa: PLC0415 (only when PostgreSQL is measured)

    tick = os.sysconf("SC_CLK_TCK")
    try:
        with psycopg.connect(where) as pg:
            row = pg.execute("SHOW data_directory").fetchone()
        postmaster = int(Path(str(row[0] if row else ""), "postmaster.pid").read_text().split()[0])
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                # After the command's closing parenthesis: state, ppid, ..., utime at 11.
                fields = stat.read_text().rsplit(")", 1)[1].split()
                pid = int(stat.parent.name)
                if pid == postmaster:
                    total += sum(int(f) for f in fields[11:15])  # and its reaped children
                elif int(fields[1]) == postmaster:
                    total += int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError, psycopg.Error):
        return None
    return total / tick


def scale(traffic: str, where: str, processes: int, args: argparse.Namespace) -> Result:
    open_store(where, create=True).close()  # the tables, before the race
    before = deadlocks(where)
    server_before = server_cpu(where)
    with tempfile.TemporaryDirectory(prefix="bench-scale-stop-") as folder:
        stop = str(Path(folder) / "stop")
        settle = [
            start({"worker": "reconciler", "where": where, "stop": stop, "orders": args.orders})
            for _ in range(args.reconcilers)
        ]
        servers = [
            start(
                {
                    "worker": "app_server",
                    "where": where,
                    "traffic": traffic,
                    "first": n,
                    "step": processes,
                    "batch": args.batch,
                }
            )
            for n in range(processes)
        ]
        served = [finish(p) for p in servers]
        # From the first server's first batch to the last one's last: start-up excluded.
        accepted = max(s["ended"] for s in served) - min(s["began"] for s in served)
        Path(stop).touch()
        settled = [finish(p) for p in settle]
        total = time.time() - min(s["began"] for s in served)
    count = sum(s["count"] for s in served)
    answers: dict[str, int] = {}
    for s in served:
        for code, n in s["answers"].items():
            answers[code] = answers.get(code, 0) + n
    with open_store(where) as store:
        statuses = {str(k): v for k, v in store.delivery_counts().items()}
    return {
        "processes": processes,
        "count": count,
        "accept_rate": count / accepted,
        # With --reconcilers 0 nothing is settled: the deliveries stay pending.
        "settle_rate": count / total if settled else None,
        "per_cpu_server": sum(s["count"] / max(s["cpu"], 1e-9) for s in served) / len(served),
        "per_cpu_reconciler": (
            sum(s["count"] for s in settled) / sum(s["cpu"] for s in settled) if settled else None
        ),
        "deadlocks": deadlocks(where) - before,
        # PostgreSQL's own CPU a delivery, accepting and settling (None: not readable).
        "server_us": None
        if server_before is None or (server_after := server_cpu(where)) is None
        else (server_after - server_before) / count * 1e6,
        "failed": sum(s["failed"] for s in served) + sum(s["failed"] for s in settled),
        "non_2xx": sum(n for code, n in answers.items() if not 200 <= int(code) < 300),
        "lost": sum(s["lost"] for s in settled),
        "statuses": statuses,
    }


# --- the run ------------------------------------------------------------------------------------


def write_traffic(count: int, seed: int, folder: str) -> str:
    path = Path(folder) / "traffic.jsonl"
    with path.open("w") as out:
        for signed in _traffic.deliveries(count, seed=seed):
            row = {
                "body": signed.body.decode(),
                "signature": signed.signature,
                "received_at": signed.received_at.isoformat(),
            }
            out.write(json.dumps(row) + "\n")
    return str(path)


def run(args: argparse.Namespace, server: str | None) -> list[str]:
    lines = [
        f"command: benchmarks/bench_scale.py {' '.join(sys.argv[1:])}",
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs; load {os.getloadavg()}",
        f"python: {platform.python_version()}; sqlite {sqlite3.sqlite_version}",
        (
            f"| measure | store | batch | deliveries | rate | per delivery (median of "
            f"{args.repeats}) | ratio to floor | CPU per delivery | CPU ratio |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-scale-traffic-") as folder:
        traffic = write_traffic(args.deliveries, args.seed, folder)
        for store in args.stores:
            for batch in args.batches:
                workers = ("floor", "request_path", *(("before",) if args.before else ()))
                runs: dict[str, list[float]] = {worker: [] for worker in workers}
                cpus: dict[str, list[float]] = {worker: [] for worker in workers}
                for _ in range(args.repeats):  # interleaved, so that drift hits each alike
                    for worker in workers:
                        with fresh_database(store, server) as where:
                            job = {"worker": worker, "where": where, "traffic": traffic}
                            source = args.before if worker == "before" else None
                            job |= {"batch": batch, "database": store}
                            done = finish(start(job, source))
                        runs[worker].append(done["seconds"] / done["count"])
                        cpus[worker].append(done.get("cpu", float("nan")) / done["count"])
                base = statistics.median(runs["floor"])
                base_cpu = statistics.median(cpus["floor"])
                for worker, times in runs.items():
                    each = statistics.median(times)
                    cpu = statistics.median(cpus[worker])
                    name = "before (receive)" if worker == "before" else worker.replace("_", " ")
                    lines.append(
                        f"| {name} | {store} | {batch} | {args.deliveries:,} | "
                        f"{1 / each:,.0f}/s | {each * 1e6:,.1f} µs | {each / base:.2f}x | "
                        f"{cpu * 1e6:,.1f} µs | {cpu / base_cpu:.2f}x |"
                    )
                print(*lines[-len(workers) :], sep="\n", file=sys.stderr)
        if args.reconciler:
            lines += reconciler_rows(args, traffic, server)
        if "postgres" in args.stores and args.processes:
            lines += [
                "",
                (
                    f"scale on PostgreSQL (fsync on): batches of {args.batch}, "
                    f"{args.reconcilers} reconcilers of {args.orders} orders a claim; load "
                    f"{os.getloadavg()}"
                ),
                (
                    "| app servers | deliveries | accept/s | settled/s | per CPU-s (server) "
                    "| per CPU-s (reconciler) | PostgreSQL CPU a delivery | deadlocks "
                    "| failed batches | non-2xx | lost races | statuses |"
                ),
                "|---|---|---|---|---|---|---|---|---|---|---|---|",
            ]
            for processes in args.processes:
                with fresh_database("postgres", server) as where:
                    r = scale(traffic, where, processes, args)
                lines.append(
                    f"| {processes} | {r['count']:,} | {r['accept_rate']:,.0f} | "
                    f"{_rate(r['settle_rate'])} | {r['per_cpu_server']:,.0f} | "
                    f"{_rate(r['per_cpu_reconciler'])} | {_micros(r['server_us'])} | "
                    f"{r['deadlocks']} | {r['failed']} | "
                    f"{r['non_2xx']} | {r['lost']} | "
                    f"{', '.join(f'{k} {v}' for k, v in sorted(r['statuses'].items()))} |"
                )
                print(lines[-1], file=sys.stderr)
    lines.append(f"load at end: {os.getloadavg()}")
    return lines


def _rate(value: float | None) -> str:
    return "-" if not value else f"{value:,.0f}"


def _micros(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} µs"


def reconciler_rows(args: argparse.Namespace, traffic: str, server: str | None) -> list[str]:
    """One reconciler process against the floor (batches of 100), each store, median of runs."""
    lines = [
        "",
        (
            f"one reconciler process, {args.orders} orders a claim, settling what the request "
            f"path stored; the floor as above, batches of 100; load {os.getloadavg()}"
        ),
        (
            "| measure | store | settled | rate (wall) | per delivery (wall) | per delivery (CPU) "
            "| ratio to floor | CPU ratio | peak RSS | statuses |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    sources = {"reconciler": None} | ({"before": args.before} if args.before else {})
    for store in args.stores:
        floors: list[Result] = []
        runs: dict[str, list[Result]] = {name: [] for name in sources}
        for _ in range(args.repeats):  # interleaved, so that drift hits each alike
            with fresh_database(store, server) as where:
                job = {"worker": "floor", "where": where, "traffic": traffic}
                floors.append(finish(start(job | {"batch": 100, "database": store})))
            for name, source in sources.items():
                with fresh_database(store, server) as where:
                    job = {"worker": "reconcile_alone", "where": where, "traffic": traffic}
                    runs[name].append(finish(start(job | {"orders": args.orders}, source)))
        base = statistics.median(f["seconds"] / f["count"] for f in floors)
        base_cpu = statistics.median(f["cpu"] / f["count"] for f in floors)
        lines.append(
            f"| floor | {store} | {args.deliveries:,} | {1 / base:,.0f}/s | {base * 1e6:,.1f} µs "
            f"| {base_cpu * 1e6:,.1f} µs | 1.00x | 1.00x | | |"
        )
        for name, done in runs.items():
            wall = statistics.median(r["seconds"] / r["count"] for r in done)
            cpu = statistics.median(r["cpu"] / r["count"] for r in done)
            statuses = ", ".join(f"{k} {v}" for k, v in sorted(done[0]["settled"].items()))
            lines.append(
                f"| {name} | {store} | {done[0]['count']:,} | {1 / wall:,.0f}/s | "
                f"{wall * 1e6:,.1f} µs | {cpu * 1e6:,.1f} µs | {wall / base:.2f}x | "
                f"{cpu / base_cpu:.2f}x | {max(r['rss'] for r in done):,.0f} MB | {statuses} |"
            )
        print(*lines[-1 - len(runs) :], sep="\n", file=sys.stderr)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--batches", default="1,100", help="request path batch sizes")
    parser.add_argument("--processes", default="1,2,4,8", help="app servers ('' skips scale)")
    parser.add_argument("--batch", type=int, default=50, help="an app server's batch")
    parser.add_argument("--reconcilers", type=int, default=2)
    parser.add_argument(
        "--orders", type=int, help="orders a reconciler claims (default: the Reconciler's)"
    )
    parser.add_argument("--postgres", help="a server's DSN (default: a throwaway cluster)")
    parser.add_argument("--before", help="an older order-lifecycle's src folder, to compare")
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs of each request-path measure (median)"
    )
    parser.add_argument(
        "--reconciler", action="store_true", help="also one reconciler process against the floor"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: small and fast")
    parser.add_argument("--markdown", action="store_true", help="print the table only")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[json.loads(args.worker)["worker"]](json.loads(args.worker))))
        return
    if args.orders is None:
        # Here, not at the top: a worker of --before code imports this file, without it.
        from order_lifecycle.webhooks import CLAIMED_ORDERS  # noqa: PLC0415

        args.orders = CLAIMED_ORDERS
    if args.quick:
        args.deliveries, args.processes = 600, "1,2"
    args.stores = [s for s in args.stores.split(",") if s]
    args.batches = [int(b) for b in args.batches.split(",") if b]
    args.processes = [int(p) for p in args.processes.split(",") if p]
    with contextlib.ExitStack() as stack:
        server = args.postgres
        if server is None and "postgres" in args.stores:
            try:
                server = stack.enter_context(throwaway_cluster(durable=True))
            except ClusterUnavailable as error:
                print(f"no PostgreSQL: {error}; measuring SQLite only", file=sys.stderr)
                args.stores = [s for s in args.stores if s != "postgres"]
        print("\n".join(run(args, server)))


if __name__ == "__main__":
    main()

"""Webhook ingestion throughput, next to a floor measured in the same run; one table.

Run: ``.venv/bin/python benchmarks/bench_ingest.py`` (after ``./scripts/test`` made the
environment); ``--quick`` for a one-minute smoke run, ``--markdown`` for the README,
``--deliveries 10000,100000,1000000`` for the full scale. PostgreSQL runs on
``--postgres DSN`` (an empty database's server; a fresh database is created per
measurement) when given, else on a throwaway cluster started like the tests' one (skipped,
with a note, when none can start). Each measurement runs in a fresh subprocess, so that its
peak RSS (``getrusage`` ``maxrss``) is its own.

- ``ingest``: the deliveries of ``_traffic.deliveries`` (signed, realistic, 10% duplicates,
  reordered within a bounded window), through ``Inbox.receive`` in batches of ``--batch``
  into a store. Only ``receive`` is timed; making the traffic is not. A run in which any
  delivery comes out ``invalid`` or ``unknown`` fails: its traffic would measure nothing.
- ``floor``: for each delivery ``json.loads``, the HMAC check (``hmac.new`` and
  ``compare_digest``, as the signature scheme does) and one ``INSERT`` of the body, in
  transactions of ``--batch`` deliveries; SQLite with the store's settings (WAL,
  ``synchronous = FULL``), PostgreSQL with one ``executemany`` per batch. ``none`` is the
  floor without a database, for the memory store. A store's rate is given as a ratio to the
  floor of its own database at the same size.
- ``update_order``: one ``update_order`` that appends one step and one event id, on orders
  whose stored history has 10, 100 and 1,000 steps (dispute and dispute-resolved cycles);
  the median over ``--repeats`` orders. Flat in history length is the target.
- ``live order``: bytes per order (2 items, 1 charge, 5 history steps) held in a list, by
  ``tracemalloc``; target 1.5 KB.

The throwaway PostgreSQL cluster runs with ``fsync = off``, so its numbers flatter a real
server's. Sizes whose run the rate at the size before predicts to last longer than
``--budget`` seconds are skipped with a note (``--budget 0``: never skip).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
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
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import _traffic

from order_lifecycle import Charge, Delivery, Inbox, Item, Order, capture, fire
from order_lifecycle.orders import fulfil_items
from order_lifecycle.store import MemoryStore, Store, open_store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.pgcluster import ClusterUnavailable, throwaway_cluster  # noqa: E402

STORES = ("memory", "sqlite", "postgres")
FLOOR_OF = {"memory": "none", "sqlite": "sqlite", "postgres": "postgres"}
REFUSED = frozenset({"invalid", "unknown"})
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SQLITE_TARGET = 10_000
FLOOR_TARGET = 3.0
BYTES_TARGET = 1500

Result = dict[str, Any]


# --- the adapter: every line that touches the library's API ----------------------------------
# After the core path is redesigned, these few functions are what changes.


@contextlib.contextmanager
def opened(kind: str, where: str) -> Iterator[Store]:
    """The store of ``kind`` (memory, sqlite, postgres) at ``where``, closed afterwards."""
    store = MemoryStore() if kind == "memory" else open_store(where, create=True)
    with store:
        yield store


def receiver(store: Store) -> Callable[[Sequence[_traffic.Signed]], Callable[[], list[str]]]:
    """A batch's deliveries made ready (untimed); the call that ingests them (timed)."""
    inbox = Inbox(store, secrets=[_traffic.SECRET])

    def prepare(batch: Sequence[_traffic.Signed]) -> Callable[[], list[str]]:
        ready = [Delivery(s.body, s.signature, s.received_at) for s in batch]
        return lambda: [str(result.outcome) for result in inbox.receive(ready)]

    return prepare


def orders_in(store: Store) -> int:
    """How many orders the store holds."""
    return len(store.order_ids())


def long_order(order_id: str, steps: int) -> Order:
    """An accepted order whose history has ``steps`` steps (an even number, 2 or more)."""
    order = Order.create(
        order_id,
        "in_review",
        at=T0,
        items=[Item("widget", 1, physical=True)],
        charges=[Charge("ch-1", "capturable", Decimal("100.00"), "USD")],
    )
    moments = (T0 + timedelta(minutes=n) for n in itertools.count(1))
    fire(order, "accept", at=next(moments))
    for _ in range((steps - 2) // 2):
        fire(order, "dispute", at=next(moments))
        fire(order, "resolve_dispute", at=next(moments))
    return order


def add_step(store: Store, order_id: str, event_id: str) -> None:
    """One small update: the order goes into dispute, with the event's id."""
    at = T0 + timedelta(days=365)
    store.update_order(
        order_id, lambda o: fire(o, "dispute", at=at, event_id=event_id), event_id=event_id
    )


def live_order(n: int) -> Order:
    """Order ``n``: 2 items, 1 charge, 5 history steps, every value its own object."""
    at = T0 + timedelta(seconds=10 * n)
    order = Order.create(
        f"{3_000_000_000 + n}36",
        "accepted",
        at=at,
        checkout_id=str(uuid.UUID(int=n)),
        fraud_state="passed",
        items=[Item(f"{n}-1", 2, physical=True), Item(f"{n}-2", 1, physical=False)],
        charges=[Charge(f"ch-{n}", "capturable", Decimal(f"{n % 900 + 10}.{n % 100:02d}"), "USD")],
    )
    fulfil_items(order, {f"{n}-1": 2, f"{n}-2": 1}, at=at + timedelta(hours=1))
    capture(order, f"ch-{n}", order.charges[0].amount, at=at + timedelta(hours=2))
    fire(order, "dispute", at=at + timedelta(days=9))
    fire(order, "resolve_dispute", at=at + timedelta(days=30))
    return order


def versions() -> dict[str, str]:
    """The versions of the package and its dependencies."""
    found = {}
    for name in ("order-lifecycle", "transitions", "attrs", "psycopg"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["sqlite3"] = sqlite3.sqlite_version
    return found


# --- measurements, each in its own subprocess --------------------------------------------------


def batches(count: int, size: int, seed: int) -> Iterator[list[_traffic.Signed]]:
    stream = _traffic.deliveries(count, seed=seed)
    while batch := list(itertools.islice(stream, size)):
        yield batch


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def ingest(spec: Result) -> Result:
    counts: Counter[str] = Counter()
    seconds = 0.0
    with opened(spec["store"], spec["where"]) as store:
        prepare = receiver(store)
        for batch in batches(spec["deliveries"], spec["batch"], spec["seed"]):
            run = prepare(batch)
            start = time.perf_counter()
            outcomes = run()
            seconds += time.perf_counter() - start
            counts.update(outcomes)
        orders = orders_in(store)
    refused = {k: v for k, v in counts.items() if k in REFUSED}
    if refused:
        sys.exit(f"{spec['store']}: deliveries refused {refused}: the traffic measures nothing")
    return {"seconds": seconds, "counts": dict(counts), "orders": orders, "rss": peak_rss_mb()}


def _signed(header: str, body: bytes, key: bytes) -> bool:
    timestamp, signature = (part.strip() for part in header.split(",", 1))
    mac = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(mac), signature.encode())


def floor(spec: Result) -> Result:
    key = _traffic.SECRET.encode()
    database = spec["database"]
    insert: Callable[[list[bytes]], None]
    with contextlib.ExitStack() as stack:
        if database == "sqlite":
            lite = sqlite3.connect(spec["where"], isolation_level=None)
            stack.callback(lite.close)
            lite.execute("PRAGMA journal_mode = WAL")
            lite.execute("PRAGMA synchronous = FULL")
            lite.execute("CREATE TABLE delivery (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")

            def insert(bodies: list[bytes]) -> None:
                lite.execute("BEGIN IMMEDIATE")
                for body in bodies:
                    lite.execute("INSERT INTO delivery (body) VALUES (?)", (body,))
                lite.execute("COMMIT")

        elif database == "postgres":
            import psycopg  # noqa: PLC0415 (only when PostgreSQL is measured)

            pg = stack.enter_context(psycopg.connect(spec["where"], autocommit=True))
            pg.execute("CREATE TABLE delivery (id bigserial PRIMARY KEY, body bytea NOT NULL)")

            def insert(bodies: list[bytes]) -> None:
                with pg.transaction(), pg.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO delivery (body) VALUES (%s)", [(b,) for b in bodies]
                    )

        else:

            def insert(bodies: list[bytes]) -> None:
                del bodies

        seconds = 0.0
        for batch in batches(spec["deliveries"], spec["batch"], spec["seed"]):
            raw = [(s.signature, s.body) for s in batch]
            start = time.perf_counter()
            bodies = []
            for header, body in raw:
                json.loads(body)
                if not _signed(header, body, key):
                    sys.exit("floor: a delivery's signature does not verify")
                bodies.append(body)
            insert(bodies)
            seconds += time.perf_counter() - start
    return {"seconds": seconds, "rss": peak_rss_mb()}


def updates(spec: Result) -> Result:
    timings: dict[str, float] = {}
    with opened(spec["store"], spec["where"]) as store:
        for steps in spec["history"]:
            ids = [f"long-{steps}-{n}" for n in range(spec["repeats"])]
            for order_id in ids:
                store.create_order(long_order(order_id, steps))
            samples = []
            for order_id in ids:
                start = time.perf_counter()
                add_step(store, order_id, f"evt-{order_id}")
                samples.append(time.perf_counter() - start)
            timings[str(steps)] = statistics.median(samples)
    return {"median": timings, "rss": peak_rss_mb()}


def live_memory(spec: Result) -> Result:
    count = spec["orders"]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    orders = [live_order(n) for n in range(count)]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    shape = orders[0]
    assert (len(shape.items), len(shape.charges), len(shape.history)) == (2, 1, 5)
    return {"bytes": (after - before) / len(orders), "rss": peak_rss_mb()}


WORKERS: dict[str, Callable[[Result], Result]] = {
    "ingest": ingest,
    "floor": floor,
    "update": updates,
    "memory": live_memory,
}


@contextlib.contextmanager
def fresh_database(kind: str, server: str | None) -> Iterator[str]:
    """Where a measurement of ``kind`` writes: a new SQLite file or PostgreSQL database."""
    if kind in {"memory", "none"}:
        yield ""
    elif kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
            yield str(Path(folder) / "bench.db")
    else:
        import psycopg  # noqa: PLC0415 (only when PostgreSQL is measured)

        assert server is not None
        name = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            yield urlsplit(server)._replace(path=f"/{name}").geturl()
        finally:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def measure(worker: str, target: str, server: str | None, **spec: Any) -> Result:  # noqa: ANN401
    """Run one measurement in a fresh interpreter; its result. Exits if it failed."""
    with fresh_database(target, server) as where:
        job = {"worker": worker, "where": where, **spec}
        done = subprocess.run(  # noqa: S603 (this file, our own arguments)
            [sys.executable, __file__, "--worker", json.dumps(job)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        sys.exit(f"{worker} on {target} failed:\n{done.stderr.strip()}")
    result: Result = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the run and its table ---------------------------------------------------------------------


@contextlib.contextmanager
def postgres(dsn: str | None, wanted: bool) -> Iterator[str | None]:  # noqa: FBT001
    if not wanted:
        yield None
    elif dsn is not None:
        yield dsn
    else:
        try:
            with throwaway_cluster() as started:
                yield started
        except ClusterUnavailable as error:
            print(f"PostgreSQL skipped: {error}", file=sys.stderr)
            yield None


def server_version(dsn: str) -> str:
    import psycopg  # noqa: PLC0415 (only when PostgreSQL is measured)

    with psycopg.connect(dsn) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def rate(count: int, result: Result) -> float:
    return count / result["seconds"] if result["seconds"] else float("inf")


def counted(number: float) -> str:
    return f"{number:,.0f}"


class Run:
    """The options, the rows of the table as they are measured, and the notes."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rows: list[tuple[str, ...]] = []
        self.notes: list[str] = []
        self.rates: dict[tuple[str, int], float] = {}
        self.floors: dict[tuple[str, int], float] = {}
        self.outcomes: dict[int, dict[str, dict[str, int]]] = {}

    def row(self, *cells: str) -> None:
        """Add a row to the table, and show it as progress."""
        self.rows.append(cells)
        print("... " + " | ".join(cells), file=sys.stderr)  # progress, for long runs

    def ingestion(self, store: str, server: str | None) -> None:
        """Ingest each size into ``store``, next to its database's floor at that size."""
        args = self.args
        previous: float | None = None
        for size in args.deliveries:
            if previous is not None and args.budget and size / previous > args.budget:
                self.notes.append(
                    f"{store} at {counted(size)} skipped: at {counted(previous)}/s it would take "
                    f"{size / previous:,.0f} s, over --budget {args.budget:g} s"
                )
                continue
            common = {"deliveries": size, "batch": args.batch, "seed": args.seed}
            base = FLOOR_OF[store]
            if (base, size) not in self.floors:
                done = measure("floor", base, server, database=base, **common)
                self.floors[base, size] = rate(size, done)
                self.row(
                    "floor",
                    base,
                    counted(size),
                    f"{counted(self.floors[base, size])}/s",
                    "1.00",
                    f"{done['rss']:.0f}",
                    "json.loads + HMAC" + ("" if base == "none" else " + INSERT"),
                )
            done = measure("ingest", store, server, store=store, **common)
            previous = self.rates[store, size] = rate(size, done)
            bottom = self.floors[base, size]
            self.outcomes.setdefault(size, {})[store] = done["counts"]
            outcomes = " ".join(f"{k} {v:,}" for k, v in sorted(done["counts"].items()))
            self.row(
                "ingest",
                store,
                counted(size),
                f"{counted(previous)}/s",
                f"{previous / bottom:.3f} ({bottom / previous:.1f}x slower)",
                f"{done['rss']:.0f}",
                f"{outcomes}; {counted(done['orders'])} orders",
            )

    def history(self, store: str, server: str | None) -> None:
        """Time ``update_order`` on ``store`` at each history length."""
        args = self.args
        done = measure(
            "update", store, server, store=store, history=args.history, repeats=args.repeats
        )
        medians = done["median"]
        first = medians[str(args.history[0])]
        for steps in args.history:
            seconds = medians[str(steps)]
            self.row(
                "update_order",
                store,
                f"{counted(steps)} steps",
                f"{seconds * 1000:.2f} ms",
                "",
                f"{done['rss']:.0f}",
                f"{seconds / first:.1f}x the {counted(args.history[0])}-step cost, "
                f"median of {args.repeats}",
            )

    def targets(self) -> None:
        """The SQLite targets' rows; notes on linearity and on the stores' agreement."""
        for size, by_store in self.outcomes.items():
            if len(by_store) > 1:
                same = len({tuple(sorted(c.items())) for c in by_store.values()}) == 1
                self.notes.append(
                    f"outcomes at {counted(size)}: "
                    + ("the same in every store" if same else f"DIFFER between stores {by_store}")
                )
        sizes = [s for s in self.args.deliveries if ("sqlite", s) in self.rates]
        if not sizes:
            return
        size = sizes[-1]
        lite, base = self.rates["sqlite", size], self.floors["sqlite", size]
        verdict = "met" if lite >= SQLITE_TARGET else f"{SQLITE_TARGET / lite:.1f}x short"
        self.row(
            "target",
            "sqlite",
            counted(size),
            f">= {counted(SQLITE_TARGET)}/s",
            "",
            "",
            f"{counted(lite)}/s: {verdict}",
        )
        times = base / lite
        verdict = "met" if times <= FLOOR_TARGET else f"{times / FLOOR_TARGET:.1f}x over"
        self.row(
            "target",
            "sqlite",
            counted(size),
            f"within {FLOOR_TARGET:g}x of floor",
            "",
            "",
            f"{times:.1f}x the floor: {verdict}",
        )
        for store in STORES:
            sized = [
                (s, self.rates[store, s]) for s in self.args.deliveries if (store, s) in self.rates
            ]
            if len(sized) > 1:
                spread = ", ".join(f"{counted(s)}: {counted(r)}/s" for s, r in sized)
                self.notes.append(
                    f"linearity, {store}: {spread} (last/first {sized[-1][1] / sized[0][1]:.2f})"
                )


def header(args: argparse.Namespace, server: str | None, load: tuple[float, ...]) -> list[str]:
    found = versions()
    end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        (
            f"machine: {platform.platform()}, {cpu_model()}, {os.cpu_count()} CPUs, load average "
            f"{' '.join(f'{x:.2f}' for x in load)} at start, {end} at end"
        ),
        f"python: {platform.python_implementation()} {platform.python_version()}",
        "versions: "
        + ", ".join(f"{name} {v}" for name, v in found.items())
        + (f", PostgreSQL server {server_version(server)} (fsync off)" if server else ""),
        f"command: {' '.join(['benchmarks/bench_ingest.py', *sys.argv[1:]])}",
        (
            f"traffic: seed {args.seed}, batches of {args.batch}, 10% duplicates, 20% late by "
            f"up to 256 deliveries, ~5.5 deliveries per order"
        ),
    ]


COLUMNS = ("measure", "store", "size", "result", "rate / floor", "peak RSS MB", "notes")


def render(lines: list[str], rows: list[tuple[str, ...]], notes: list[str], markdown: bool) -> str:  # noqa: FBT001
    if markdown:
        out = [f"- {line}" for line in lines] + [""]
        out.append("| " + " | ".join(COLUMNS) + " |")
        out.append("|" + "|".join("---" for _ in COLUMNS) + "|")
        out.extend("| " + " | ".join(row) + " |" for row in rows)
        out.extend(["", *(f"- {note}" for note in notes)] if notes else [])
        return "\n".join(out)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    rule = "-+-".join("-" * w for w in widths)
    table = [
        " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        for cells in (COLUMNS, *rows)
    ]
    return "\n".join([*lines, "", table[0], rule, *table[1:], "", *notes])


def sizes(text: str) -> list[int]:
    values = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("give sizes of 1 or more, e.g. 10000,100000")
    return values


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--deliveries", type=sizes, default=None, help="default 10000,100000")
    parser.add_argument("--stores", default=",".join(STORES), help="memory,sqlite,postgres")
    parser.add_argument("--batch", type=int, default=500, help="deliveries per receive call")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--history", type=sizes, default=None, help="default 10,100,1000")
    parser.add_argument("--repeats", type=int, default=None, help="orders per history length")
    parser.add_argument("--live-orders", type=int, default=None, help="default 10000")
    parser.add_argument("--budget", type=float, default=None, help="seconds per run; 0: any")
    parser.add_argument("--postgres", metavar="DSN", help="a server to measure on")
    parser.add_argument("--quick", action="store_true", help="a ~1 minute smoke run")
    parser.add_argument("--markdown", action="store_true", help="the table in Markdown")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "deliveries": [2000] if quick else [10_000, 100_000],
        "history": [10, 100, 1000],
        "repeats": 3 if quick else 15,
        "live_orders": 2000 if quick else 10_000,
        "budget": 30.0 if quick else 300.0,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if any(steps < 2 or steps % 2 for steps in args.history):
        parser.error("--history lengths must be even and 2 or more (dispute cycles)")
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    unknown = set(args.stores) - set(STORES)
    if unknown:
        parser.error(f"unknown stores {sorted(unknown)}; choose from {', '.join(STORES)}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.worker is not None:
        job = json.loads(args.worker)
        print(json.dumps(WORKERS[job["worker"]](job)))
        return
    load = os.getloadavg()
    run = Run(args)
    with postgres(args.postgres, "postgres" in args.stores) as server:
        stores = [s for s in args.stores if s != "postgres" or server is not None]
        if "postgres" in args.stores and server is None:
            run.notes.append("postgres skipped: no server could start (see above)")
        for store in stores:
            run.ingestion(store, server)
        for store in stores:
            run.history(store, server)
        done = measure("memory", "none", None, orders=args.live_orders)
        run.row(
            "live order",
            "-",
            f"{counted(args.live_orders)} orders",
            f"{counted(done['bytes'])} B/order",
            "",
            f"{done['rss']:.0f}",
            f"2 items, 1 charge, 5 steps; target <= {counted(BYTES_TARGET)} B: "
            + ("met" if done["bytes"] <= BYTES_TARGET else "missed"),
        )
        run.targets()
        lines = header(args, server, load)
    print(render(lines, run.rows, run.notes, args.markdown))


if __name__ == "__main__":
    main()

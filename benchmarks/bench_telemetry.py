"""What logging, metrics and traces cost the hot paths: OpenTelemetry absent, idle, recording.

Run: ``.venv/bin/python benchmarks/bench_telemetry.py`` (after ``./scripts/test`` made the
environment). Each mode runs in a fresh subprocess, ``--repeat`` times in turn (so that a
load that comes and goes weighs on all alike), and the best run of each is printed, in
microseconds per delivery, as a ratio to ``absent`` of the same run:

- ``absent``: OpenTelemetry's API not importable (as without the ``otel`` extra): every
  instrument is a no-op of the library's own. The floor.
- ``before`` (with ``--before SRC``, the ``src`` folder of a checkout without telemetry,
  e.g. the main branch's): the same code paths before logging and telemetry were added.
- ``api``: the API installed, no SDK configured: the API's no-op meter and tracer answer.
- ``sdk``: the SDK configured, an in-memory metric reader and every span recorded (a
  batch span processor to an exporter that drops them): what a shop exporting pays.

Measured on a memory store (no database time to hide the cost) and on a SQLite file
(``--stores``), with the logging configured at WARNING as in production:

- ``accept``: the request path, ``Inbox.accept`` of one delivery per call (the provider
  posts one per request), ``--count`` deliveries of ``_traffic.deliveries``.
- ``reconcile``: ``Reconciler.run_once`` over what ``accept`` stored, ``--batch`` orders per
  claim, until nothing is due.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

MODES = ("absent", "api", "sdk")


def _setup(mode: str) -> None:
    if mode in {"absent", "before"}:
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]
        return
    if mode == "sdk":
        from opentelemetry import metrics, trace  # noqa: PLC0415 (the mode decides)
        from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: PLC0415
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        class Dropped(SpanExporter):
            def export(self, spans: object) -> SpanExportResult:  # noqa: ARG002
                return SpanExportResult.SUCCESS

        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
        tracers = TracerProvider()
        tracers.add_span_processor(BatchSpanProcessor(Dropped()))
        trace.set_tracer_provider(tracers)


def measure(mode: str, store_kind: str, count: int, batch: int) -> dict[str, float]:
    """One mode's per-delivery times, in this process."""
    _setup(mode)
    import logging  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    import _traffic  # noqa: PLC0415

    from order_lifecycle import Delivery, Inbox, Reconciler, open_store  # noqa: PLC0415
    from order_lifecycle.store import MemoryStore, Store  # noqa: PLC0415

    logging.basicConfig(level=logging.WARNING)
    traffic = [
        Delivery(d.body, d.signature, d.received_at)
        for d in _traffic.deliveries(count, seed=1, duplicates=0.0)
    ]
    folder = tempfile.mkdtemp(prefix="bench-telemetry-")
    store: Store = MemoryStore()
    if store_kind == "sqlite":
        from order_lifecycle.store import migrate  # noqa: PLC0415

        migrate(f"{folder}/shop.db")
        store = open_store(f"{folder}/shop.db")
    inbox = Inbox(store, secrets=[_traffic.SECRET])
    began = time.process_time()
    for delivery in traffic:
        inbox.accept([delivery])
    accepted = time.process_time() - began
    last = max(d.received_at for d in traffic if d.received_at is not None)
    reconciler = Reconciler(store, batch=batch, clock=lambda: last)
    began = time.process_time()
    while reconciler.run_once():
        pass
    reconciled = time.process_time() - began
    return {"accept": accepted / count * 1e6, "reconcile": reconciled / count * 1e6}


def main() -> None:
    """Run each mode in turn, print the best of each as µs per delivery and its ratio."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stores", default="memory,sqlite")
    parser.add_argument("--before", metavar="SRC", help="a src folder without telemetry")
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(measure(args.mode, args.store, args.count, args.batch)))
        return
    modes = ("before", *MODES) if args.before else MODES
    here = str(Path(__file__).resolve().parent)
    print(f"# {platform.python_implementation()} {platform.python_version()}, "
          f"{args.count:,} deliveries, reconciler batch {args.batch}, best of {args.repeat}, "
          f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
    for kind in args.stores.split(","):
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeat):
            for mode in modes:
                paths = [here, *([args.before] if mode == "before" else [])]
                env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
                done = subprocess.run(  # noqa: S603 (this script, run again)
                    [sys.executable, __file__, "--mode", mode, "--store", kind,
                     "--count", str(args.count), "--batch", str(args.batch)],
                    capture_output=True, text=True, check=True, env=env,
                )  # fmt: skip
                for path, value in json.loads(done.stdout).items():
                    row = best.setdefault(mode, {})
                    row[path] = min(value, row.get(path, float("inf")))
        print(f"\n{kind:<8} {'accept µs':>10} {'ratio':>6} {'reconcile µs':>13} {'ratio':>6}")
        floor = best["absent"]
        for mode in modes:
            row = best[mode]
            print(
                f"{mode:<8} {row['accept']:>10.1f} {row['accept'] / floor['accept']:>6.2f} "
                f"{row['reconcile']:>13.1f} {row['reconcile'] / floor['reconcile']:>6.2f}"
            )


if __name__ == "__main__":
    main()

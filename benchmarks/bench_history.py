"""A reconciler's cost a delivery against orders with long histories (flat in their length?).

Run: ``.venv/bin/python benchmarks/bench_history.py`` (after ``./scripts/test`` made the
environment). For each history length (``--steps``, default 10, 100 and 1,000 steps:
dispute and resolution cycles after acceptance, as ``bench_ingest.long_order`` builds
them), ``--orders`` such orders are stored in a fresh SQLite store, one signed
``order.dispute`` delivery each (``--fulfilled``: ``order.fulfilled``, a state they never
entered) is accepted, and one reconciler (``Reconciler(store,
batch=100).run_once()`` until nothing is due) settles them. Printed: the reconciler's CPU
time a delivery, the best of ``--repeat`` runs, and its ratio to the shortest history's.

The orders are in the store's cache (decoded when stored), as a busy reconciler's are;
with ``--cold`` the reconciler works on a new store object opened on the same file, so
each order is read and decoded whole (its history too) by the reconciler's claim.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import _traffic
from bench_ingest import T0, long_order

from order_lifecycle import Delivery, Inbox, Reconciler
from order_lifecycle.store import Store, open_store
from order_lifecycle.webhooks import sign

DISPUTED = T0 + timedelta(days=365)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def dispute(order_id: str, *, fulfilled: bool = False) -> Delivery:
    """The provider's ``order.dispute`` of a long order (as ``long_order`` made it), signed.

    ``fulfilled``: its ``order.fulfilled`` instead (item shipped, charge captured): a state
    the long order never entered, so walks ask whether it did.
    """
    state, charge, item = "dispute", "capturable", "created"
    if fulfilled:
        state, charge, item = "fulfilled", "complete", "fulfilled"
    transitions = {
        "in_review": _stamp(T0),
        "accepted": _stamp(T0 + timedelta(minutes=1)),
        "dispute": _stamp(T0 + timedelta(minutes=2)),
    }
    if fulfilled:
        transitions["fulfilled"] = _stamp(DISPUTED)
    body = json.dumps(
        {
            "id": f"evt-{order_id}",
            "type": f"order.{state}",
            "createdTime": _stamp(DISPUTED),
            "data": {
                "object": {
                    "id": order_id,
                    "state": state,
                    "currency": "USD",
                    "items": [
                        {
                            "id": "widget",
                            "quantity": 1,
                            "state": item,
                            "productDetails": {"physical": True},
                        }
                    ],
                    "payment": {
                        "charges": [
                            {
                                "id": "ch-1",
                                "state": charge,
                                "amount": 100.00,
                                "currency": "USD",
                                "captured": fulfilled,
                                "sourceId": "src-1",
                            }
                        ]
                    },
                    "stateTransitions": transitions,
                }
            },
        }
    ).encode()
    sent = DISPUTED + timedelta(seconds=1)
    return Delivery(body, sign(body, _traffic.SECRET, sent), sent)


def settle(
    steps: int, orders: int, *, cold: bool = False, fulfilled: bool = False
) -> tuple[float, dict[str, int]]:
    """CPU seconds a delivery to settle one dispute of each of ``orders`` long orders.

    ``cold``: by a new store object on the same file (nothing cached: each order decoded).
    ``fulfilled``: an ``order.fulfilled`` delivery each instead of the dispute.
    """
    with tempfile.TemporaryDirectory(prefix="bench-history-") as folder:
        path = str(Path(folder) / "history.db")
        with open_store(path, create=True) as store:
            ids = [f"long-{steps}-{n}" for n in range(orders)]
            for order_id in ids:
                store.create_order(long_order(order_id, steps))
            deliveries = [dispute(i, fulfilled=fulfilled) for i in ids]
            Inbox(store, secrets=[_traffic.SECRET]).accept(deliveries)
            if not cold:
                return _reconciled(store)
        with open_store(path) as store:
            return _reconciled(store)


def _reconciled(store: Store) -> tuple[float, dict[str, int]]:
    """CPU seconds a delivery for one reconciler to settle every due delivery, and counts."""
    worker = Reconciler(store, batch=100)
    began, settled = time.process_time(), 0
    while count := worker.run_once():
        settled += count
    used = time.process_time() - began
    return used / max(settled, 1), dict(worker.counts.settled)


def main() -> None:
    """Print the reconciler's CPU a delivery at each history length."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", default="10,100,1000", help="history lengths (even, >= 2)")
    parser.add_argument("--orders", type=int, default=300, help="orders (deliveries) a length")
    parser.add_argument("--repeat", type=int, default=3, help="runs a length; the best is kept")
    parser.add_argument("--cold", action="store_true", help="a new store object: nothing cached")
    parser.add_argument(
        "--fulfilled", action="store_true", help="order.fulfilled deliveries, not disputes"
    )
    args = parser.parse_args()
    lengths = [int(s) for s in args.steps.split(",") if s]
    if any(n < 2 or n % 2 for n in lengths):
        parser.error("--steps lengths must be even and 2 or more (dispute cycles)")
    cache = "cold cache (a new store object)" if args.cold else "orders cached"
    kind = "order.fulfilled" if args.fulfilled else "order.dispute"
    print(
        f"python {sys.version.split()[0]}; {args.orders} orders a length, one {kind} each, "
        f"best of {args.repeat}; {cache}"
    )
    print("| history | settled | CPU a delivery | ratio to the first |")
    print("|---|---|---|---|")
    first = None
    for steps in lengths:
        runs = [
            settle(steps, args.orders, cold=args.cold, fulfilled=args.fulfilled)
            for _ in range(args.repeat)
        ]
        best = min(seconds for seconds, _ in runs)
        first = first or best
        outcome = ", ".join(f"{k} {v}" for k, v in sorted(runs[0][1].items()))
        print(f"| {steps:,} steps | {outcome} | {best * 1e6:,.1f} µs | {best / first:.2f}x |")


if __name__ == "__main__":
    main()

"""The CPU cost of a delivery, without a store: ``parse_event`` and ``apply_event``, each timed.

Run: ``.venv/bin/python benchmarks/bench_reconcile.py`` (after ``./scripts/test`` made the
environment); ``--count`` deliveries of ``_traffic.deliveries`` (the ingestion benchmark's
traffic: signed, realistic, 10% duplicates, reordered within a bounded window).

- ``json.loads``: the floor, the same bodies through the standard library's parser.
- ``parse``: ``parse_event`` of each body.
- ``reconcile``: ``apply_event`` of each parsed event, in delivery order, onto the order the
  earlier deliveries made (held in a dict, as a store would hold it); conflicts are counted,
  not raised. Parsing is not timed here: the events are parsed once, before.

Each pass runs over every delivery; the best of ``--repeat`` passes is printed, in
microseconds per delivery and as a ratio to ``json.loads`` of the same bodies in the same
run. Machines are noisy: compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence

import _traffic

from order_lifecycle import EventConflict, Order
from order_lifecycle.webhooks import Event, apply_event, parse_event


def loads_all(bodies: Sequence[bytes]) -> None:
    """``json.loads`` of every body: the floor."""
    for body in bodies:
        json.loads(body)


def parse_all(bodies: Sequence[bytes]) -> None:
    """``parse_event`` of every body."""
    for body in bodies:
        parse_event(body)


def reconcile_all(events: Sequence[Event]) -> Counter[str]:
    """``apply_event`` of every event onto the orders the earlier ones made; the outcomes."""
    orders: dict[str, Order] = {}
    outcomes: Counter[str] = Counter()
    for event in events:
        order_id = event.order_id
        order = orders.get(order_id) if order_id is not None else None
        try:
            result = apply_event(order, event)
        except EventConflict:
            outcomes["conflict"] += 1
            continue
        outcomes[str(result.outcome)] += 1
        if result.created and result.order is not None:
            orders[result.order.id] = result.order
    return outcomes


def best(run: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``run``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: Sequence[str] | None = None) -> None:
    """Print parse and reconcile in microseconds per delivery, and as ratios to json.loads."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="deliveries per pass")
    parser.add_argument("--repeat", type=int, default=5, help="passes; the best is printed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    bodies = [d.body for d in _traffic.deliveries(args.count, seed=args.seed)]
    events = [parse_event(body) for body in bodies]
    outcomes = reconcile_all(events)
    floor = best(lambda: loads_all(bodies), args.repeat)
    parse = best(lambda: parse_all(bodies), args.repeat)
    reconcile = best(lambda: reconcile_all(events), args.repeat)
    count = len(bodies)
    print(f"python {platform.python_version()} on {platform.machine()}, {sys.platform}")
    print(f"{count} deliveries, best of {args.repeat}; outcomes {dict(sorted(outcomes.items()))}")
    print(f"{'':<18}{'us/delivery':>12}{'x json.loads':>14}")
    for name, seconds in (
        ("json.loads", floor),
        ("parse_event", parse),
        ("apply_event", reconcile),
        ("parse + apply", parse + reconcile),
    ):
        print(f"{name:<18}{seconds / count * 1e6:>12.1f}{seconds / floor:>14.1f}")


if __name__ == "__main__":
    main()

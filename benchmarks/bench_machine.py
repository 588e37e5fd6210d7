"""How much the guarded, recorded ``fire`` costs, as ratios to baselines measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_machine.py`` (after ``./scripts/test`` or
``./scripts/demo`` made the environment). Machines are noisy, so absolute times are printed
for context only; compare the ratios.

- ``lookup``: the floor. A dict from (state, event) to the destination, then the same two
  assignments ``fire`` commits (state, history step). No guards, no engine, no checks.
- ``fire``: ``ORDER_MACHINE.fire`` through the ``transitions`` engine, guards evaluated.
- ``can_fire``: the read-only question, answered from the spec and the guards.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from datetime import UTC, datetime

from order_lifecycle import (
    ORDER_MACHINE,
    ORDER_SPEC,
    Charge,
    ChargeState,
    Item,
    Order,
    OrderEvent,
    OrderState,
    Step,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# A round trip that keeps the order alive: accepted -> dispute -> accepted, forever.
ROUND_TRIP = (OrderEvent.DISPUTE, OrderEvent.RESOLVE_DISPUTE)


def new_order() -> Order:
    return Order.create(
        "bench",
        OrderState.ACCEPTED,
        at=T0,
        items=[Item("i", 1, physical=True)],
        charges=[Charge("c", ChargeState.CAPTURABLE, "1")],
    )


def lookup_round_trips(n: int) -> None:
    table = {(row.source, row.event): row.dest for row in ORDER_SPEC.transitions}
    # The table has four resolve rows; the baseline takes the right one without a guard.
    table[OrderState.DISPUTE, OrderEvent.RESOLVE_DISPUTE] = OrderState.ACCEPTED
    order = new_order()
    for _ in range(n):
        for event in ROUND_TRIP:
            dest = table[order.state, event]
            step = Step(event, order.state, dest, T0)
            order.state = dest
            order.history.append(step)


def fire_round_trips(n: int) -> None:
    order = new_order()
    for _ in range(n):
        for event in ROUND_TRIP:
            ORDER_MACHINE.fire(order, event, at=T0)


def can_fire_round_trips(n: int) -> None:
    order = new_order()
    for _ in range(n):
        for event in ROUND_TRIP:
            ORDER_MACHINE.can_fire(order, event)


def best_of(run: Callable[[int], None], n: int, repeat: int) -> float:
    """Seconds per event, best of ``repeat`` runs (the least disturbed one)."""
    return min(timeit.repeat(lambda: run(n), number=1, repeat=repeat)) / (n * len(ROUND_TRIP))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="round trips per run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    baseline = best_of(lookup_round_trips, args.events, args.repeat)
    print(f"lookup    {baseline * 1e6:8.2f} us/event   1.0x (baseline)")
    for name, run in (("fire", fire_round_trips), ("can_fire", can_fire_round_trips)):
        seconds = best_of(run, args.events, args.repeat)
        print(f"{name:9} {seconds * 1e6:8.2f} us/event {seconds / baseline:5.1f}x")


if __name__ == "__main__":
    main()

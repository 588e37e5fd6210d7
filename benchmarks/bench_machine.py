"""What the machine's questions cost, as ratios to baselines measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_machine.py`` (after ``./scripts/test`` or
``./scripts/demo`` made the environment). Machines are noisy, so absolute times are printed
for context; compare the ratios.

- ``dict table``: the floor. A plain dict from (state, event) to the rows with their guard
  predicates (the same ones ``ORDER_MACHINE`` binds), the first passing row taken, then the
  same two assignments ``fire`` commits (state, history step). No checks.
- ``fire``: ``ORDER_MACHINE.fire``, compiled table, guards evaluated, the step recorded.
  Target: within 3x of the dict table.
- ``transitions``: the same events through the ``transitions`` engine the table is compiled
  from (guards as its conditions), for comparison.
- ``can_fire`` and ``allowed_events``: the read-only questions.
- ``explain``: with a path search (``fulfil`` asked of a pending order: a path through
  ``accept``, conditions named). Target: under 20 us per call.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from order_lifecycle import Charge, ChargeState, Item, Order, OrderEvent, OrderState
from order_lifecycle.lifecycle import ORDER_SPEC, Step
from order_lifecycle.lifecycle._machine import _Carrier
from order_lifecycle.models import ORDER_MACHINE
from order_lifecycle.models._guards import ORDER_GUARDS

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# A round trip that keeps the order alive: accepted -> dispute -> accepted, forever. The
# resolution has four guarded rows: the guard picks the one back to accepted.
ROUND_TRIP = (OrderEvent.DISPUTE, OrderEvent.RESOLVE_DISPUTE)
EXPLAIN_TARGET_US = 20.0
FIRE_TARGET_RATIO = 3.0


def new_order() -> Order:
    return Order.create(
        "bench",
        OrderState.ACCEPTED,
        at=T0,
        items=[Item("i", 1, physical=True)],
        charges=[Charge("c", ChargeState.CAPTURABLE, "1")],
    )


def dict_table_round_trips(n: int) -> None:
    table: dict[tuple[OrderState, OrderEvent], list[tuple[Any, Any]]] = {}
    for row in ORDER_SPEC.transitions:
        guard = ORDER_GUARDS[row.guard] if row.guard else None
        table.setdefault((row.source, row.event), []).append((row, guard))
    order = new_order()
    for _ in range(n):
        for event in ROUND_TRIP:
            for row, guard in table[order.state, event]:
                if guard is None or guard(order, row):
                    break
            step = Step(event, order.state, row.dest, T0)
            order.state = row.dest
            order.history.append(step)


def fire_round_trips(n: int) -> None:
    order = new_order()
    for _ in range(n):
        for event in ROUND_TRIP:
            ORDER_MACHINE.fire(order, event, at=T0)


def transitions_round_trips(n: int) -> None:
    order = new_order()
    triggers = [ORDER_MACHINE.engine.events[str(event)].trigger for event in ROUND_TRIP]
    for _ in range(n):
        for event, trigger in zip(ROUND_TRIP, triggers, strict=True):
            carrier = _Carrier(order, str(order.state))
            trigger(carrier)
            dest = OrderState(carrier.state)
            step = Step(event, order.state, dest, T0)
            order.state = dest
            order.history.append(step)


def can_fire_round_trips(n: int) -> None:
    order = new_order()
    for _ in range(n):
        for event in ROUND_TRIP:
            ORDER_MACHINE.can_fire(order, event)


def allowed_events_calls(n: int) -> None:
    order = new_order()
    for _ in range(n * len(ROUND_TRIP)):
        ORDER_MACHINE.allowed_events(order)


def explain_calls(n: int) -> None:
    order = Order.create("bench", at=T0, items=[Item("i", 1, physical=True)])
    for _ in range(n * len(ROUND_TRIP)):
        ORDER_MACHINE.explain(order, OrderEvent.FULFIL)


def best_of(run: Callable[[int], None], n: int, repeat: int) -> float:
    """Seconds per call, best of ``repeat`` runs (the least disturbed one)."""
    return min(timeit.repeat(lambda: run(n), number=1, repeat=repeat)) / (n * len(ROUND_TRIP))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="round trips per run")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    baseline = best_of(dict_table_round_trips, args.events, args.repeat)
    print(f"{'dict table':15} {baseline * 1e6:8.2f} us/call   1.0x (baseline)")
    results: dict[str, float] = {}
    for name, run in (
        ("fire", fire_round_trips),
        ("transitions", transitions_round_trips),
        ("can_fire", can_fire_round_trips),
        ("allowed_events", allowed_events_calls),
        ("explain", explain_calls),
    ):
        results[name] = seconds = best_of(run, args.events, args.repeat)
        print(f"{name:15} {seconds * 1e6:8.2f} us/call {seconds / baseline:5.1f}x")
    ratio = results["fire"] / baseline
    explain_us = results["explain"] * 1e6
    print(
        f"fire / dict table = {ratio:.2f}x (target <= {FIRE_TARGET_RATIO}x: "
        f"{'met' if ratio <= FIRE_TARGET_RATIO else 'missed'}); "
        f"explain = {explain_us:.2f} us (target < {EXPLAIN_TARGET_US} us: "
        f"{'met' if explain_us < EXPLAIN_TARGET_US else 'missed'})"
    )


if __name__ == "__main__":
    main()

"""What the machine's questions cost, as ratios to a plain floor measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_machine.py`` (after ``./scripts/test`` or
``./scripts/demo`` made the environment). Machines are noisy, so absolute times are printed
for context, with the load average before and after; compare the ratios.

- ``plain table``: the floor. A plain dict from ``(state, event)`` to the rows with their
  guard predicates (the same functions ``ORDER_MACHINE`` binds, called with the same rows),
  the first passing row taken; the state kept in a plain slot and a plain tuple
  ``(event, source, dest, at)`` appended to a list as the history. Nothing of the library's
  own runs in it but the guards: no ``Step``, no attrs converter, no checks.
- ``fire``: ``ORDER_MACHINE.fire``: the event and time checked, compiled table, guards
  evaluated, the order's state set and a ``Step`` recorded. Target: within 3x the floor.
- ``transitions``: the same events through the ``transitions`` engine the table is compiled
  from (guards as its conditions), for comparison.
- ``can_fire`` and ``allowed_events``: the read-only questions.
- ``explain``: with a path search (``fulfil`` asked of a pending order: a path through
  ``accept``, conditions named). Target: under 20 us per call.

Each figure is per event, the best of ``--repeat`` runs of ``--events`` round trips
(accepted -> dispute -> accepted, two events each). The runs take turns (the floor, then
each measure, ``--repeat`` times over), so that a load that comes and goes weighs on all
alike; short runs, many of them, let the best of each be an undisturbed one; and each is
timed in the process's own CPU time, so that other processes' turns are not counted.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from order_lifecycle import Charge, ChargeState, Item, Order, OrderEvent, OrderState
from order_lifecycle.lifecycle import ORDER_SPEC
from order_lifecycle.models import ORDER_MACHINE
from order_lifecycle.models._guards import ORDER_GUARDS

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# A round trip that keeps the order alive: accepted -> dispute -> accepted, forever. The
# resolution has four guarded rows: the guard picks the one back to accepted.
ROUND_TRIP = (OrderEvent.DISPUTE, OrderEvent.RESOLVE_DISPUTE)
EXPLAIN_TARGET_US = 20.0
FIRE_TARGET_RATIO = 3.0

_History = list[tuple[OrderEvent | None, OrderState | None, OrderState, datetime]]


def new_order() -> Order:
    return Order.create(
        "bench",
        OrderState.ACCEPTED,
        at=T0,
        items=[Item("i", 1, physical=True)],
        charges=[Charge("c", ChargeState.CAPTURABLE, Decimal(1))],
    )


class PlainOrder:
    """The floor's model: plain slots, a history of tuples, read by the guards as an order.

    The one guard that reads the history (a resolved dispute goes back where it began)
    asks for ``state_before_dispute``: here the same search over the plain tuples.
    """

    __slots__ = ("charges", "history", "items", "state")

    def __init__(self, order: Order) -> None:
        self.state = order.state
        self.items = order.items
        self.charges = order.charges
        self.history: _History = [(None, None, order.state, T0)]

    @property
    def state_before_dispute(self) -> OrderState | None:
        """The state the dispute left, read off the plain history."""
        if self.state is not OrderState.DISPUTE:
            return None
        return next(s for _, s, d, _ in reversed(self.history) if d is OrderState.DISPUTE)


def plain_table_round_trips(n: int) -> None:
    table: dict[tuple[OrderState, OrderEvent], list[tuple[Any, Any]]] = {}
    for row in ORDER_SPEC.transitions:
        guard = ORDER_GUARDS[row.guard] if row.guard else None
        table.setdefault((row.source, row.event), []).append((row, guard))
    model = PlainOrder(new_order())
    for _ in range(n):
        for event in ROUND_TRIP:
            for row, guard in table[model.state, event]:
                if guard is None or guard(model, row):
                    model.history.append((event, model.state, row.dest, T0))
                    model.state = row.dest
                    break


def fire_round_trips(n: int) -> None:
    order = new_order()
    for _ in range(n):
        for event in ROUND_TRIP:
            ORDER_MACHINE.fire(order, event, at=T0)


def transitions_round_trips(n: int) -> None:
    """The engine decides; the step is committed as ``fire`` commits it (``record``)."""
    order = new_order()
    triggers = [ORDER_MACHINE.engine.events[str(event)].trigger for event in ROUND_TRIP]
    # What the engine moves: its conditions read the carrier's model, and its "before"
    # callback names the row it took, which ``record`` commits.
    carrier = SimpleNamespace(model=order, state="", row=None)
    for _ in range(n):
        for trigger in triggers:
            carrier.state = str(order.state)
            trigger(carrier)
            ORDER_MACHINE.record(order, carrier.row, at=T0)


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


MEASURES: dict[str, Callable[[int], None]] = {
    "plain table": plain_table_round_trips,
    "fire": fire_round_trips,
    "transitions": transitions_round_trips,
    "can_fire": can_fire_round_trips,
    "allowed_events": allowed_events_calls,
    "explain": explain_calls,
}


def best_of(measures: dict[str, Callable[[int], None]], n: int, repeat: int) -> dict[str, float]:
    """CPU seconds per event of each measure, the best of ``repeat`` runs taken in turns."""
    best = dict.fromkeys(measures, float("inf"))
    for _ in range(repeat):
        for name, run in measures.items():
            seconds = timeit.Timer(functools.partial(run, n), timer=time.process_time).timeit(1)
            best[name] = min(best[name], seconds / (n * len(ROUND_TRIP)))
    return best


def load() -> str:
    """The load average over 1, 5 and 15 minutes."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000, help="round trips per run")
    parser.add_argument("--repeat", type=int, default=60, help="runs of each, taken in turns")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs; load average {load()}")
    results = best_of(MEASURES, args.events, args.repeat)
    baseline = results["plain table"]
    for name, seconds in results.items():
        note = " (the floor)" if name == "plain table" else ""
        print(f"{name:15} {seconds * 1e6:8.2f} us/event {seconds / baseline:5.2f}x{note}")
    ratio = results["fire"] / baseline
    explain_us = results["explain"] * 1e6
    print(
        f"fire / plain table = {ratio:.2f}x (target <= {FIRE_TARGET_RATIO}x: "
        f"{'met' if ratio <= FIRE_TARGET_RATIO else 'missed'}); "
        f"explain = {explain_us:.2f} us (target < {EXPLAIN_TARGET_US} us: "
        f"{'met' if explain_us < EXPLAIN_TARGET_US else 'missed'}); load average {load()}"
    )


if __name__ == "__main__":
    main()

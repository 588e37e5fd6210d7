"""Crash safety: a process killed (SIGKILL) in the middle of a batch leaves no half update.

A worker creates orders and applies events to them, each update one transaction writing
the order row, the event id and two history rows. It is killed at a chosen point inside a
transaction, and at moments in between; afterwards every order must equal the replay of
its stored history, and every event must be there whole or not at all.
"""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from order_lifecycle.store import Store, open_store
from order_lifecycle.testing import assert_order_invariants

from . import workers
from .conftest import REAL_BACKENDS, UrlMaker
from .test_races import SPAWN

WAIT = 60.0


def assert_consistent(store: Store) -> dict[str, frozenset[str]]:
    """Raise unless no update is half there; the event ids applied, by order.

    Every history replays to its order's state; every applied update event has both its
    history steps and every step's event was applied; the captured amount counts exactly
    the updates whose steps are there.
    """
    assert store.check() == []
    applied = {}
    for order_id in store.order_ids():
        order = store.get_order(order_id)
        assert_order_invariants(order)
        events = store.applied_event_ids(order_id)
        updates = {e for e in events if not e.startswith("evt-create")}
        steps = Counter(step.event_id for step in order.history if step.event_id)
        assert set(steps) == updates, f"order {order_id}: steps {steps}, events {updates}"
        assert set(steps.values()) <= {2}
        assert order.charges[0].captured == Decimal("0.01") * len(updates)
        applied[order_id] = events
    return applied


def start(
    url: str, first: int, stall_at: int | None = None, *, batched: bool = False
) -> tuple[Any, Any]:
    results: Any = SPAWN.Queue()
    process = SPAWN.Process(
        target=workers.work_in_batches, args=(results, url, first, stall_at, batched)
    )
    process.start()
    return process, results


def read_until(results: Any, done: Any) -> list[Any]:
    """What the worker reported, up to the first report for which ``done`` holds."""
    reported: list[Any] = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            reported.append(results.get(timeout=0.1))
        except queue.Empty:
            continue
        if done(reported[-1]):
            return reported
    raise AssertionError(f"the worker did not get there: {reported[-5:]}")


def kill(process: Any) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.join(WAIT)
    assert process.exitcode == -signal.SIGKILL


def committed_events(reported: list[Any]) -> set[str]:
    return {f"evt-{n}" for n in reported if isinstance(n, int) and n >= 5}


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_killed_inside_a_transaction(new_url: UrlMaker) -> None:
    """Killed after writing the order row and the event id, before the history: no trace."""
    url = new_url()
    process, results = start(url, first=0, stall_at=12)
    reported = read_until(results, lambda report: report == "inside")
    kill(process)
    assert reported[:-1] == list(range(12))
    with open_store(url) as store:
        applied = assert_consistent(store)
        assert set().union(*applied.values()) == committed_events(reported) | {
            f"evt-create-{n}" for n in range(5)
        }
        # The order the killed transaction held is free for the next writer.
        store.update_order("o-2", workers.capture_a_cent("evt-after"), event_id="evt-after")
        assert_consistent(store)


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_killed_inside_a_batch_transaction(new_url: UrlMaker) -> None:
    """Killed in a batch's third change, two written in its transaction: none of it is there."""
    url = new_url()
    process, results = start(url, first=0, stall_at=12, batched=True)
    reported = read_until(results, lambda report: report == "inside")
    kill(process)
    assert reported[:-1] == list(range(10))  # the batch of operations 10 to 14 never committed
    with open_store(url) as store:
        applied = assert_consistent(store)
        assert set().union(*applied.values()) == {f"evt-{n}" for n in range(5, 10)} | {
            f"evt-create-{n}" for n in range(5)
        }
        workers.commit_five(store, list(range(10, 15)))  # the rows it held are free
        assert_consistent(store)


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "batched"])
@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_killed_at_moments_in_a_busy_batch(new_url: UrlMaker, batched: bool) -> None:
    """Killed three times while it commits update after update: each commit whole or absent."""
    url = new_url()
    seen: set[str] = set()
    for run, pause in enumerate([0.0, 0.004, 0.011]):
        process, results = start(url, first=1000 * run, batched=batched)
        reported = read_until(results, lambda report, run=run: report >= 1000 * run + 20)
        time.sleep(pause)
        kill(process)
        with open_store(url) as store:
            applied = set().union(*assert_consistent(store).values())
        assert committed_events(reported) | seen <= applied  # what was reported committed is
        seen = applied


def test_the_check_catches_a_half_applied_update(tmp_path: Path) -> None:
    """An event id committed without its history steps is caught: the check is not vacuous."""
    path = tmp_path / "store.db"
    with open_store(path) as store:
        store.create_order(workers.fulfilled_order())
        store.update_order("o-1", workers.capture_a_cent("evt-1"), event_id="evt-1")
        assert_consistent(store)
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM ol_order_steps WHERE event_id = 'evt-1'")
        connection.execute("UPDATE ol_orders SET state = 'fulfilled'")
    connection.close()
    with open_store(path) as store, pytest.raises(AssertionError, match=r"steps Counter\(\)"):
        assert_consistent(store)

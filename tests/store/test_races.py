"""Races between real processes, each with its own connection, on SQLite files and PostgreSQL.

Every test starts its processes on a store no process has opened yet, so they also race to
create its tables.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from order_lifecycle import CheckoutState
from order_lifecycle.store import open_store
from order_lifecycle.testing import assert_order_invariants, assert_submission_invariants

from . import workers
from .conftest import REAL_BACKENDS, UrlMaker

PROCESSES = 8
SPAWN = multiprocessing.get_context("spawn")  # fresh interpreters: no state shared by fork
RESULT_TIMEOUT = 120.0


def run_processes(target: Callable[..., None], argument_lists: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(queue, *arguments)`` in one process per argument list; all they reported."""
    results: Any = SPAWN.Queue()
    processes = [SPAWN.Process(target=target, args=(results, *args)) for args in argument_lists]
    for process in processes:
        process.start()
    reported: list[Any] = []
    deadline = time.monotonic() + RESULT_TIMEOUT
    try:
        while time.monotonic() < deadline:
            # Checked before reading: all a finished process reported is in the pipe by now.
            finished = not any(p.is_alive() for p in processes)
            try:
                reported.append(results.get(timeout=0.1))
            except queue.Empty:
                if finished:
                    break
    finally:
        for process in processes:
            process.join(RESULT_TIMEOUT)
            if process.is_alive():  # pragma: no cover (only when a test is failing)
                process.kill()
    errors = [r[1] for r in reported if isinstance(r, tuple) and r[0] == "error"]
    assert errors == [], "\n".join(errors)
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return reported


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_processes_opening_a_new_store_create_it_once(new_url: UrlMaker) -> None:
    """8 processes opening a store no one has opened yet all get it, tables made once."""
    urls = [new_url() for _ in range(10)]
    barrier = SPAWN.Barrier(PROCESSES)
    reported = run_processes(workers.open_together, [(urls, barrier)] * PROCESSES)
    assert sorted(reported) == sorted((url, []) for url in urls for _ in range(PROCESSES))


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_processes_submitting_one_checkout_make_one_order(new_url: UrlMaker) -> None:
    """8 processes submit each checkout at once: one wins and makes the only order."""
    url, rounds = new_url(), 5
    barrier = SPAWN.Barrier(PROCESSES)
    reported = run_processes(workers.submit_checkouts, [(url, rounds, barrier)] * PROCESSES)
    with open_store(url) as store:
        orders = [store.get_order(order_id) for order_id in store.order_ids()]
        for n in range(rounds):
            outcomes = [outcome for round_, outcome in reported if round_ == n]
            winners = [o for o in outcomes if o.startswith("o-")]
            assert len(outcomes) == PROCESSES
            assert len(winners) == 1, outcomes
            refusals = Counter(o for o in outcomes if o not in winners)
            assert set(refusals) <= {"SubmissionInProgress", "CheckoutAlreadyConsumed"}
            checkout = store.get_checkout(f"chk-{n}")
            assert (checkout.state, checkout.order_id) == (CheckoutState.CONSUMED, winners[0])
            assert_submission_invariants(checkout)
            assert [o.id for o in orders if o.checkout_id == f"chk-{n}"] == winners


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_processes_applying_one_event_apply_it_once(new_url: UrlMaker) -> None:
    """8 processes apply each webhook event at once: exactly one applies it."""
    url, rounds = new_url(), 5
    with open_store(url) as store:
        store.create_order(workers.fulfilled_order())
    barrier = SPAWN.Barrier(PROCESSES)
    reported = run_processes(workers.apply_one_event, [(url, rounds, barrier)] * PROCESSES)
    for n in range(rounds):
        outcomes = Counter(outcome for round_, outcome in reported if round_ == n)
        assert outcomes == {"applied": 1, "duplicate": PROCESSES - 1}
    with open_store(url) as store:
        order = store.get_order("o-1")
        assert store.applied_event_ids("o-1") == {f"evt-{n}" for n in range(rounds)}
    steps_per_event = Counter(step.event_id for step in order.history if step.event_id)
    assert steps_per_event == {f"evt-{n}": 2 for n in range(rounds)}
    assert_order_invariants(order)


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_concurrent_updates_of_one_order_lose_nothing(new_url: UrlMaker) -> None:
    """8 processes each capture 0.01 fifteen times on one charge: every cent and step lands."""
    url, updates = new_url(), 15
    with open_store(url) as store:
        store.create_order(workers.fulfilled_order())
        before = len(store.get_order("o-1").history)
    barrier = SPAWN.Barrier(PROCESSES)
    arguments = [(url, worker, updates, barrier) for worker in range(PROCESSES)]
    reported = run_processes(workers.capture_cents, arguments)
    assert sorted(reported) == [(worker, "done") for worker in range(PROCESSES)]
    with open_store(url) as store:
        order = store.get_order("o-1")
        applied = store.applied_event_ids("o-1")
    assert order.charges[0].captured == Decimal("0.01") * PROCESSES * updates
    assert len(order.history) == before + 2 * PROCESSES * updates
    assert applied == {f"evt-{w}-{n}" for w in range(PROCESSES) for n in range(updates)}
    assert_order_invariants(order)

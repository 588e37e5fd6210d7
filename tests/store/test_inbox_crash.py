"""Reconcilers under SIGKILL and under load: nothing lost, nothing applied twice, no deadlock."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from order_lifecycle import Delivery, Inbox, Order, Reconciler
from order_lifecycle.store import MemoryStore, open_store

from .conftest import REAL_BACKENDS, UrlMaker
from .inbox_workers import NOW, drain, outcome, traffic

ROOT = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen[bytes]:
    """``tests.store.inbox_workers`` in a new process, from the project's root."""
    return subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "tests.store.inbox_workers", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


def expected(
    bodies: list[bytes],
) -> tuple[dict[str, Order], dict[str, list[str]], list[Any], list[Any]]:
    """What one inbox and one reconciler, never killed, make of ``bodies``."""
    memory = MemoryStore()
    Inbox(memory, verified_upstream=True).accept([Delivery(body) for body in bodies])
    drain(Reconciler(memory, clock=lambda: NOW, batch=3))
    return outcome(memory)


def stored(url: str, bodies: list[bytes]) -> None:
    with open_store(url) as store:
        Inbox(store, verified_upstream=True).accept([Delivery(body) for body in bodies])


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
@pytest.mark.parametrize(("point", "nth"), [("claimed", 2), ("writing", 3), ("settled", 2)])
def test_a_reconciler_killed_at_any_point_loses_nothing(
    new_url: UrlMaker, point: str, nth: int
) -> None:
    """SIGKILL after a claim, inside the write, or after it: the next run ends as if none.

    As if none: the same orders (histories too), event ids, actions and statuses as a
    reconciler never killed makes; so nothing was lost, and nothing applied twice.
    """
    url = new_url()
    bodies = traffic(2)
    stored(url, bodies)
    dying = spawn("reconcile", url, point, str(nth))
    assert dying.wait(120) == -signal.SIGKILL
    with open_store(url) as store:
        assert store.delivery_counts().get("pending"), "it died with work left"  # type: ignore[call-overload]
    assert spawn("reconcile", url).wait(120) == 0
    with open_store(url) as store:  # histories, event ids, actions, statuses: as if none died
        assert outcome(store) == expected(bodies)


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_reconcilers_killed_at_random_moments_lose_nothing(new_url: UrlMaker) -> None:
    """Killed again and again wherever they were: once one finishes, all is as if none died."""
    url = new_url()
    bodies = traffic(3)
    stored(url, bodies)
    pick = random.Random(0)  # noqa: S311 (when to kill, not a secret)
    for _ in range(5):
        running = spawn("reconcile", url)
        time.sleep(pick.uniform(0.05, 0.6))
        running.send_signal(signal.SIGKILL)
        running.wait(60)
    assert spawn("reconcile", url).wait(120) == 0
    with open_store(url) as store:  # histories, event ids, actions, statuses: as if none died
        assert outcome(store) == expected(bodies)


@pytest.mark.parametrize("new_url", ["postgres"], indirect=True)
def test_servers_accepting_and_reconciling_at_once_never_fail(
    new_url: UrlMaker, tmp_path: Path
) -> None:
    """3 app servers and 2 reconcilers on one PostgreSQL: all 2xx, no failed batch, no deadlock."""
    url = new_url()
    open_store(url).close()
    with psycopg.connect(url) as pg:
        (deadlocks,) = pg.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone() or (0,)
    answers, failures, stop = tmp_path / "answers", tmp_path / "failures", tmp_path / "stop"
    reconcilers = [spawn("reconcile_until", url, str(stop), str(failures)) for _ in range(2)]
    servers = [spawn("accept", url, str(n), "3", str(answers)) for n in range(3)]
    assert [server.wait(300) for server in servers] == [0, 0, 0]
    stop.touch()
    assert [reconciler.wait(300) for reconciler in reconcilers] == [0, 0]
    statuses = Counter(answers.read_text().split())
    bodies = traffic(4)
    assert sum(statuses.values()) == len(bodies)
    assert set(statuses) <= {"200", "202"}, statuses
    lines = failures.read_text().splitlines()
    assert [line for line in lines if line.startswith("failed")] == []
    with psycopg.connect(url) as pg:
        (after,) = pg.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone() or (0,)
    assert after == deadlocks
    with open_store(url) as store:
        orders, events, _, deliveries = outcome(store)
    reference, reference_events, _, reference_deliveries = expected(bodies)
    # Reconciled while they arrived, histories may imply steps the provider announced (as
    # deliveries out of order do); where each order ends, and which events it took, may not.
    assert {k: alike(order) for k, order in orders.items()} == {
        k: alike(order) for k, order in reference.items()
    }
    assert events == reference_events
    assert {d[0] for d in deliveries} == {d[0] for d in reference_deliveries}
    assert {d[1] for d in deliveries} <= {"applied", "stale", "duplicate", "unknown", "waiting"}


def alike(order: Order) -> tuple[object, ...]:
    """Where an order stands: state, fraud state, items and charges (not how it got there)."""
    return order.state, order.fraud_state, order.items, order.charges

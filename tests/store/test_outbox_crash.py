"""The outbox under crashes and concurrency: no action lost, none run twice at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from order_lifecycle import OrderState
from order_lifecycle.actions import (
    ActionState,
    ActionWorker,
    StoredAction,
    Transitioned,
    action_key,
)
from order_lifecycle.store import open_store

from .conftest import REAL_BACKENDS, UrlMaker
from .outbox_workers import LEASE, LISTENING, stock

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 12


def spawn(*args: str) -> subprocess.Popen[bytes]:
    """``tests.store.outbox_workers`` in a new process, from the project's root."""
    return subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "tests.store.outbox_workers", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


def killed_in_its_handler(how: str, url: str, marker: Path) -> datetime:
    """Run a worker (``how``) until its handler says which action it holds; SIGKILL it then."""
    worker = spawn(how, url, str(marker))
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert worker.poll() is None, "the worker ended before claiming"
            assert time.monotonic() < deadline, "the worker never claimed"
            time.sleep(0.02)
        killed_at = datetime.now(UTC)
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
    return killed_at


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_a_worker_killed_mid_action_loses_nothing(new_url: UrlMaker, tmp_path: Path) -> None:
    """SIGKILL inside the handler: the action stays claimed, then is claimable after its lease."""
    url = new_url()
    with open_store(url) as store:
        stock(store, 1)
    marker = tmp_path / "claimed"
    killed_at = killed_in_its_handler("hang", url, marker)
    ship = action_key("o0", "ship", "box")
    assert marker.read_text() == ship
    with open_store(url) as store:
        (held,) = store.list_actions(kinds=["ship"])
        assert (held.state, held.tries) == (ActionState.CLAIMED, 1)
        assert held.lease_until is not None
        assert held.lease_until <= killed_at + LEASE
        # Its lease still runs (unless the machine is so slow that it ran out already).
        assert store.claim_actions(["ship"]) == [] or datetime.now(UTC) >= held.lease_until
        time.sleep(max(0.0, (held.lease_until - datetime.now(UTC)).total_seconds()) + 0.1)
        (again,) = store.claim_actions(["ship"])
        assert (again.key, again.tries) == (ship, 2)
        assert store.complete_action(ship, "shipped").state is ActionState.DONE


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_a_listener_is_heard_again_after_its_worker_is_killed(
    new_url: UrlMaker, tmp_path: Path
) -> None:
    """A listener's handler SIGKILLed: its action is claimed again once the lease lapses."""
    url = new_url()
    with open_store(url) as store:
        store.action_policy = LISTENING
        stock(store, 1)
    marker = tmp_path / "heard"
    killed_in_its_handler("hang_listener", url, marker)
    heard = action_key("o0", "welcome", "step#1")
    assert marker.read_text() == heard
    with open_store(url) as store:
        store.action_policy = LISTENING
        (held,) = store.list_actions(kinds=["welcome"])
        assert (held.key, held.state, held.tries) == (heard, ActionState.CLAIMED, 1)
        assert held.lease_until is not None
        time.sleep(max(0.0, (held.lease_until - datetime.now(UTC)).total_seconds()) + 0.1)
        runs: list[object] = []
        worker = ActionWorker(store, {"welcome": lambda action: runs.append(action.request)})
        assert worker.run_once() == 1
        (request,) = runs
        assert isinstance(request, Transitioned)
        assert (request.step, request.dest) == (1, OrderState.ACCEPTED)
        (done,) = store.list_actions(kinds=["welcome"])
        assert (done.state, done.tries) == (ActionState.DONE, 2)


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_threads_never_run_one_action_at_once(new_url: UrlMaker) -> None:
    """Four threads, each with its own store: every action runs once, never two at once."""
    url = new_url()
    with open_store(url) as store:
        stock(store, ORDERS)
    running: set[str] = set()
    overlaps: list[str] = []
    runs: Counter[str] = Counter()
    lock = threading.Lock()

    def run(action: StoredAction) -> None:
        with lock:
            if action.key in running:
                overlaps.append(action.key)
            running.add(action.key)
            runs[action.key] += 1
        time.sleep(0.002)
        with lock:
            running.discard(action.key)

    def drain() -> None:
        with open_store(url) as mine:
            worker = ActionWorker(
                mine, {"ship": run, "deliver_digitally": run}, batch=2, lease=timedelta(minutes=5)
            )
            while worker.run_once():
                pass

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert overlaps == []
    assert len(runs) == 2 * ORDERS
    assert set(runs.values()) == {1}
    with open_store(url) as store:
        assert {a.state for a in store.list_actions()} == {ActionState.DONE}


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_processes_never_run_one_action_at_once(new_url: UrlMaker, tmp_path: Path) -> None:
    """Two worker processes on one database: each action runs in exactly one of them, once."""
    url = new_url()
    with open_store(url) as store:
        stock(store, ORDERS)
    log = tmp_path / "runs.log"
    workers = [spawn("drain", url, str(log)) for _ in range(2)]
    for worker in workers:
        assert worker.wait(120) == 0
    lines = [line.split("\t") for line in log.read_text().splitlines()]
    keys = Counter(key for key, *_ in lines)
    assert len(keys) == 2 * ORDERS
    assert set(keys.values()) == {1}
    with open_store(url) as store:
        assert {a.state for a in store.list_actions()} == {ActionState.DONE}

"""Several workers on one outbox, their clocks an hour apart: no action runs twice, nor at once.

A stateful test: workers (each a thread with its own store connection, as separate
processes would have) claim and run batches while orders arrive, their handlers taking
random times. Each worker's clock is skewed: its ``clock`` parameter, and, per thread,
the process clock the library reads (``order_lifecycle.store._require.now`` wherever it
was imported), as if each ran on a machine whose clock is an hour off. Leases are long
(a minute), so a claim never lapses in the test: an action run twice can only be one
judged by a worker's clock rather than the store's.
"""

from __future__ import annotations

import functools
import itertools
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from order_lifecycle import Item, Order, OrderEvent
from order_lifecycle.actions import ActionState, ActionWorker, StoredAction
from order_lifecycle.models import fire
from order_lifecycle.store import MemoryStore, Store, _require, open_store

from .conftest import BACKENDS, new_postgres_schema

LEASE = timedelta(minutes=1)
SKEWS = st.sampled_from([timedelta(0), timedelta(hours=1), -timedelta(hours=1)])
_thread = threading.local()
_real_now = _require.now


def _skewed_now() -> datetime:
    """The process clock as the calling thread's worker sees it."""
    return _real_now() + getattr(_thread, "skew", timedelta(0))


@contextmanager
def skewed_process_clocks() -> Iterator[None]:
    """Every ``now`` the library imported from ``_require``, skewed per thread, meanwhile."""
    patched = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("order_lifecycle") and getattr(module, "now", None) is _real_now
    ]
    for module in patched:
        module.now = _skewed_now  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in patched:
            module.now = _real_now  # type: ignore[attr-defined]


class Runs:
    """What the handlers did, across threads: each action's runs, and any two at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[str] = set()
        self.runs: Counter[str] = Counter()
        self.overlaps: list[str] = []

    def handler(self, delays: list[float]) -> Callable[[StoredAction], str]:
        """A handler taking the given times in turn."""
        turn = iter(delays * 1000)

        def run(action: StoredAction) -> str:
            with self.lock:
                if action.key in self.running:
                    self.overlaps.append(action.key)
                self.running.add(action.key)
                self.runs[action.key] += 1
            time.sleep(next(turn))
            with self.lock:
                self.running.discard(action.key)
            return "shipped"

        return run


class Backend:
    """Where an example's outbox lives: a new database each example, a connection per worker.

    ``place`` makes a new database's URL; without one, the store is a memory store, which
    its workers share (it lives in one process).
    """

    def __init__(self, place: Callable[[], str | Path] | None = None) -> None:
        self.place = place
        self.url: str | Path | None = None
        self.memory: MemoryStore | None = None

    def begin(self) -> Store:
        """A new, empty store for an example."""
        if self.place is None:
            self.memory = MemoryStore()
            return self.memory
        self.url = self.place()
        return open_store(self.url)

    def connect(self) -> Store:
        """A worker's own store: a connection of its own to the example's database."""
        if self.memory is not None:
            return self.memory
        assert self.url is not None
        return open_store(self.url)


def _clock(skew: timedelta) -> datetime:
    return datetime.now(UTC) + skew


class SkewedWorkers(RuleBasedStateMachine):
    """Workers with skewed clocks drain one outbox while orders arrive."""

    backend: ClassVar[Backend]

    def __init__(self) -> None:
        super().__init__()
        self.store = self.backend.begin()
        self.runs = Runs()
        self.workers: list[tuple[ActionWorker, timedelta]] = []
        self.threads: dict[int, threading.Thread] = {}
        self.stores: list[Store] = [self.store]
        self.orders = 0
        self.clocks = skewed_process_clocks()
        self.clocks.__enter__()

    @initialize(
        skews=st.lists(SKEWS, min_size=2, max_size=3),
        delays=st.lists(st.sampled_from([0.0, 0.001, 0.005, 0.02]), min_size=1, max_size=4),
        batch=st.integers(1, 3),
    )
    def start_workers(self, skews: list[timedelta], delays: list[float], batch: int) -> None:
        """Two or three workers, each with its clock's skew and its handler's delays."""
        for n, skew in enumerate(skews):
            store = self.backend.connect()
            if store is not self.store:
                self.stores.append(store)
            handler = self.runs.handler(delays[n % len(delays) :] + delays[: n % len(delays)])
            worker = ActionWorker(
                store,
                {"ship": handler},
                batch=batch,
                lease=LEASE,
                clock=functools.partial(_clock, skew),
            )
            self.workers.append((worker, skew))

    @rule(items=st.integers(1, 3))
    def an_order_is_accepted(self, items: int) -> None:
        """A new accepted order: one ship action per item."""
        self.orders += 1
        order = Order.create(
            f"o{self.orders}", items=[Item(f"i{n}", 1, physical=True) for n in range(items)]
        )
        fire(order, OrderEvent.ACCEPT)
        self.store.create_order(order)

    @rule(data=st.data())
    def a_worker_runs_a_batch(self, data: st.DataObject) -> None:
        """A worker starts claiming and running a batch in its thread (unless it is busy)."""
        n = data.draw(st.integers(0, len(self.workers) - 1))  # never depends on the threads
        if self._busy(n):
            return
        worker, skew = self.workers[n]

        def run() -> None:
            _thread.skew = skew
            worker.run_once()

        self.threads[n] = threading.Thread(target=run)
        self.threads[n].start()

    def _busy(self, n: int) -> bool:
        thread = self.threads.get(n)
        return thread is not None and thread.is_alive()

    @rule()
    def the_batches_end(self) -> None:
        """Every running batch finishes."""
        for thread in self.threads.values():
            thread.join(60)

    @invariant()
    def never_twice(self) -> None:
        """No action ran twice at once, nor twice at all (no claim lapses in this test)."""
        with self.runs.lock:
            assert self.runs.overlaps == []
            assert [key for key, n in self.runs.runs.items() if n > 1] == []

    def teardown(self) -> None:
        """Drain what is left, then: every action ran exactly once and is done."""
        try:
            self.the_batches_end()
            for worker, skew in self.workers:
                _thread.skew = skew
                while worker.run_once():
                    pass
            _thread.skew = timedelta(0)
            self.never_twice()
            actions = self.store.list_actions()
            assert {a.state for a in actions} <= {ActionState.DONE}
            assert set(self.runs.runs) == {a.key for a in actions}
        finally:
            self.clocks.__exit__(None, None, None)
            for store in self.stores:
                store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_skewed_workers_never_run_an_action_twice(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """On every store, workers an hour apart share the outbox: each action runs once."""
    if backend == "memory":
        where = Backend()
    elif backend == "sqlite":
        files = itertools.count()
        where = Backend(lambda: tmp_path / f"workers-{next(files)}.db")
    else:
        dsn: str = request.getfixturevalue("postgres_dsn")
        where = Backend(lambda: new_postgres_schema(dsn))
    machine: Any = type("Workers", (SkewedWorkers,), {"backend": where})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=60,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

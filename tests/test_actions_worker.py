"""The worker: runs due actions through the shop's handlers, retries failures, stops gracefully."""

from __future__ import annotations

import os
import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Item, Order, OrderEvent
from order_lifecycle.actions import (
    ActionState,
    ActionWorker,
    StoredAction,
    WorkerCounts,
    action_key,
    load_handlers,
)
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.models import fire
from order_lifecycle.store import MemoryStore
from order_lifecycle.store._outbox import backoff

SHIP = action_key("o1", "ship", "box")
HANDLERS: dict[str, Any] = {"ship": lambda action: {"shipped": action.subject}}


def stocked() -> MemoryStore:
    """A store holding one accepted order: one item to ship, one to deliver."""
    store = MemoryStore()
    order = Order.create(
        "o1", items=[Item("box", 1, physical=True), Item("key", 1, physical=False)]
    )
    fire(order, OrderEvent.ACCEPT)
    store.create_order(order)
    return store


def state_of(store: MemoryStore, key: str) -> StoredAction:
    """The action with this key."""
    return next(a for a in store.list_actions() if a.key == key)


def test_run_once_runs_the_handled_kinds_and_completes_them() -> None:
    """Each due action of a handled kind goes to its handler once, then is done."""
    store = stocked()
    seen: list[str] = []

    def ship(action: StoredAction) -> str:
        seen.append(action.key)
        return "ok"

    worker = ActionWorker(store, {"ship": ship})
    assert worker.run_once() == 1
    assert seen == [SHIP]
    done = state_of(store, SHIP)
    assert (done.state, done.result) == (ActionState.DONE, '"ok"')
    assert state_of(store, action_key("o1", "deliver_digitally", "key")).state is (
        ActionState.PENDING
    )  # no handler: left for another worker
    assert worker.run_once() == 0
    assert worker.counts == WorkerCounts(claimed=1, done=1)
    assert "ship" in repr(worker)


def test_a_raising_handler_is_retried_with_backoff_and_its_error_kept() -> None:
    """A handler that raises fails the action: error kept, due later, dead after max_tries."""
    store = stocked()
    store.max_tries = 2

    def broken(action: StoredAction) -> None:
        raise ConnectionError(f"warehouse down for {action.subject}")

    worker = ActionWorker(store, {"ship": broken})
    worker.run_once()
    failed = state_of(store, SHIP)
    assert failed.state is ActionState.FAILED
    assert failed.last_error == "ConnectionError: warehouse down for box"
    assert worker.run_once() == 0  # backing off
    store.retry_action(SHIP)  # an operator says: now
    store.max_tries = 1
    worker.run_once()
    assert state_of(store, SHIP).state is ActionState.DEAD
    assert worker.counts == WorkerCounts(claimed=2, failed=1, dead=1)


def test_the_workers_clock_sets_when_a_failure_is_due_again() -> None:
    """A failure is due at the worker's clock plus the backoff: a past clock retries at once."""
    store = stocked()
    calls: list[str] = []

    def flaky(action: StoredAction) -> str:
        calls.append(action.key)
        if len(calls) == 1:
            raise TimeoutError("the warehouse did not answer")
        return "shipped"

    day = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    worker = ActionWorker(store, {"ship": flaky}, clock=lambda: day)
    worker.run_once()
    failed = state_of(store, SHIP)
    assert (failed.state, failed.retry_at) == (ActionState.FAILED, day + backoff(1))
    assert worker.run_once() == 1  # due at once: the day's clock is long past
    assert state_of(store, SHIP).state is ActionState.DONE
    assert calls == [SHIP, SHIP]
    with pytest.raises(InvalidInput, match="clock"):
        ActionWorker(store, {"ship": flaky}, clock=day)


def test_a_result_that_is_not_json_fails_the_action() -> None:
    """A handler's result that cannot be kept is a failure, with the reason, not a crash."""
    store = stocked()
    ActionWorker(store, {"ship": lambda a: {a.key}}).run_once()
    failed = state_of(store, SHIP)
    assert failed.state is ActionState.FAILED
    assert "cannot be kept" in (failed.last_error or "")


@pytest.mark.parametrize(
    ("handlers", "message"),
    [
        ({"shipp": print}, "Unknown action kind 'shipp'"),
        ({}, "at least one"),
        ({"ship": "print"}, "callable"),
        ({1: print}, "Unknown action kind 1"),
        ("ship", "mapping"),
    ],
)
def test_bad_handlers_are_refused_at_construction(handlers: Any, message: str) -> None:
    """An unknown kind, no handler or a handler that cannot be called: a clear InvalidInput."""
    with pytest.raises(InvalidInput, match=message):
        ActionWorker(MemoryStore(), handlers)


@given(
    st.sampled_from(["store", "batch", "lease", "idle"]),
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(st.sampled_from(["\x00", "\ud800", "a"]), max_size=3)
    | st.just(timedelta(0)),
)
def test_hostile_settings_raise_typed_errors(name: str, value: Any) -> None:
    """A store without an outbox, a batch, lease or idle time out of range: InvalidInput."""
    settings: dict[str, Any] = {"store": MemoryStore(), "handlers": HANDLERS, name: value}
    valid = (
        name in {"batch", "idle"}
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and 0 < value <= (10_000 if name == "batch" else 3600)
        and (name == "idle" or isinstance(value, int))
    )
    if valid:
        assert ActionWorker(**settings).counts == WorkerCounts()
    else:
        with pytest.raises(InvalidInput):
            ActionWorker(**settings)


def test_run_forever_stops_when_asked() -> None:
    """stop() from another thread ends run_forever at once, with the counts."""
    store = stocked()
    worker = ActionWorker(store, HANDLERS, idle=30)
    timer = threading.Timer(0.2, worker.stop)
    timer.start()
    counts = worker.run_forever()
    assert counts.done == 1
    timer.join()


def test_sigterm_finishes_the_running_action_then_stops() -> None:
    """SIGTERM while a handler runs: it finishes, is completed, and the worker returns."""
    store = stocked()
    previous = signal.getsignal(signal.SIGTERM)

    def ship_then_terminated(action: StoredAction) -> str:  # noqa: ARG001 (a handler's shape)
        os.kill(os.getpid(), signal.SIGTERM)  # as a supervisor would, mid-action
        return "shipped"

    worker = ActionWorker(store, {"ship": ship_then_terminated}, idle=30)
    worker.run_forever()
    assert state_of(store, SHIP).state is ActionState.DONE
    assert signal.getsignal(signal.SIGTERM) is previous


def test_handlers_load_from_a_module_attribute() -> None:
    """load_handlers imports module:attribute and checks it as the worker does."""
    assert set(load_handlers("tests.test_actions_worker:HANDLERS")) == {"ship"}
    for bad in ("tests.test_actions_worker", "no_such_module:X", "tests.test_actions_worker:NOPE"):
        with pytest.raises(InvalidInput):
            load_handlers(bad)


@given(
    st.dictionaries(
        st.text(st.sampled_from(["\x00", "\ud800", "s", "h", "i", "p"]), max_size=5)
        | st.integers()
        | st.none(),
        st.sampled_from([print, None, "print", 3]),
        max_size=3,
    )
)
def test_hostile_handlers_raise_typed_errors(handlers: dict[Any, Any]) -> None:
    """Handler maps with odd kinds or non-callables: InvalidInput, unless truly valid."""
    valid = bool(handlers) and all(k == "ship" and callable(v) for k, v in handlers.items())
    if valid:
        assert set(ActionWorker(MemoryStore(), handlers).handlers) == {"ship"}
    else:
        with pytest.raises(InvalidInput):
            ActionWorker(MemoryStore(), handlers)


@given(st.text(st.sampled_from(["\x00", "\ud800", ":", ".", "q", "z"]), max_size=8))
def test_hostile_handler_references_raise_typed_errors(reference: str) -> None:
    """A module:attribute reference that names nothing importable: InvalidInput."""
    with pytest.raises(InvalidInput):
        load_handlers(reference)

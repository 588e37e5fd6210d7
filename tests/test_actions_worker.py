"""The worker: runs due actions through the shop's handlers, retries failures, stops gracefully."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Item, Order, OrderEvent
from order_lifecycle.actions import (
    ActionPolicy,
    ActionState,
    ActionWorker,
    StoredAction,
    WorkerCounts,
    action_key,
    load_handlers,
    on,
)
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.models import fire
from order_lifecycle.orders import cancel_items
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
        ActionWorker(store, {"ship": flaky}, clock=day)  # type: ignore[arg-type]


class _BadItems(dict[str, str]):
    """A mapping whose items() raises, as a broken client library's value might."""

    def items(self) -> Any:
        raise RuntimeError("items() is broken")


class _Unprintable(Exception):
    """An error whose str() raises."""

    def __str__(self) -> str:
        raise ValueError("str() is broken")


NOT_JSON = [
    datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    Decimal("9.99"),
    {"ship"},
    float("nan"),
    _BadItems(a="b"),
    _Unprintable(),
    "x" * 20_000,
    {1: "a", "b": 2},
]


@pytest.mark.parametrize("result", NOT_JSON, ids=lambda r: type(r).__name__)
def test_a_success_is_done_whatever_the_handler_returns(result: object) -> None:
    """A result that is no (or too long) JSON is kept as its bounded, typed text: done."""
    store = stocked()
    worker = ActionWorker(store, {"ship": lambda _: result})
    assert worker.run_once() == 1
    done = state_of(store, SHIP)
    assert done.state is ActionState.DONE
    kept = json.loads(done.result or "")
    assert kept["$type"].endswith(type(result).__qualname__)
    assert 0 < len(kept["$text"]) <= 1_000
    assert worker.counts == WorkerCounts(claimed=1, done=1)


def test_a_json_result_is_kept_as_it_is() -> None:
    """A plain JSON result is kept, as JSON."""
    store = stocked()
    ActionWorker(store, {"ship": lambda a: {"parcel": [a.subject, 1]}}).run_once()
    assert json.loads(state_of(store, SHIP).result or "") == {"parcel": ["box", 1]}


@pytest.mark.parametrize(
    "error",
    [_Unprintable(), SystemExit(3), KeyboardInterrupt(), RecursionError("deep")],
    ids=lambda e: type(e).__name__,
)
def test_whatever_a_handler_raises_fails_its_action_and_the_worker_goes_on(
    error: BaseException,
) -> None:
    """An error whose str() raises, even SystemExit: the action failed, its claim ended."""
    store = stocked()
    calls: list[str] = []

    def broken(action: StoredAction) -> None:
        calls.append(action.key)
        raise error

    worker = ActionWorker(store, {"ship": broken, "deliver_digitally": lambda _: "sent"}, batch=2)
    assert worker.run_once() == 2
    failed = state_of(store, SHIP)
    assert (failed.state, failed.lease_until) == (ActionState.FAILED, None)
    assert type(error).__name__ in (failed.last_error or "")
    assert state_of(store, action_key("o1", "deliver_digitally", "key")).state is (ActionState.DONE)
    assert worker.counts == WorkerCounts(claimed=2, done=1, failed=1)


def test_a_hung_handler_is_left_behind_at_its_time_limit() -> None:
    """A handler past its time limit fails its action; the worker goes on to the next one."""
    store = stocked()
    release = threading.Event()

    def hangs(_: StoredAction) -> None:
        release.wait(30)

    worker = ActionWorker(
        store,
        {"ship": hangs, "deliver_digitally": lambda _: "sent"},
        batch=2,
        time_limit=timedelta(milliseconds=200),
    )  # deliver_digitally's key sorts first: the hung ship is the batch's last
    try:
        assert worker.run_once() == 2
        failed = state_of(store, SHIP)
        assert failed.state is ActionState.FAILED
        assert "time limit of 0.2 s" in (failed.last_error or "")
        assert state_of(store, action_key("o1", "deliver_digitally", "key")).state is (
            ActionState.DONE
        )
    finally:
        release.set()


def test_run_forever_survives_every_handler_and_stops_on_sigterm_within_the_limit() -> None:
    """A hung handler, then SIGTERM: run_forever returns within the time limit, rest released."""
    store = stocked()
    release = threading.Event()

    def hangs(_: StoredAction) -> None:
        release.wait(30)

    def raises(_: StoredAction) -> None:
        raise _Unprintable

    worker = ActionWorker(  # deliver_digitally's key sorts first: it runs first
        store,
        {"ship": raises, "deliver_digitally": hangs},
        batch=2,
        idle=30,
        time_limit=timedelta(seconds=1),
    )
    timer = threading.Timer(0.2, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    started = time.monotonic()
    try:
        counts = worker.run_forever()
    finally:
        release.set()
        timer.join()
    assert time.monotonic() - started < 10
    hung = state_of(store, action_key("o1", "deliver_digitally", "key"))
    assert hung.state is ActionState.FAILED  # ended at its time limit
    given_back = state_of(store, SHIP)
    assert (given_back.state, given_back.tries) == (ActionState.PENDING, 0)
    assert counts == WorkerCounts(claimed=2, failed=1, released=1)


class _Spy:
    """A store that counts the worker's calls of each outbox method."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.calls: list[tuple[str, int]] = []
        self.beaten = threading.Event()

    def claim_actions(self, *args: Any, **kwargs: Any) -> list[StoredAction]:
        found = self.store.claim_actions(*args, **kwargs)
        self.calls.append(("claim_actions", len(found)))
        return found

    def extend_leases(self, claims: Any, lease: timedelta) -> dict[str, StoredAction]:
        self.calls.append(("extend_leases", len(claims)))
        found = self.store.extend_leases(claims, lease)
        self.beaten.set()
        return found

    def finish_actions(self, outcomes: Any) -> dict[str, StoredAction]:
        self.calls.append(("finish_actions", len(outcomes)))
        return self.store.finish_actions(outcomes)


def test_one_heartbeat_keeps_the_whole_batch_and_one_commit_records_it() -> None:
    """Each beat extends every claim of the batch in one call; the batch ends in one commit."""
    store = stocked()
    spy = _Spy(store)
    waited: list[bool] = []

    def ship(_: StoredAction) -> str:
        waited.append(spy.beaten.wait(10))  # until the heartbeat beat once
        return "shipped"

    worker = ActionWorker(
        spy,
        {"ship": ship, "deliver_digitally": lambda _: "sent"},
        batch=2,
        lease=timedelta(milliseconds=150),
    )
    assert worker.run_once() == 2
    assert waited == [True]
    assert spy.calls[0] == ("claim_actions", 2)
    assert spy.calls[-1] == ("finish_actions", 2)
    beats = [n for name, n in spy.calls if name == "extend_leases"]
    assert beats
    assert beats[0] == 2  # the waiting action's lease too, not only the running one's
    assert [name for name, _ in spy.calls].count("finish_actions") == 1
    assert {a.state for a in store.list_actions()} == {ActionState.DONE}


def test_an_action_cancelled_while_its_batch_runs_is_not_started() -> None:
    """The heartbeat sees the second action cancelled meanwhile: it is never handed over."""
    store = stocked()
    spy = _Spy(store)
    ran: list[str] = []

    def deliver(action: StoredAction) -> str:  # deliver_digitally's key sorts first
        ran.append(action.key)
        store.update_order("o1", lambda o: cancel_items(o, {"box": 1}))
        spy.beaten.clear()
        assert spy.beaten.wait(10)  # the next beat reads the cancellation
        return "sent"

    def ship(action: StoredAction) -> str:
        ran.append(action.key)
        return "shipped"

    worker = ActionWorker(
        spy,
        {"ship": ship, "deliver_digitally": deliver},
        batch=2,
        lease=timedelta(milliseconds=150),
    )
    assert worker.run_once() == 2
    assert ran == [action_key("o1", "deliver_digitally", "key")]
    box = state_of(store, SHIP)
    assert (box.state, box.lease_until, box.cancel_reason) == (
        ActionState.CANCELLED, None, "item 'box' has no open units any more",
    )  # fmt: skip


@pytest.mark.parametrize(
    "clock",
    [
        lambda: datetime(2026, 1, 5, 9, 0),  # naive  # noqa: DTZ001
        lambda: datetime.max.replace(tzinfo=UTC),
        lambda: 5,
        lambda: 1 / 0,
    ],
)
def test_a_clock_that_fails_leaves_the_retry_to_the_stores_clock(clock: Any) -> None:
    """A worker clock that raises or returns junk: the failure is still recorded, by backoff."""
    store = stocked()

    def broken(_: StoredAction) -> None:
        raise ConnectionError("down")

    ActionWorker(store, {"ship": broken}, clock=clock).run_once()
    failed = state_of(store, SHIP)
    assert failed.state is ActionState.FAILED
    assert failed.retry_at is not None
    assert failed.retry_at > datetime.now(UTC)


@pytest.mark.parametrize(
    ("handlers", "message"),
    [
        ({"shipp": print}, "Unknown action kind 'shipp'"),
        ({}, "at least one"),
        ({"ship": "print"}, "callable"),
        ({1: print}, "kinds must be an action kind.s name, got int 1"),
        ("ship", "mapping"),
    ],
)
def test_bad_handlers_are_refused_at_construction(handlers: Any, message: str) -> None:
    """An unknown kind, no handler or a handler that cannot be called: a clear InvalidInput."""
    with pytest.raises(InvalidInput, match=message):
        ActionWorker(MemoryStore(), handlers)


@given(
    st.sampled_from(["store", "batch", "lease", "idle", "time_limit", "clock"]),
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(st.sampled_from(["\x00", "\ud800", "a"]), max_size=3)
    | st.just(timedelta(0))
    | st.just(timedelta(days=2))
    | st.just(timedelta.max)
    | st.just(timedelta(microseconds=-1)),
)
def test_hostile_settings_raise_typed_errors(name: str, value: Any) -> None:
    """A store without an outbox, a batch, lease, limit or idle out of range: InvalidInput."""
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


POLICY = ActionPolicy(subscribe={"refunds": "refund.*"}, listen={"welcome": on("accepted")})


def with_policy() -> MemoryStore:
    """A store with the shop's kinds declared, holding one accepted order."""
    store = MemoryStore()
    store.action_policy = POLICY
    order = Order.create("o1", items=[Item("box", 1, physical=True)])
    fire(order, OrderEvent.ACCEPT)
    store.create_order(order)
    return store


def test_a_handler_for_a_kind_nobody_declared_is_refused() -> None:
    """A kind neither the table nor the store's policy declares: refused, naming both."""
    with pytest.raises(InvalidInput, match=r"Unknown action kind 'welcome'.*its kinds: none"):
        ActionWorker(MemoryStore(), {"welcome": print})
    with pytest.raises(InvalidInput, match=r"'welcom'.*its kinds: refunds, welcome"):
        ActionWorker(with_policy(), {"welcom": print, "welcome": print, "refunds": print})


def test_a_declared_kind_without_handler_is_refused_unless_run_elsewhere() -> None:
    """The policy's kinds need a handler, or to be named as another worker's."""
    with pytest.raises(InvalidInput, match=r"declares 'refunds'.*run_elsewhere"):
        ActionWorker(with_policy(), {"welcome": print})
    worker = ActionWorker(with_policy(), {"welcome": print}, run_elsewhere=["refunds"])
    assert set(worker.handlers) == {"welcome"}
    with pytest.raises(InvalidInput, match="ship"):
        ActionWorker(with_policy(), {"welcome": print}, run_elsewhere=["ship"])


def test_a_handler_gets_the_typed_request_and_the_order_it_acts_on() -> None:
    """A handler reads its typed request, and its order as read for the batch when it asks."""
    store = with_policy()
    seen: list[tuple[object, object]] = []

    def handle(action: StoredAction) -> None:
        assert action.order is not None
        seen.append((action.request, action.order.state))

    worker = ActionWorker(store, {"ship": handle, "welcome": handle}, run_elsewhere=["refunds"])
    assert worker.run_once() == 2
    requests = sorted((type(r).__name__, str(s)) for r, s in seen)
    assert requests == [("ShipRequest", "accepted"), ("Transitioned", "accepted")]
    assert all(action.order is None for action in store.list_actions())  # no worker: none


def _hangs(_: StoredAction) -> None:
    threading.Event().wait(30)


def _raises(_: StoredAction) -> None:
    raise _Unprintable


@pytest.mark.parametrize(
    ("handler", "state"),
    [
        (_raises, ActionState.FAILED),
        (_hangs, ActionState.FAILED),
        (lambda _: _BadItems(a="b"), ActionState.DONE),
        (lambda _: Decimal("9.99"), ActionState.DONE),
    ],
    ids=["raises", "hangs", "junk", "decimal"],
)
def test_a_shop_kinds_bad_handler_is_recorded_like_the_tables(handler: Any, state: Any) -> None:
    """A listener's handler that raises, hangs or returns junk: recorded, its claim ended, once."""
    store = with_policy()
    worker = ActionWorker(
        store,
        {"ship": lambda _: "sent", "welcome": handler},
        run_elsewhere=["refunds"],
        time_limit=timedelta(milliseconds=200),
    )
    assert worker.run_once() == 2
    welcome = next(a for a in store.list_actions() if a.kind == "welcome")
    assert (welcome.state, welcome.lease_until, welcome.tries) == (state, None, 1)
    assert state_of(store, SHIP).state is ActionState.DONE
    assert worker.run_once() == 0  # nothing is claimed twice: a failure waits its backoff

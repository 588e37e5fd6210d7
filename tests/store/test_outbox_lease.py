"""The outbox's leases, on every store: a heartbeat keeps a claim, a stale one finishes nothing."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from order_lifecycle.actions import ActionState, ActionWorker, StoredAction
from order_lifecycle.store import Store
from tests.store.test_outbox import SHIP, accepted


def test_a_handler_slower_than_its_lease_is_not_run_twice(store: Store) -> None:
    """The running worker extends its lease, so a second worker finds nothing to claim."""
    accepted(store)
    lease = timedelta(milliseconds=300)
    runs: Counter[str] = Counter()
    started, release = threading.Event(), threading.Event()

    def slow(action: StoredAction) -> str:
        runs[action.key] += 1
        started.set()
        release.wait(10)
        return "shipped"

    first = ActionWorker(store, {"ship": slow}, batch=1, lease=lease)
    thread = threading.Thread(target=first.run_once)
    thread.start()
    assert started.wait(10)
    time.sleep(1.0)  # more than three leases: without a heartbeat, the claim lapsed
    second = ActionWorker(store, {"ship": slow}, batch=1, lease=lease)
    assert second.run_once() == 0
    release.set()
    thread.join(10)
    assert runs == Counter({SHIP: 1})
    (done,) = store.list_actions(kinds=["ship"])
    assert (done.state, done.tries, done.result) == (ActionState.DONE, 1, '"shipped"')


def test_a_batch_waiting_behind_a_slow_handler_keeps_every_lease(store: Store) -> None:
    """The heartbeat extends the whole batch: the actions waiting their turn are not lapsed."""
    accepted(store)
    lease = timedelta(milliseconds=1500)
    runs: Counter[str] = Counter()
    started, release = threading.Event(), threading.Event()

    def slow(action: StoredAction) -> str:  # the batch's first: deliver_digitally sorts first
        runs[action.key] += 1
        started.set()
        release.wait(30)
        return "sent"

    def ship(action: StoredAction) -> str:
        runs[action.key] += 1
        return "shipped"

    handlers = {"ship": ship, "deliver_digitally": slow}
    first = ActionWorker(store, handlers, batch=2, lease=lease)
    thread = threading.Thread(target=first.run_once)
    thread.start()
    assert started.wait(30)
    time.sleep(2.5)  # past the lease: without the batch's heartbeat, ship's claim lapsed
    second = ActionWorker(store, handlers, batch=2, lease=lease)
    assert second.run_once() == 0
    release.set()
    thread.join(30)
    assert set(runs.values()) == {1}
    assert {a.state for a in store.list_actions()} == {ActionState.DONE}


def test_a_stale_claim_neither_extends_nor_finishes_the_newer_one(store: Store) -> None:
    """Once a lapsed claim was taken again, its heartbeat, completion and failure do nothing."""
    accepted(store)
    (first,) = store.claim_actions(["ship"], lease=timedelta(milliseconds=50))
    time.sleep(0.1)
    (second,) = store.claim_actions(["ship"], lease=timedelta(minutes=5))
    assert (first.tries, second.tries) == (1, 2)
    assert second.lease_until is not None
    for stale in (
        store.extend_lease(SHIP, timedelta(days=1), claim=first.tries),
        store.complete_action(SHIP, "stale", claim=first.tries),
        store.fail_action(SHIP, "stale", claim=first.tries),
    ):
        assert (stale.state, stale.tries, stale.lease_until) == (
            ActionState.CLAIMED, 2, second.lease_until,
        )  # fmt: skip
        assert (stale.result, stale.last_error) == (None, None)
    extended = store.extend_lease(SHIP, timedelta(days=1), claim=second.tries)
    assert extended.lease_until is not None
    assert extended.lease_until > second.lease_until
    done = store.complete_action(SHIP, "ok", claim=second.tries)
    assert (done.state, done.result) == (ActionState.DONE, '"ok"')
    assert store.extend_lease(SHIP, timedelta(days=1), claim=second.tries).state is (
        ActionState.DONE
    )  # a finished action is not claimed again by a late heartbeat


def test_a_lapsed_claim_nobody_took_again_may_still_finish(store: Store) -> None:
    """A claim whose lease lapsed, not taken since, still completes: nothing newer to protect."""
    accepted(store)
    (first,) = store.claim_actions(["ship"], lease=timedelta(milliseconds=50))
    time.sleep(0.1)
    done = store.complete_action(SHIP, "late", claim=first.tries)
    assert (done.state, done.result) == (ActionState.DONE, '"late"')


def test_a_claim_lapsing_max_tries_times_makes_the_action_dead(store: Store) -> None:
    """A worker killed mid-action every time: the claim after the last try marks it dead."""
    accepted(store)
    store.max_tries = 2
    for tries in (1, 2):
        (claimed,) = store.claim_actions(["ship"], lease=timedelta(milliseconds=50))
        assert claimed.tries == tries
        time.sleep(0.1)  # the worker dies: its lease lapses
    assert store.claim_actions(["ship"]) == []
    (dead,) = store.list_actions(kinds=["ship"])
    assert (dead.state, dead.tries, dead.lease_until) == (ActionState.DEAD, 2, None)
    assert dead.last_error is not None
    assert "claimed 2 times" in dead.last_error
    assert store.retry_action(SHIP).state is ActionState.PENDING  # an operator's retry
    (again,) = store.claim_actions(["ship"])
    assert again.tries == 1

"""What the race and crash tests run in other processes (spawned: they import this module).

Each worker opens its own store from a URL, as a separate app server would, waits at a
barrier with the others so that they really race, and reports each outcome on a queue.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from order_lifecycle import Charge, ChargeState, Inbox, Item, Order, OrderEvent, capture, fire
from order_lifecycle.exceptions import SubmissionRefused
from order_lifecycle.orders import fulfil_items
from order_lifecycle.store import DuplicateEvent, OrderChange, Store, open_store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BARRIER_TIMEOUT = 60.0


def reporting(work: Callable[..., None]) -> Callable[..., None]:
    """Run ``work(queue, ...)``; an error is reported on the queue, not lost with the process.

    (``functools.wraps`` keeps the name, so the wrapper pickles as the module's function.)
    """

    @functools.wraps(work)
    def run(queue: Queue[Any], *args: Any) -> None:
        try:
            work(queue, *args)
        except BaseException:  # noqa: BLE001 (every failure must reach the test)
            queue.put(("error", traceback.format_exc()))

    return run


def fulfilled_order(order_id: str = "o-1") -> Order:
    """An order fulfilled and ready to capture: one charge of 100.00, nothing captured."""
    order = Order.create(
        order_id,
        "accepted",
        at=T0,
        items=[Item("widget", 1, physical=True)],
        charges=[Charge("ch-1", ChargeState.CAPTURABLE, Decimal("100.00"), "USD")],
    )
    fulfil_items(order, {"widget": 1}, at=T0)
    return order


def round_trip(event_id: str) -> Callable[[Order], None]:
    """A change that is always legal from fulfilled: a dispute and its resolution."""

    def change(order: Order) -> None:
        fire(order, OrderEvent.DISPUTE, at=T0, event_id=event_id)
        fire(order, OrderEvent.RESOLVE_DISPUTE, at=T0, event_id=event_id)

    return change


def capture_a_cent(event_id: str) -> Callable[[Order], None]:
    """Capture 0.01 and record a dispute round trip: a lost update shows in both."""

    def change(order: Order) -> None:
        capture(order, "ch-1", "0.01", at=T0)
        round_trip(event_id)(order)

    return change


@reporting
def open_together(queue: Queue[Any], urls: list[str], barrier: Barrier) -> None:
    """Open each new store at the same moment as the others: they race to create it."""
    for url in urls:
        barrier.wait(BARRIER_TIMEOUT)
        with open_store(url) as store:
            queue.put((url, store.order_ids()))


@reporting
def submit_checkouts(queue: Queue[Any], url: str, rounds: int, barrier: Barrier) -> None:
    """Each round, race the others to submit checkout ``chk-<round>``; the winner gets a 201."""
    with open_store(url) as store:
        for n in range(rounds):
            checkout_id = f"chk-{n}"
            barrier.wait(BARRIER_TIMEOUT)
            try:
                store.begin_submission(checkout_id)
            except SubmissionRefused as refused:
                queue.put((n, type(refused).__name__))
                continue
            order_id = f"o-{n}-{os.getpid()}"
            body = {"id": order_id, "state": "accepted", "checkoutId": checkout_id}
            store.record_response(checkout_id, 201, json.dumps(body))
            queue.put((n, order_id))


@reporting
def apply_one_event(queue: Queue[Any], url: str, rounds: int, barrier: Barrier) -> None:
    """Each round, race the others to apply event ``evt-<round>`` to order ``o-1``."""
    with open_store(url) as store:
        for n in range(rounds):
            event_id = f"evt-{n}"
            barrier.wait(BARRIER_TIMEOUT)
            try:
                store.update_order_retrying("o-1", round_trip(event_id), event_id=event_id)
            except DuplicateEvent:
                queue.put((n, "duplicate"))
            else:
                queue.put((n, "applied"))


@reporting
def capture_cents(queue: Queue[Any], url: str, worker: int, updates: int, barrier: Barrier) -> None:
    """Apply ``updates`` captures of 0.01 to order ``o-1``, each with its own event id."""
    with open_store(url) as store:
        barrier.wait(BARRIER_TIMEOUT)
        for n in range(updates):
            event_id = f"evt-{worker}-{n}"
            change = capture_a_cent(event_id)
            store.update_order_retrying("o-1", change, event_id=event_id, attempts=200)
        queue.put((worker, "done"))


def stall_inside(store: Store, after: int, queue: Queue[Any]) -> None:
    """Make the store's ``after``-th history write stall, in its transaction, until killed."""
    original = store._insert_steps  # type: ignore[attr-defined]
    writes = [0]

    def insert_steps(*args: Any, **kwargs: Any) -> None:
        writes[0] += 1
        if writes[0] == after:
            queue.put("inside")
            signal.pause()  # SIGKILL ends it here, the transaction open
        original(*args, **kwargs)

    store._insert_steps = insert_steps  # type: ignore[attr-defined]


def work_in_batches(
    queue: Queue[Any],
    url: str,
    first: int,
    stall_at: int | None,
    batched: bool,
) -> None:
    """Create five orders, then apply events to them until killed, reporting each commit.

    Operations are numbered from ``first`` (operations 0 to 4 create the orders). With
    ``stall_at``, the history write of that operation stalls inside its transaction, after
    the order row and the event id were written: the kill lands in the middle. With
    ``batched``, updates are committed five at a time (one per order) by ``commit_changes``,
    in one transaction, reported once it committed.
    """
    with open_store(url) as store:
        if stall_at is not None:
            stall_inside(store, stall_at - first + 1, queue)
        n = first
        while True:
            if n < 5:
                store.create_order(fulfilled_order(f"o-{n}"), event_id=f"evt-create-{n}")
                done = [n]
            elif batched:
                done = list(range(n, n + 5))
                commit_five(store, done)
            else:
                store.update_order(f"o-{n % 5}", capture_a_cent(f"evt-{n}"), event_id=f"evt-{n}")
                done = [n]
            for number in done:
                queue.put(number)
            n += len(done)


def commit_five(store: Store, numbers: list[int]) -> None:
    """Operations ``numbers`` (one per order) as one batch: read at once, committed at once."""
    found = store.read_orders([f"o-{n % 5}" for n in numbers])
    changes = []
    for n in numbers:
        version, base = found[f"o-{n % 5}"]
        work = base.copy()
        capture_a_cent(f"evt-{n}")(work)
        changes.append(OrderChange(work, base, version, f"evt-{n}"))
    results = store.commit_changes(changes)
    if not all(result.committed for result in results):
        raise AssertionError(f"a batch with no rival did not commit: {results}")


if __name__ == "__main__":  # pragma: no cover (a manual check of the workers)
    sys.exit("run the tests instead")


@reporting
def deliver_webhooks(queue: Queue[Any], url: str, bodies: list[bytes], barrier: Barrier) -> None:
    """Race the others, each delivering its own events of one order through its own inbox.

    Each body is one batch; a lost race is the inbox's to retry, so any error is reported.
    """
    with open_store(url) as store:
        inbox = Inbox(store, verified_upstream=True)
        barrier.wait(BARRIER_TIMEOUT)
        for body in bodies:
            [result] = inbox.receive([body])
            queue.put(("result", str(result.outcome)))


@reporting
def deliver_batches(  # noqa: PLR0917 (the race's settings)
    queue: Queue[Any], url: str, bodies: list[bytes], seed: int, size: int, barrier: Barrier
) -> None:
    """Deliver every body, shuffled by ``seed``, in batches of ``size``; report each outcome."""
    shuffled = list(bodies)
    random.Random(seed).shuffle(shuffled)  # noqa: S311 (a test's shuffle)
    with open_store(url) as store:
        inbox = Inbox(store, verified_upstream=True)
        barrier.wait(BARRIER_TIMEOUT)
        for start in range(0, len(shuffled), size):
            for result in inbox.receive(shuffled[start : start + size]):
                queue.put(("result", str(result.outcome), result.event_id))

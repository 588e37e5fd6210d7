"""What the outbox's crash and concurrency tests run in other processes.

``python -m tests.store.outbox_workers hang URL MARKER``: a worker whose ``ship`` handler
writes ``MARKER`` and then hangs (the test SIGKILLs it there); ``... hang_listener URL
MARKER`` the same with a listener's handler (``welcome``, see :data:`LISTENING`). ``...
drain URL LOG``: a worker that runs every due action, appending ``key pid start end`` to
``LOG`` for each.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from order_lifecycle import Item, Order, OrderEvent
from order_lifecycle.actions import ActionPolicy, ActionWorker, StoredAction, on
from order_lifecycle.models import fire
from order_lifecycle.store import Store, open_store

LEASE = timedelta(seconds=3)
LISTENING = ActionPolicy(listen={"welcome": on("accepted")})
"""A shop's policy: a listener of every acceptance."""


def stock(store: Store, orders: int) -> None:
    """Store ``orders`` accepted orders, each with one item to ship and one to deliver."""
    for n in range(orders):
        order = Order.create(
            f"o{n}", items=[Item("box", 1, physical=True), Item("key", 1, physical=False)]
        )
        fire(order, OrderEvent.ACCEPT)
        store.create_order(order)


def hanging(marker: str) -> Callable[[StoredAction], None]:
    """A handler that says which action it runs in ``marker``, then hangs."""

    def handle(action: StoredAction) -> None:
        # Written whole, then renamed: the test may kill this process as soon as it exists.
        Path(f"{marker}.part").write_text(action.key)
        Path(f"{marker}.part").replace(marker)
        time.sleep(600)

    return handle


def hang(url: str, marker: str) -> None:
    """Claim the ship action, say so in ``marker``, and hang inside the handler."""
    with open_store(url) as store:
        ActionWorker(store, {"ship": hanging(marker)}, lease=LEASE).run_once()


def hang_listener(url: str, marker: str) -> None:
    """Claim a listener's action (the store's policy is :data:`LISTENING`), and hang in it."""
    with open_store(url) as store:
        store.action_policy = LISTENING
        ActionWorker(store, {"welcome": hanging(marker)}, lease=LEASE).run_once()


def drain(url: str, log: str) -> None:
    """Run due actions until none has been due for a while, logging each run."""

    def run(action: StoredAction) -> str:
        start = time.monotonic_ns()
        time.sleep(0.002)
        line = f"{action.key}\t{os.getpid()}\t{start}\t{time.monotonic_ns()}\n"
        with Path(log).open("a") as out:
            out.write(line)
        return "ok"

    with open_store(url) as store:
        worker = ActionWorker(
            store, {"ship": run, "deliver_digitally": run}, batch=3, lease=timedelta(minutes=5)
        )
        idle = 0
        while idle < 5:
            idle = 0 if worker.run_once() else idle + 1
            time.sleep(0.01 * idle)


if __name__ == "__main__":
    {"hang": hang, "hang_listener": hang_listener, "drain": drain}[sys.argv[1]](
        sys.argv[2], sys.argv[3]
    )

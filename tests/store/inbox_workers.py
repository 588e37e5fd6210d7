"""What the inbox's crash and concurrency tests run in other processes, and the traffic they share.

``python -m tests.store.inbox_workers reconcile URL [POINT N]``: a reconciler draining
the inbox; with ``POINT N`` it kills itself (SIGKILL) the N-th time it reaches ``POINT``:
``claimed`` (a claim taken, nothing written), ``writing`` (inside the write transaction,
the orders written, the statuses not yet, nothing committed), ``settled`` (committed,
the claim not yet released). ``... accept URL FIRST STEP LOG``: an app server storing
every STEP-th delivery of :func:`traffic` from FIRST, in batches, logging each status.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from order_lifecycle import Delivery, Inbox, Order, Reconciler
from order_lifecycle.exceptions import StoreError
from order_lifecycle.store import Store, open_store
from order_lifecycle.webhooks import error_status
from tests.webhook_events import ALL_LIVES, raw

NOW = datetime(2026, 4, 10, tzinfo=UTC)
"""The reconcilers' clock: after every event, fixed, so that runs are alike."""

_ID = re.compile(r'(?<=["\- ])100(?=\d)')


def traffic(copies: int) -> list[bytes]:
    """Every hand-written life ``copies`` times over (ids renamed apart), some redelivered."""
    bodies = [raw(event) for life in ALL_LIVES.values() for event in life()]
    many = [_ID.sub(f"{n}x100", body.decode()).encode() for n in range(copies) for body in bodies]
    return many + many[::7]


def outcome(store: Store) -> tuple[dict[str, Order], dict[str, list[str]], list[Any], list[Any]]:
    """Everything reconciling leaves: orders, event ids, actions, the deliveries' statuses."""
    orders = {key: store.get_order(key) for key in store.order_ids()}
    events = {key: sorted(store.applied_event_ids(key)) for key in orders}
    actions = sorted(
        (a.key, str(a.state), json.dumps(a.payload, sort_keys=True), a.tries)
        for a in store.list_actions(limit=10_000)
    )
    deliveries = sorted(
        (row.event_id, str(row.status), row.reason, row.attempts)
        for row in store.list_deliveries(limit=10_000)
    )
    return orders, events, actions, deliveries


def drain(reconciler: Reconciler) -> None:
    """Settle everything due."""
    while reconciler.run_once():
        pass


def _die_at(store: Store, point: str, nth: int) -> None:
    """Make ``store`` SIGKILL this process the ``nth`` time it reaches ``point``."""
    seen = [0]

    def dying(method: Callable[..., Any], *, before: bool) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            if before:
                _count(seen, nth)
            result = method(*args, **kwargs)
            if not before:
                _count(seen, nth)
            return result

        return run

    name, before = {
        "claimed": ("claim_deliveries", False),
        "writing": ("_settle", True),
        "settled": ("settle_deliveries", False),
    }[point]
    setattr(store, name, dying(getattr(store, name), before=before))


def _count(seen: list[int], nth: int) -> None:
    seen[0] += 1
    if seen[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)


def reconcile(url: str, point: str | None = None, nth: str = "1") -> None:
    """Drain the inbox (dying at ``point`` the ``nth`` time, if given)."""
    with open_store(url) as store:
        if point is not None:
            _die_at(store, point, int(nth))
        drain(Reconciler(store, clock=lambda: NOW, batch=3))


def accept(url: str, first: str, step: str, log: str) -> None:
    """Store every ``step``-th delivery from ``first``, 5 at a time; log each status."""
    bodies = traffic(4)[int(first) :: int(step)]
    with open_store(url) as store, Path(log).open("a") as out:
        inbox = Inbox(store, verified_upstream=True)
        for start in range(0, len(bodies), 5):
            batch = [Delivery(body) for body in bodies[start : start + 5]]
            try:
                statuses = [r.status_code for r in inbox.accept(batch)]
            except StoreError as error:
                statuses = [error_status(error)] * len(batch)
            out.write("".join(f"{status}\n" for status in statuses))
            out.flush()


def reconcile_until(url: str, stop: str, log: str) -> None:
    """Reconcile until the file ``stop`` exists and nothing is due; log failed batches."""
    with open_store(url) as store, Path(log).open("a") as out:
        reconciler = Reconciler(store, clock=lambda: NOW, batch=3, idle=0.01)
        while True:
            done = Path(stop).exists()
            try:
                settled = reconciler.run_once()
            except StoreError as error:
                out.write(f"failed: {error}\n")
                continue
            if done and not settled:
                break
        out.write(f"lost {reconciler.counts.lost}\n")


if __name__ == "__main__":
    commands: dict[str, Callable[..., None]] = {
        "reconcile": reconcile,
        "accept": accept,
        "reconcile_until": reconcile_until,
    }
    commands[sys.argv[1]](*sys.argv[2:])

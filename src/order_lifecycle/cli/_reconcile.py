"""``order-lifecycle reconcile``: a reconciler process, applying what the inbox stored.

Runs until SIGTERM or Ctrl-C (the batch running is written first), or, with ``--once``,
until nothing is due. Several may run on one PostgreSQL database (each order has one
writer at a time); on SQLite one is enough (more are safe, not faster).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from datetime import timedelta
from pathlib import Path

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.store import open_store
from order_lifecycle.webhooks import CLAIMED_ORDERS, FetchOrder, Reconciler

from ._logging import log_to_stderr
from ._output import Output
from ._settings import add_db_argument, store_url

__all__ = ["add_parser", "run"]

_MAX_ROUNDS = 1_000_000


def _positive(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < number <= 86_400:
        raise argparse.ArgumentTypeError(f"{value}: give a number of seconds above 0, up to 86400")
    return number


def _batch(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 1 <= number <= 10_000:
        raise argparse.ArgumentTypeError(f"{number}: give 1 to 10000")
    return number


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``reconcile`` command's arguments."""
    reconcile = commands.add_parser(
        "reconcile",
        help="apply the stored webhook deliveries to their orders (a reconciler process)",
        description=(
            "Claim the inbox's due deliveries order by order and apply them (orders, history, "
            "event ids, actions and each delivery's status in one transaction per batch). "
            "Runs until SIGTERM or Ctrl-C; --once stops when nothing is due. Several may run "
            "on one PostgreSQL database."
        ),
    )
    add_db_argument(reconcile)
    reconcile.add_argument("--once", action="store_true", help="stop once nothing is due")
    reconcile.add_argument(
        "--batch",
        type=_batch,
        default=CLAIMED_ORDERS,
        help=f"orders claimed at a time (default {CLAIMED_ORDERS})",
    )
    reconcile.add_argument(
        "--idle", type=_positive, default=1.0, help="seconds to wait when nothing is due (1)"
    )
    reconcile.add_argument(
        "--order-wait",
        type=_positive,
        default=900.0,
        help="seconds a delivery waits for its order before it is unknown_order (900)",
    )
    reconcile.add_argument(
        "--fetch-order",
        metavar="MODULE:ATTR",
        help="a callable answering GET /orders/{id}'s body for an order never seen (or None)",
    )


def _load(reference: str) -> FetchOrder:
    # As `python -m` does, so that `--fetch-order shop:fetch` finds ./shop.py.
    here = str(Path.cwd())
    if here not in sys.path:
        sys.path.insert(0, here)
    module_name, colon, attribute = reference.partition(":")
    if not colon or not module_name or not attribute:
        raise InvalidInput(f"--fetch-order must be module:attribute, got {reference!r}.")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except Exception as error:  # noqa: BLE001 (the shop's module failed on import)
        raise InvalidInput(
            f"cannot load fetch_order from {reference!r}: {type(error).__name__}: {error}"
        ) from None
    if not callable(found):
        raise InvalidInput(f"{reference} is not callable.")
    fetch: FetchOrder = found
    return fetch


def run(args: argparse.Namespace, out: Output) -> int:
    """Reconcile until stopped (or, ``--once``, until nothing is due); exit status 0."""
    fetch = None if args.fetch_order is None else _load(args.fetch_order)
    with open_store(store_url(args.db), create=False) as store:
        reconciler = Reconciler(
            store,
            batch=args.batch,
            idle=args.idle,
            order_wait=timedelta(seconds=args.order_wait),
            fetch_order=fetch,
        )
        if args.once:
            for _ in range(_MAX_ROUNDS):
                if not reconciler.run_once():
                    break
        else:
            out.line("reconciling the inbox (SIGTERM or Ctrl-C stops)")
            out.console.file.flush()
            log_to_stderr()
            reconciler.run_forever()
    counts = reconciler.counts
    settled = ", ".join(f"{status} {n}" for status, n in sorted(counts.settled.items()))
    out.line(
        f"deliveries settled: {sum(counts.settled.values())} ({settled or 'none'}); "
        f"orders lost to another writer (retried): {counts.lost}; store failures: {counts.errors}"
    )
    return 0

"""``order-lifecycle check``: replay every stored history against today's tables."""

from __future__ import annotations

import argparse

from order_lifecycle.lifecycle import CHECKOUT_SPEC, ORDER_SPEC
from order_lifecycle.store import open_store

from ._output import Output

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``check`` command's arguments."""
    check = commands.add_parser(
        "check",
        help="replay every stored history against the current tables; list the illegal",
        description="Replay every stored history against the current tables (read-only).",
    )
    check.add_argument("--db", required=True, help="the store: a SQLite path or postgresql:// DSN")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def run(args: argparse.Namespace, out: Output) -> int:
    """List the illegal histories; exit status 1 if there are any."""
    # Read-only: a check never writes, so it also works on a file or folder it may not
    # write; the check runs SQLite's quick_check first.
    with open_store(args.db, create=False, read_only=True) as store:
        illegal = store.check()
        orders, checkouts = len(store.order_ids()), len(store.checkout_ids())
    for problem in illegal:
        out.line(problem)
    checked = (
        f"{_count(orders, 'order')} and {_count(checkouts, 'checkout')} checked against the "
        f"order table (spec {ORDER_SPEC.version}) and the checkout table "
        f"(spec {CHECKOUT_SPEC.version})"
    )
    if illegal:
        many = "histories are" if len(illegal) > 1 else "history is"
        out.line(f"{checked}: {len(illegal)} {many} not legal.")
    else:
        out.line(f"{checked}: every history is legal.")
    return 1 if illegal else 0

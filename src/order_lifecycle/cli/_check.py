"""``order-lifecycle check``: replay every stored history against today's tables."""

from __future__ import annotations

import argparse
import functools

from order_lifecycle.lifecycle import CHECKOUT_SPEC, ORDER_SPEC
from order_lifecycle.store import open_store

from ._output import Output, advance
from ._settings import add_db_argument, store_url

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``check`` command's arguments."""
    check = commands.add_parser(
        "check",
        help="replay every stored history against the current tables; list the illegal",
        description="Replay every stored history against the current tables (read-only).",
    )
    add_db_argument(check)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def run(args: argparse.Namespace, out: Output) -> int:
    """List the illegal histories; exit status 1 if there are any."""
    # Read-only: a check never writes, so it also works on a file or folder it may not
    # write; the check runs SQLite's quick_check first.
    with open_store(store_url(args.db), create=False, read_only=True) as store:
        orders, checkouts = len(store.order_ids()), len(store.checkout_ids())
        with out.progress("checking", orders + checkouts, "histories") as bar:
            illegal = store.check(progress=None if bar is None else functools.partial(advance, bar))
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

"""``order-lifecycle orders list``: the stored orders, by state, a page at a time."""

from __future__ import annotations

import argparse

from order_lifecycle.lifecycle import OrderState
from order_lifecycle.store import open_store

from ._args import plain_id
from ._listing import add_page_arguments, page_document, print_page
from ._output import Output
from ._settings import add_db_argument, store_url

__all__ = ["add_parser", "run"]

_STATES = [str(s) for s in OrderState]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``orders`` command's arguments: ``list``."""
    orders = commands.add_parser(
        "orders",
        help="the stored orders: list them by state, a page at a time",
        description="The stored orders (one whole: order-lifecycle show ORDER_ID).",
    )
    verbs = orders.add_subparsers(dest="verb", required=True)
    listed = verbs.add_parser(
        "list",
        help="list orders by id, a page at a time",
        description="List the stored orders by id, a page at a time with the true total.",
    )
    add_db_argument(listed)
    listed.add_argument(
        "--state",
        action="append",
        choices=_STATES,
        metavar="STATE",
        help=f"only in this state (repeatable): {', '.join(_STATES)}",
    )
    add_page_arguments(
        listed,
        after=plain_id,
        after_help="start after this order id (the one the page before said to go on from)",
        since_help=None,
    )


def run(args: argparse.Namespace, out: Output) -> int:
    """List a page of orders; exit status 0."""
    with open_store(store_url(args.db), create=False, read_only=True) as store:
        page = store.page_orders(states=args.state, after=args.after, limit=args.limit)
    if args.json:
        rows = [
            {
                "id": o.id,
                "state": str(o.state),
                "fraud_state": o.fraud_state,
                "checkout_id": o.checkout_id,
                "version": o.version,
            }
            for o in page.items
        ]
        out.json(page_document("orders", page, rows))
        return 0
    print_page(
        out,
        "orders",
        page,
        ("order", "state", "fraud state", "checkout", "version"),
        [(o.id, o.state, o.fraud_state or "", o.checkout_id or "", o.version) for o in page.items],
    )
    return 0

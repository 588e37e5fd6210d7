"""``order-lifecycle diagram``: a lifecycle from its spec, or one order's path through it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from order_lifecycle.diagrams import (
    FORMATS,
    PathDiagram,
    extract,
    extract_path,
    highlight,
    render,
)
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import CHECKOUT_SPEC, ORDER_SPEC, OUTBOX_SPEC, MachineSpec
from order_lifecycle.models import Order
from order_lifecycle.store import open_store

from ._output import Output
from ._settings import add_db_argument, store_url

__all__ = ["add_parser", "order_path", "path_of", "run"]

_SPECS: dict[str, MachineSpec[Any, Any]] = {
    "order": ORDER_SPEC,
    "checkout": CHECKOUT_SPEC,
    "outbox": OUTBOX_SPEC,
}
_PATH_FORMATS = ("mermaid", "dot", "svg")


def order_path(order: Order, fmt: str) -> str:
    """The order machine in ``fmt``, with ``order``'s path highlighted and its state marked."""
    return render(highlight(extract(ORDER_SPEC), order.history, str(order.state)), fmt)


def path_of(order: Order) -> PathDiagram:
    """``order``'s path alone, step by step (readable on a screen, however long)."""
    return extract_path(ORDER_SPEC, f"order {order.id}", order.history)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``diagram`` command's arguments."""
    diagram = commands.add_parser(
        "diagram",
        help="draw a lifecycle from its spec, or one order's path through it",
        description=(
            "Draw a machine from its spec; with --order and --db, the order machine with that "
            "order's path highlighted and its current state marked."
        ),
    )
    diagram.add_argument("--machine", choices=sorted(_SPECS), default="order")
    diagram.add_argument("--format", choices=FORMATS, default="mermaid")
    diagram.add_argument("--order", metavar="ORDER_ID", help="highlight this order's path")
    add_db_argument(diagram, "the store holding --order")
    diagram.add_argument("-o", "--output", type=Path, help="write here instead of stdout")


def run(args: argparse.Namespace, out: Output) -> int:
    """Draw, to stdout or ``args.output``; exit status 0."""
    if args.order is None:
        if args.db is not None:
            raise InvalidInput("--db is only for --order ORDER_ID: a whole spec needs no store.")
        text = render(extract(_SPECS[args.machine]), args.format)
    else:
        if args.machine != "order" or args.format not in _PATH_FORMATS:
            raise InvalidInput(
                f"an order's path is drawn on the order machine as {', '.join(_PATH_FORMATS)}."
            )
        with open_store(store_url(args.db), create=False, read_only=True) as store:
            order = store.get_order(args.order)
        text = order_path(order, args.format)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        out.console.file.write(text)
    return 0

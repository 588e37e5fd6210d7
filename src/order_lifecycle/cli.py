"""The ``order-lifecycle`` command: ``demo`` and ``diagram``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ._lifecycle import allowed_events, explain, fire
from ._models import Charge, Item, Order
from ._spec import MachineSpec
from ._tables import CHECKOUT_SPEC, ORDER_SPEC
from ._vocabulary import ChargeState, OrderEvent
from .diagrams import FORMATS, render_spec
from .exceptions import OrderLifecycleError, TransitionNotAllowed

__all__ = ["main"]

_SPECS: dict[str, MachineSpec[Any, Any]] = {"order": ORDER_SPEC, "checkout": CHECKOUT_SPEC}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="order-lifecycle",
        description="An order's life as the payment provider reports it, as a guarded machine.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="walk one order through its lifecycle, refusals included")
    diagram = commands.add_parser("diagram", help="draw a lifecycle from its spec")
    diagram.add_argument("--machine", choices=sorted(_SPECS), default="order")
    diagram.add_argument("--format", choices=FORMATS, default="mermaid")
    diagram.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    return parser


def _demo(out: list[str]) -> None:
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    order = Order.create(
        "1001",
        "pending_payment",
        at=start,
        checkout_id="chk-1",
        items=[Item("widget", 2, physical=True), Item("manual", 1, physical=False)],
        charges=[Charge("ch-1", ChargeState.PENDING, "49.90")],
    )
    out.append(f"{order!r} created by POST /orders 201 (the checkout is now consumed)")
    out.append(f"  allowed now: {', '.join(allowed_events(order))}")
    try:
        fire(order, OrderEvent.FULFIL, at=start)
    except TransitionNotAllowed as refused:
        out.append(f"  ship it? refused: {refused}")
    out.append(f"  what would allow it: {explain(order, OrderEvent.FULFIL)}")
    fire(order, OrderEvent.ACCEPT, at=start + timedelta(minutes=5), event_id="evt-accepted")
    out.append(
        f"order.accepted arrives -> {order.state}; allowed: {', '.join(allowed_events(order))}"
    )
    order.items = tuple(
        Item(i.id, i.quantity, i.physical, fulfilled=i.quantity) for i in order.items
    )
    fire(order, OrderEvent.FULFIL, at=start + timedelta(hours=2))
    order.charges = (Charge("ch-1", ChargeState.COMPLETE, "49.90"),)
    fire(order, OrderEvent.COMPLETE, at=start + timedelta(hours=3))
    out.append(f"shipped and captured -> {order.state}")
    try:
        fire(order, OrderEvent.BLOCK)
    except TransitionNotAllowed as refused:
        out.append(f"  a late order.blocked? refused: {refused}")
    out.append("history:")
    out.extend(
        f"  {step.at:%Y-%m-%d %H:%M} {step.event or 'created'}: {step.source or '-'} -> {step.dest}"
        for step in order.history
    )
    out.append("")
    out.append(render_spec(ORDER_SPEC, "md"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    out: list[str] = []
    try:
        if args.command == "demo":
            _demo(out)
        else:
            text = render_spec(_SPECS[args.machine], args.format)
            if args.output is not None:
                args.output.write_text(text, encoding="utf-8")
                return 0
            out.append(text.rstrip("\n"))
    except OrderLifecycleError as error:
        print(f"order-lifecycle: {error}", file=sys.stderr)
        return 1
    print("\n".join(out))
    return 0

"""``order-lifecycle show``: one order, what happened to it, its actions, what it allows next."""

from __future__ import annotations

import argparse

from order_lifecycle.lifecycle import Operation
from order_lifecycle.models import allowed_events, allowed_operations, explain
from order_lifecycle.store import open_store

from ._output import Output
from ._settings import add_db_argument, store_url

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``show`` command's arguments."""
    show = commands.add_parser(
        "show",
        help="one order: state, items, charges, history, actions, and what it allows next",
        description="Show one stored order, and what it allows next (read-only).",
    )
    show.add_argument("order_id", metavar="ORDER_ID")
    add_db_argument(show)


def run(args: argparse.Namespace, out: Output) -> int:
    """Show the order; exit status 0 (an unknown order is an error)."""
    with open_store(store_url(args.db), create=False, read_only=True) as store:
        order = store.get_order(args.order_id)
        actions = store.list_actions(order_id=order.id)
        applied = store.applied_event_ids(order.id)
    fraud = order.fraud_state or "none reported"
    out.line(
        f"order {order.id}: {order.state} (fraud state: {fraud}; checkout {order.checkout_id})"
    )
    out.table(
        "items",
        ("item", "ordered", "fulfilled", "cancelled", "returned", "delivered by"),
        [
            (
                i.id,
                i.quantity,
                i.fulfilled,
                i.cancelled,
                i.returned,
                {True: "shipping", False: "e-mail", None: "not known"}[i.physical],
            )
            for i in order.items
        ],
    )
    out.table(
        "charges",
        ("charge", "state", "amount", "captured", "cancelled", "refunded"),
        [
            (
                c.id,
                c.state,
                f"{c.amount} {c.currency or ''}".strip(),
                c.captured,
                c.cancelled,
                c.refunded,
            )
            for c in order.charges
        ],
    )
    out.table(
        "history",
        ("at", "event", "from", "to", "webhook event id"),
        [
            (
                f"{s.at:%Y-%m-%d %H:%M:%S}",
                (s.event or "created") + (" (implied)" if s.implied else ""),
                s.source or "-",
                s.dest,
                s.event_id or "",
            )
            for s in order.history
        ],
    )
    # Events the store recorded for the order that left no step: stale snapshots, or ones
    # that changed only its data. The history cannot show them; an operator looks for them.
    quiet = sorted(applied - {s.event_id for s in order.history})
    out.line(
        f"webhook events applied: {len(applied)}"
        + (
            f"; without a step of their own (stale, or data only): {', '.join(quiet)}"
            if quiet
            else ""
        )
    )
    events = allowed_events(order)
    operations = allowed_operations(order)
    out.line(f"events allowed next: {', '.join(events) or 'none'}")
    out.line(f"operations allowed now: {', '.join(operations) or 'none'}")
    for operation in Operation:
        if operation not in operations:
            out.line(f"  {operation}: {explain(order, operation)}")
    out.table(
        f"actions ({len(actions)}: what its changes asked the shop to do)",
        ("action", "subject", "state", "tries", "last error"),
        [(a.kind, a.subject, a.state, a.tries, a.last_error or "") for a in actions],
    )
    return 0

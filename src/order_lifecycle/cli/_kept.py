"""``order-lifecycle kept``: the deliveries kept for an operator, listed or fed again."""

from __future__ import annotations

import argparse
from collections import Counter

from order_lifecycle.store import open_store
from order_lifecycle.webhooks import Delivery, Inbox

from ._output import Output

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``kept`` command's arguments."""
    kept = commands.add_parser(
        "kept",
        help="list the kept webhook deliveries, or feed them to the inbox again",
        description=(
            "list: every kept delivery (conflicting, unknown, invalid), oldest first. refeed: "
            "feed the whole ones to the inbox again (after a fix, or once the order they need "
            "arrived); summaries (refused unread: a bad signature, too large) are never refed."
        ),
    )
    kept.add_argument("action", choices=("list", "refeed"))
    kept.add_argument("--db", required=True, help="the store: a SQLite path or postgresql:// DSN")


def run(args: argparse.Namespace, out: Output) -> int:
    """List or refeed the kept deliveries; exit status 0."""
    if args.action == "list":
        with open_store(args.db, create=False, read_only=True) as store:
            kept = store.kept_deliveries()
            not_kept = store.deliveries_not_kept()
        out.table(
            f"{len(kept)} kept deliveries",
            ("id", "at", "event id", "order", "bytes", "reason"),
            [
                (
                    k.id,
                    f"{k.at:%Y-%m-%d %H:%M:%S}",
                    k.event_id or "",
                    k.order_id or "",
                    f"{k.size}" + (" (summary)" if k.summary else ""),
                    k.reason,
                )
                for k in kept
            ],
        )
        if not_kept:
            out.line(f"{not_kept} more counted but not kept: the store's cap was reached")
        return 0
    with open_store(args.db, create=False) as store:
        whole = [k for k in store.kept_deliveries() if not k.summary]
        # Kept whole means it passed the signature check when it arrived (or came to an
        # inbox without one): its bytes are fed as they are.
        results = Inbox(store, secrets=None).receive([Delivery(k.raw) for k in whole])
    outcomes = Counter(str(r.outcome) for r in results)
    out.table(
        f"{len(whole)} kept deliveries fed again",
        ("outcome", "deliveries"),
        sorted(outcomes.items()),
    )
    return 0

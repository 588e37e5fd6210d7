"""``order-lifecycle inbox``: the stored deliveries, for an operator: list, show, refeed, dismiss.

Every signed delivery is a row of the store's inbox, with its status (``pending``,
``applied``, ``waiting``, ``invalid``, ``unknown_order`` ...); ``refused`` lists the
summaries of the deliveries refused unread (a bad signature, a body too large), which are
never stored whole.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from order_lifecycle.store import StoredDelivery, open_store
from order_lifecycle.webhooks import DeliveryStatus

from ._output import Output, clean

__all__ = ["add_parser", "run"]

_STATUSES = [str(s) for s in DeliveryStatus]
# What needs an operator: the default of ``inbox list``.
_ATTENTION = ["waiting", "invalid", "unknown", "unknown_order"]


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 1 <= number <= 10_000:  # the stores' largest page
        raise argparse.ArgumentTypeError(f"{number}: give 1 to 10000")
    return number


def _seq(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a delivery number: {value!r}") from None
    if not 1 <= number < 2**63:
        raise argparse.ArgumentTypeError(f"{number}: a delivery number is 1 or more")
    return number


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``inbox`` command's arguments: list, show, refeed, dismiss and refused."""
    inbox = commands.add_parser(
        "inbox",
        help="the stored webhook deliveries: list, show, refeed or dismiss them",
        description=(
            "Every signed webhook delivery is stored in the inbox with its status; a "
            "reconciler applies the pending ones. list: deliveries by status, order or type "
            "(default: those needing an operator: waiting, invalid, unknown, unknown_order). "
            "show: one, with its body. refeed: pending again, for the next reconciler. "
            "dismiss: set aside. refused: summaries of deliveries refused unread."
        ),
    )
    verbs = inbox.add_subparsers(dest="verb", required=True)
    listed = verbs.add_parser("list", help="list stored deliveries, oldest first")
    _db(listed)
    listed.add_argument(
        "--status",
        action="append",
        choices=_STATUSES,
        metavar="STATUS",
        help=f"only in this status (repeatable): {', '.join(_STATUSES)}",
    )
    listed.add_argument("--all", action="store_true", help="every status")
    listed.add_argument("--order", metavar="ORDER_ID", help="only this order's")
    listed.add_argument("--type", metavar="TYPE", help="only of this event type")
    listed.add_argument("--limit", type=_count, default=100, help="at most this many (100)")
    listed.add_argument("--json", action="store_true", help="print one JSON array")
    for verb, text in (
        ("show", "one delivery, its body too"),
        ("refeed", "make a delivery pending again: the next reconciler takes it"),
        ("dismiss", "set a delivery aside: no reconciler tries it again"),
    ):
        one = verbs.add_parser(verb, help=text, description=text[:1].upper() + text[1:] + ".")
        one.add_argument("seq", type=_seq, metavar="SEQ", help="the delivery's number (list)")
        _db(one)
    refused = verbs.add_parser(
        "refused",
        help="the summaries of deliveries refused unread (bad signature, too large)",
    )
    _db(refused)


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, help="the store: a SQLite path or postgresql:// DSN")


def run(args: argparse.Namespace, out: Output) -> int:
    """Run the ``inbox`` verb; exit status 0."""
    if args.verb == "list":
        return _list(args, out)
    if args.verb == "refused":
        return _refused(args, out)
    if args.verb == "show":
        with open_store(args.db, create=False, read_only=True) as store:
            row = store.get_delivery(args.seq)
        _show(row, out)
        return 0
    with open_store(args.db, create=False) as store:
        if args.verb == "refeed":
            row = store.refeed_delivery(args.seq)
            out.line(f"delivery {row.seq} is pending again: the next reconciler takes it")
        else:
            row = store.dismiss_delivery(args.seq)
            out.line(f"delivery {row.seq} is dismissed: no reconciler tries it again")
    return 0


def _list(args: argparse.Namespace, out: Output) -> int:
    statuses = None if args.all else (args.status or _ATTENTION)
    with open_store(args.db, create=False, read_only=True) as store:
        found = store.list_deliveries(
            statuses=statuses, order_id=args.order, event_type=args.type, limit=args.limit
        )
    if args.json:
        out.console.file.write(json.dumps([_as_json(row) for row in found]) + "\n")
        return 0
    which = "every status" if statuses is None else ", ".join(statuses)
    out.table(
        f"{len(found)} deliveries ({which})",
        ("seq", "received", "event id", "type", "order", "status", "tries", "reason"),
        [
            (
                row.seq,
                f"{row.received_at:%Y-%m-%d %H:%M:%S}",
                row.event_id,
                row.event_type or "",
                row.order_id or "",
                row.status,
                row.attempts,
                row.reason or "",
            )
            for row in found
        ],
    )
    return 0


def _as_json(row: StoredDelivery) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "order_id": row.order_id,
        "created_time": row.created_time,
        "received_at": row.received_at.isoformat(),
        "status": str(row.status),
        "reason": row.reason,
        "attempts": row.attempts,
        "due_at": None if row.due_at is None else row.due_at.isoformat(),
        "bytes": len(row.body),
    }


def _show(row: StoredDelivery, out: Output) -> None:
    for name, value in _as_json(row).items():
        out.line(f"{name}: {'' if value is None else value}")
    out.line("body:")
    out.line(clean(row.body.decode("utf-8", "backslashreplace")))


def _refused(args: argparse.Namespace, out: Output) -> int:
    with open_store(args.db, create=False, read_only=True) as store:
        kept = store.kept_deliveries()
        not_kept = store.deliveries_not_kept()
    out.table(
        f"{len(kept)} deliveries refused unread (kept as summaries)",
        ("id", "at", "bytes", "sha256", "reason"),
        [(k.id, f"{k.at:%Y-%m-%d %H:%M:%S}", k.size, k.sha256[:16], k.reason) for k in kept],
    )
    if not_kept:
        out.line(f"{not_kept} more counted but not kept: the store's cap was reached")
    return 0

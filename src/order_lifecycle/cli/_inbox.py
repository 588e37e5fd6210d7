"""``order-lifecycle inbox``: the stored deliveries, for an operator: list, show, refeed, dismiss.

Every signed delivery is a row of the store's inbox, with its status (``pending``,
``applied``, ``waiting``, ``invalid``, ``unknown_order`` ...); ``refused`` lists the
summaries of the deliveries refused unread (a bad signature, a body too large), which are
never stored whole.
"""

from __future__ import annotations

import argparse
from typing import Any

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.store import Store, StoredDelivery, open_store
from order_lifecycle.webhooks import DeliveryStatus

from ._args import bounded, plain_id
from ._listing import add_page_arguments, page_document, print_page, since
from ._output import Output, advance, clean, fixed
from ._settings import add_db_argument, store_url

__all__ = ["add_parser", "run"]

_STATUSES = [str(s) for s in DeliveryStatus]
# What needs an operator: the default of ``inbox list``.
_ATTENTION = ["waiting", "invalid", "unknown", "unknown_order"]
_SEQ = bounded(1, 2**63 - 1)
_REFEED_PAGE = 1_000


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``inbox`` command's arguments: list, show, refeed, dismiss and refused."""
    inbox = commands.add_parser(
        "inbox",
        help="the stored webhook deliveries: list, show, refeed or dismiss them",
        description=(
            "Every signed webhook delivery is stored in the inbox with its status; a "
            "reconciler applies the pending ones. list: deliveries by status, order, type or "
            "arrival, a page at a time with the true total (default: those needing an "
            "operator: waiting, invalid, unknown, unknown_order). show: one, with its body. "
            "refeed: pending again, for the next reconciler (one, several, or every one a "
            "filter matches). dismiss: set one aside. refused: summaries of deliveries "
            "refused unread."
        ),
    )
    verbs = inbox.add_subparsers(dest="verb", required=True)
    listed = verbs.add_parser("list", help="list stored deliveries, oldest first, a page at a time")
    add_db_argument(listed)
    _filters(listed)
    listed.add_argument("--all", action="store_true", help="every status")
    add_page_arguments(
        listed,
        after=_SEQ,
        after_help="start after this delivery (the seq the page before said to go on from)",
        since_help=None,
    )
    shown = verbs.add_parser("show", help="one delivery, whole: its envelope, status and body")
    shown.add_argument("seq", type=_SEQ, metavar="SEQ", help="the delivery's number (list)")
    add_db_argument(shown)
    shown.add_argument("--json", action="store_true", help="print one JSON object")
    refeed = verbs.add_parser(
        "refeed",
        help="make deliveries pending again: the next reconciler takes them",
        description=(
            "Make deliveries pending again (tries from 0): those numbered, or every one "
            "--status (and the other filters) match, a thousand at a time, with a progress "
            "bar on a terminal. An applied one comes out duplicate: nothing is applied twice."
        ),
    )
    refeed.add_argument("seqs", type=_SEQ, nargs="*", metavar="SEQ", help="the deliveries")
    add_db_argument(refeed)
    _filters(refeed)
    dismiss = verbs.add_parser(
        "dismiss",
        help="set a delivery aside: no reconciler tries it again",
        description="Set a delivery aside: no reconciler tries it again.",
    )
    dismiss.add_argument("seq", type=_SEQ, metavar="SEQ", help="the delivery's number (list)")
    add_db_argument(dismiss)
    refused = verbs.add_parser(
        "refused",
        help="the summaries of deliveries refused unread (bad signature, too large)",
        description=(
            "The summaries of deliveries refused unread (a bad signature, a body too "
            "large): every one kept, within the store's cap on kept bytes."
        ),
    )
    add_db_argument(refused)
    refused.add_argument("--json", action="store_true", help="print one JSON document")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--status",
        action="append",
        choices=_STATUSES,
        metavar="STATUS",
        help=f"only in this status (repeatable): {', '.join(_STATUSES)}",
    )
    parser.add_argument("--order", type=plain_id, metavar="ORDER_ID", help="only this order's")
    parser.add_argument("--type", type=plain_id, metavar="TYPE", help="only of this event type")
    parser.add_argument(
        "--since",
        type=since,
        metavar="WHEN",
        help="only those received since: an ISO 8601 moment with its offset, or an age (2h, 7d)",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    """Run the ``inbox`` verb; exit status 0."""
    url = store_url(args.db)
    if args.verb == "list":
        return _list(url, args, out)
    if args.verb == "refused":
        return _refused(url, args, out)
    if args.verb == "show":
        with open_store(url, create=False, read_only=True) as store:
            row = store.get_delivery(args.seq)
        _show(row, args, out)
        return 0
    if args.verb == "refeed":
        return _refeed(url, args, out)
    with open_store(url, create=False) as store:
        row = store.dismiss_delivery(args.seq)
    out.line(f"delivery {row.seq} is dismissed: no reconciler tries it again")
    return 0


def _list(url: str, args: argparse.Namespace, out: Output) -> int:
    statuses = None if args.all else (args.status or _ATTENTION)
    with open_store(url, create=False, read_only=True) as store:
        page = store.page_deliveries(
            statuses=statuses,
            order_id=args.order,
            event_type=args.type,
            since=args.since,
            after=args.after,
            limit=args.limit,
        )
    if args.json:
        out.json(page_document("deliveries", page, [_as_json(row) for row in page.items]))
        return 0
    which = "every status" if statuses is None else ", ".join(statuses)
    print_page(
        out,
        f"deliveries ({which})",
        page,
        (fixed("seq"), fixed("received"), fixed("type"), "order", fixed("status"), "reason"),
        [
            (
                row.seq,
                f"{row.received_at:%Y-%m-%d %H:%M}",
                row.event_type or "",
                row.order_id or "",
                f"{row.status} ({row.attempts} tries)" if row.attempts else row.status,
                row.reason or "",
            )
            for row in page.items
        ],
    )
    return 0


def _refeed(url: str, args: argparse.Namespace, out: Output) -> int:
    filtered = any(f is not None for f in (args.status, args.order, args.type, args.since))
    if args.seqs and filtered:
        raise InvalidInput("refeed takes delivery numbers or filters, not both.")
    if not args.seqs and args.status is None:
        raise InvalidInput(
            "name the deliveries to refeed: their numbers, or --status (with --order, "
            "--type or --since to narrow it)."
        )
    with open_store(url, create=False) as store:
        if len(args.seqs) == 1:
            row = store.refeed_delivery(args.seqs[0])
            out.line(f"delivery {row.seq} is pending again: the next reconciler takes it")
            return 0
        fed = (
            store.refeed_deliveries(args.seqs) if args.seqs else _refeed_matching(store, args, out)
        )
    missing = sorted(set(args.seqs) - set(fed))
    out.line(f"{len(fed):,} deliveries are pending again: the next reconciler takes them")
    if missing:
        out.line(f"no delivery numbered {', '.join(map(str, missing))}")
    return 0


def _refeed_matching(store: Store, args: argparse.Namespace, out: Output) -> list[int]:
    """Every delivery the filters match fed again, a page at a time; their seqs."""
    filters: dict[str, Any] = {
        "statuses": args.status,
        "order_id": args.order,
        "event_type": args.type,
        "since": args.since,
    }
    page = store.page_deliveries(**filters, limit=_REFEED_PAGE)
    fed: list[int] = []
    with out.progress("refeeding", page.total, "deliveries") as bar:
        while page.items:
            fed += store.refeed_deliveries([row.seq for row in page.items])
            advance(bar, len(page))
            if page.next_after is None:
                break
            after = int(page.next_after)  # a delivery's seq
            page = store.page_deliveries(**filters, after=after, limit=_REFEED_PAGE)
    return fed


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


def _show(row: StoredDelivery, args: argparse.Namespace, out: Output) -> None:
    body = row.body.decode("utf-8", "backslashreplace")
    if args.json:
        out.json(_as_json(row) | {"body": body})
        return
    for name, value in _as_json(row).items():
        out.line(f"{name}: {'' if value is None else value}")
    out.line("body:")
    out.line(clean(body))


def _refused(url: str, args: argparse.Namespace, out: Output) -> int:
    with open_store(url, create=False, read_only=True) as store:
        kept = store.kept_deliveries()
        not_kept = store.deliveries_not_kept()
    if args.json:
        rows = [
            {
                "id": k.id,
                "at": k.at.isoformat(),
                "bytes": k.size,
                "sha256": k.sha256,
                "reason": k.reason,
            }
            for k in kept
        ]
        out.json({"total": len(kept), "not_kept": not_kept, "refused": rows})
        return 0
    out.table(
        f"{len(kept)} deliveries refused unread (kept as summaries)",
        ("id", "at", "bytes", "sha256", "reason"),
        [(k.id, f"{k.at:%Y-%m-%d %H:%M:%S}", k.size, k.sha256[:16], k.reason) for k in kept],
    )
    if not_kept:
        out.line(f"{not_kept} more counted but not kept: the store's cap was reached")
    return 0

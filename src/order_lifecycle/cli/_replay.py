"""``order-lifecycle replay``: a log of raw webhook deliveries fed through the inbox, inline.

One delivery per line: either the raw body itself, or a JSON object
``{"body": RAW_BODY_TEXT, "signature": HEADER, "received_at": ISO_TIME}`` (``signature``
and ``received_at`` optional) when the log kept the signature header. A signature's age
is judged against ``received_at`` (now, when absent). The log is streamed in batches,
each stored and reconciled at once (``Inbox.receive``: the inline mode); nothing but the
inbox reads a line's content, so any line comes out as a typed outcome. The secrets that
verify are ``--secret``'s, else ``ORDER_LIFECYCLE_SECRETS``'s; with neither, the inbox is
built ``verified_upstream`` (the log's signatures are trusted), which it logs.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import attrs

from order_lifecycle.store import open_store
from order_lifecycle.webhooks import DEFAULT_MAX_BODY, Delivery, DeliveryResult, Inbox

from ._output import Output, clean, reach
from ._secrets import ENVIRONMENT, verifying_secrets
from ._settings import add_db_argument, store_url

__all__ = ["add_parser", "run"]

_BATCH = 500
_FAILED = frozenset({"invalid", "waiting", "unknown_order"})
_READ = frozenset({"applied", "duplicate", "stale"})  # outcomes whose order is stored
# A wrapper line holds the body as JSON text: escapes may make it several times longer.
_LINE_LIMIT = 8 * DEFAULT_MAX_BODY


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``replay`` command's arguments."""
    replay = commands.add_parser(
        "replay",
        help="feed a log of webhook deliveries (JSON lines) through the inbox",
        description=(
            "Feed EVENTS.jsonl, one delivery per line (the raw body, or "
            '{"body": ..., "signature": ..., "received_at": ...}), through the inbox of the '
            "store, each batch stored and reconciled at once. Exit status 1 if any delivery "
            "was invalid or is left waiting (it cannot apply yet)."
        ),
    )
    replay.add_argument("events", type=Path, metavar="EVENTS.jsonl")
    add_db_argument(replay)
    replay.add_argument(
        "--secret",
        action="append",
        default=None,
        help=(
            f"a webhook signing secret (repeat during a rotation; visible in the process list: "
            f"prefer {ENVIRONMENT}); with neither, signatures are not checked"
        ),
    )
    replay.add_argument("--json", action="store_true", help="print one JSON object, nothing else")


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """The log's non-blank lines, numbered from 1; a line too long is cut, the rest skipped."""
    number = 0
    while True:
        line = stream.readline(_LINE_LIMIT + 1)
        if not line:
            return
        number += 1
        if len(line) > _LINE_LIMIT and not line.endswith(b"\n"):
            while (rest := stream.readline(_LINE_LIMIT)) and not rest.endswith(b"\n"):
                pass
        line = line.rstrip(b"\r\n")
        if line.strip():
            yield number, line


def _delivery(line: bytes) -> Delivery:
    """The delivery a line holds: a wrapper object's fields, or the line as the raw body."""
    try:
        wrapper: Any = json.loads(line)
    except (ValueError, RecursionError):
        return Delivery(line)
    if not isinstance(wrapper, dict) or not isinstance(wrapper.get("body"), str):
        return Delivery(line)
    body = wrapper["body"].encode("utf-8", "surrogatepass")
    signature = wrapper.get("signature")
    received = wrapper.get("received_at")
    at = None
    if isinstance(received, str):
        try:
            at = datetime.fromisoformat(received)
        except ValueError:
            at = None
        if at is not None and at.tzinfo is None:
            at = None
    return Delivery(body, signature if isinstance(signature, str) else None, received_at=at)


def _row(number: int, result: DeliveryResult) -> dict[str, Any]:
    return {
        "line": number,
        "id": result.event_id,
        "type": result.event_type,
        "outcome": str(result.outcome),
        "reason": result.reason,
    }


@attrs.define
class _Tally:
    """What the replay found so far: outcomes counted, rows kept, the orders touched."""

    every: bool  # keep every row (for --json), or only the failed ones
    rows: list[dict[str, Any]] = attrs.Factory(list)
    outcomes: Counter[str] = attrs.Factory(Counter)
    order_ids: dict[str, None] = attrs.Factory(dict)

    def feed(self, inbox: Inbox, batch: list[tuple[int, bytes]]) -> None:
        """Feed one batch of numbered lines to the inbox, and count what came of each."""
        if not batch:
            return
        results = inbox.receive([_delivery(line) for _, line in batch])
        for (number, _), result in zip(batch, results, strict=True):
            outcome = str(result.outcome)
            if self.every or outcome in _FAILED:
                self.rows.append(_row(number, result))
            self.outcomes[outcome] += 1
            if result.order_id and outcome in _READ:
                self.order_ids[result.order_id] = None


def run(args: argparse.Namespace, out: Output) -> int:
    """Replay the log; a summary (or one JSON object); exit status 1 on invalid or waiting."""
    tally = _Tally(every=args.json)
    secrets = verifying_secrets(args.secret)
    with args.events.open("rb") as stream, open_store(store_url(args.db)) as store:
        inbox = Inbox(store, secrets=secrets, verified_upstream=secrets is None)
        total = args.events.stat().st_size
        with out.progress("replaying", total, "bytes") as bar:
            batch: list[tuple[int, bytes]] = []
            for entry in _lines(stream):
                batch.append(entry)
                if len(batch) >= _BATCH:
                    tally.feed(inbox, batch)
                    reach(bar, stream.tell())  # the bytes read, blank and cut lines too
                    batch = []
            tally.feed(inbox, batch)
            reach(bar, stream.tell())
        orders = store.read_orders(list(tally.order_ids)) if args.json else {}
    failed = any(tally.outcomes[o] for o in _FAILED)
    if args.json:
        document = {
            "orders": {
                order_id: {
                    "state": str(order.state),
                    "fraud_state": None if order.fraud_state is None else str(order.fraud_state),
                    "charges": {c.id: str(c.state) for c in order.charges},
                }
                for order_id, (_, order) in sorted(orders.items())
            },
            "deliveries": tally.rows,
        }
        out.console.file.write(json.dumps(document) + "\n")
        return 1 if failed else 0
    out.table(
        f"{args.events}: {sum(tally.outcomes.values())} deliveries",
        ("outcome", "deliveries"),
        sorted(tally.outcomes.items()),
    )
    for row in tally.rows:
        out.line(f"line {row['line']}: {row['outcome']}: {clean(row['reason'])}")
    return 1 if failed else 0

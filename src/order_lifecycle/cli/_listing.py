"""What every list command shares: its filters and pages, its totals, its ``--json``, ages.

A list prints one page (``--limit``, 100 by default), says how many rows match in all
("showing 100 of 5,039 deliveries") and how to go on (``--after`` the last row's key: pages
are cut by key, so the next one costs the same however deep it is). With ``--json`` it
prints one document instead, of stable keys: ``total``, ``shown``, ``next_after`` and the
rows under the listing's name.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from order_lifecycle.store import Page

from ._args import bounded, shown
from ._output import Column, Output

__all__ = ["add_page_arguments", "age", "page_document", "print_page", "since"]

_AGE = re.compile(r"(\d{1,7})([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_MAX_AGE = timedelta(days=100 * 365)


def since(value: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> datetime:
    """``--since``: an ISO 8601 moment with its offset, or an age (``90s``, ``2h``, ``7d``)."""
    text = value.strip()
    found = _AGE.fullmatch(text)
    if found is not None:
        ago = timedelta(**{_UNITS[found[2]]: int(found[1])})
        return now() - min(ago, _MAX_AGE)
    try:
        moment = datetime.fromisoformat(text) if text.isascii() and len(text) <= 40 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"give an ISO 8601 moment with its offset (2026-04-01T00:00:00+00:00) or an age "
            f"(90s, 30m, 2h, 7d), not {shown(value)}"
        )
    return moment


def add_page_arguments(
    parser: argparse.ArgumentParser,
    *,
    after: Callable[[str], object],
    after_help: str,
    since_help: str | None,
) -> None:
    """``--limit``, ``--after``, ``--json`` (and ``--since``, where rows have a moment)."""
    if since_help is not None:
        parser.add_argument("--since", type=since, metavar="WHEN", help=since_help)
    parser.add_argument(
        "--limit",
        type=bounded(1, 10_000),
        default=100,
        help="rows on the page, 1 to 10000 (default 100)",
    )
    parser.add_argument("--after", type=after, metavar="KEY", help=after_help)
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document: total, shown, next_after and the rows",
    )


def print_page(
    out: Output,
    noun: str,
    page: Page[Any],
    columns: Sequence[str | Column],
    rows: Sequence[Sequence[object]],
) -> None:
    """The page as a table titled with its count and total, and how to go on."""
    total = len(page) if page.total is None else page.total
    out.table(f"showing {len(page):,} of {total:,} {noun}", columns, rows)
    if page.next_after is not None:
        out.line(f"next page: --after {shlex.quote(str(page.next_after))}")


def page_document(noun: str, page: Page[Any], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The page as ``--json`` prints it."""
    return {"total": page.total, "shown": len(page), "next_after": page.next_after, noun: rows}


def age(span: timedelta | None) -> str:
    """A duration as an operator reads it: ``45s``, ``12m 5s``, ``3h 20m``, ``4d 2h``."""
    if span is None:
        return ""
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    for big, big_unit, small, small_unit in (
        (days, "d", hours, "h"),
        (hours, "h", minutes, "m"),
        (minutes, "m", seconds, "s"),
    ):
        if big:
            return f"{big}{big_unit} {small}{small_unit}" if small else f"{big}{big_unit}"
    return f"{seconds}s"

"""``order-lifecycle status``: the store at a glance, in one screen, from a few aggregate queries.

Orders by state, deliveries by status and actions by state, each open status and state with
the age of its oldest; then what needs an operator, and the command that lists it. The
counts come from :meth:`~order_lifecycle.store.Store.overview`: indexed ``GROUP BY``
queries, as fast on a million rows as on a hundred.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from order_lifecycle.actions import ActionState
from order_lifecycle.lifecycle import OrderState
from order_lifecycle.store import Overview, Tally, open_store
from order_lifecycle.webhooks import DeliveryStatus

from ._listing import age
from ._output import Output
from ._settings import add_db_argument, store_url

__all__ = ["add_parser", "run"]

# The statuses and states whose oldest is worth its age: those still moving, or stuck.
_AGED_DELIVERIES = frozenset(
    {
        DeliveryStatus.PENDING,
        DeliveryStatus.WAITING,
        DeliveryStatus.UNKNOWN_ORDER,
        DeliveryStatus.INVALID,
    }
)
_AGED_ACTIONS = frozenset(
    {ActionState.PENDING, ActionState.CLAIMED, ActionState.FAILED, ActionState.DEAD}
)
# What needs an operator, and where to look.
_ATTENTION: tuple[tuple[str, Any, str], ...] = (
    ("deliveries", DeliveryStatus.WAITING, "inbox list --status waiting"),
    ("deliveries", DeliveryStatus.UNKNOWN_ORDER, "inbox list --status unknown_order"),
    ("deliveries", DeliveryStatus.INVALID, "inbox list --status invalid"),
    ("actions", ActionState.FAILED, "actions list --state failed"),
    ("actions", ActionState.DEAD, "actions list --state dead"),
)


_ONE = {"deliveries": "delivery", "actions": "action"}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``status`` command's arguments."""
    status = commands.add_parser(
        "status",
        help="the store at a glance: orders, deliveries and actions counted, the oldest waiting",
        description=(
            "Orders by state, deliveries by status and actions by state, with the age of the "
            "oldest of each that is open; then what needs an operator (read-only, from a few "
            "indexed queries)."
        ),
    )
    add_db_argument(status)
    status.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document: orders, deliveries, actions (count, oldest, age)",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    """Print the overview; exit status 0."""
    with open_store(store_url(args.db), create=False, read_only=True) as store:
        overview = store.overview()
        where = getattr(store, "location", type(store).__name__)
    now = datetime.now(UTC)
    if args.json:
        out.json(_document(where, now, overview))
        return 0
    out.line(f"{where}, at {now:%Y-%m-%d %H:%M:%S} UTC", style="bold")
    orders = [(s, f"{overview.orders[s]:,}") for s in OrderState if s in overview.orders]
    out.tables(
        [
            (
                f"orders: {sum(overview.orders.values()):,}",
                ("state", "count"),
                orders,
            ),
            (
                f"deliveries: {_total(overview.deliveries):,}",
                ("status", "count", "oldest"),
                _rows(overview.deliveries, list(DeliveryStatus), _AGED_DELIVERIES, now),
            ),
            (
                f"actions: {_total(overview.actions):,}",
                ("state", "count", "oldest"),
                _rows(overview.actions, list(ActionState), _AGED_ACTIONS, now),
            ),
        ]
    )
    out.line()
    _attention(overview, now, out)
    return 0


def _total(tallies: Mapping[Any, Tally]) -> int:
    return sum(t.count for t in tallies.values())


def _rows(
    tallies: Mapping[Any, Tally], order: list[Any], aged: frozenset[Any], now: datetime
) -> list[tuple[str, str, str]]:
    return [
        (str(key), f"{tallies[key].count:,}", age(tallies[key].age(now)) if key in aged else "")
        for key in order
        if key in tallies
    ]


def _attention(overview: Overview, now: datetime, out: Output) -> None:
    found = False
    for table, key, command in _ATTENTION:
        tally = getattr(overview, table).get(key)
        if tally is None:
            continue
        found = True
        noun = (
            table if tally.count != 1 else table.removesuffix("s").replace("deliverie", "delivery")
        )
        out.line(
            f"needs an operator: {tally.count:,} {key} {noun} (oldest {age(tally.age(now))}): "
            f"order-lifecycle {command}"
        )
    if not found:
        out.line("nothing needs an operator")


def _document(where: str, now: datetime, overview: Overview) -> dict[str, Any]:
    def tallies(found: Mapping[Any, Tally]) -> dict[str, Any]:
        document = {}
        for key, tally in found.items():
            span = tally.age(now)
            document[str(key)] = {
                "count": tally.count,
                "oldest": None if tally.oldest is None else tally.oldest.isoformat(),
                "age_seconds": None if span is None else span.total_seconds(),
            }
        return document

    return {
        "store": where,
        "at": now.isoformat(),
        "orders": {str(state): count for state, count in overview.orders.items()},
        "deliveries": tallies(overview.deliveries),
        "actions": tallies(overview.actions),
    }

"""An operator's reads in SQL: pages by key with their totals, and the overview's counts.

Every page is one read transaction: a ``COUNT(*)`` under the page's filters (when asked)
and the page itself, ``WHERE key > after ORDER BY key LIMIT n``, both served by the
indexes of migration 6 (deliveries by status then ``seq``: on SQLite, since version 9, the
pending ones by ``seq`` from their mark and, since version 10, the others by
``ol_inbox_status_by_status``, the index of the statuses' own table; actions by
``created_at`` then ``key``, and by state before them; orders by state then ``id``).
Actions are listed oldest first, so the key to go on from is an action's ``key`` whose
``created_at`` the page reads first (a row value ``(created_at, key) > (?, ?)``). The
overview is ``GROUP BY`` queries over the same indexes (the pending deliveries counted
apart), and one read of the oldest deliveries' arrival times.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from order_lifecycle._json import stamp
from order_lifecycle.actions import ActionState, StoredAction
from order_lifecycle.exceptions import StoreCorrupt, UnknownAction
from order_lifecycle.lifecycle import OrderState
from order_lifecycle.webhooks import DeliveryStatus, StoredDelivery

from ._inbox import stored_delivery
from ._inbox_sql import ORDER_KEY, SETTLED
from ._outbox import unstamp
from ._outbox_sql import COLUMNS
from ._outbox_sql import _action as action_row
from ._overview import BACKLOG_STATES, OPEN_DELIVERIES, Overview, Tally
from ._pages import ActionFilter, DeliveryFilter, OrderFilter, OrderSummary, Page

__all__ = ["SQLOperator"]

Row = tuple[Any, ...]
T = TypeVar("T")

_ACTIONS = (
    f"SELECT {', '.join(f'a.{c}' for c in COLUMNS)}, o.state "  # noqa: S608 (constants only)
    "FROM ol_actions a LEFT JOIN ol_orders o ON o.id = a.order_id"
)
_ORDERS = "SELECT id, state, fraud_state, checkout_id, version FROM ol_orders"


def _marks(count: int) -> str:
    return ", ".join("?" * count)


class _Where:
    """The conditions of one query and their parameters, built up in turn."""

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.params: list[object] = []

    def add(self, condition: str, *params: object) -> None:
        self.conditions.append(condition)
        self.params.extend(params)

    def among(self, column: str, values: Sequence[object] | None) -> None:
        """``column IN (values)``, when values are given (none: no row passes)."""
        if values is not None:
            self.add(f"{column} IN ({_marks(len(values))})" if values else "0 = 1", *values)

    def equal(self, column: str, value: object) -> None:
        if value is not None:
            self.add(f"{column} = ?", value)

    @property
    def clause(self) -> str:
        return f" WHERE {' AND '.join(self.conditions)}" if self.conditions else ""


class SQLOperator:
    """The operator's half of :class:`~order_lifecycle.store._sql.SQLStore`."""

    _by_order: str
    """What a read of one order's deliveries names to be planned by ``ol_inbox_by_key``."""
    _pending: str
    """The condition pending rows meet (``SQLInbox``'s: SQLite's counts from a mark)."""
    _settled_rows: str
    """The table a settled row's status and ``seq`` are read from (``SQLInbox``'s)."""
    _settled_first = ""
    """What a page of settled rows only reads, in ``seq`` order from the index of statuses.

    SQLite's: its statuses are rows of their own, and joined to ``ol_inbox`` the other way
    round each page sorted every row of its status. None: :meth:`_rows`, as any page.
    """
    _either = "({settled} OR {pending})"
    """Rows that meet either condition, as the dialect plans them by an index each.

    SQLite's reads each part apart and joins their ``seq`` s: as one ``OR`` it scanned the
    whole inbox (a range of rowids and a partial index are not both read for one ``OR``).
    """

    @abstractmethod
    def _rows(self, hint: str = "") -> str: ...

    @abstractmethod
    def _select(self, rows: str | None = None) -> str: ...

    @abstractmethod
    def _tallies(self, statuses: Sequence[str] | None = None) -> list[Row]: ...

    @abstractmethod
    def _transaction(self, *, write: bool) -> AbstractContextManager[None]: ...

    @abstractmethod
    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...

    def _among_statuses(self, query: _Where, statuses: list[str]) -> None:
        """Rows in ``statuses``: the pending ones as the dialect finds them, the others by status.

        Each part names what SQLite needs to read it from an index or a range: the mark's
        condition for pending rows, ``status <> 'pending'`` for the index of the others.
        """
        others = [s for s in statuses if s != "pending"]
        settled = f"{SETTLED} AND status IN ({_marks(len(others))})"
        if len(others) == len(statuses):
            query.add(settled if others else "0 = 1", *others)
        elif others:
            query.add(self._either.format(settled=settled, pending=self._pending), *others)
        else:
            query.add(self._pending)

    def _count(self, table: str, where: _Where) -> int:
        (count,) = self._query(f"SELECT COUNT(*) FROM {table}{where.clause}", where.params)[0]  # noqa: S608 (constant names)
        return int(count)

    # --- pages ---------------------------------------------------------------------------------

    def _page_deliveries(
        self, where: DeliveryFilter, after: int | None, limit: int, *, total: bool
    ) -> Page[StoredDelivery]:
        query = _Where()
        if where.statuses is not None:
            self._among_statuses(query, [s.value for s in where.statuses])
        query.equal(ORDER_KEY, where.order_id)  # read from ol_inbox_by_key
        query.equal("event_type", where.event_type)
        if where.since is not None:
            query.add("received_at >= ?", stamp(where.since))
        # One order's rows are few: read by the key (a sort of them), never by status.
        hint = "" if where.order_id is None else self._by_order
        source = self._rows(hint)
        # No status asked for: counted without the statuses (SQLite: no join, a row each).
        counted_in = source if where.statuses is not None else f"ol_inbox{hint}"
        if (
            where.order_id is None
            and where.statuses is not None
            and DeliveryStatus.PENDING not in where.statuses
        ):
            source = self._settled_first or source
            if where.event_type is None and where.since is None:
                counted_in = self._settled_rows  # counted from the index of statuses alone
        with self._transaction(write=False):
            counted = self._count(counted_in, query) if total else None
            if after is not None:
                query.add("seq > ?", after)
            rows = self._query(
                f"{self._select(source)}{query.clause} ORDER BY seq LIMIT ?",
                [*query.params, limit + 1],
            )
        found = [stored_delivery(row) for row in rows]
        return _page(found, limit, counted, lambda row: row.seq)

    def _page_actions(
        self, where: ActionFilter, after: str | None, limit: int, *, total: bool
    ) -> Page[StoredAction]:
        query = _Where()
        query.among("a.state", None if where.states is None else [str(s) for s in where.states])
        query.among("a.kind", None if where.kinds is None else [str(k) for k in where.kinds])
        query.equal("a.order_id", where.order_id)
        if where.since is not None:
            query.add("a.created_at >= ?", stamp(where.since))
        with self._transaction(write=False):
            counted = self._count("ol_actions a", query) if total else None
            if after is not None:
                found = self._query("SELECT created_at FROM ol_actions WHERE key = ?", [after])
                if not found:
                    raise UnknownAction(after)
                query.add("(a.created_at, a.key) > (?, ?)", found[0][0], after)
            rows = self._query(
                f"{_ACTIONS}{query.clause} ORDER BY a.created_at, a.key LIMIT ?",
                [*query.params, limit + 1],
            )
        return _page([action_row(row) for row in rows], limit, counted, lambda a: a.key)

    def _get_action(self, key: str) -> StoredAction:
        with self._transaction(write=False):
            rows = self._query(f"{_ACTIONS} WHERE a.key = ?", [key])
        if not rows:
            raise UnknownAction(key)
        return action_row(rows[0])

    def _page_orders(
        self, where: OrderFilter, after: str | None, limit: int, *, total: bool
    ) -> Page[OrderSummary]:
        query = _Where()
        query.among("state", None if where.states is None else [s.value for s in where.states])
        with self._transaction(write=False):
            counted = self._count("ol_orders", query) if total else None
            if after is not None:
                query.add("id > ?", after)
            rows = self._query(
                f"{_ORDERS}{query.clause} ORDER BY id LIMIT ?",
                [*query.params, limit + 1],
            )
        return _page([_summary(row) for row in rows], limit, counted, lambda o: o.id)

    # --- the overview --------------------------------------------------------------------------

    def _overview(self, *, open_only: bool) -> Overview:
        states = _Where()
        if open_only:
            states.among("state", [s.value for s in ActionState if s in BACKLOG_STATES])
        with self._transaction(write=False):
            orders = (
                []
                if open_only
                else self._query("SELECT state, COUNT(*) FROM ol_orders GROUP BY state")
            )
            inbox = self._tallies([s.value for s in OPEN_DELIVERIES] if open_only else None)
            firsts = [row[2] for row in inbox]
            arrived: dict[int, str] = dict(
                self._query(
                    f"SELECT seq, received_at FROM ol_inbox WHERE seq IN ({_marks(len(firsts))})",  # noqa: S608 (marks only)
                    firsts,
                )
                if firsts
                else []
            )
            outbox = self._query(
                f"SELECT state, COUNT(*), MIN(created_at) FROM ol_actions{states.clause} "  # noqa: S608 (constant names)
                "GROUP BY state",
                states.params,
            )
        try:
            return Overview(
                {OrderState(state): int(count) for state, count in orders},
                {
                    DeliveryStatus(status): Tally(int(count), unstamp(arrived[first]))
                    for status, count, first in inbox
                },
                {
                    ActionState(state): Tally(int(count), unstamp(oldest))
                    for state, count, oldest in outbox
                },
            )
        except (KeyError, TypeError, ValueError) as problem:
            raise StoreCorrupt(
                f"the store's counts hold what it never writes ({problem!r}): damaged."
            ) from None


def _page(found: list[T], limit: int, total: int | None, key: Callable[[T], int | str]) -> Page[T]:
    """A page of ``found`` (read ``limit + 1``: one more says another page follows)."""
    shown = tuple(found[:limit])
    return Page(shown, total, key(shown[-1]) if len(found) > limit else None)


def _summary(row: Row) -> OrderSummary:
    order_id, state, fraud_state, checkout_id, version = row
    try:
        return OrderSummary(order_id, OrderState(state), fraud_state, checkout_id, int(version))
    except (TypeError, ValueError) as problem:
        raise StoreCorrupt(f"ol_orders row {order_id!r} cannot be read back: {problem}") from None

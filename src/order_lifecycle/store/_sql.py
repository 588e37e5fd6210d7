"""The database stores' shared half: the contract in SQL that SQLite and PostgreSQL both run.

A subclass supplies a connection: transactions (:meth:`SQLStore._transaction`, which also
turns driver errors into the ``StoreError`` family), statements with ``?`` placeholders,
and a few dialect details. Everything else is here, once.

The protocol of an update: a read transaction loads the record and its version; the
change runs on a copy with no transaction open; a write transaction then records the
event id (unique key), updates the record ``WHERE id = ? AND version = ?`` (and, for a
checkout, ``AND state = ?``: the claim), and appends the new history rows. Zero rows
updated means another writer won: nothing is written.

A batch (:meth:`SQLStore.commit_changes`) sends each kind of write once for all its
changes (``executemany``, which psycopg pipelines): new orders, conditional updates, event
ids, history rows. Every statement must change one row per change; when one changes
fewer, the database having seen a rival's commit, the transaction rolls back and the batch
is written again change by change, each under a savepoint, to find which ones lost.
"""

from __future__ import annotations

import functools
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, TypeVar

import attrs

from order_lifecycle.actions import Derived
from order_lifecycle.exceptions import (
    DuplicateEvent,
    MigrationNeeded,
    OrderExists,
    SchemaTooNew,
    StaleOrder,
    StoreCorrupt,
    StoreUnavailable,
    UnknownOrder,
)
from order_lifecycle.lifecycle import ORDER_SPEC
from order_lifecycle.models import Checkout, Order

from ._backlog import SQLBacklog
from ._base import SPEC_VERSIONS, KeptDelivery, Store, kept_before, kept_delivery
from ._batch import (
    COMMITTED,
    ChangeOutcome,
    ChangeResult,
    CheckedKeep,
    DeliveryToKeep,
    OrderChange,
    check_keep,
    checked_changes,
    checked_keeps,
    earlier_failed,
)
from ._cache import OrderCache
from ._check import StoredHistory
from ._codec import (
    CHECKOUT,
    ORDER,
    STEP_FIELDS,
    Kind,
    join,
    split,
    split_head,
    step_data,
    step_rows,
    stored_bytes,
    stored_text,
    stored_time,
)
from ._inbox_sql import SQLInbox
from ._kept import check_cap
from ._migrate import upgrade
from ._operator_sql import SQLOperator
from ._outbox_sql import SQLOutbox
from ._require import (
    new_steps,
    now,
    require_id,
    require_ids,
    require_optional_id,
    require_order,
    require_storable,
)
from ._schema import SCHEMA_VERSION, Dialect

__all__ = ["NotAllowed", "SQLStore", "holding"]

T = TypeVar("T")
Row = tuple[Any, ...]


@attrs.frozen
class _Layout:
    """Where one kind of record lives: its table, its steps' table and their key."""

    kind: Kind
    name: str
    table: str
    steps: str
    key: str

    @property
    def columns(self) -> tuple[str, ...]:
        return ("id", *self.kind.columns, "body")

    def select(self) -> str:
        return f"SELECT version, {', '.join(self.columns)} FROM {self.table} WHERE id = ?"  # noqa: S608 (constant names)

    def select_many(self, count: int) -> str:
        marks = ", ".join("?" * count)
        return (
            f"SELECT version, {', '.join(self.columns)} FROM {self.table} "  # noqa: S608
            f"WHERE id IN ({marks})"
        )

    def select_steps_many(self, count: int) -> str:
        names = ", ".join(f'"{f}"' for f in STEP_FIELDS)
        marks = ", ".join("?" * count)
        return (
            f"SELECT {self.key}, {names} FROM {self.steps} "  # noqa: S608
            f"WHERE {self.key} IN ({marks}) ORDER BY {self.key}, seq"
        )

    def select_steps(self) -> str:
        names = ", ".join(f'"{f}"' for f in STEP_FIELDS)
        return f"SELECT {names} FROM {self.steps} WHERE {self.key} = ? ORDER BY seq"  # noqa: S608

    def insert(self) -> str:
        marks = ", ".join("?" for _ in self.columns)
        return (
            f"INSERT INTO {self.table} (version, {', '.join(self.columns)}) "  # noqa: S608
            f"VALUES (1, {marks}) ON CONFLICT (id) DO NOTHING"
        )

    def update(self) -> str:
        sets = ", ".join(f"{c} = ?" for c in self.columns[1:])
        return (
            f"UPDATE {self.table} SET version = version + 1, {sets} "  # noqa: S608
            "WHERE id = ? AND version = ? AND state = ?"
        )

    def insert_at(self) -> str:
        """:meth:`insert` with the version a parameter (first of all)."""
        return self.insert().replace("VALUES (1, ", "VALUES (?, ", 1)

    def update_to(self) -> str:
        """:meth:`update` with the new version a parameter (first of all)."""
        return self.update().replace("version = version + 1", "version = ?", 1)

    def insert_steps(self) -> str:
        names = ", ".join(f'"{f}"' for f in STEP_FIELDS)
        marks = ", ".join("?" for _ in STEP_FIELDS)
        return (
            f"INSERT INTO {self.steps} ({self.key}, seq, spec_version, {names}) "  # noqa: S608
            f"VALUES (?, ?, ?, {marks})"
        )


ORDERS = _Layout(ORDER, "order", "ol_orders", "ol_order_steps", "order_id")
CHECKOUTS = _Layout(CHECKOUT, "checkout", "ol_checkouts", "ol_checkout_steps", "checkout_id")


class _LostRace(Exception):
    """A conditional write matched no row: another writer committed first."""


class _Fallback(Exception):
    """A batch written at once met a lost race or a refusal: it is done change by change."""


_RECORD_EVENT = (
    "INSERT INTO ol_applied_events (event_id, order_id, applied_at) VALUES (?, ?, ?) "
    "ON CONFLICT (event_id) DO NOTHING"
)


_SELECT_KEPT = (
    "SELECT id, raw, reason, kept_at, event_id, order_id, size, sha256 FROM ol_kept_deliveries"
)
# Its row is made by the first redelivery (a row of data, not of the schema).
_COUNT_REDELIVERY = (
    "INSERT INTO ol_counters (name, value) VALUES ('redelivered', 1) "
    "ON CONFLICT (name) DO UPDATE SET value = ol_counters.value + 1"
)


# Ids per ``IN (...)`` list: far below every database's limit on parameters.
_CHUNK = 500


def _chains(changes: Sequence[OrderChange]) -> list[list[OrderChange]]:
    """``changes`` in turn, cut where one is not made on the order the one before gave."""
    chains: list[list[OrderChange]] = []
    for change in changes:
        last = chains[-1][-1] if chains else None
        if last is not None and change.base is last.order and change.version == last.version + 1:
            chains[-1].append(change)
        else:
            chains.append([change])
    return chains


def _unheld(
    changes: Sequence[OrderChange], derived: Sequence[Derived], fresh: set[str]
) -> frozenset[str]:
    """The keys ``derived`` cancels that no row can hold: of an order this write inserts.

    Such an order has no action but those this write creates (an action names a stored
    order, and orders are never deleted): cancelling any other key of it changes nothing.
    ``derived[i]`` is ``changes[i]``'s (any after them, the deliveries' own, cancel none).
    """
    if not fresh:
        return frozenset()
    created = {action.key for d in derived for action in d.created}
    return frozenset(
        key
        for change, d in zip(changes, derived, strict=False)
        if change.order.id in fresh
        for key in d.cancelled
        if key not in created
    )


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


@contextmanager
def holding(lock: threading.Lock, wait: float | None, where: str) -> Iterator[None]:
    """``lock`` held, waited for ``wait`` seconds at most (``None``: as long as it takes).

    Raises:
        StoreUnavailable: another call held the store's connection for longer.

    """
    if not lock.acquire(timeout=-1 if wait is None else wait):
        raise StoreUnavailable(
            f"{where} was busy: another call held the store's connection for more than {wait:g} s."
        )
    try:
        yield
    finally:
        lock.release()


class NotAllowed(StoreUnavailable):
    """The database refused a statement to this connection (no privilege, a read-only file).

    Raised by a subclass's error translation; when a migration meets it, opening says which
    command to run instead (:class:`MigrationNeeded`).
    """


class SQLStore(SQLInbox, SQLOutbox, SQLBacklog, SQLOperator, Store):
    """A store over one database connection; subclasses bring the connection."""

    dialect: Dialect

    found_version: int | None = None
    """The schema version the tables were at when the store was opened (``None``: none)."""

    location: str
    """Where the store is, for messages: ``the SQLite file shop.db``, ``PostgreSQL at ...``."""

    _data_errors: tuple[type[Exception], ...] = ()
    """The driver's errors that refuse one statement's data, not the connection."""

    # --- what a subclass supplies --------------------------------------------------------------

    @abstractmethod
    def _transaction(
        self, *, write: bool, wait: float | None = None
    ) -> AbstractContextManager[None]:
        """A transaction on the connection: committed on exit, rolled back on an error.

        ``write`` transactions take the database's write lock at once where it has one
        (SQLite's ``BEGIN IMMEDIATE``); read transactions see one snapshot. Driver errors
        leave it as ``StoreError``s. ``wait`` bounds (in seconds) the wait for the store's
        connection, and for a new one, where the store makes one: :func:`holding`.
        """

    @abstractmethod
    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run a statement with ``?`` placeholders inside a transaction; its rows."""

    @abstractmethod
    def _write(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run a statement with ``?`` placeholders inside a transaction; rows changed."""

    def _write_many(self, sql: str, rows: Sequence[Sequence[object]]) -> int:
        """Run a statement once per row of parameters, inside a transaction; rows changed."""
        return sum(self._write(sql, params) for params in rows)

    @abstractmethod
    def _table_exists(self, name: str) -> bool:
        """Whether the table is in the store's database (or schema)."""

    def _lock_schema(self) -> None:
        """Serialize schema creation between processes, inside a write transaction."""

    def _prepare_writes(self) -> None:
        """Settings applied once the schema is known not to be newer (never before)."""

    # --- schema ----------------------------------------------------------------------------------

    def _open_schema(self, *, create: bool, migrate: bool, db: str) -> int | None:
        """Check the schema version; create the tables, or migrate them, only when asked.

        Opening never changes the tables otherwise: with none there and ``create`` false,
        or older ones and ``migrate`` false, it raises :class:`MigrationNeeded`, naming
        the command to run (``db`` is what to pass it as ``--db``). Returns the version
        found (``None``: there were no tables).

        Raises:
            SchemaTooNew: a newer order-lifecycle set the database up; nothing written.
            MigrationNeeded: the tables are missing or older and may not be changed, or
                this connection may not change them; nothing written.

        """
        with self._transaction(write=False):
            found = self._schema_version()
        if found is not None and found > SCHEMA_VERSION:
            raise SchemaTooNew(found, SCHEMA_VERSION)
        allowed = create if found is None else migrate
        if found != SCHEMA_VERSION and not allowed:
            raise MigrationNeeded(self.location, found, SCHEMA_VERSION, db=db)
        self._prepare_writes()
        if found == SCHEMA_VERSION:
            return found
        try:
            with self._transaction(write=True):
                self._lock_schema()
                now_found = self._schema_version()  # another process may have done it
                if now_found is not None and now_found > SCHEMA_VERSION:
                    raise SchemaTooNew(now_found, SCHEMA_VERSION)
                for statement in upgrade(self.dialect, now_found):
                    self._write(statement)
        except NotAllowed as error:
            raise MigrationNeeded(
                self.location, found, SCHEMA_VERSION, db=db, reason=str(error)
            ) from None
        return found

    def _ping(self, timeout: float) -> int | None:
        with self._transaction(write=False, wait=timeout):
            self._bound_statements(timeout)
            return self._schema_version()

    def _bound_statements(self, seconds: float) -> None:
        """Inside a transaction: its statements end after ``seconds`` (where the server can)."""

    def _schema_version(self) -> int | None:
        if not self._table_exists("ol_schema"):
            return None
        rows = self._query("SELECT version FROM ol_schema")
        if len(rows) != 1 or not isinstance(rows[0][0], int):
            raise StoreCorrupt(f"ol_schema must hold one version number, it holds {rows!r}.")
        version: int = rows[0][0]
        return version

    # --- records ---------------------------------------------------------------------------------

    def _load(self, layout: _Layout, record_id: str) -> tuple[int, Order | Checkout] | None:
        rows = self._query(layout.select(), [record_id])
        if not rows:
            return None
        version, *values = rows[0]
        steps = self._query(layout.select_steps(), [record_id])
        columns = dict(zip(layout.columns[:-1], values[:-1], strict=True))
        return version, join(layout.kind, columns, values[-1], steps)

    def _insert(self, layout: _Layout, record: Order | Checkout) -> Row | None:
        """Insert a new record with its whole history; its row, or ``None`` if not new."""
        columns, body, steps = split(layout.kind, record)
        inserted = self._write(layout.insert(), [*columns.values(), body])
        if not inserted:
            return None
        self._insert_steps(layout, record.id, 0, steps)
        return (1, *columns.values(), body)

    def _insert_steps(
        self,
        layout: _Layout,
        record_id: str,
        first: int,
        steps: Sequence[Sequence[Any]],
        into: list[list[Any]] | None = None,
    ) -> None:
        """Write a record's steps numbered from ``first``; or add their rows to ``into``."""
        version = SPEC_VERSIONS[layout.name]
        rows = [[record_id, seq, version, *step] for seq, step in enumerate(steps, start=first)]
        if into is not None:
            into.extend(rows)
        elif rows:
            self._write_many(layout.insert_steps(), rows)

    def _update(
        self, layout: _Layout, stored: Order | Checkout, version: int, work: Order | Checkout
    ) -> Row:
        """Write ``work`` over ``stored`` where it is still at ``version``; its new row.

        Only the record's own row and the appended steps are encoded and written: stored
        history rows never change.

        Raises:
            _LostRace: another writer committed first (nothing written).

        """
        columns, body = split_head(layout.kind, work)
        values = list(columns.values())[1:]
        changed = self._write(layout.update(), [*values, body, work.id, version, str(stored.state)])
        if not changed:
            raise _LostRace(f"{layout.name} {work.id!r} changed after version {version} was read")
        known = len(stored.history)
        self._insert_steps(layout, work.id, known, step_rows(work.history[known:]))
        return (version + 1, *columns.values(), body)

    @functools.cached_property
    def _orders_cache(self) -> OrderCache:
        """The store's identity map of decoded orders (see :mod:`._cache`)."""
        return OrderCache()

    # --- orders ----------------------------------------------------------------------------------

    def create_order(self, order: Order, *, event_id: str | None = None) -> None:
        """Store a new order; see :meth:`Store.create_order`."""
        order = require_order(order)
        event_id = require_optional_id(event_id, "event_id")
        require_storable(ORDER_SPEC, order)
        derived = self._derive(None, order)
        with self._transaction(write=True):
            self._refuse_duplicate(event_id)
            row = self._insert(ORDERS, order)
            if row is None:
                raise OrderExists(order.id)
            self._record_event(event_id, order.id)
            self._write_actions([derived])
        self._orders_cache.put(order.id, row, order)

    def _refuse_duplicate(self, event_id: str | None) -> None:
        if event_id is not None:
            order_id = self._order_of_event(event_id)
            if order_id is not None:
                raise DuplicateEvent(event_id, order_id)

    def _order_of_event(self, event_id: str) -> str | None:
        """Inside a transaction: the order an event was applied to, if any."""
        rows = self._query("SELECT order_id FROM ol_applied_events WHERE event_id = ?", [event_id])
        return str(rows[0][0]) if rows else None

    def _record_event(self, event_id: str | None, order_id: str) -> None:
        if event_id is None:
            return
        inserted = self._write(
            "INSERT INTO ol_applied_events (event_id, order_id, applied_at) VALUES (?, ?, ?) "
            "ON CONFLICT (event_id) DO NOTHING",
            [event_id, order_id, now().isoformat()],
        )
        if not inserted:  # a racing writer recorded it after this one looked
            self._refuse_duplicate(event_id)
            raise DuplicateEvent(event_id, None)  # pragma: no cover (it was just seen)

    def get_order(self, order_id: str) -> Order:
        """The order as last committed, as an independent copy."""
        return self._load_order(require_id(order_id, "order_id"))[1]

    def _load_order(self, order_id: str, event_id: str | None = None) -> tuple[int, Order]:
        with self._transaction(write=False):
            self._refuse_duplicate(event_id)
            loaded = self._read_order(order_id)
        if loaded is None:
            raise UnknownOrder(order_id)
        return loaded

    def _read_order(self, order_id: str) -> tuple[int, Order] | None:
        """Inside a transaction: the order's version and the order (a copy of its own)."""
        rows = self._query(ORDERS.select(), [order_id])
        if not rows:
            self._orders_cache.drop(order_id)
            return None
        return self._decoded(rows[0], lambda: self._query(ORDERS.select_steps(), [order_id]))

    def _decoded(self, row: Row, steps: Callable[[], list[Row]]) -> tuple[int, Order]:
        """The order ``row`` holds (the caller's own): the cache's copy, else decoded and cached."""
        version, order_id, *values = row
        if not isinstance(version, int) or isinstance(version, bool):
            raise StoreCorrupt(
                f"ol_orders row {order_id!r}, column version holds {version!r}, not a number."
            )
        order = self._orders_cache.get(order_id, row)
        if order is None:
            columns = dict(zip(ORDERS.columns[:-1], [order_id, *values[:-1]], strict=True))
            decoded = join(ORDER, columns, values[-1], steps())
            assert isinstance(decoded, Order)  # noqa: S101 (ORDER decodes orders)
            order = self._orders_cache.keep(order_id, row, decoded)
        return version, order

    def update_order(
        self, order_id: str, change: Callable[[Order], T], *, event_id: str | None = None
    ) -> T:
        """Run ``change`` on a copy and commit it; see :meth:`Store.update_order`."""
        order_id = require_id(order_id, "order_id")
        event_id = require_optional_id(event_id, "event_id")
        version, stored = self._load_order(order_id, event_id)
        work = stored.copy()  # ``stored`` is the base the change is checked against
        result = change(work)
        new_steps(ORDER_SPEC, stored, work)
        if event_id is None and work == stored:
            return result
        derived = self._derive(stored, work)
        with self._transaction(write=True):
            self._record_event(event_id, order_id)
            try:
                row = self._update(ORDERS, stored, version, work)
            except _LostRace:
                raise StaleOrder(order_id, version) from None
            self._write_actions([derived])
        # Never ``work`` itself: ``change`` may have kept a reference to it (see OrderCache).
        self._orders_cache.put(order_id, row, work)
        return result

    # --- batches ---------------------------------------------------------------------------------

    def read_orders(self, order_ids: Iterable[str]) -> dict[str, tuple[int, Order]]:
        """The stored orders among ``order_ids``; see :meth:`Store.read_orders`."""
        wanted = require_ids(order_ids, "order_ids")
        with self._transaction(write=False):
            return self._read_orders_in(wanted)

    def _read_orders_in(self, wanted: Sequence[str]) -> dict[str, tuple[int, Order]]:
        """Inside a transaction: the stored orders among ``wanted``, copies, with versions."""
        found: dict[str, tuple[int, Order]] = {}
        for chunk in _chunks(wanted):
            rows = self._query(ORDERS.select_many(len(chunk)), chunk)
            missing = [row[1] for row in rows if not self._orders_cache.has(row[1], row)]
            steps: dict[str, list[Row]] = {key: [] for key in missing}
            if missing:
                for key, *step in self._query(ORDERS.select_steps_many(len(missing)), missing):
                    steps[key].append(tuple(step))
            for row in rows:
                load = functools.partial(self._steps_of, steps, row[1])
                found[row[1]] = self._decoded(row, load)
        return found

    def _steps_of(self, steps: dict[str, list[Row]], order_id: str) -> list[Row]:
        """An order's step rows: read with the batch's, or (evicted meanwhile) now."""
        if order_id in steps:
            return steps[order_id]
        return self._query(ORDERS.select_steps(), [order_id])  # pragma: no cover (a race)

    def events_applied(self, event_ids: Iterable[str]) -> dict[str, str]:
        """Which of ``event_ids`` were applied; see :meth:`Store.events_applied`."""
        wanted = require_ids(event_ids, "event_ids")
        with self._transaction(write=False):
            return self._events_applied_in(wanted)

    def _events_applied_in(self, wanted: Sequence[str]) -> dict[str, str]:
        """Inside a transaction: which of ``wanted`` were applied, with their orders' ids."""
        found: dict[str, str] = {}
        for chunk in _chunks(wanted):
            marks = ", ".join("?" * len(chunk))
            rows = self._query(
                "SELECT event_id, order_id FROM ol_applied_events "  # noqa: S608 (marks only)
                f"WHERE event_id IN ({marks})",
                chunk,
            )
            found.update((str(event), str(order)) for event, order in rows)
        return found

    def commit_changes(
        self, changes: Sequence[OrderChange], keep: Sequence[DeliveryToKeep] = ()
    ) -> list[ChangeResult]:
        """Commit a batch of changes; see :meth:`Store.commit_changes`."""
        checked = checked_changes(changes)
        keeps = checked_keeps(keep)
        cap = check_cap(self.max_kept_bytes)
        if not checked and not keeps:
            return []
        # Rows are locked in order of their ids (each order's changes still in turn), so
        # two batches sharing orders wait for each other instead of deadlocking.
        turn = sorted(range(len(checked)), key=lambda index: checked[index][0].order_id)
        # Derived once, outside the transaction (the shop's classifier may run), for both ways.
        derived = [
            Derived() if refused else self._derive(change.base, change.order)
            for change, refused in checked
        ]
        if not any(refusal for _, refusal in checked):
            try:
                written = self._commit_at_once(
                    [checked[i][0] for i in turn], [derived[i] for i in turn], keeps, cap
                )
            except _Fallback:
                pass  # a lost race or a refusal: each change under its own savepoint
            else:
                self._remember(written)
                return [COMMITTED] * len(checked)
        results: list[ChangeResult] = [COMMITTED] * len(checked)
        written = []
        failed: set[str] = set()
        with self._transaction(write=True):
            for index in turn:
                change, refusal = checked[index]
                result = refusal or self._commit_change(change, failed, written, derived[index])
                if not result.committed:
                    failed.add(change.order_id)
                results[index] = result
            if not failed:
                for delivery in keeps:
                    self._keep(delivery, cap)
        self._remember(written)
        return results

    def _remember(self, written: Sequence[tuple[Row, Order]]) -> None:
        for row, order in written:
            self._orders_cache.put(order.id, row, order)

    def _commit_orders(
        self,
        changes: Sequence[OrderChange],
        derived: Sequence[Derived],
        after: Callable[[], bool],
    ) -> list[tuple[Row, Order]] | None:
        """:meth:`_commit_at_once`, ``after`` run last in it; ``None`` if it rolled back."""
        try:
            return self._commit_at_once(changes, derived, (), 0, after)
        except _Fallback:
            return None

    def _commit_at_once(
        self,
        changes: Sequence[OrderChange],
        derived: Sequence[Derived],
        keeps: Sequence[CheckedKeep],
        cap: int,
        after: Callable[[], bool] | None = None,
    ) -> list[tuple[Row, Order]]:
        """Every change in one statement per kind of write, no savepoint; what was written.

        An order's chain of changes (each made on the order the one before gave) is written
        as one: its last order, under the version and state the chain began from. The
        database still judges each: a new order is inserted ``ON CONFLICT DO NOTHING``, an
        update is conditional on the version and state read, and each event id is
        inserted under its unique key. Each statement must change one row per order or
        event id; if one changes fewer (a lost race) or the database refuses a row, the
        whole transaction rolls back and :class:`_Fallback` says to go change by change.
        """
        applied_at = now().isoformat()
        inserts: list[list[Any]] = []
        updates: list[list[Any]] = []
        histories: list[tuple[str, int, list[list[Any]]]] = []
        events: list[list[Any]] = []
        written: list[tuple[Row, Order]] = []
        fresh: set[str] = set()
        for run in _chains(changes):
            start, order = run[0], run[-1].order
            version = start.version + len(run)
            if start.base is None:
                fresh.add(order.id)
                columns, body, rows = split(ORDERS.kind, order)
                values = list(columns.values())
                inserts.append([version, *values, body])
                first = 0
            else:
                columns, body = split_head(ORDERS.kind, order)
                values = list(columns.values())
                state = str(start.base.state)
                updates.append([version, *values[1:], body, order.id, start.version, state])
                first = len(start.base.history)
                rows = step_rows(order.history[first:])
            written.append(((version, *values, body), order))
            histories.append((order.id, first, rows))
            events.extend(
                [change.event_id, order.id, applied_at]
                for change in run
                if change.event_id is not None
            )
        with self._transaction(write=True):
            try:
                for sql, params in (
                    (ORDERS.insert_at(), inserts),
                    (ORDERS.update_to(), updates),
                    (_RECORD_EVENT, events),
                ):
                    if params and self._write_many(sql, params) != len(params):
                        raise _Fallback
                steps: list[list[Any]] = []
                for order_id, first, rows in histories:
                    self._insert_steps(ORDERS, order_id, first, rows, into=steps)
                if steps:
                    self._write_many(ORDERS.insert_steps(), steps)
                self._write_derived(derived, _unheld(changes, derived, fresh))
                if after is not None and not after():
                    raise _Fallback
            except self._data_errors as error:
                raise _Fallback from error
            for delivery in keeps:
                self._keep(delivery, cap)
        return written

    def _commit_change(
        self,
        change: OrderChange,
        failed: set[str],
        written: list[tuple[Row, Order]],
        derived: Derived,
    ) -> ChangeResult:
        """Inside the batch's transaction: one change under its own savepoint."""
        order = change.order
        if order.id in failed:
            return earlier_failed(order.id)
        self._write("SAVEPOINT ol_change")
        try:
            if change.base is None:
                row = self._insert(ORDERS, order)
                if row is None:
                    raise _LostRace(f"order {order.id!r} was stored meanwhile")  # noqa: TRY301
            else:
                row = self._update(ORDERS, change.base, change.version, order)
            if change.event_id is not None and not self._write(
                _RECORD_EVENT, [change.event_id, order.id, now().isoformat()]
            ):
                raise _LostRace(f"event {change.event_id!r} was applied meanwhile")  # noqa: TRY301
            self._write_actions([derived])
        except _LostRace as lost:
            self._undo_change()
            return ChangeResult(ChangeOutcome.LOST, str(lost))
        except self._data_errors as error:
            self._undo_change()
            return ChangeResult(ChangeOutcome.REFUSED, f"the database refused it: {error}")
        self._write("RELEASE SAVEPOINT ol_change")
        written.append((row, order))
        return COMMITTED

    def _undo_change(self) -> None:
        self._write("ROLLBACK TO SAVEPOINT ol_change")
        self._write("RELEASE SAVEPOINT ol_change")

    def order_ids(self) -> list[str]:
        """Every stored order's id, sorted."""
        return self._ids(ORDERS)

    def _ids(self, layout: _Layout) -> list[str]:
        with self._transaction(write=False):
            rows = self._query(f"SELECT id FROM {layout.table}")  # noqa: S608 (constant names)
        return sorted(stored_text(key, f"{layout.table} row {key!r}, column id") for (key,) in rows)

    def applied_event_ids(self, order_id: str) -> frozenset[str]:
        """The webhook event ids applied to the order."""
        order_id = require_id(order_id, "order_id")
        with self._transaction(write=False):
            if not self._query("SELECT 1 FROM ol_orders WHERE id = ?", [order_id]):
                raise UnknownOrder(order_id)
            rows = self._query(
                "SELECT event_id FROM ol_applied_events WHERE order_id = ?", [order_id]
            )
        return frozenset(row[0] for row in rows)

    def order_of_event(self, event_id: str) -> str | None:
        """The id of the order a webhook event was applied to; ``None`` if it never was."""
        event_id = require_id(event_id, "event_id")
        with self._transaction(write=False):
            return self._order_of_event(event_id)

    # --- deliveries ------------------------------------------------------------------------------

    def keep_delivery(  # noqa: PLR0913 (see Store.keep_delivery)
        self,
        raw: bytes | bytearray,
        reason: str,
        *,
        event_id: str | None = None,
        order_id: str | None = None,
        at: datetime | None = None,
        summary: bool = False,
    ) -> KeptDelivery | None:
        """Keep a delivery for an operator; see :meth:`Store.keep_delivery`."""
        cap = check_cap(self.max_kept_bytes)
        checked = check_keep(raw, reason, event_id, order_id, at, summary=summary)
        with self._transaction(write=True):
            return self._keep(checked, cap)

    def _keep(self, delivery: CheckedKeep, cap: int) -> KeptDelivery | None:
        """In a write transaction: keep a checked delivery, or count it (redelivered, capped)."""
        before = self._kept_before(delivery)
        if before is not None:
            self._write(_COUNT_REDELIVERY)
            return before
        # One conditional write: racing writers cannot both slip under the cap.
        charged = self._write(
            "UPDATE ol_counters SET value = value + ? WHERE name = 'kept_bytes' AND value + ? <= ?",
            [delivery.cost, delivery.cost, cap],
        )
        if not charged:
            self._write("UPDATE ol_counters SET value = value + 1 WHERE name = 'not_kept'")
            return None
        rows = self._query(
            "INSERT INTO ol_kept_deliveries "
            "(kept_at, reason, event_id, order_id, raw, size, sha256) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [
                delivery.at.isoformat(),
                delivery.reason,
                delivery.event_id,
                delivery.order_id,
                delivery.raw,
                delivery.size,
                delivery.sha256,
            ],
        )
        return KeptDelivery(
            rows[0][0],
            delivery.raw,
            delivery.reason,
            delivery.at,
            delivery.event_id,
            delivery.order_id,
            delivery.size,
            delivery.sha256,
        )

    def _kept_before(self, delivery: CheckedKeep) -> KeptDelivery | None:
        """Inside a transaction: the kept delivery ``delivery`` repeats, if any."""
        rows = self._query(f"{_SELECT_KEPT} WHERE sha256 = ? ORDER BY id", [delivery.sha256])
        kept = [_kept(*row) for row in rows]
        return kept_before(kept, summary=len(delivery.raw) < delivery.size)

    def kept_deliveries(self) -> list[KeptDelivery]:
        """Every kept delivery, oldest first."""
        with self._transaction(write=False):
            rows = self._query(f"{_SELECT_KEPT} ORDER BY id")
        return [_kept(*row) for row in rows]

    def kept_bytes(self) -> int:
        """What the kept deliveries are charged, in all."""
        return self._counter("kept_bytes")

    def deliveries_not_kept(self) -> int:
        """How many deliveries were counted but not kept, the cap being reached."""
        return self._counter("not_kept")

    def redeliveries_not_kept(self) -> int:
        """How many deliveries were not kept because they were kept already (redelivered)."""
        return self._counter("redelivered")

    def _counter(self, name: str) -> int:
        with self._transaction(write=False):
            rows = self._query("SELECT value FROM ol_counters WHERE name = ?", [name])
        return int(rows[0][0]) if rows else 0

    # --- checkouts -------------------------------------------------------------------------------

    def checkout_ids(self) -> list[str]:
        """Every stored checkout's id, sorted."""
        return self._ids(CHECKOUTS)

    def _load_checkout(self, checkout_id: str) -> tuple[int, Checkout] | None:
        with self._transaction(write=False):
            loaded = self._load(CHECKOUTS, checkout_id)
        if loaded is None:
            return None
        version, checkout = loaded
        assert isinstance(checkout, Checkout)  # noqa: S101 (CHECKOUTS decodes checkouts)
        return version, checkout

    def _write_checkout(
        self, version: int, stored: Checkout, work: Checkout, order: Order | None
    ) -> bool:
        """Commit where the checkout is still at ``version`` (0: not stored); whether it was."""
        derived = None if order is None else self._derive(None, order)
        try:
            with self._transaction(write=True):
                if version == 0:
                    if self._insert(CHECKOUTS, work) is None:
                        raise _LostRace  # noqa: TRY301 (rolls the transaction back)
                else:
                    self._update(CHECKOUTS, stored, version, work)
                if order is not None and self._insert(ORDERS, order) is not None:
                    self._write_actions([derived] if derived is not None else [])
        except _LostRace:
            return False
        return True

    # --- checking --------------------------------------------------------------------------------

    def _stored_histories(self) -> Iterator[StoredHistory]:
        with self._transaction(write=False):
            loaded = [self._histories(layout) for layout in (ORDERS, CHECKOUTS)]
        for histories in loaded:
            yield from (histories[key] for key in sorted(histories))

    def _histories(self, layout: _Layout) -> dict[str, StoredHistory]:
        states = self._query(f"SELECT id, state FROM {layout.table}")  # noqa: S608
        names = ", ".join(f'"{f}"' for f in STEP_FIELDS)
        rows = self._query(
            f"SELECT {layout.key}, seq, spec_version, {names} FROM {layout.steps} "  # noqa: S608
            f"ORDER BY {layout.key}, seq"
        )
        steps: dict[str, list[Row]] = {}
        for key, seq, *row in rows:
            where = f"{layout.steps} row {key!r} {seq!r}, column"
            stored_text(key, f"{where} {layout.key}")
            stored_text(row[0], f"{where} spec_version")
            steps.setdefault(key, []).append(tuple(row))
        histories = {}
        for key, state in states:
            stored_text(key, f"{layout.table} row {key!r}, column id")
            stored_text(state, f"{layout.table} row {key!r}, column state")
            mine = steps.get(key, [])
            histories[key] = StoredHistory(
                layout.name,
                key,
                state,
                tuple(step_data(row[1:]) for row in mine),
                tuple(dict.fromkeys(row[0] for row in mine)),
            )
        return histories


def _kept(  # noqa: PLR0913, PLR0917 (a row's columns, in order)
    key: int,
    raw: object,
    reason: object,
    at: object,
    event_id: object,
    order_id: object,
    size: object,
    sha256: object,
) -> KeptDelivery:
    """A kept delivery's row, read back; :class:`StoreCorrupt` names a damaged column."""
    where = f"ol_kept_deliveries row {key!r}, column"
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise StoreCorrupt(f"{where} size holds {size!r}, not a byte count.")
    return kept_delivery(
        key,
        stored_bytes(raw, f"{where} raw"),
        stored_text(reason, f"{where} reason"),
        stored_time(at, f"{where} kept_at"),
        stored_text(event_id, f"{where} event_id", optional=True),
        stored_text(order_id, f"{where} order_id", optional=True),
        size,
        stored_text(sha256, f"{where} sha256", optional=True),
    )

"""The PostgreSQL store, for several app servers sharing one database (psycopg 3).

Needs the ``postgres`` extra (``pip install 'order-lifecycle[postgres]'``); this is the only
module that imports psycopg. Write transactions run at READ COMMITTED: a conditional
``UPDATE ... WHERE version = ?`` that another transaction got to first waits for it, then
matches no row, and the loser writes nothing. Reads run at REPEATABLE READ, so an order and
its history rows come from one snapshot. Tables live in the first schema of the
connection's ``search_path`` (``?options=-csearch_path%3Dshop`` in the DSN picks one).

Faults: a connection that was lost (a server restart, a killed backend) is replaced on the
next call, and a call whose transaction certainly did not commit (a read, or a write that
failed before its ``COMMIT`` was sent) is run once more on the new connection; a
connection lost during ``COMMIT`` is reported, never retried, as its outcome is unknown.
The one exception is the request path's delivery a request, sent with its ``COMMIT`` in
one message: storing it again is harmless (unique by order and event id), so it is run
once more, and a row found stored with its key, arrival time and body is its own.
Every session has a ``lock_timeout`` and a ``statement_timeout``, so no call waits for ever
behind another transaction's locks: the ones given to the store, else the ones the DSN (its
``options``, or ``PGOPTIONS``), the role or the database sets, else the store's defaults.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from itertools import chain
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo, errors, pq

from order_lifecycle.exceptions import (
    InvalidInput,
    StoreCorrupt,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
    WrongType,
)
from order_lifecycle.models import Order
from order_lifecycle.webhooks import Incoming, Settlement

from . import _values as values
from ._base import Store
from ._batch import CheckedKeep
from ._inbox_sql import INSERT_DELIVERY, INSERT_ROW, ORDER_KEY, _settle_params
from ._observe import report_reconnect, report_retrying
from ._require import require_ids
from ._schema import POSTGRES
from ._sql import ORDERS, NotAllowed, Row, SQLStore, holding
from ._values import distinct_at, many_updates, many_values, numbered, rows_a_statement, statements

__all__ = ["PostgresStore"]

# Any constant will do: it names the lock that serializes schema creation and upgrades.
_SCHEMA_LOCK = 0x6F6C5F736368656D
# The first key of the advisory locks that claim orders for a reconciler ("olib"); the
# second is the order id's hashtext. Constants, written into the SQL.
_INBOX_LOCKS = 0x6F6C6962
# The first key of the advisory locks a batch of the request path takes on its event ids
# ("olev"), the second their hashtext: in one order for every batch, so two batches
# holding a redelivery each of the other's event never wait for each other in a cycle.
_EVENT_LOCKS = 0x6F6C6576
_LOCK_EVENTS = (
    f"SELECT pg_advisory_xact_lock({_EVENT_LOCKS}, h) FROM ("  # noqa: S608 (a constant)
    "SELECT DISTINCT hashtext(e) AS h FROM unnest(%s::text[]) AS e ORDER BY h) AS keys"
)
_HELD_ELSEWHERE = (
    " AND (order_id IS NULL OR (hashtext(order_id)::bigint & 4294967295) NOT IN ("  # noqa: S608
    "SELECT objid::bigint FROM pg_catalog.pg_locks WHERE locktype = 'advisory' "
    f"AND classid = {_INBOX_LOCKS} AND objsubid = 2))"
)

# The store's timeouts (seconds) where the session has none of its own.
_DEFAULT_TIMEOUTS = {"lock_timeout": 5.0, "statement_timeout": 30.0}
# pg_settings sources that are the server's defaults, not this session's, role's or database's.
_SERVER_WIDE = frozenset(
    {"default", "configuration file", "command line", "environment variable", "override"}
)

R = TypeVar("R")
T = TypeVar("T")


class _Disconnected(StoreUnavailable):
    """Nothing was committed (the connection was lost, or a deadlock broken): run it again."""


class PostgresStore(SQLStore):
    """A store in the PostgreSQL database ``dsn`` names.

    ``dsn`` is a libpq connection string or URL (``postgresql://user:pw@host:5432/shop``).
    Without a ``connect_timeout`` in it, connecting gives up after ``connect_timeout``
    seconds. Opening never changes the tables unless asked: ``create=True`` makes them
    where there are none, ``migrate=True`` brings older ones up to date (both need a role
    that may create tables; ``order-lifecycle migrate --db DSN`` does both). Otherwise a
    role with only the rights to read and write the tables opens a current store, and
    missing or older tables raise :class:`MigrationNeeded`. ``found_version`` is the
    schema version the tables were at when opened (``None``: there were none).

    ``lock_timeout`` bounds how long a statement waits for a lock another transaction
    holds (a row another app server is updating); ``statement_timeout`` how long any
    statement may run. Either raises :class:`StoreUnavailable` and writes nothing. Not
    given (``None``), each is the session's own when the DSN (``options=-c
    lock_timeout=2s``, or ``PGOPTIONS``), the role or the database sets it, else 5 s and
    30 s. The attributes of the same names are the seconds in force. ``read_only`` opens
    read-only sessions: every write raises :class:`StoreReadOnly`.

    Raises:
        StoreUnavailable: the DSN is not valid, or does not connect (or, with
            ``read_only``, holds no store); nothing written.
        MigrationNeeded: no tables (``create`` false) or older ones (``migrate`` false),
            or the role may not make them; nothing written.
        SchemaTooNew: a newer order-lifecycle set the database up; nothing written.
        InvalidInput: a timeout that is not a number of seconds above 0.

    """

    # Concurrent claims take different rows and never wait for each other.
    _claim_lock = " FOR UPDATE SKIP LOCKED"
    _row_lock = " FOR UPDATE OF a"
    # The outbox's one clock: the server's, read when each statement runs.
    _now = "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    _later = (
        "to_char((clock_timestamp() + make_interval(secs => ?)) AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\')'
    )
    # A reconciler's claim skips the orders another session holds.
    _unlocked = _HELD_ELSEWHERE

    dialect = POSTGRES
    _data_errors = (errors.DataError, errors.IntegrityError, errors.ProgramLimitExceeded)

    def __init__(  # noqa: PLR0913 (each option is one documented setting)
        self,
        dsn: str,
        *,
        create: bool = False,
        migrate: bool = False,
        read_only: bool = False,
        connect_timeout: int = 10,
        lock_timeout: float | None = None,
        statement_timeout: float | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.read_only = read_only
        self._timeouts = {
            name: None if value is None else _seconds(value, name)
            for name, value in (
                ("lock_timeout", lock_timeout),
                ("statement_timeout", statement_timeout),
            )
        }
        self.lock_timeout, self.statement_timeout = _DEFAULT_TIMEOUTS.values()
        if not isinstance(dsn, str):
            raise WrongType("dsn", "a str DSN", dsn)
        try:
            params: dict[str, Any] = conninfo.conninfo_to_dict(dsn)
        except psycopg.Error as error:
            raise StoreUnavailable(f"Not a PostgreSQL DSN: {error}") from None
        except UnicodeError:
            raise StoreUnavailable(
                "Not a PostgreSQL DSN: it holds text that is not UTF-8 (a lone surrogate, or "
                "percent-encoded bytes that UTF-8 has not), which no DSN can hold."
            ) from None
        params.setdefault("connect_timeout", connect_timeout)
        self._params = params
        self.where = _describe(params)
        self.location = f"PostgreSQL at {self.where}"
        self._closed = False
        self._connection = self._connect()
        try:
            self.found_version = self._open_schema(
                create=create and not read_only,
                migrate=migrate and not read_only,
                db="<this store's DSN>",
            )
        except BaseException:
            self._connection.close()
            raise

    def __repr__(self) -> str:
        """``<PostgresStore('user@host:5432/dbname')>``: never the password."""
        return f"<PostgresStore({self.where!r})>"

    def close(self) -> None:
        """Close the connection; the store is unusable afterwards."""
        self._closed = True
        self._connection.close()

    def _connect(self, wait: float | None = None) -> psycopg.Connection[Row]:
        """A new session, with the store's timeouts set (the session's own where it has them).

        ``wait`` bounds the connection's own timeout (libpq's least is 2 s).
        """
        params = self._params
        if wait is not None:
            bound = max(2, min(math.ceil(wait), int(params["connect_timeout"])))
            params = params | {"connect_timeout": bound}
        try:
            connection = psycopg.connect(autocommit=True, **params)
        except psycopg.Error as error:
            raise StoreUnavailable(
                f"Cannot connect to PostgreSQL at {self.where}: {error}"
            ) from None
        except (UnicodeError, OSError) as error:
            # Raised before libpq is asked: a host name that is not one (a label of more
            # than 63 characters fails IDNA encoding), or the resolver's own failure.
            raise StoreUnavailable(
                f"Cannot connect to PostgreSQL at {self.where}: the host cannot be looked "
                f"up ({error})."
            ) from None
        try:
            settings = self._settings(connection)
            for name, value in settings.items():
                connection.execute("SELECT set_config(%s, %s, false)", [name, value])
        except psycopg.Error as error:
            connection.close()
            raise StoreUnavailable(f"PostgreSQL at {self.where} failed: {error}") from None
        return connection

    def _settings(self, connection: psycopg.Connection[Row]) -> dict[str, str]:
        """What to set on a new session; reads the timeouts in force into the attributes.

        A timeout given to the store is set; one the session already has from its DSN
        (``options``, ``PGOPTIONS``), its role or its database is kept (the server says
        where each value came from); else the store's default is set.
        """
        rows = connection.execute(
            "SELECT name, setting::float / 1000, source FROM pg_catalog.pg_settings "
            "WHERE name = ANY(%s)",
            [list(_DEFAULT_TIMEOUTS)],
        ).fetchall()
        settings = {}
        for name, seconds, source in rows:
            chosen = self._timeouts[name]
            if chosen is None and source in _SERVER_WIDE:
                chosen = _DEFAULT_TIMEOUTS[name]
            if chosen is None:
                setattr(self, name, seconds)
            else:
                setattr(self, name, chosen)
                settings[name] = f"{round(chosen * 1000)}ms"
        if self.read_only:
            settings["default_transaction_read_only"] = "on"
        return settings

    def _live_connection(self, wait: float | None = None) -> psycopg.Connection[Row]:
        """The connection, replaced first if it was lost (the store was not closed)."""
        if self._closed:
            raise StoreUnavailable(f"The store for PostgreSQL at {self.where} is closed.")
        if self._connection.closed or self._connection.broken:
            self._connection.close()
            self._connection = self._connect(wait)
            report_reconnect(self.where)
        return self._connection

    @contextmanager
    def _transaction(
        self,
        *,
        write: bool,
        wait: float | None = None,
        begin: str = "BEGIN",
        bound: float | None = None,
    ) -> Iterator[None]:
        if write:
            self._writable()
        with holding(self._lock, wait, self.location):
            connection = self._live_connection(wait)
            committing = False
            try:
                connection.execute(begin if write else "BEGIN ISOLATION LEVEL REPEATABLE READ")
                try:
                    yield
                except BaseException:
                    self._rollback()
                    raise
                committing = write
                connection.execute("COMMIT")
            except psycopg.Error as error:
                raise self._translate(error, committing=committing, bound=bound) from error

    def _writable(self) -> None:
        if self.read_only:
            raise StoreReadOnly(
                f"The store for PostgreSQL at {self.where} was opened read-only: "
                "nothing was written."
            )

    def _rollback(self) -> None:
        if self._connection.info.transaction_status == pq.TransactionStatus.IDLE:
            return
        # If the connection is gone, so is the transaction.
        with contextlib.suppress(psycopg.OperationalError):
            self._connection.execute("ROLLBACK")

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        # Rows in binary: the same Python values (every column is text, bytea, an integer
        # or a boolean), read 2 to 3 times cheaper: a claim's bodies come as they are,
        # not as hex to decode (4 to 7 µs a 2.6 kB body, measured).
        return self._connection.execute(_placeholders(sql), params, binary=True).fetchall()

    def _write(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._connection.execute(_placeholders(sql), params).rowcount

    def _write_many(self, sql: str, rows: Sequence[Sequence[object]]) -> int:
        if sql == _UPDATE_ORDERS and _distinct_orders(rows):
            # A batch's updates of distinct orders in one statement, each conditional on
            # its version and state as one run a row is (two of one order: one a row).
            columns = [list(column) for column in zip(*rows, strict=True)]
            return self._connection.execute(_UPDATE_ORDERS_MANY, columns).rowcount
        split = many_values(sql) if len(rows) > 1 else None
        if split is None and len(rows) > 1 and (updates := many_updates(sql)) is not None:
            # DO UPDATE: in one statement only when no two rows update one key's row.
            split = updates[0] if distinct_at(rows, updates[1]) else None
        marks = len(split[1]) - 1 if split is not None else 0
        if split is None or any(len(row) != marks for row in rows):
            # psycopg's executemany pipelines the runs (one round trip, not one per row)
            # and sums the rows they changed (and refuses a row of the wrong length).
            with self._connection.cursor() as cursor:
                cursor.executemany(_placeholders(sql), rows)
                return cursor.rowcount
        # An INSERT's rows as one statement (see _values): the same rows changed.
        return sum(cursor.rowcount for cursor in self._as_one(sql, rows))

    def _as_one(
        self, sql: str, rows: Sequence[Sequence[object]], returning: str = ""
    ) -> Iterator[psycopg.RawCursor[Row]]:
        """Run the INSERT ``sql`` for ``rows`` as one statement (a few past the limit).

        Yields the cursor after each statement. A raw cursor: its ``$n`` placeholders are
        sent as they are, where psycopg would parse a long statement's every ``%s`` in
        Python. Not prepared: each count of rows is its own text, seldom run twice.
        """
        most = rows_a_statement(len(rows[0]))
        with psycopg.RawCursor(self._connection) as cursor:
            for chunk in statements(rows, most=most, budget=values.MAX_BYTES):
                params = list(chain.from_iterable(chunk))
                cursor.execute(f"{numbered(sql, len(chunk))}{returning}", params, prepare=False)
                yield cursor

    def _table_exists(self, name: str) -> bool:
        # A query of pg_class, not to_regclass(): the catalog cache may not yet show a
        # table another process created while this one waited for the schema lock.
        rows = self._query(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = ?)",
            [name],
        )
        return bool(rows[0][0])

    def _lock_schema(self) -> None:
        self._query("SELECT pg_advisory_xact_lock(?)", [_SCHEMA_LOCK])

    def _bound_statements(self, seconds: float) -> None:
        # The server gives up on this transaction's statements after ``seconds`` too.
        self._query(
            "SELECT set_config('statement_timeout', ?, true)", [f"{math.ceil(seconds * 1000)}ms"]
        )

    # --- the inbox: a bounded request path, claims by advisory locks ---------------------------

    def _accepting(self) -> AbstractContextManager[None]:
        # The request path's bounds set with BEGIN, in one round trip (a statement of their
        # own is one round trip more each request).
        return self._transaction(
            write=True, begin=_bounded_begin(self.accept_timeout), bound=self.accept_timeout
        )

    def _accept_deliveries(
        self, rows: Sequence[Incoming], keeps: Sequence[CheckedKeep], cap: int
    ) -> list[int | None]:
        if len(rows) != 1 or keeps:
            return _again(functools.partial(super()._accept_deliveries, rows, keeps, cap))
        try:
            return [self._accept_one(rows[0], lost=False)]
        except _Disconnected as error:
            report_retrying(error)
            return [self._accept_one(rows[0], lost=True)]

    def _accept_one(self, row: Incoming, *, lost: bool) -> int | None:
        """One delivery stored in one round trip; its new seq, or None if its key is stored.

        The provider's way (a delivery a request): ``BEGIN``, the bounds, the ``INSERT``
        and ``COMMIT`` in one message (the simple protocol, the values bound by psycopg on
        this side). Three round trips cost the client more CPU than the whole floor's
        work: each wait is a sleep and a wake-up. An error stops the message before its
        ``COMMIT``: nothing written. A connection lost meanwhile leaves unknown whether it
        committed: the caller runs it once more (``lost``) on a new connection, where a
        row already stored with this delivery's arrival time and body is its own.
        """
        self._writable()
        with holding(self._lock, None, self.location):
            connection = self._live_connection()
            cursor = psycopg.ClientCursor(connection)
            try:
                cursor.execute(_accept_one_sql(self.accept_timeout), row)
                for _ in range(3):  # BEGIN, SET LOCAL, SET LOCAL: then the INSERT's rows
                    cursor.nextset()
                found = cursor.fetchone()
                if found is None and lost:
                    found = connection.execute(
                        _MINE, [row.order_id, row.event_id, row.received_at, row.body]
                    ).fetchone()
            except psycopg.Error as error:
                if connection.closed or connection.broken:
                    raise _Disconnected(
                        f"PostgreSQL at {self.where}: the connection was lost while a "
                        f"delivery was stored, so whether it committed is unknown; the call "
                        f"runs once more, and finds the row if it did: {error}"
                    ) from error
                self._rollback()
                raise self._translate(error, bound=self.accept_timeout) from error
        return None if found is None else found[0]

    def _insert_rows(self, rows: Sequence[Incoming]) -> list[int | None]:
        # A batch of more than one first takes its event ids' locks, in one order (a batch
        # of one holds no key while it waits for one: no cycle); its rows then go in as
        # one INSERT (see _values), numbered in the order they came, each answering its
        # key and new seq: of a key given twice, the first is stored (the second
        # conflicts with it), as one run a row would.
        if len(rows) == 1:
            with self._connection.cursor() as cursor:
                found = cursor.execute(_INSERT_DELIVERY, rows[0]).fetchone()
            return [None if found is None else found[0]]
        with self._connection.cursor() as cursor:
            cursor.execute(_LOCK_EVENTS, [[row.event_id for row in rows]])
        stored: dict[tuple[str, str], int] = {}
        for cursor in self._as_one(INSERT_ROW, rows, _RETURNING_KEYS):
            stored.update(((key, event_id), seq) for seq, key, event_id in cursor)
        return [stored.pop((row.order_id or "", row.event_id), None) for row in rows]

    def _settle(self, settlements: Sequence[Settlement]) -> bool:
        # A batch's statuses in one UPDATE joined to its rows as arrays (one statement, not
        # one a row): each row changed where its status is as claimed, as one run a row
        # would. Two settlements of one row (never a reconciler's) go one at a time.
        if len(settlements) < 2 or len({s.seq for s in settlements}) < len(settlements):
            return super()._settle(settlements)
        columns = [list(column) for column in zip(*map(_settle_params, settlements), strict=True)]
        return self._write(_SETTLE_MANY, columns) == len(settlements)

    def _claiming(self) -> AbstractContextManager[None]:
        # Read committed: each read after the locks sees every commit made before them.
        return self._transaction(write=True)

    def _lock_orders(self, orders: list[str]) -> list[str]:
        if not orders:
            return []
        # pg_try_advisory_lock never waits: an order another session holds is skipped, and
        # claims cannot deadlock whatever order they meet orders in (sorted all the same).
        rows = self._query(
            "SELECT o FROM unnest(?::text[]) AS t(o) "  # noqa: S608 (a constant)
            f"WHERE pg_try_advisory_lock({_INBOX_LOCKS}, hashtext(o))",
            [sorted(orders)],
        )
        return [row[0] for row in rows]

    def _unlock_orders(self, orders: Sequence[str]) -> None:
        if not orders:
            return
        with self._lock:
            connection = self._connection
            if connection.closed or connection.broken:
                return  # the session is gone, and its locks with it
            # Outside any transaction (autocommit): session locks, released at once.
            with contextlib.suppress(psycopg.Error):
                connection.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(o)) FROM unnest(%s::text[]) AS t(o)",
                    [_INBOX_LOCKS, list(orders)],
                )

    def _translate(  # noqa: PLR0911 (one answer per kind of failure)
        self, error: psycopg.Error, *, committing: bool = False, bound: float | None = None
    ) -> StoreError:
        """The ``StoreError`` that says what went wrong, and where.

        ``bound``: the lock and statement timeouts the transaction set for itself (the
        request path's ``accept_timeout``), in place of the session's.
        """
        where = f"PostgreSQL at {self.where}"
        if isinstance(error, errors.LockNotAvailable):
            waited = self.lock_timeout if bound is None else bound
            return StoreUnavailable(
                f"{where} waited more than lock_timeout ({waited:g} s) for a lock "
                f"another transaction holds; nothing was written: {error}"
            )
        if isinstance(error, errors.QueryCanceled):
            waited = self.statement_timeout if bound is None else bound
            return StoreUnavailable(
                f"{where} cancelled a statement after statement_timeout "
                f"({waited:g} s), or on request; nothing was written: {error}"
            )
        if isinstance(error, (errors.DeadlockDetected, errors.SerializationFailure)):
            return _Disconnected(
                f"{where} rolled the transaction back to break a deadlock; nothing was "
                f"committed, and the call runs once more: {error}"
            )
        if self._connection.closed or self._connection.broken:
            if committing:
                return StoreUnavailable(
                    f"{where}: the connection was lost during COMMIT, so whether the change "
                    f"was committed is unknown (read it back): {error}"
                )
            return _Disconnected(
                f"{where}: the connection was lost; nothing was committed, and the next call "
                f"reconnects: {error}"
            )
        if isinstance(error, (errors.UndefinedTable, errors.UndefinedColumn)):
            return StoreCorrupt(f"the tables in {where} are not an intact store: {error}")
        if isinstance(error, errors.InsufficientPrivilege):
            return NotAllowed(f"{where} failed: {error}")
        if isinstance(error, psycopg.OperationalError):
            return StoreUnavailable(f"{where} failed: {error}")
        return StoreError(f"{where} failed: {error}")

    # --- calls whose arguments must be read once, so that running them again sees the same --

    def read_orders(self, order_ids: Iterable[str]) -> dict[str, tuple[int, Order]]:
        """The stored orders among ``order_ids``; see :meth:`Store.read_orders`."""
        return _again(functools.partial(super().read_orders, require_ids(order_ids, "order_ids")))

    def events_applied(self, event_ids: Iterable[str]) -> dict[str, str]:
        """Which of ``event_ids`` were applied; see :meth:`Store.events_applied`."""
        wanted = require_ids(event_ids, "event_ids")
        return _again(functools.partial(super().events_applied, wanted))


RETRIED = frozenset(Store.__abstractmethods__ - {"_stored_histories"} | {"check"})
"""Every call of the store contract that runs transactions (``check`` reads them all).

Derived from the contract, so that a call added to it is run once more after a lost
connection without anyone remembering to: each is wrapped in :func:`_again` below, unless
:class:`PostgresStore` wraps it itself (its arguments must then be read only once).
"""


def _retried(method: Callable[..., R]) -> Callable[..., R]:
    """``method``, run once more if its connection was lost before anything committed."""

    @functools.wraps(method)
    def run(self: PostgresStore, *args: object, **kwargs: object) -> R:
        return _again(functools.partial(method, self, *args, **kwargs))

    return run


for _name in sorted(RETRIED - set(vars(PostgresStore))):
    setattr(PostgresStore, _name, _retried(getattr(SQLStore, _name)))


def _again(call: Callable[[], R]) -> R:
    """``call()``, run once more if its connection was lost before anything committed.

    Safe: the first run committed nothing, and a change given to ``update_order`` may run
    more than once anyway (``update_order_retrying`` re-applies it).
    """
    try:
        return call()
    except _Disconnected as error:
        report_retrying(error)
        return call()


def _seconds(value: object, what: str) -> float:
    """``value`` if it is a number of seconds above 0 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidInput(f"{what} must be a number of seconds above 0, got {value!r}.")
    if value == float("inf"):
        raise InvalidInput(f"{what} must be finite, got {value!r}.")
    return float(value)


@functools.cache
def _placeholders(sql: str) -> str:
    """The shared SQL's ``?`` placeholders as psycopg's ``%s``."""
    if "%" in sql:  # pragma: no cover (the shared SQL has none; a guard for new statements)
        raise AssertionError(f"a literal % in shared SQL: {sql}")
    return sql.replace("?", "%s")


_INSERT_DELIVERY = _placeholders(INSERT_DELIVERY)
_RETURNING_KEYS = f" RETURNING seq, {ORDER_KEY}, event_id"  # a row's key and its new seq
# The batch's conditional update of an order (_sql: version, columns, body; then id, the
# version and state it was read at) for many orders: its parameters as arrays.
_UPDATE_ORDERS = ORDERS.update_to()
_SET = ("version", *ORDERS.columns[1:])  # every column but the id, in the statement's order
_UPDATED_ID = len(_SET)
_UPDATE_ORDERS_MANY = (
    f"UPDATE ol_orders AS o SET {', '.join(f'{c} = v.{c}' for c in _SET)} "  # noqa: S608 (names)
    f"FROM unnest(?::bigint[], {'?::text[], ' * (len(_SET) - 1)}?::text[], ?::bigint[], "
    f"?::text[]) AS v({', '.join(_SET)}, id, was_version, was_state) "
    "WHERE o.id = v.id AND o.version = v.was_version AND o.state = v.was_state"
).replace("?", "%s")


def _distinct_orders(rows: Sequence[Sequence[object]]) -> bool:
    """Whether ``rows`` of ``_UPDATE_ORDERS`` are more than one, each whole, of distinct orders."""
    whole = all(len(row) == _UPDATED_ID + 3 for row in rows)
    return len(rows) > 1 and whole and len({row[_UPDATED_ID] for row in rows}) == len(rows)


# The shared settlement (_inbox_sql._SETTLE) for many rows: its parameters as arrays.
_SETTLE_MANY = (
    "UPDATE ol_inbox AS i SET status = v.status, reason = v.reason, attempts = v.attempts, "
    "due_at = v.due_at FROM unnest(?::text[], ?::text[], ?::bigint[], ?::text[], "
    "?::bigint[], ?::text[]) AS v(status, reason, attempts, due_at, seq, was) "
    "WHERE i.seq = v.seq AND i.status = v.was"
)
# A request's own row, found again after a connection lost during its COMMIT: by its key
# (ol_inbox_by_key), then its arrival time and body.
_MINE = (
    f"SELECT seq FROM ol_inbox WHERE {ORDER_KEY} = COALESCE(%s, '') AND event_id = %s "  # noqa: S608 (a constant)
    "AND received_at = %s AND body = %s"
)


def _bounded_begin(seconds: float) -> str:
    """``BEGIN`` with the request path's lock and statement bounds (an int of ms, in the SQL)."""
    wait = f"'{round(seconds * 1000)}ms'"
    return f"BEGIN; SET LOCAL lock_timeout = {wait}; SET LOCAL statement_timeout = {wait}"


@functools.cache
def _accept_one_sql(seconds: float) -> str:
    """A delivery's whole transaction in one message: bounded ``BEGIN``, ``INSERT``, ``COMMIT``."""
    return f"{_bounded_begin(seconds)}; {_INSERT_DELIVERY}; COMMIT"


def _describe(params: dict[str, Any]) -> str:
    """``user@host:port/dbname`` from connection parameters: never the password."""
    user = params.get("user", "")
    host = params.get("host", "localhost")
    port = params.get("port", 5432)
    return f"{user}{'@' if user else ''}{host}:{port}/{params.get('dbname', '')}"

"""The PostgreSQL store, for several app servers sharing one database (psycopg 3).

Needs the ``postgres`` extra (``pip install 'order-lifecycle[postgres]'``); this is the only
module that imports psycopg. Write transactions run at READ COMMITTED: a conditional
``UPDATE ... WHERE version = ?`` that another transaction got to first waits for it, then
matches no row, and the loser writes nothing. Reads run at REPEATABLE READ, so an order and
its history rows come from one snapshot. Tables live in the first schema of the
connection's ``search_path`` (``?options=-csearch_path%3Dshop`` in the DSN picks one).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import conninfo, errors, pq

from order_lifecycle.exceptions import StoreCorrupt, StoreError, StoreUnavailable

from ._schema import POSTGRES
from ._sql import Row, SQLStore

__all__ = ["PostgresStore"]

# Any constant will do: it names the lock that serializes schema creation and upgrades.
_SCHEMA_LOCK = 0x6F6C5F736368656D


class PostgresStore(SQLStore):
    """A store in the PostgreSQL database ``dsn`` names; its tables created when missing.

    ``dsn`` is a libpq connection string or URL (``postgresql://user:pw@host:5432/shop``).
    Without a ``connect_timeout`` in it, connecting gives up after ``connect_timeout``
    seconds. With ``create=False`` the database must already hold a store.

    Raises:
        StoreUnavailable: the DSN is not valid, or does not connect (or, with
            ``create=False``, holds no store); nothing written.
        SchemaTooNew: a newer order-lifecycle set the database up; nothing written.

    """

    dialect = POSTGRES

    def __init__(self, dsn: str, *, create: bool = True, connect_timeout: int = 10) -> None:
        self._lock = threading.Lock()
        try:
            params: dict[str, Any] = conninfo.conninfo_to_dict(dsn)
        except psycopg.Error as error:
            raise StoreUnavailable(f"Not a PostgreSQL DSN: {error}") from None
        params.setdefault("connect_timeout", connect_timeout)
        self.where = _describe(params)
        try:
            self._connection = psycopg.connect(autocommit=True, **params)
        except psycopg.Error as error:
            raise StoreUnavailable(
                f"Cannot connect to PostgreSQL at {self.where}: {error}"
            ) from None
        try:
            self._open_schema(create=create, where=f"PostgreSQL at {self.where}")
        except BaseException:
            self._connection.close()
            raise

    def __repr__(self) -> str:
        """``<PostgresStore('user@host:5432/dbname')>``: never the password."""
        return f"<PostgresStore({self.where!r})>"

    def close(self) -> None:
        """Close the connection; the store is unusable afterwards."""
        self._connection.close()

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[None]:
        connection = self._connection
        with self._lock:
            try:
                connection.execute("BEGIN" if write else "BEGIN ISOLATION LEVEL REPEATABLE READ")
                try:
                    yield
                except BaseException:
                    self._rollback()
                    raise
                connection.execute("COMMIT")
            except psycopg.Error as error:
                raise self._translate(error) from error

    def _rollback(self) -> None:
        if self._connection.info.transaction_status == pq.TransactionStatus.IDLE:
            return
        # If the connection is gone, so is the transaction.
        with contextlib.suppress(psycopg.OperationalError):
            self._connection.execute("ROLLBACK")

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._connection.execute(_placeholders(sql), params).fetchall()

    def _write(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._connection.execute(_placeholders(sql), params).rowcount

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

    def _translate(self, error: psycopg.Error) -> StoreError:
        """The ``StoreError`` that says what went wrong, and where."""
        where = f"PostgreSQL at {self.where}"
        if isinstance(error, (errors.UndefinedTable, errors.UndefinedColumn)):
            return StoreCorrupt(f"the tables in {where} are not an intact store: {error}")
        if isinstance(error, (psycopg.OperationalError, errors.InsufficientPrivilege)):
            return StoreUnavailable(f"{where} failed: {error}")
        return StoreError(f"{where} failed: {error}")


@functools.cache
def _placeholders(sql: str) -> str:
    """The shared SQL's ``?`` placeholders as psycopg's ``%s``."""
    if "%" in sql:  # pragma: no cover (the shared SQL has none; a guard for new statements)
        raise AssertionError(f"a literal % in shared SQL: {sql}")
    return sql.replace("?", "%s")


def _describe(params: dict[str, Any]) -> str:
    """``user@host:port/dbname`` from connection parameters: never the password."""
    user = params.get("user", "")
    host = params.get("host", "localhost")
    port = params.get("port", 5432)
    return f"{user}{'@' if user else ''}{host}:{port}/{params.get('dbname', '')}"

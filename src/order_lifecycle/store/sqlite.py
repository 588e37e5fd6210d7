"""The embedded default store: one SQLite file, shared safely by threads and processes.

Standard library only. The file is in WAL mode (readers never wait for the writer) with
``synchronous = FULL`` (a commit survives a power cut), and every write transaction starts
with ``BEGIN IMMEDIATE``: it takes the file's one write lock at once, instead of reading
first and then upgrading (which SQLite answers with "database is locked" rather than
waiting). Inside it, the version check decides a race. A writer waits up to ``timeout``
seconds for the lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from order_lifecycle.exceptions import StoreCorrupt, StoreError, StoreUnavailable

from ._schema import SQLITE
from ._sql import Row, SQLStore

__all__ = ["SQLiteStore"]

_MEMORY = ":memory:"


class SQLiteStore(SQLStore):
    """A store in one SQLite file at ``path``, created with its tables when missing.

    ``":memory:"`` keeps a private database in memory instead, gone when the store
    closes. With ``create=False`` the file must already hold a store.

    Raises:
        StoreUnavailable: the file cannot be opened or created (or, with ``create=False``,
            holds no store).
        StoreCorrupt: the file is not a SQLite database, or is damaged; nothing written.
        SchemaTooNew: a newer order-lifecycle set the file up; nothing written.

    """

    dialect = SQLITE

    def __init__(
        self, path: str | os.PathLike[str], *, create: bool = True, timeout: float = 30.0
    ) -> None:
        self.path = os.fspath(path)
        self._timeout = timeout
        self._lock = threading.Lock()
        if self.path == _MEMORY:
            target, uri = _MEMORY, False
        else:
            mode = "rwc" if create else "rw"
            target, uri = f"{Path(self.path).absolute().as_uri()}?mode={mode}", True
        try:
            # isolation_level=None: this module issues BEGIN and COMMIT itself.
            self._connection = sqlite3.connect(
                target, timeout=timeout, isolation_level=None, check_same_thread=False, uri=uri
            )
        except sqlite3.Error as error:
            raise self._translate(error) from error
        try:
            with self._lock:
                self._pragma("PRAGMA foreign_keys = ON")
            self._open_schema(create=create, where=f"the SQLite file {self.path}")
        except BaseException:
            self._connection.close()
            raise

    def __repr__(self) -> str:
        """``<SQLiteStore(path='shop.db')>``."""
        return f"<SQLiteStore(path={self.path!r})>"

    def close(self) -> None:
        """Close the file; the store is unusable afterwards."""
        self._connection.close()

    def _pragma(self, statement: str) -> list[Row]:
        try:
            return self._connection.execute(statement).fetchall()
        except sqlite3.Error as error:
            raise self._translate(error) from error

    def _prepare_writes(self) -> None:
        with self._lock:
            self._pragma("PRAGMA synchronous = FULL")
            if self.path == _MEMORY:
                return
            # Switching to WAL needs the file to itself, and SQLite does not wait for that
            # (its busy handler is not called here): processes opening a new file at once
            # would fail. So: try until it is WAL (persistent: once is enough), or time out.
            deadline = time.monotonic() + self._timeout
            while True:
                try:
                    self._connection.execute("PRAGMA journal_mode = WAL")
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) or time.monotonic() > deadline:
                        raise self._translate(error) from error
                    time.sleep(0.01)
                else:
                    return

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[None]:
        connection = self._connection
        with self._lock:
            try:
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            except sqlite3.Error as error:
                raise self._translate(error) from error

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._connection.execute(sql, params).fetchall()

    def _write(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._connection.execute(sql, params).rowcount

    def _table_exists(self, name: str) -> bool:
        found = self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name])
        return bool(found)

    def _translate(self, error: sqlite3.Error) -> StoreError:
        """The ``StoreError`` that says what went wrong with the file, and where."""
        message = str(error)
        where = f"the SQLite file {self.path}"
        lowered = message.lower()
        if "locked" in lowered or "busy" in lowered:
            return StoreUnavailable(
                f"{where} stayed locked by another writer for {self._timeout:g} s: {message}."
            )
        if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
            return StoreUnavailable(f"Cannot open {where}: {message}.")
        if isinstance(error, sqlite3.DatabaseError) and (
            "not a database" in lowered
            or "malformed" in lowered
            or "corrupt" in lowered
            or "no such table" in lowered
            or "no such column" in lowered
        ):
            return StoreCorrupt(f"{where} is not an intact order-lifecycle store: {message}.")
        return StoreError(f"SQLite failed on {where}: {message}.")

"""The embedded default store: one SQLite file, shared safely by threads and processes.

Standard library only. The file is in WAL mode (readers never wait for the writer) with
``synchronous = FULL`` (a commit survives a power cut), and every write transaction starts
with ``BEGIN IMMEDIATE``: it takes the file's one write lock at once, instead of reading
first and then upgrading (which SQLite answers with "database is locked" rather than
waiting). Inside it, the version check decides a race. A writer waits up to ``timeout``
seconds for the lock.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shlex
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from order_lifecycle.exceptions import (
    InvalidInput,
    StoreCorrupt,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
    WrongType,
)
from order_lifecycle.webhooks import Incoming, Settlement

from ._batch import CheckedKeep
from ._check import StoredHistory
from ._inbox_sql import (
    ADVANCE_MARK,
    DISMISS_STATUS,
    FIRSTS,
    INSERT_BODY,
    JOINED_COLUMNS,
    MARKED_PENDING,
    REFEED_STATUS,
    SETTLE_FIRST,
    SETTLE_FIRSTS,
    SETTLE_PENDING,
    SETTLE_STATUS,
)
from ._schema import SQLITE
from ._sql import NotAllowed, Row, SQLStore, holding

__all__ = ["SQLiteStore"]

_MEMORY = ":memory:"
# SQLite's default page cache (2 MB) is smaller than the applied-event and order indexes
# of a busy store: past it, every lookup of a random event id reads its pages again, and
# ingestion slows as the store grows. 64 MB (a negative size is in KiB) holds them.
CACHE_SIZE = -65536


class SQLiteStore(SQLStore):
    """A store in one SQLite file at ``path``; ``":memory:"`` keeps a private one in memory.

    Which file becomes a store (``create``):

    - ``None`` (the default): a path with no file gets a new store, built beside it and
      linked into place whole, so no process ever sees it half made (a new file is a new
      database: the embedded default works out of the box); an existing file must hold a
      store already (an empty file is :class:`StoreCorrupt`, a database with other tables
      only :class:`MigrationNeeded`), and is never written to first.
    - ``True``: also an empty file or a database without the tables gets them.
    - ``False``: the file must already hold a store.

    A store at an older schema version is migrated only with ``migrate=True`` (else
    :class:`MigrationNeeded` names the command to run). ``read_only`` opens the file with
    ``mode=ro`` (also a file or folder this process may not write); every write then raises
    :class:`StoreReadOnly`. ``quick_check`` runs SQLite's ``PRAGMA quick_check`` on open
    (:meth:`check` always does). A writer waits up to ``timeout`` seconds for the file's
    write lock. ``found_version`` is the schema version the file was at when opened
    (``None``: it held no tables).

    Raises:
        InvalidInput: ``path`` holds a NUL character, or no file can have its name (too
            long, a lone surrogate).
        StoreUnavailable: the file cannot be opened or created (a folder this process may
            not enter, a FIFO or other file that is no regular file); ``No store at PATH``
            when nothing is there and none may be made.
        MigrationNeeded: the file holds no store, or an older one, and ``create`` or
            ``migrate`` does not allow making or migrating it; nothing written.
        StoreCorrupt: the file is empty, not a SQLite database, or damaged; nothing written.
        SchemaTooNew: a newer order-lifecycle set the file up; nothing written.

    """

    # SQLite plans without statistics: the claim's reads name the indexes that bound them.
    _by_order = " INDEXED BY ol_inbox_by_key"
    _due_rows = "ol_inbox_status INDEXED BY ol_inbox_status_due JOIN ol_inbox USING (seq)"
    # Schema 9: pending rows are read by rowid from a mark, never from an index.
    _by_status = " NOT INDEXED"
    _pending = MARKED_PENDING
    _advance = ADVANCE_MARK
    _either = (
        "seq IN (SELECT seq FROM ol_inbox_status WHERE {settled} "
        "UNION ALL SELECT seq FROM ol_inbox WHERE {pending})"
    )
    # Schema 10: the rows of ol_inbox are written once; statuses are rows of their own.
    _joined = " LEFT JOIN ol_inbox_status USING (seq)"
    _columns = JOINED_COLUMNS
    _status = "COALESCE(status, 'pending')"
    _settled_rows = "ol_inbox_status"
    _settled_first = "ol_inbox_status CROSS JOIN ol_inbox USING (seq)"
    _insert_row = INSERT_BODY
    _refeed = REFEED_STATUS
    _dismiss = DISMISS_STATUS

    def _settle_row(self, settlement: Settlement) -> tuple[str, tuple[object, ...]]:
        # A pending row has no status row yet (or a pending one): added, else updated.
        seq, was, status, reason, attempts, due_at = settlement
        if was != "pending":
            return SETTLE_STATUS, (status, reason, attempts, due_at, seq, was)
        if attempts == 0 and due_at is None:
            return SETTLE_FIRST, (status, reason, seq)
        return SETTLE_PENDING, (status, reason, attempts, due_at, seq, was)

    def _write_settled(self, sql: str, rows: list[tuple[object, ...]]) -> int:
        # First settlements (most) FIRSTS at a time in one statement, the rest one a row.
        if sql is not SETTLE_FIRST or len(rows) < FIRSTS:
            return self._write_many(sql, rows)
        whole = len(rows) - len(rows) % FIRSTS
        done = sum(
            self._write(SETTLE_FIRSTS, [value for row in rows[at : at + FIRSTS] for value in row])
            for at in range(0, whole, FIRSTS)
        )
        return done + (self._write_many(sql, rows[whole:]) if whole < len(rows) else 0)

    dialect = SQLITE
    _data_errors = (sqlite3.DataError, sqlite3.IntegrityError)

    def __init__(  # noqa: PLR0913 (each option is one documented setting)
        self,
        path: str | os.PathLike[str],
        *,
        create: bool | None = None,
        migrate: bool = False,
        read_only: bool = False,
        quick_check: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.path = _file_path(path)
        self.location = f"the SQLite file {self.path}"
        self.read_only = read_only
        self._timeout = timeout
        self._busy_now = timeout  # what the connection's busy handler waits, in seconds
        self._lock = threading.Lock()
        made = create is True
        if self.path == _MEMORY:
            if read_only:
                raise InvalidInput("A read-only :memory: store would always be empty.")
            made = create is not False  # always a new, empty database
            target, uri = _MEMORY, False
        else:
            if not _regular_file(self.path):
                if create is False or read_only:
                    raise StoreUnavailable(f"No store at {self.path}: the file does not exist.")
                made = True
                if create is None:
                    made = self._create_whole()
            mode = "ro" if read_only else ("rwc" if made else "rw")
            target, uri = f"{Path(self.path).absolute().as_uri()}?mode={mode}", True
        self._connection = self._connect(target, uri=uri)
        try:
            self.found_version = self._open(made=made, migrate=migrate, quick_check=quick_check)
        except BaseException:
            self._connection.close()
            raise

    def _open(self, *, made: bool, migrate: bool, quick_check: bool) -> int | None:
        """Check what the file holds; make or migrate the tables where allowed; the version."""
        where = f"the SQLite file {self.path}"
        with self._lock:
            self._pragma("PRAGMA foreign_keys = ON")
            self._pragma(f"PRAGMA cache_size = {CACHE_SIZE}")
            empty = not self._pragma("PRAGMA page_count")[0][0]
        if empty and not made:
            raise StoreCorrupt(
                f"{where} is empty (0 bytes), not a store: a store is never an empty file. "
                "Remove it, or open it with create=True to make a store there."
            )
        found = self._open_schema(
            create=made, migrate=migrate and not self.read_only, db=shlex.quote(self.path)
        )
        if quick_check:
            self._quick_check()
        return found

    def _connect(self, target: str, *, uri: bool) -> sqlite3.Connection:
        try:
            # isolation_level=None: this module issues BEGIN and COMMIT itself.
            connection = sqlite3.connect(
                target,
                timeout=self._timeout,
                isolation_level=None,
                check_same_thread=False,
                uri=uri,
            )
            if self.read_only:
                try:
                    connection.execute("PRAGMA schema_version").fetchall()
                except sqlite3.OperationalError:
                    # A WAL file in a folder this process may not write: mode=ro needs to
                    # make the -shm file beside it. Nobody can be writing it without
                    # that file, so it may be read as it is on disk (immutable).
                    connection.close()
                    connection = sqlite3.connect(
                        f"{target}&immutable=1",
                        isolation_level=None,
                        check_same_thread=False,
                        uri=True,
                    )
        except (sqlite3.Error, UnicodeDecodeError) as error:
            raise self._translate(error) from error
        return connection

    def _create_whole(self) -> bool:
        """Make a new store at ``path``: built under a temporary name, then linked there.

        Linking fails if a file appeared meanwhile (another process made the store first):
        then that one is opened. Returns whether the file is there now (false where the
        file system has no hard links: then it is created in place, as with create=True).
        """
        final = Path(self.path).absolute()
        if not final.parent.is_dir():
            raise StoreUnavailable(
                f"Cannot open the SQLite file {self.path}: its folder does not exist."
            )
        temporary = final.with_name(f".{final.name}.{secrets.token_hex(6)}.new")
        try:
            SQLiteStore(temporary, create=True, migrate=True, timeout=self._timeout).close()
            try:
                os.link(temporary, final)
            except FileExistsError:
                return True
            except OSError:
                return False
            _sync_folder(final.parent)
        except StoreError as error:
            raise StoreUnavailable(
                f"Cannot open the SQLite file {self.path}: making the store failed: {error}"
            ) from None
        finally:
            temporary.unlink(missing_ok=True)
        return True

    def __repr__(self) -> str:
        """``<SQLiteStore(path='shop.db')>``."""
        return f"<SQLiteStore(path={self.path!r})>"

    def close(self) -> None:
        """Close the file; the store is unusable afterwards."""
        self._connection.close()

    def _pragma(self, statement: str) -> list[Row]:
        try:
            return self._connection.execute(statement).fetchall()
        except (sqlite3.Error, UnicodeDecodeError) as error:
            raise self._translate(error) from error

    def _prepare_writes(self) -> None:
        if self.read_only:
            return
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

    def _quick_check(self) -> None:
        """Run SQLite's ``PRAGMA quick_check``; :class:`StoreCorrupt` unless it says ok."""
        where = f"the SQLite file {self.path}"
        with self._lock:
            try:
                found = [row[0] for row in self._connection.execute("PRAGMA quick_check")]
            except sqlite3.DatabaseError as error:
                found = [str(error)]
        if found != ["ok"]:
            problems = "; ".join(str(problem) for problem in found[:3])
            raise StoreCorrupt(f"{where} failed SQLite's quick_check: {problems}.")

    def _stored_histories(self) -> Iterator[StoredHistory]:
        self._quick_check()
        yield from super()._stored_histories()

    def _accept_deliveries(
        self, rows: Sequence[Incoming], keeps: Sequence[CheckedKeep], cap: int
    ) -> list[int | None]:
        """As :meth:`SQLInbox._accept_deliveries`; a delivery a request in one statement.

        The request path's usual batch: one ``INSERT``, its own transaction (SQLite takes
        the write lock as the statement starts, as ``BEGIN IMMEDIATE`` would, and commits
        it when it ends), waiting ``accept_timeout`` for the lock at most. Its ``seq`` is
        the row id SQLite gave the row, so neither the highest ``seq`` before nor the rows
        after are read (nor ``RETURNING``, which costs more here than the reads it saves).
        """
        if len(rows) != 1 or keeps or _with_status(rows[0]):
            return super()._accept_deliveries(rows, keeps, cap)
        self._writable()
        with holding(self._lock, None, self.location):
            self._wait_at_most(self.accept_timeout)
            try:
                cursor = self._connection.execute(INSERT_BODY, rows[0])
            except (sqlite3.Error, UnicodeDecodeError) as error:
                raise self._translate(error) from error
        return [cursor.lastrowid if cursor.rowcount == 1 else None]

    def _insert_rows(self, rows: Sequence[Incoming]) -> list[int | None]:
        """As :meth:`SQLInbox._insert_rows`; a row stored invalid (or with a reason): its status.

        The body's row holds no status (schema 10): a delivery stored pending with no reason
        has no status row, the usual case; one whose envelope could not be read has one.
        """
        seqs = super()._insert_rows(rows)
        statuses = [
            (seq, row.status, row.reason)
            for seq, row in zip(seqs, rows, strict=True)
            if seq is not None and _with_status(row)
        ]
        if statuses:
            self._write_many(
                "INSERT INTO ol_inbox_status (seq, status, reason) VALUES (?, ?, ?)", statuses
            )
        return seqs

    def _accepting(self) -> AbstractContextManager[None]:
        # The request path waits for the write lock accept_timeout at most, not timeout.
        return self._transaction(write=True, busy=self.accept_timeout)

    def _writable(self) -> None:
        if self.read_only:
            raise StoreReadOnly(
                f"the SQLite file {self.path} was opened read-only: nothing was written."
            )

    @contextmanager
    def _transaction(
        self, *, write: bool, wait: float | None = None, busy: float | None = None
    ) -> Iterator[None]:
        if write:
            self._writable()
        connection = self._connection
        with holding(self._lock, wait, self.location):
            self._wait_at_most(self._timeout if busy is None else busy)
            try:
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            except (sqlite3.Error, UnicodeDecodeError) as error:
                raise self._translate(error) from error

    def _wait_at_most(self, seconds: float) -> None:
        """Under the lock: a writer now waits ``seconds`` for the file's lock, at most.

        Set only when it changes, so that a run of the request path's transactions (or of
        any others) costs no statement for it.
        """
        if seconds != self._busy_now:
            self._pragma(f"PRAGMA busy_timeout = {round(seconds * 1000)}")
            self._busy_now = seconds

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return self._connection.execute(sql, params).fetchall()

    def _write(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._connection.execute(sql, params).rowcount

    def _write_many(self, sql: str, rows: Sequence[Sequence[object]]) -> int:
        # executemany sums the rows each run changed.
        return self._connection.executemany(sql, rows).rowcount

    def _table_exists(self, name: str) -> bool:
        found = self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name])
        return bool(found)

    def _translate(self, error: sqlite3.Error | UnicodeDecodeError) -> StoreError:
        """The ``StoreError`` that says what went wrong with the file, and where."""
        message = str(error)
        where = f"the SQLite file {self.path}"
        if isinstance(error, UnicodeDecodeError):
            # SQLite's message (or a value) holds bytes that are not UTF-8: a damaged
            # schema's name, say. Python could not even build the driver's error.
            return StoreCorrupt(
                f"{where} is not an intact order-lifecycle store: it holds text that is not "
                f"UTF-8 ({message})."
            )
        lowered = message.lower()
        if "locked" in lowered or "busy" in lowered:
            return StoreUnavailable(
                f"{where} stayed locked by another writer for {self._busy_now:g} s: {message}."
            )
        if "readonly" in lowered or "read-only" in lowered:
            return NotAllowed(f"Cannot write {where}: {message}.")
        if "unable to open" in lowered:
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


def _with_status(row: Incoming) -> bool:
    """Whether ``row`` is stored with a status row: not pending, or with a reason."""
    return row.status != "pending" or row.reason is not None


def _file_path(path: object) -> str:
    """``path`` as text, if a file can have it as its name."""
    if not isinstance(path, (str, os.PathLike)):
        raise WrongType("path", "a str or os.PathLike path", path)
    text = os.fspath(path)
    if not isinstance(text, str):
        raise WrongType("path", "a str path", path)
    if not text:
        raise InvalidInput("'' is not a file path: name a file, or ':memory:'.")
    if "\x00" in text:
        raise InvalidInput(f"{text!r} is not a file path: it holds a NUL character.")
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        raise InvalidInput(
            f"{text!r} is not a file path: it holds a lone surrogate, which no file name has."
        ) from None
    return text


def _regular_file(path: str) -> bool:
    """Whether a regular file is at ``path`` (``False``: nothing is there).

    Raises:
        InvalidInput: no file can have the name (too long for the file system).
        StoreUnavailable: something else is there (a FIFO, which SQLite would wait on for
            ever, a folder, a device), or the path cannot be looked at (a folder on the
            way this process may not enter).

    """
    try:
        found = Path(path).stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            raise InvalidInput(
                f"{path[:80]!r}... ({len(path)} characters) is not a file path: "
                f"{error.strerror} for this file system."
            ) from None
        raise StoreUnavailable(
            f"Cannot open the SQLite file {path}: {error.strerror or error}."
        ) from None
    if not stat.S_ISREG(found.st_mode):
        kind = "a folder" if stat.S_ISDIR(found.st_mode) else _KINDS.get(stat.S_IFMT(found.st_mode))
        raise StoreUnavailable(
            f"Cannot open the SQLite file {path}: it is {kind or 'no regular file'}, "
            "not a file a store can be in."
        )
    return True


_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _sync_folder(folder: Path) -> None:
    """Make a new name in ``folder`` durable (where the system can sync a folder)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

"""Choosing a store from a URL: a SQLite path, or a PostgreSQL DSN; migrating its tables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from order_lifecycle.exceptions import InvalidInput, StoreUnavailable, WrongType

from ._base import Store
from ._migrate import Migration
from ._schema import SCHEMA_VERSION
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from ._sql import SQLStore
    from .postgres import PostgresStore

__all__ = ["migrate", "open_store"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_SQLITE_SCHEME = "sqlite://"


def open_store(
    url: str | os.PathLike[str],
    *,
    create: bool | None = None,
    migrate: bool = False,
    read_only: bool = False,
    quick_check: bool = False,
) -> Store:
    """The store at ``url``: a SQLite file or a PostgreSQL database.

    - a filesystem path, or ``sqlite://`` followed by one (``sqlite:///var/lib/shop.db`` is
      the file ``/var/lib/shop.db``), or ``:memory:``: a :class:`SQLiteStore`;
    - ``postgresql://user:password@host:port/dbname`` (or ``postgres://``): a
      ``PostgresStore``.

    Opening never changes a database's tables unless asked. ``create`` decides where a
    store may be made. SQLite: by default (``None``) a path with no file gets a new store
    (a new file is a new database: the embedded default works out of the box), and an
    existing file must already hold one (an empty file is refused as
    :class:`StoreCorrupt`); ``True`` also adds the tables to an empty file or another
    database; ``False`` needs a store there. PostgreSQL: the tables are created only with
    ``create=True``. Tables at an older schema version are migrated only with
    ``migrate=True``. Otherwise missing or older tables raise :class:`MigrationNeeded`,
    which names the command that makes them (``order-lifecycle migrate --db URL``, as
    :func:`migrate` does). Nothing is written when a store is refused.

    ``read_only`` opens the store for reading only (SQLite's ``mode=ro``: also a file or
    folder this process may not write); its writes raise :class:`StoreReadOnly`.
    ``quick_check`` runs SQLite's ``PRAGMA quick_check`` on open (ignored for PostgreSQL).

    Raises:
        StoreUnavailable: the database cannot be opened or reached (also a FIFO, a folder
            or a path this process may not look at), or the PostgreSQL driver is not
            installed or does not load (the message says which).
        MigrationNeeded: no store there, or an older one, and ``create``/``migrate`` does
            not allow making or migrating it (or the role may not).
        StoreCorrupt: the SQLite file is empty or not an intact database.
        SchemaTooNew: a newer order-lifecycle set the database up.
        InvalidInput: ``url`` names a database this library does not support, or a path
            no file can have (a NUL character, a lone surrogate, too long).
        WrongType: ``url`` is neither a str nor a path, or a flag is not a bool.

    """
    return _open(url, create=create, migrate=migrate, read_only=read_only, quick_check=quick_check)


def _open(
    url: str | os.PathLike[str],
    *,
    create: bool | None,
    migrate: bool,
    read_only: bool = False,
    quick_check: bool = False,
) -> SQLStore:
    _flags(create=create, migrate=migrate, read_only=read_only, quick_check=quick_check)
    if isinstance(url, os.PathLike):
        return SQLiteStore(
            url, create=create, migrate=migrate, read_only=read_only, quick_check=quick_check
        )
    if not isinstance(url, str) or not url:
        raise WrongType("url", "a path or a database URL", url)
    if url.startswith(_POSTGRES_SCHEMES):
        postgres_store = _postgres()
        return postgres_store(url, create=create is True, migrate=migrate, read_only=read_only)
    if url.startswith(_SQLITE_SCHEME):
        url = url.removeprefix(_SQLITE_SCHEME)
    else:
        scheme, separator, _ = url.partition("://")
        if separator and not _exists(url):
            raise InvalidInput(
                f"No store for {scheme}:// URLs: give a SQLite path (or sqlite:///path) or a "
                "postgresql:// DSN."
            )
    return SQLiteStore(
        url, create=create, migrate=migrate, read_only=read_only, quick_check=quick_check
    )


def migrate(url: str | os.PathLike[str]) -> Migration:
    """Create the store's tables at ``url``, or bring older ones up to date; what it did.

    What ``order-lifecycle migrate --db URL`` runs: :func:`open_store` with ``create`` and
    ``migrate`` true, so it needs a role (or a file) that may create tables. Running it
    again changes nothing.

    Raises:
        MigrationNeeded: the role may not create or alter the tables (the message says
            what to do instead); nothing was written.
        StoreUnavailable, StoreCorrupt, SchemaTooNew, InvalidInput, WrongType: as
            :func:`open_store`.

    """
    with _open(url, create=True, migrate=True) as store:
        return Migration(store.location, store.found_version, SCHEMA_VERSION)


def _flags(**flags: bool | None) -> None:
    for name, value in flags.items():
        if value is not None and not isinstance(value, bool):
            raise WrongType(name, "a bool", value)


def _postgres() -> type[PostgresStore]:
    """``PostgresStore``, imported now: psycopg only when a DSN asks for it."""
    try:
        from .postgres import PostgresStore  # noqa: PLC0415 (psycopg only when asked)
    except ImportError as error:
        if isinstance(error, ModuleNotFoundError) and error.name == "psycopg":
            raise StoreUnavailable(
                "PostgreSQL needs the psycopg driver, which is not installed: "
                "pip install 'order-lifecycle[postgres]'."
            ) from None
        # Installed, but it does not load: say what is wrong, not what to install again.
        libpq = "libpq" in str(error)
        raise StoreUnavailable(
            f"PostgreSQL's driver psycopg is installed but does not load: {error}"
            + (
                " (psycopg needs the libpq library: install it, e.g. apt-get install libpq5, "
                "or psycopg's binary package, pip install 'psycopg[binary]')."
                if libpq
                else "."
            )
        ) from None
    return PostgresStore


def _exists(path: str) -> bool:
    """Whether something is at ``path`` (``False`` for a path no file can have)."""
    try:
        Path(path).stat()
    except (OSError, ValueError):  # ValueError: NUL; UnicodeEncodeError: a lone surrogate
        return False
    return True

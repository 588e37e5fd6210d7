"""Choosing a store from a URL: a SQLite path, or a PostgreSQL DSN."""

from __future__ import annotations

import os
from pathlib import Path

from order_lifecycle.exceptions import InvalidInput, StoreUnavailable, WrongType

from ._base import Store
from .sqlite import SQLiteStore

__all__ = ["open_store"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_SQLITE_SCHEME = "sqlite://"


def open_store(
    url: str | os.PathLike[str],
    *,
    create: bool | None = None,
    read_only: bool = False,
    quick_check: bool = False,
) -> Store:
    """The store at ``url``: a SQLite file or a PostgreSQL database.

    - a filesystem path, or ``sqlite://`` followed by one (``sqlite:///var/lib/shop.db`` is
      the file ``/var/lib/shop.db``), or ``:memory:``: a :class:`SQLiteStore`;
    - ``postgresql://user:password@host:port/dbname`` (or ``postgres://``): a
      ``PostgresStore``.

    ``create`` decides where a store may be made. SQLite: by default (``None``) a path with
    no file gets a new store, and an existing file must already hold one (an empty file is
    refused as :class:`StoreCorrupt`); ``True`` also adds the tables to an empty file or
    another database; ``False`` needs a store there. PostgreSQL: the tables are created in
    the database when missing, unless ``create`` is false. Nothing is written when a store
    is refused.

    ``read_only`` opens the store for reading only (SQLite's ``mode=ro``: also a file or
    folder this process may not write); its writes raise :class:`StoreReadOnly`.
    ``quick_check`` runs SQLite's ``PRAGMA quick_check`` on open (ignored for PostgreSQL).

    Raises:
        StoreUnavailable: the database cannot be opened or reached, holds no store where
            one must be, or the PostgreSQL driver is not installed.
        StoreCorrupt: the SQLite file is empty or not an intact database.
        SchemaTooNew: a newer order-lifecycle set the database up.
        InvalidInput: ``url`` names a database this library does not support, or a path
            no file can have (a NUL character in it).

    """
    if isinstance(url, os.PathLike):
        return SQLiteStore(url, create=create, read_only=read_only, quick_check=quick_check)
    if not isinstance(url, str) or not url:
        raise WrongType("url", "a path or a database URL", url)
    if url.startswith(_POSTGRES_SCHEMES):
        try:
            from .postgres import PostgresStore  # noqa: PLC0415 (psycopg only when asked)
        except ImportError as error:
            raise StoreUnavailable(
                f"PostgreSQL needs the psycopg driver ({error}): "
                "pip install 'order-lifecycle[postgres]'."
            ) from None
        return PostgresStore(url, create=create is not False, read_only=read_only)
    if url.startswith(_SQLITE_SCHEME):
        url = url.removeprefix(_SQLITE_SCHEME)
    else:
        scheme, separator, _ = url.partition("://")
        if separator and "\x00" not in url and not Path(url).exists():
            raise InvalidInput(
                f"No store for {scheme}:// URLs: give a SQLite path (or sqlite:///path) or a "
                "postgresql:// DSN."
            )
    return SQLiteStore(url, create=create, read_only=read_only, quick_check=quick_check)

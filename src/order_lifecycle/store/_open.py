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


def open_store(url: str | os.PathLike[str], *, create: bool = True) -> Store:
    """The store at ``url``: a SQLite file or a PostgreSQL database.

    - a filesystem path, or ``sqlite://`` followed by one (``sqlite:///var/lib/shop.db`` is
      the file ``/var/lib/shop.db``), or ``:memory:``: a :class:`SQLiteStore`;
    - ``postgresql://user:password@host:port/dbname`` (or ``postgres://``): a
      ``PostgresStore``.

    The tables are created when missing, unless ``create`` is false (then a store must
    already be there: :class:`StoreUnavailable` otherwise, and nothing is written).

    Raises:
        StoreUnavailable: the database cannot be opened or reached, or the PostgreSQL
            driver is not installed.
        StoreCorrupt: the SQLite file is not an intact database.
        SchemaTooNew: a newer order-lifecycle set the database up.
        InvalidInput: ``url`` names a database this library does not support.

    """
    if isinstance(url, os.PathLike):
        return SQLiteStore(url, create=create)
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
        return PostgresStore(url, create=create)
    if url.startswith(_SQLITE_SCHEME):
        return SQLiteStore(url.removeprefix(_SQLITE_SCHEME), create=create)
    scheme, separator, _ = url.partition("://")
    if separator and not Path(url).exists():
        raise InvalidInput(
            f"No store for {scheme}:// URLs: give a SQLite path (or sqlite:///path) or a "
            "postgresql:// DSN."
        )
    return SQLiteStore(url, create=create)

"""Bringing a database's tables up to date, on purpose: the statements and the script.

One list serves both: a store asked to create or migrate its tables
(``open_store(url, create=True, migrate=True)``, ``order-lifecycle migrate``) runs
:func:`upgrade`'s statements in one transaction, and ``order-lifecycle schema`` prints
:func:`schema_script`, the same statements, for a DBA to run. Both are the literal
migrations of ``_schema`` from the version found, then the ``ol_schema`` row saying the
version they reached.
"""

from __future__ import annotations

import attrs

from order_lifecycle.exceptions import InvalidInput, WrongType

from . import _schema
from ._schema import Dialect

__all__ = ["DIALECTS", "Migration", "schema_script", "upgrade"]

DIALECTS = tuple(
    sorted({name for by_dialect in _schema.MIGRATIONS.values() for name in by_dialect})
)
"""The dialects the migrations are written for: ``postgres`` and ``sqlite``."""


@attrs.frozen
class Migration:
    """What :func:`~order_lifecycle.store.migrate` did to the tables ``where`` names.

    ``found`` is the schema version they were at (``None``: there were none), ``version``
    the one they are at now; equal when nothing needed doing.
    """

    where: str
    found: int | None
    version: int

    @property
    def changed(self) -> bool:
        """Whether tables were created or migrated."""
        return self.found != self.version


def upgrade(dialect: Dialect, found: int | None) -> list[str]:
    """The statements that bring tables at version ``found`` (``None``: none) to the newest.

    Each missing version's migrations in turn, then the ``ol_schema`` row: inserted for new
    tables, updated for older ones. Nothing when ``found`` is the newest already.
    """
    newest = _schema.SCHEMA_VERSION
    if found == newest:
        return []
    statements = [
        statement
        for version in range((found or 0) + 1, newest + 1)
        for statement in _schema.migrations(dialect, version)
    ]
    if found is None:
        statements.append(f"INSERT INTO ol_schema (version) VALUES ({newest})")  # noqa: S608 (an int of ours)
    else:
        statements.append(f"UPDATE ol_schema SET version = {newest}")  # noqa: S608 (an int of ours)
    return statements


def schema_script(dialect: str, since: int | None = None) -> str:
    """The SQL that creates the tables (or migrates them from version ``since``), one transaction.

    What a store runs when asked to create or migrate (:func:`upgrade`), as a script a DBA
    can read and run (``psql -f``, ``sqlite3``): each version's statements under a comment
    naming it, between ``BEGIN`` and ``COMMIT``.

    Raises:
        InvalidInput: ``dialect`` is not one of :data:`DIALECTS`, or ``since`` is not a
            version older than the newest.
        WrongType: ``dialect`` is not a str or ``since`` not an int.

    """
    if not isinstance(dialect, str):
        raise WrongType("dialect", "a str such as 'postgres'", dialect)
    if dialect not in DIALECTS:
        raise InvalidInput(f"No migrations for {dialect!r}: give one of {', '.join(DIALECTS)}.")
    newest = _schema.SCHEMA_VERSION
    if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
        raise WrongType("since", "an int schema version", since)
    if since is not None and not 1 <= since < newest:
        raise InvalidInput(
            f"since must be a schema version from 1 to {newest - 1} (tables older than the "
            f"newest, {newest}), got {since}."
        )
    statements = upgrade(Dialect(dialect), since)
    lines = [
        f"-- order-lifecycle schema version {newest} for {dialect}"
        + ("" if since is None else f", from version {since}"),
        "-- Tables go to the first schema of the search_path."
        if dialect == "postgres"
        else "-- Run it on the SQLite file: sqlite3 FILE < this.sql",
        "BEGIN;",
    ]
    for version in range((since or 0) + 1, newest + 1):
        lines.append(f"-- version {version}")
        lines.extend(f"{statement};" for statement in _schema.migrations(Dialect(dialect), version))
    lines.extend(["-- the version the tables are at", f"{statements[-1]};", "COMMIT;"])
    return "\n".join(lines) + "\n"

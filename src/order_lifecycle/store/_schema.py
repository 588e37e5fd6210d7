"""The stores' tables, as one list of migrations per schema version, for both databases.

Every table name starts with ``ol_``, so a store can share a database with an
application's own tables. ``ol_schema`` holds one row: the schema version the tables are
at. A store brings an older schema up to :data:`SCHEMA_VERSION` by running the missing
migrations in one transaction, and refuses a newer one (:class:`SchemaTooNew`) without
writing anything.

Layout (version 1):

- ``ol_orders``: one row per order: ``version`` (optimistic concurrency), ``state``,
  ``fraud_state`` and ``checkout_id`` as columns, every other field as a JSON ``body``.
- ``ol_order_steps``: the history, one row per step, numbered by ``seq`` from 0, each
  stamped with the ``spec_version`` of the order table it was written under.
- ``ol_checkouts`` and ``ol_checkout_steps``: the same for checkouts (attempts in the body).
- ``ol_applied_events``: each webhook event id applied, unique, with its order.
- ``ol_kept_deliveries``: raw webhook deliveries kept for an operator, with the reason.

Version 2 adds to ``ol_kept_deliveries`` the ``size`` and ``sha256`` of the whole delivery
(``raw`` may be only its first bytes, a summary; ``NULL`` in rows kept before: whole), and
``ol_counters``: ``kept_bytes`` (what kept deliveries are charged, capped) and
``not_kept`` (deliveries counted but not kept, the cap being reached).

Times are ISO 8601 text with their offset, amounts decimal text: both read back exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ._codec import STEP_FIELDS

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "TABLES", "Dialect", "migrations"]

TABLES = (
    "ol_schema",
    "ol_orders",
    "ol_order_steps",
    "ol_checkouts",
    "ol_checkout_steps",
    "ol_applied_events",
    "ol_kept_deliveries",
    "ol_counters",
)
"""Every table of the schema, parents before children."""


@attrs.frozen
class Dialect:
    """What differs between the databases' DDL: a few type names."""

    name: str
    integer: str
    boolean: str
    blob: str
    serial_key: str


SQLITE = Dialect("sqlite", "INTEGER", "INTEGER", "BLOB", "INTEGER PRIMARY KEY")
POSTGRES = Dialect(
    "postgres", "BIGINT", "BOOLEAN", "BYTEA", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
)


def _step_columns(d: Dialect) -> str:
    types = {"dest": "TEXT NOT NULL", "at": "TEXT NOT NULL", "implied": f"{d.boolean} NOT NULL"}
    return ", ".join(f'"{name}" {types.get(name, "TEXT")}' for name in STEP_FIELDS)


def _version_1(d: Dialect) -> list[str]:
    return [
        f"CREATE TABLE ol_schema (version {d.integer} NOT NULL)",
        f"""CREATE TABLE ol_orders (
            id TEXT PRIMARY KEY,
            version {d.integer} NOT NULL,
            state TEXT NOT NULL,
            fraud_state TEXT,
            checkout_id TEXT,
            body TEXT NOT NULL
        )""",
        f"""CREATE TABLE ol_order_steps (
            order_id TEXT NOT NULL REFERENCES ol_orders (id),
            seq {d.integer} NOT NULL,
            spec_version TEXT NOT NULL,
            {_step_columns(d)},
            PRIMARY KEY (order_id, seq)
        )""",
        f"""CREATE TABLE ol_checkouts (
            id TEXT PRIMARY KEY,
            version {d.integer} NOT NULL,
            state TEXT NOT NULL,
            order_id TEXT,
            body TEXT NOT NULL
        )""",
        f"""CREATE TABLE ol_checkout_steps (
            checkout_id TEXT NOT NULL REFERENCES ol_checkouts (id),
            seq {d.integer} NOT NULL,
            spec_version TEXT NOT NULL,
            {_step_columns(d)},
            PRIMARY KEY (checkout_id, seq)
        )""",
        """CREATE TABLE ol_applied_events (
            event_id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL REFERENCES ol_orders (id),
            applied_at TEXT NOT NULL
        )""",
        "CREATE INDEX ol_applied_events_by_order ON ol_applied_events (order_id)",
        f"""CREATE TABLE ol_kept_deliveries (
            id {d.serial_key},
            kept_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            event_id TEXT,
            order_id TEXT,
            raw {d.blob} NOT NULL
        )""",
    ]


def _version_2(d: Dialect) -> list[str]:
    """Kept deliveries get their whole size and digest; the kept bytes are counted."""
    return [
        f"ALTER TABLE ol_kept_deliveries ADD COLUMN size {d.integer}",
        "ALTER TABLE ol_kept_deliveries ADD COLUMN sha256 TEXT",
        f"CREATE TABLE ol_counters (name TEXT PRIMARY KEY, value {d.integer} NOT NULL)",
        # Rows kept before are charged their raw bytes, reason and row (ids left out).
        (
            "INSERT INTO ol_counters (name, value) "
            "SELECT 'kept_bytes', COALESCE(SUM(LENGTH(raw) + LENGTH(reason) + 64), 0) "
            "FROM ol_kept_deliveries"
        ),
        "INSERT INTO ol_counters (name, value) VALUES ('not_kept', 0)",
    ]


MIGRATIONS: dict[int, Callable[[Dialect], list[str]]] = {1: _version_1, 2: _version_2}
"""Each schema version's statements, from the one before (0: no tables).

Append only: a released migration never changes; a change to the tables is a new version.
"""

SCHEMA_VERSION = max(MIGRATIONS)
"""The newest schema this code writes and reads."""


def migrations(dialect: Dialect, version: int) -> list[str]:
    """The statements that bring a schema at ``version - 1`` (0: no tables) to ``version``."""
    return MIGRATIONS[version](dialect)

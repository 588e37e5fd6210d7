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
``not_kept`` (deliveries counted but not kept, the cap being reached); a third counter,
``redelivered`` (deliveries not kept again because their bytes were kept already), is a
row added when first needed, not a change of schema.

Version 3 adds ``ol_actions``, the outbox (see ``_outbox``): one row per action a change
created, keyed by its idempotency key, with its order, kind, subject (an item's or
charge's id), JSON payload, state, tries, lease, retry time, last error and result; and
an index of kept deliveries by ``sha256``. Version 4 adds ``finished_at`` to ``ol_actions``
(when an action was done or cancelled), so that finished actions can be pruned.

Version 5 adds ``ol_inbox``, the accept-first inbox: one row per signed delivery, numbered
by ``seq`` (an integer primary key: SQLite's rowid), unique by ``event_id`` (the event's
id, or ``sha256:`` and the body's digest when none could be read), with the envelope
(``event_type``, ``order_id``, the provider's ``created_time`` as sent), ``received_at``,
``status``, ``reason``, ``attempts`` and ``due_at`` (when a waiting one is tried again),
and the raw ``body``; indexes by order, of the pending rows by ``seq`` and of the waiting
ones by ``due_at`` (partial: only those rows). Deliveries kept whole in
``ol_kept_deliveries`` move to the inbox as pending (reconciled again, each then gets its
status); summaries stay there, their bytes counted again.

Version 6 adds the indexes an operator's reads need to hold at volume (see
``_operator_sql``): orders by ``state`` then ``id``, deliveries by ``status`` then
``seq``, actions by ``created_at`` then ``key``; and ``ol_actions_due`` is made again with
``key`` last, so that a page of one state's actions is read in its order from the index.

Version 7 drops ``ol_inbox_pending``: ``ol_inbox_by_status`` holds the pending rows by
``seq`` as well (the claims' scan reads them there), and an index less is a page less to
write for each delivery stored and each one settled.

Version 8 keys the inbox by its order and event id: one unique index,
``ol_inbox_by_key`` on ``(COALESCE(order_id, ''), event_id)``, replaces
``ol_inbox_by_event`` (unique, by event id) and ``ol_inbox_by_order`` (order, then
``seq``). It deduplicates (a delivery is a duplicate when its order and event id are
stored: the ``COALESCE`` makes the deliveries of no order deduplicate too, an order id
never being empty) and it finds an order's rows (read in ``seq`` order by sorting that
order's few rows). Both old indexes took a random page each commit; one does now.

Version 9 (SQLite only: PostgreSQL's tables stay as they are) takes the pending rows out
of the index by status, so that the request path's ``INSERT`` writes the table's page and
``ol_inbox_by_key``'s, and no page of a status index: ``ol_inbox_by_status`` is replaced by
``ol_inbox_settled`` on ``(status, seq)``, partial: only the rows whose status is not
``pending``. Pending rows are found by ``seq`` from a low-water mark instead, the
``ol_counters`` row ``inbox_pending_from``: no pending row has a ``seq`` below it. It starts
at the lowest pending row's ``seq`` (none: the highest ``seq`` plus one); each settlement
moves it up to the lowest pending row at or above it; two triggers move it down to any row
made pending again (``UPDATE``) and, when rows are deleted, to the highest ``seq`` left
plus one (SQLite numbers a new row so, with no ``AUTOINCREMENT``: after the top rows are
deleted, a new one may be numbered well below the mark, even below the rows deleted).
That is safe on SQLite only: its writers take turns and a row's ``seq`` is given inside
the write transaction, so rows commit in ``seq`` order and a new row is never numbered
below a mark another transaction set. PostgreSQL's identity values are taken before
their transactions commit, in any order: it keeps its index of every status.

Version 10 (SQLite only) makes the inbox's rows append-only: the request path writes a
row once and nothing writes it again. A delivery's status, ``reason``, ``attempts`` and
``due_at`` move to ``ol_inbox_status``, keyed by ``seq`` (SQLite's rowid: a settlement's
rows are small and numbered near each other, many to a page, where each settlement
rewrote its row's page of ``ol_inbox`` with the 2 to 3 kB body on it). A delivery with
no row there is pending with no reason; a ``pending`` row there is one an operator fed
again, which keeps the reason that says so. The columns leave ``ol_inbox``, its indexes
of statuses and due times are made on ``ol_inbox_status`` instead, and the triggers
keep the mark's guarantee: a status row deleted, or updated to ``pending`` (or to
another ``seq``), lowers the mark to its row; a row of ``ol_inbox`` deleted takes its
status row with it (a row numbered with its ``seq`` again is a new delivery, pending).

Version 11 (PostgreSQL only) compresses new inbox bodies with lz4 rather than pglz, the
default: a 2 to 3 kB body crosses PostgreSQL's 2 kB threshold, and pglz's compression of
it was about half the server's work on the request path (``bench_pg_statements.py``). lz4
compresses in a fraction of the time, and a body it compresses to more than the threshold
is kept out of the row, so a settlement's new row version no longer copies it. Rows
stored before keep their compression, and read as before. A server built without lz4
(or older than PostgreSQL 14) keeps pglz: the migration then changes nothing.

Times are ISO 8601 text with their offset, amounts decimal text: both read back exactly.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["MIGRATIONS", "PENDING_MARK", "SCHEMA_VERSION", "TABLES", "Dialect", "migrations"]

TABLES = (
    "ol_schema",
    "ol_orders",
    "ol_order_steps",
    "ol_checkouts",
    "ol_checkout_steps",
    "ol_applied_events",
    "ol_kept_deliveries",
    "ol_counters",
    "ol_actions",
    "ol_inbox",
    "ol_inbox_status",
)
"""Every table of the schema, parents before children (``ol_inbox_status``: SQLite's only)."""


@attrs.frozen
class Dialect:
    """Which database's SQL a store runs: the key of its statements in :data:`MIGRATIONS`."""

    name: str


SQLITE = Dialect("sqlite")
POSTGRES = Dialect("postgres")

# Version 1, as released: literal SQL, never edited (SQLite keeps each CREATE's text in
# sqlite_master, so even its whitespace is part of the released schema).
_VERSION_1_SQLITE = (
    "CREATE TABLE ol_schema (version INTEGER NOT NULL)",
    """CREATE TABLE ol_orders (
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            state TEXT NOT NULL,
            fraud_state TEXT,
            checkout_id TEXT,
            body TEXT NOT NULL
        )""",
    """CREATE TABLE ol_order_steps (
            order_id TEXT NOT NULL REFERENCES ol_orders (id),
            seq INTEGER NOT NULL,
            spec_version TEXT NOT NULL,
            "event" TEXT, "source" TEXT, "dest" TEXT NOT NULL, "at" TEXT NOT NULL, "event_id" TEXT, "implied" INTEGER NOT NULL,
            PRIMARY KEY (order_id, seq)
        )""",  # noqa: E501 (as released)
    """CREATE TABLE ol_checkouts (
            id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            state TEXT NOT NULL,
            order_id TEXT,
            body TEXT NOT NULL
        )""",
    """CREATE TABLE ol_checkout_steps (
            checkout_id TEXT NOT NULL REFERENCES ol_checkouts (id),
            seq INTEGER NOT NULL,
            spec_version TEXT NOT NULL,
            "event" TEXT, "source" TEXT, "dest" TEXT NOT NULL, "at" TEXT NOT NULL, "event_id" TEXT, "implied" INTEGER NOT NULL,
            PRIMARY KEY (checkout_id, seq)
        )""",  # noqa: E501 (as released)
    """CREATE TABLE ol_applied_events (
            event_id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL REFERENCES ol_orders (id),
            applied_at TEXT NOT NULL
        )""",
    "CREATE INDEX ol_applied_events_by_order ON ol_applied_events (order_id)",
    """CREATE TABLE ol_kept_deliveries (
            id INTEGER PRIMARY KEY,
            kept_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            event_id TEXT,
            order_id TEXT,
            raw BLOB NOT NULL
        )""",
)

_VERSION_1_POSTGRES = (
    "CREATE TABLE ol_schema (version BIGINT NOT NULL)",
    """CREATE TABLE ol_orders (
            id TEXT PRIMARY KEY,
            version BIGINT NOT NULL,
            state TEXT NOT NULL,
            fraud_state TEXT,
            checkout_id TEXT,
            body TEXT NOT NULL
        )""",
    """CREATE TABLE ol_order_steps (
            order_id TEXT NOT NULL REFERENCES ol_orders (id),
            seq BIGINT NOT NULL,
            spec_version TEXT NOT NULL,
            "event" TEXT, "source" TEXT, "dest" TEXT NOT NULL, "at" TEXT NOT NULL, "event_id" TEXT, "implied" BOOLEAN NOT NULL,
            PRIMARY KEY (order_id, seq)
        )""",  # noqa: E501 (as released)
    """CREATE TABLE ol_checkouts (
            id TEXT PRIMARY KEY,
            version BIGINT NOT NULL,
            state TEXT NOT NULL,
            order_id TEXT,
            body TEXT NOT NULL
        )""",
    """CREATE TABLE ol_checkout_steps (
            checkout_id TEXT NOT NULL REFERENCES ol_checkouts (id),
            seq BIGINT NOT NULL,
            spec_version TEXT NOT NULL,
            "event" TEXT, "source" TEXT, "dest" TEXT NOT NULL, "at" TEXT NOT NULL, "event_id" TEXT, "implied" BOOLEAN NOT NULL,
            PRIMARY KEY (checkout_id, seq)
        )""",  # noqa: E501 (as released)
    """CREATE TABLE ol_applied_events (
            event_id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL REFERENCES ol_orders (id),
            applied_at TEXT NOT NULL
        )""",
    "CREATE INDEX ol_applied_events_by_order ON ol_applied_events (order_id)",
    """CREATE TABLE ol_kept_deliveries (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kept_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            event_id TEXT,
            order_id TEXT,
            raw BYTEA NOT NULL
        )""",
)

_VERSION_2 = (
    # Kept deliveries get their whole size and digest; the kept bytes are counted.
    "ALTER TABLE ol_kept_deliveries ADD COLUMN size {integer}",
    "ALTER TABLE ol_kept_deliveries ADD COLUMN sha256 TEXT",
    "CREATE TABLE ol_counters (name TEXT PRIMARY KEY, value {integer} NOT NULL)",
    # Rows kept before are charged their raw bytes, reason and row (ids left out).
    (
        "INSERT INTO ol_counters (name, value) "
        "SELECT 'kept_bytes', COALESCE(SUM(LENGTH(raw) + LENGTH(reason) + 64), 0) "
        "FROM ol_kept_deliveries"
    ),
    "INSERT INTO ol_counters (name, value) VALUES ('not_kept', 0)",
)

_VERSION_3 = (
    # The outbox: actions written in the transaction of the change that created them.
    """CREATE TABLE ol_actions (
            key TEXT PRIMARY KEY,
            order_id TEXT NOT NULL REFERENCES ol_orders (id),
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL,
            tries {integer} NOT NULL,
            lease_until TEXT,
            retry_at TEXT,
            last_error TEXT,
            result TEXT,
            created_at TEXT NOT NULL
        )""",
    "CREATE INDEX ol_actions_due ON ol_actions (state, created_at)",
    "CREATE INDEX ol_actions_by_order ON ol_actions (order_id)",
    "CREATE INDEX ol_kept_deliveries_by_sha256 ON ol_kept_deliveries (sha256)",
)

_VERSION_4 = (
    # When an action finished (done or cancelled), so that the outbox can be pruned.
    "ALTER TABLE ol_actions ADD COLUMN finished_at TEXT",
)

_VERSION_5 = (
    # The inbox: every signed delivery, stored before anything reconciles it.
    """CREATE TABLE ol_inbox (
            seq {key},
            event_id TEXT NOT NULL,
            event_type TEXT,
            order_id TEXT,
            created_time TEXT,
            received_at TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT,
            attempts {integer} NOT NULL DEFAULT 0,
            due_at TEXT,
            body {bytes} NOT NULL
        )""",
    "CREATE UNIQUE INDEX ol_inbox_by_event ON ol_inbox (event_id)",
    "CREATE INDEX ol_inbox_by_order ON ol_inbox (order_id, seq)",
    "CREATE INDEX ol_inbox_pending ON ol_inbox (seq) WHERE status = 'pending'",
    "CREATE INDEX ol_inbox_due ON ol_inbox (due_at) WHERE status = 'waiting'",
    # Deliveries kept whole (not summaries) move to the inbox, to be reconciled again.
    (
        "INSERT INTO ol_inbox (event_id, order_id, received_at, status, reason, body) "
        "SELECT COALESCE(event_id, 'sha256:' || sha256, 'kept:' || id), order_id, kept_at, "
        "'pending', reason, raw FROM ol_kept_deliveries "
        "WHERE size IS NULL OR LENGTH(raw) = size ORDER BY id "
        "ON CONFLICT (event_id) DO NOTHING"
    ),
    "DELETE FROM ol_kept_deliveries WHERE size IS NULL OR LENGTH(raw) = size",
    (
        "UPDATE ol_counters SET value = "
        "(SELECT COALESCE(SUM(LENGTH(raw) + LENGTH(reason) + 64), 0) FROM ol_kept_deliveries) "
        "WHERE name = 'kept_bytes'"
    ),
)

_VERSION_6 = (
    # An operator's counts and pages, read from indexes at any volume.
    "CREATE INDEX ol_orders_by_state ON ol_orders (state, id)",
    "CREATE INDEX ol_inbox_by_status ON ol_inbox (status, seq)",
    "CREATE INDEX ol_actions_by_created ON ol_actions (created_at, key)",
    "DROP INDEX ol_actions_due",
    "CREATE INDEX ol_actions_due ON ol_actions (state, created_at, key)",
)

_VERSION_7 = (
    # The claims' scan of pending rows reads ol_inbox_by_status (status, seq) instead.
    "DROP INDEX ol_inbox_pending",
)

_VERSION_8 = (
    # One random-keyed index a delivery stored, not two: it deduplicates and finds an
    # order's rows. Made first: the rows are unique by event id, so by this key too.
    "CREATE UNIQUE INDEX ol_inbox_by_key ON ol_inbox ((COALESCE(order_id, '')), event_id)",
    "DROP INDEX ol_inbox_by_event",
    "DROP INDEX ol_inbox_by_order",
)

PENDING_MARK = "inbox_pending_from"
"""The ``ol_counters`` row (SQLite's, version 9) no pending inbox row's ``seq`` is below."""

# Literal SQL, as every migration: the mark's name is PENDING_MARK's.
_VERSION_9_SQLITE = (
    # The mark first, while ol_inbox_by_status finds the lowest pending row.
    (
        "INSERT INTO ol_counters (name, value) "
        "SELECT 'inbox_pending_from', COALESCE("
        "(SELECT MIN(seq) FROM ol_inbox WHERE status = 'pending'), "
        "(SELECT COALESCE(MAX(seq), 0) + 1 FROM ol_inbox))"
    ),
    # The request path's new rows are pending: no page of this index to write for them.
    "CREATE INDEX ol_inbox_settled ON ol_inbox (status, seq) WHERE status <> 'pending'",
    "DROP INDEX ol_inbox_by_status",
    # Whatever makes a row pending again lowers the mark to it (the request path's
    # INSERT fires nothing: its rows are numbered above every row).
    (
        "CREATE TRIGGER ol_inbox_pending_again AFTER UPDATE OF status ON ol_inbox "
        "WHEN NEW.status = 'pending' BEGIN "
        "UPDATE ol_counters SET value = NEW.seq WHERE name = 'inbox_pending_from' "
        "AND value > NEW.seq; END"
    ),
    # A row deleted: the next one stored is numbered past the highest left, maybe below.
    (
        "CREATE TRIGGER ol_inbox_deleted AFTER DELETE ON ol_inbox BEGIN "
        "UPDATE ol_counters SET value = (SELECT COALESCE(MAX(seq), 0) + 1 FROM ol_inbox) "
        "WHERE name = 'inbox_pending_from' "
        "AND value > (SELECT COALESCE(MAX(seq), 0) + 1 FROM ol_inbox); END"
    ),
)

# Literal SQL, as every migration. SQLite's DROP COLUMN needs the columns in no index and
# no trigger: those go first, and come back on the new table.
_VERSION_10_SQLITE = (
    # Small rows keyed by seq (the rowid): a batch's settlements share a few pages.
    """CREATE TABLE ol_inbox_status (
            seq INTEGER PRIMARY KEY,
            status TEXT NOT NULL,
            reason TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            due_at TEXT
        )""",
    # Every row but the pending ones that carry nothing more than their status.
    (
        "INSERT INTO ol_inbox_status (seq, status, reason, attempts, due_at) "
        "SELECT seq, status, reason, attempts, due_at FROM ol_inbox "
        "WHERE status <> 'pending' OR reason IS NOT NULL OR attempts <> 0 "
        "OR due_at IS NOT NULL ORDER BY seq"
    ),
    "DROP TRIGGER ol_inbox_pending_again",
    "DROP TRIGGER ol_inbox_deleted",
    "DROP INDEX ol_inbox_settled",
    "DROP INDEX ol_inbox_due",
    "ALTER TABLE ol_inbox DROP COLUMN status",
    "ALTER TABLE ol_inbox DROP COLUMN reason",
    "ALTER TABLE ol_inbox DROP COLUMN attempts",
    "ALTER TABLE ol_inbox DROP COLUMN due_at",
    "CREATE INDEX ol_inbox_status_by_status ON ol_inbox_status (status, seq)",
    "CREATE INDEX ol_inbox_status_due ON ol_inbox_status (due_at) WHERE status = 'waiting'",
    # A status row gone, or made pending (or moved to another seq): its row is pending
    # again, maybe below the mark. (A status row inserted changes a row that was pending
    # already, so at or above the mark: nothing to fire for a settlement's INSERT.)
    (
        "CREATE TRIGGER ol_inbox_status_deleted AFTER DELETE ON ol_inbox_status BEGIN "
        "UPDATE ol_counters SET value = OLD.seq WHERE name = 'inbox_pending_from' "
        "AND value > OLD.seq; END"
    ),
    (
        "CREATE TRIGGER ol_inbox_pending_again AFTER UPDATE OF seq, status ON ol_inbox_status "
        "WHEN NEW.status = 'pending' OR NEW.seq <> OLD.seq BEGIN "
        "UPDATE ol_counters SET value = OLD.seq WHERE name = 'inbox_pending_from' "
        "AND value > OLD.seq; END"
    ),
    # A row deleted takes its status with it (its seq may be given to a new delivery),
    # and the next one stored is numbered past the highest left, maybe below the mark.
    (
        "CREATE TRIGGER ol_inbox_deleted AFTER DELETE ON ol_inbox BEGIN "
        "DELETE FROM ol_inbox_status WHERE seq = OLD.seq; "
        "UPDATE ol_counters SET value = (SELECT COALESCE(MAX(seq), 0) + 1 FROM ol_inbox) "
        "WHERE name = 'inbox_pending_from' "
        "AND value > (SELECT COALESCE(MAX(seq), 0) + 1 FROM ol_inbox); END"
    ),
)

# Dynamic SQL in a block: a server without lz4 (``feature_not_supported``) or older than
# PostgreSQL 14 (``syntax_error``) keeps pglz, and the migration goes on.
_VERSION_11_POSTGRES = (
    (
        "DO $$ BEGIN "
        "EXECUTE 'ALTER TABLE ol_inbox ALTER COLUMN body SET COMPRESSION lz4'; "
        "EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR syntax_error "
        "THEN NULL; END $$"
    ),
)

MIGRATIONS: dict[int, Mapping[str, tuple[str, ...]]] = {
    1: {"sqlite": _VERSION_1_SQLITE, "postgres": _VERSION_1_POSTGRES},
    2: {
        "sqlite": tuple(s.format(integer="INTEGER") for s in _VERSION_2),
        "postgres": tuple(s.format(integer="BIGINT") for s in _VERSION_2),
    },
    3: {
        "sqlite": tuple(s.format(integer="INTEGER") for s in _VERSION_3),
        "postgres": tuple(s.format(integer="BIGINT") for s in _VERSION_3),
    },
    4: {"sqlite": _VERSION_4, "postgres": _VERSION_4},
    5: {
        "sqlite": tuple(
            s.format(key="INTEGER PRIMARY KEY", integer="INTEGER", bytes="BLOB") for s in _VERSION_5
        ),
        "postgres": tuple(
            s.format(
                key="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                integer="BIGINT",
                bytes="BYTEA",
            )
            for s in _VERSION_5
        ),
    },
    6: {"sqlite": _VERSION_6, "postgres": _VERSION_6},
    7: {"sqlite": _VERSION_7, "postgres": _VERSION_7},
    8: {"sqlite": _VERSION_8, "postgres": _VERSION_8},
    9: {"sqlite": _VERSION_9_SQLITE, "postgres": ()},
    10: {"sqlite": _VERSION_10_SQLITE, "postgres": ()},
    11: {"sqlite": (), "postgres": _VERSION_11_POSTGRES},
}
"""Each schema version's statements by dialect, from the one before (0: no tables).

Literal SQL, append only: a released migration never changes (a test pins each one's
text), and a change to the tables is a new version whose statements bring the one before
up to it. A test checks that the newest version has the columns the codec writes.
"""

SCHEMA_VERSION = max(MIGRATIONS)
"""The newest schema this code writes and reads."""


def migrations(dialect: Dialect, version: int) -> list[str]:
    """The statements that bring a schema at ``version - 1`` (0: no tables) to ``version``."""
    return list(MIGRATIONS[version][dialect.name])

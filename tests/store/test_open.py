"""Opening stores: choosing one from a URL, and every way a database can be bad."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import os
import pwd
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import conninfo

from order_lifecycle import (
    Checkout,
    CheckoutState,
    Inbox,
    InvalidInput,
    Item,
    Order,
    OrderEvent,
    OrderLifecycleError,
    Reconciler,
    fire,
)
from order_lifecycle.cli import main
from order_lifecycle.exceptions import WrongType
from order_lifecycle.lifecycle import Step
from order_lifecycle.store import (
    SCHEMA_VERSION,
    MemoryStore,
    MigrationNeeded,
    SchemaTooNew,
    SQLiteStore,
    Store,
    StoreCorrupt,
    StoreReadOnly,
    StoreUnavailable,
    _codec,
    _inbox_sql,
    _open,
    _outbox_sql,
    _schema,
    _sql,
    migrate,
    open_store,
)
from order_lifecycle.store.postgres import PostgresStore
from order_lifecycle.testing import HOSTILE_TEXT
from tests.pgcluster import _unprivileged_user

from .conftest import REAL_BACKENDS, UrlMaker, new_postgres_schema

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder`` with its bytes: to show that nothing was written."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_open_store_picks_sqlite_for_paths(tmp_path: Path) -> None:
    """Paths (str or Path), sqlite:/// URLs and :memory: open SQLite stores."""
    with open_store(tmp_path / "a.db") as by_path:
        assert isinstance(by_path, SQLiteStore)
    with open_store(str(tmp_path / "b.db")) as by_str:
        assert repr(by_str) == f"<SQLiteStore(path={str(tmp_path / 'b.db')!r})>"
    with open_store(f"sqlite://{tmp_path / 'c.db'}") as by_url:
        assert by_url.path == str(tmp_path / "c.db")  # type: ignore[attr-defined]
    with open_store(":memory:") as in_memory:
        in_memory.create_order(Order.create("o-1"))
        assert in_memory.order_ids() == ["o-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db", "b.db", "c.db"]
    assert repr(MemoryStore()) == "<MemoryStore(num_orders=0, num_checkouts=0)>"


def test_open_store_refuses_other_urls(tmp_path: Path) -> None:
    """A URL of another database, or not a URL at all, is refused."""
    with pytest.raises(InvalidInput, match="No store for mysql:// URLs"):
        open_store("mysql://shop@localhost/orders")
    with pytest.raises(WrongType):
        open_store(5)  # type: ignore[arg-type]
    with pytest.raises(WrongType):
        open_store("")
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    """A file that is not SQLite is StoreCorrupt, and stays byte for byte as it was."""
    path = tmp_path / "orders.db"
    path.write_bytes(b"order 1001 shipped\n" * 100)
    before = snapshot(tmp_path)
    with pytest.raises(StoreCorrupt, match=r"orders\.db is not an intact order-lifecycle store"):
        open_store(path)
    assert snapshot(tmp_path) == before


def read_everything(path: Path) -> None:
    with open_store(path) as store:
        for order_id in store.order_ids():
            store.get_order(order_id)


def test_a_damaged_database(tmp_path: Path) -> None:
    """A store whose pages were overwritten is StoreCorrupt when read, not garbage."""
    path = tmp_path / "orders.db"
    with open_store(path) as store:
        for n in range(300):
            store.create_order(Order.create(f"o-{n}", items=[Item("i" * 50, 1, physical=True)]))
    data = bytearray(path.read_bytes())
    data[8192 : 8192 + 3 * 4096] = b"\xab" * (3 * 4096)
    path.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt, match="malformed"):
        read_everything(path)


def test_dropped_tables_are_store_corrupt(tmp_path: Path) -> None:
    """A store whose tables were dropped says so instead of raising a driver error."""
    path = tmp_path / "orders.db"
    open_store(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE ol_kept_deliveries")
    connection.close()
    with open_store(path) as store, pytest.raises(StoreCorrupt, match="no such table"):
        store.kept_deliveries()


def test_a_file_that_cannot_be_opened(tmp_path: Path) -> None:
    """A path in a missing folder is StoreUnavailable, and creates nothing."""
    with pytest.raises(StoreUnavailable, match="Cannot open the SQLite file"):
        open_store(tmp_path / "missing" / "orders.db")
    assert list(tmp_path.iterdir()) == []


def test_create_false_needs_an_existing_store(tmp_path: Path) -> None:
    """Without create, a missing file or a database without a store is refused, untouched."""
    with pytest.raises(StoreUnavailable, match=r"No store at .*orders\.db: the file does not"):
        open_store(tmp_path / "orders.db", create=False)
    assert list(tmp_path.iterdir()) == []
    with sqlite3.connect(tmp_path / "other.db") as connection:
        connection.execute("CREATE TABLE app (x)")
    connection.close()
    (tmp_path / "empty.db").touch()
    before = snapshot(tmp_path)
    with pytest.raises(
        MigrationNeeded, match=r"There is no order-lifecycle store in .*\.db; "
    ) as e:
        open_store(tmp_path / "other.db", create=False)
    assert f"run `order-lifecycle migrate --db {tmp_path / 'other.db'}`" in str(e.value)
    with pytest.raises(StoreCorrupt, match="is empty"):
        open_store(tmp_path / "empty.db", create=False)
    assert snapshot(tmp_path) == before
    (tmp_path / "empty.db").unlink()
    open_store(tmp_path / "orders.db").close()
    open_store(tmp_path / "orders.db", create=False).close()


def set_schema_version(path: Path, version: int) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE ol_schema SET version = ?", [version])
    connection.close()


def test_a_schema_newer_than_the_code(tmp_path: Path) -> None:
    """A store set up by a newer order-lifecycle is refused with SchemaTooNew; nothing written."""
    path = tmp_path / "orders.db"
    open_store(path).close()
    set_schema_version(path, SCHEMA_VERSION + 1)
    before = snapshot(tmp_path)
    with pytest.raises(SchemaTooNew, match=f"knows versions up to {SCHEMA_VERSION}") as refused:
        open_store(path)
    assert (refused.value.found, refused.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    assert snapshot(tmp_path) == before


def test_a_locked_database_is_unavailable(tmp_path: Path) -> None:
    """A writer that waits longer than its timeout for the lock gets StoreUnavailable."""
    path = tmp_path / "orders.db"
    store = SQLiteStore(path, timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable, match=r"stayed locked by another writer for 0\.05 s"):
            store.create_order(Order.create("o-1"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.create_order(Order.create("o-1"))
    assert store.order_ids() == ["o-1"]
    store.close()


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_a_dsn_that_does_not_connect() -> None:
    """Nothing listening, or not a DSN at all: StoreUnavailable, without the password."""
    dsn = f"postgresql://shop:s3cret@127.0.0.1:{unused_port()}/orders"
    with pytest.raises(StoreUnavailable, match="Cannot connect to PostgreSQL at shop@127") as no:
        open_store(dsn)
    assert "s3cret" not in str(no.value)
    with pytest.raises(StoreUnavailable, match="Not a PostgreSQL DSN: invalid percent-encoded"):
        open_store("postgresql://%zz@127.0.0.1/orders")


def test_postgres_urls_open_postgres_stores(postgres_dsn: str) -> None:
    """postgresql:// and postgres:// open a PostgresStore; its repr never shows a password."""
    url = new_postgres_schema(postgres_dsn)
    with open_store(url) as store:
        assert isinstance(store, PostgresStore)
        assert repr(store).startswith("<PostgresStore('test@127.0.0.1:")
    with_password = url.replace("test@", "test:s3cret@")
    with open_store(with_password.replace("postgresql://", "postgres://")) as store:
        assert "s3cret" not in repr(store)


def test_postgres_schema_newer_than_the_code(postgres_dsn: str) -> None:
    """A PostgreSQL store set up by a newer version is refused; no table is created."""
    url = new_postgres_schema(postgres_dsn, tables=False)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE TABLE ol_schema (version BIGINT NOT NULL)")
        connection.execute("INSERT INTO ol_schema VALUES (%s)", [SCHEMA_VERSION + 1])
    with pytest.raises(SchemaTooNew):
        open_store(url)
    with pytest.raises(MigrationNeeded, match="There is no order-lifecycle store in PostgreSQL"):
        open_store(new_postgres_schema(postgres_dsn, tables=False), create=False)
    with psycopg.connect(url, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    assert tables == [("ol_schema",)]


def test_postgres_dropped_tables_are_store_corrupt(postgres_dsn: str) -> None:
    """Tables dropped from under a PostgreSQL store: StoreCorrupt, not a driver error."""
    url = new_postgres_schema(postgres_dsn)
    with open_store(url) as store:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("DROP TABLE ol_kept_deliveries")
        with pytest.raises(StoreCorrupt, match="not an intact store"):
            store.kept_deliveries()
        store.create_order(Order.create("o-1"))  # the connection is still usable


def test_the_package_imports_without_psycopg(tmp_path: Path) -> None:
    """Without psycopg, order_lifecycle and its stores import; PostgreSQL says what to install."""
    program = f"""
import sys
sys.modules["psycopg"] = None  # as if it were not installed
import order_lifecycle, order_lifecycle.store
from order_lifecycle.store import open_store, StoreUnavailable
with open_store({str(tmp_path / "orders.db")!r}) as store:
    store.create_order(order_lifecycle.Order.create("o-1"))
try:
    open_store("postgresql://shop@localhost/orders")
except StoreUnavailable as error:
    print(error)
"""
    done = subprocess.run(  # noqa: S603 (this interpreter, this test's program)
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert "pip install 'order-lifecycle[postgres]'" in done.stdout


def test_only_the_postgres_module_imports_psycopg() -> None:
    """Importing the package and its stores does not import psycopg."""
    program = (
        "import sys, order_lifecycle.store, order_lifecycle.cli; print('psycopg' in sys.modules)"
    )
    done = subprocess.run(  # noqa: S603 (this interpreter, this test's program)
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


def test_store_names_are_exported() -> None:
    """order_lifecycle.store's __all__ is exactly its public names."""
    import order_lifecycle.store as module  # noqa: PLC0415

    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, type(os)) and name != "annotations"
    }
    assert set(module.__all__) == public
    assert issubclass(module.MemoryStore, Store)


def test_the_check_command_on_postgres(
    postgres_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """order-lifecycle check --db takes a DSN too; the demo runs on PostgreSQL as well."""
    url = new_postgres_schema(postgres_dsn)
    assert main(["demo", "--db", url, "--orders", "11", "--no-picture"]) == 0
    capsys.readouterr()
    assert main(["check", "--db", url]) == 0
    assert "10 orders and 12 checkouts checked" in capsys.readouterr().out
    assert main(["check", "--db", new_postgres_schema(postgres_dsn, tables=False)]) == 1
    assert "There is no order-lifecycle store in PostgreSQL" in capsys.readouterr().err


def newer_code(monkeypatch: pytest.MonkeyPatch) -> int:
    """Make this code one schema version newer (an index more); the new version."""
    index = "CREATE INDEX ol_orders_by_checkout ON ol_orders (checkout_id)"
    monkeypatch.setitem(
        _schema.MIGRATIONS, SCHEMA_VERSION + 1, {"sqlite": (index,), "postgres": (index,)}
    )
    for module in (_schema, _sql, _open):
        monkeypatch.setattr(module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    return SCHEMA_VERSION + 1


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_an_older_schema_is_upgraded_only_when_asked(
    new_url: UrlMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Older tables are refused untouched, then migrate=True upgrades them, data kept."""
    url = new_url()
    with open_store(url) as store:
        store.create_order(Order.create("o-1"))
    newer = newer_code(monkeypatch)
    for read_only in (False, True):
        with pytest.raises(MigrationNeeded, match=f"at schema version {SCHEMA_VERSION}, ") as e:
            open_store(url, read_only=read_only)
        assert "open it with migrate=True" in str(e.value)
        assert (e.value.found, e.value.supported) == (SCHEMA_VERSION, newer)
    with open_store(url, migrate=True) as store:
        assert store.found_version == SCHEMA_VERSION  # type: ignore[attr-defined]
        assert store.order_ids() == ["o-1"]
        with store._transaction(write=False):  # type: ignore[attr-defined]
            assert store._schema_version() == newer  # type: ignore[attr-defined]
    monkeypatch.undo()
    with pytest.raises(SchemaTooNew):
        open_store(url)


# --- what open_store creates, and what it refuses -----------------------------------------------


def test_a_zero_byte_file_is_refused_unless_create(tmp_path: Path) -> None:
    """An empty file is not silently taken for a new store: StoreCorrupt, left empty."""
    path = tmp_path / "orders.db"
    path.touch()
    with pytest.raises(StoreCorrupt, match=r"orders\.db is empty \(0 bytes\)"):
        open_store(path)
    with pytest.raises(StoreCorrupt, match="is empty"):
        SQLiteStore(path, create=False)
    assert snapshot(tmp_path) == {"orders.db": b""}
    with open_store(path, create=True) as store:
        store.create_order(Order.create("o-1"))
    with open_store(path) as store:
        assert store.order_ids() == ["o-1"]


def test_an_existing_database_gets_tables_only_with_create(tmp_path: Path) -> None:
    """A SQLite file that holds no store is refused, untouched, unless create=True."""
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE app (x)")
    connection.close()
    before = snapshot(tmp_path)
    with pytest.raises(StoreUnavailable, match=r"no order-lifecycle store in .*create=True"):
        open_store(path)
    assert snapshot(tmp_path) == before
    with open_store(path, create=True) as store:
        store.create_order(Order.create("o-1"))
    with open_store(path) as store:
        assert store.order_ids() == ["o-1"]


def test_a_new_store_appears_whole(tmp_path: Path) -> None:
    """A new path gets a whole store at once: never an empty file, no files left beside it."""
    path = tmp_path / "orders.db"
    with open_store(path) as store:
        assert path.stat().st_size > 0
        store.create_order(Order.create("o-1"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.db"]


@pytest.mark.parametrize("name", ["orders\x00.db", "orders.db\x00.bak", "\ud800.db"])
def test_a_path_no_file_can_have_is_refused(tmp_path: Path, name: str) -> None:
    """A NUL (or a lone surrogate) in a path is InvalidInput, not a truncated file."""
    path = str(tmp_path / name)
    with pytest.raises(InvalidInput, match="not a file path"):
        open_store(path)
    with pytest.raises(InvalidInput, match="not a file path"):
        open_store(f"sqlite://{path}")
    with pytest.raises(InvalidInput, match="not a file path"):
        SQLiteStore(path)
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_store_reads_and_refuses_writes(tmp_path: Path) -> None:
    """read_only=True opens with mode=ro: reads work, writes are StoreReadOnly, nothing written."""
    path = tmp_path / "orders.db"
    with open_store(path) as store:
        store.create_order(Order.create("o-1"))
    before = path.read_bytes()
    with open_store(path, read_only=True) as store:
        assert store.order_ids() == ["o-1"]
        assert store.check() == []
        with pytest.raises(StoreReadOnly, match="opened read-only"):
            store.create_order(Order.create("o-2"))
        with pytest.raises(StoreReadOnly):
            store.keep_delivery(b"raw", "invalid")
        with pytest.raises(StoreReadOnly):
            store.begin_submission("chk-1")
        assert store.order_ids() == ["o-1"]
    assert path.read_bytes() == before
    with pytest.raises(StoreUnavailable, match=r"No store at .*nope\.db"):
        open_store(tmp_path / "nope.db", read_only=True)
    assert not (tmp_path / "nope.db").exists()
    with pytest.raises(InvalidInput, match="read-only :memory: store"):
        open_store(":memory:", read_only=True)


def damage(path: Path) -> None:
    """Overwrite three pages in the middle of a store of 300 orders."""
    with open_store(path) as store:
        for n in range(300):
            store.create_order(Order.create(f"o-{n}", items=[Item("i" * 50, 1, physical=True)]))
    data = bytearray(path.read_bytes())
    data[8192 : 8192 + 3 * 4096] = b"\xab" * (3 * 4096)
    path.write_bytes(bytes(data))


def test_quick_check_on_open_and_in_check(tmp_path: Path) -> None:
    """quick_check=True runs SQLite's quick_check on open; check() always does: StoreCorrupt."""
    path = tmp_path / "orders.db"
    damage(path)
    with pytest.raises(StoreCorrupt, match="quick_check"):
        open_store(path, quick_check=True)
    try:
        store = open_store(path)
    except StoreCorrupt:  # pragma: no cover (depends on which pages the damage hit)
        return
    with store, pytest.raises(StoreCorrupt, match="quick_check"):
        store.check()


def test_quick_check_passes_an_intact_store(tmp_path: Path) -> None:
    """An intact store passes quick_check, on open and in check."""
    path = tmp_path / "orders.db"
    open_store(path).close()
    with open_store(path, quick_check=True) as store:
        assert store.check() == []


# --- damaged rows: StoreCorrupt naming table, row and column -----------------------------------


def execute(url: str, statement: str) -> None:
    """Run one statement on the database behind ``url`` (SQLite path or DSN), committed."""
    if url.startswith("postgresql://"):
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(statement.encode())
        return
    with sqlite3.connect(url) as connection:
        connection.execute(statement)
    connection.close()


def stocked(url: str) -> None:
    """Two orders, a checkout, a kept delivery and a stored one (pending)."""
    with open_store(url) as store:
        store.create_order(Order.create("o-1"))
        store.create_order(Order.create("o-2"))
        store.begin_submission("chk-1")
        store.keep_delivery(b"raw", "invalid")
        Inbox(store, verified_upstream=True).accept([STORED])


STORED = (
    b'{"id": "evt-9", "type": "order.accepted", "createdTime": "2026-04-01T00:00:00Z", '
    b'"data": {"object": {"id": "o-1", "state": "accepted", "items": []}}}'
)


HUGE = "9" * 5000

# (statement, the read that meets it, what the message must name), on either database.
DAMAGE_ANYWHERE = [
    (
        "UPDATE ol_kept_deliveries SET kept_at = 'yesterday'",
        "kept_deliveries",
        r"ol_kept_deliveries row 1, column kept_at",
    ),
    (
        f"UPDATE ol_orders SET body = '{{\"items\": [], \"n\": {HUGE}}}' WHERE id = 'o-1'",  # noqa: S608 (a constant)
        "get_order",
        r"stored Order 'o-1'",
    ),
    (
        "UPDATE ol_order_steps SET \"at\" = 'soon' WHERE order_id = 'o-2'",
        "check",
        r"",
    ),
]
DAMAGE_ANYWHERE += [
    ("UPDATE ol_inbox SET received_at = 'soon'", "list_deliveries", r"ol_inbox row 1"),
]
# PostgreSQL's statuses are columns of ol_inbox; SQLite's (schema 10) rows of their own.
DAMAGE_POSTGRES = [
    ("UPDATE ol_inbox SET status = 'lost'", "list_deliveries", r"ol_inbox row 1, column status"),
    ("UPDATE ol_inbox SET status = 'lost'", "delivery_counts", r"column status"),
]
_LOST = "INSERT OR REPLACE INTO ol_inbox_status (seq, status, attempts) VALUES (1, 'lost', 0)"
# Only SQLite lets a column hold a value of another type.
DAMAGE_SQLITE = [
    (_LOST, "list_deliveries", r"ol_inbox row 1, column status"),
    (_LOST, "delivery_counts", r"column status"),
    ("UPDATE ol_inbox SET body = 5", "list_deliveries", r"ol_inbox row 1, column body"),
    (
        "INSERT OR REPLACE INTO ol_inbox_status (seq, status, attempts) VALUES (1, 'waiting', 'x')",
        "list_deliveries",
        r"column attempts",
    ),
    (
        "UPDATE ol_kept_deliveries SET raw = 5",
        "kept_deliveries",
        r"ol_kept_deliveries row 1, column raw",
    ),
    ("UPDATE ol_kept_deliveries SET reason = x'00ff'", "kept_deliveries", r"column reason"),
    ("UPDATE ol_kept_deliveries SET event_id = x'07'", "kept_deliveries", r"column event_id"),
    (
        "UPDATE ol_orders SET id = x'ff' WHERE id = 'o-2'",
        "order_ids",
        r"ol_orders row .*, column id",
    ),
    ("UPDATE ol_checkouts SET id = x'0c'", "checkout_ids", r"ol_checkouts row .*, column id"),
    ("UPDATE ol_orders SET id = NULL WHERE id = 'o-2'", "check", r"ol_orders row .*, column id"),
    ("UPDATE ol_orders SET state = x'01'", "check", r"ol_orders row 'o-1', column state"),
    (
        "UPDATE ol_order_steps SET spec_version = x'04'",
        "check",
        r"ol_order_steps row 'o-1' 0, column spec_version",
    ),
]


def read(store: Store, what: str) -> object:
    if what == "get_order":
        return store.get_order("o-1")
    return getattr(store, what)()


@pytest.mark.parametrize(("statement", "what", "names"), DAMAGE_ANYWHERE + DAMAGE_SQLITE)
def test_damaged_sqlite_rows_are_store_corrupt(
    tmp_path: Path, statement: str, what: str, names: str
) -> None:
    """A damaged SQLite row is StoreCorrupt naming where it is (or, in check, listed)."""
    url = str(tmp_path / "orders.db")
    stocked(url)
    execute(url, statement)
    with open_store(url) as store:
        if what == "check" and not names:
            (problem,) = store.check()
            assert problem.id == "o-2"
            assert "cannot be read back" in problem.problem
            return
        with pytest.raises(StoreCorrupt, match=names):
            read(store, what)


@pytest.mark.parametrize(("statement", "what", "names"), DAMAGE_ANYWHERE + DAMAGE_POSTGRES)
def test_damaged_postgres_rows_are_store_corrupt(
    postgres_dsn: str, statement: str, what: str, names: str
) -> None:
    """A damaged PostgreSQL row is StoreCorrupt naming where it is (or, in check, listed)."""
    url = new_postgres_schema(postgres_dsn)
    stocked(url)
    execute(url, statement)
    with open_store(url) as store:
        if what == "check" and not names:
            assert [problem.id for problem in store.check()] == ["o-2"]
            return
        with pytest.raises(StoreCorrupt, match=names):
            read(store, what)


@pytest.mark.parametrize(
    "statement", [d[0] for d in DAMAGE_SQLITE if d[1] in {"check", "order_ids", "checkout_ids"}]
)
def test_the_check_command_on_damaged_rows(
    tmp_path: Path, statement: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """order-lifecycle check on damaged rows prints one line on stderr and exits 1."""
    url = str(tmp_path / "orders.db")
    stocked(url)
    execute(url, statement)
    assert main(["check", "--db", url]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("order-lifecycle: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


# --- the migrations: literal SQL, frozen once released ------------------------------------------

RELEASED = {
    (1, "sqlite"): "64bc263f3bfce6cfab29b707a7f0b6f14410a5075710d9ad8d0392b01254abce",
    (1, "postgres"): "037234337f6b32fd7863a1a8aa920cb54cdb08082f273e56b86d11477e413231",
    (2, "sqlite"): "2c5eb14edce890617fe6e3f92f21c521bb41d38d34cb874acea8a8a9f8a47ff1",
    (2, "postgres"): "425c37a3920c40cec380aaeaaf658293e1882a0665d5fde847fd7bc691fabf00",
    (3, "sqlite"): "a9e455a1a0312047fe423b176220a6c9741d9ede6522208e93de7d7f5e2e828e",
    (3, "postgres"): "510ce546b5362801c544854f4c7ed3a8c9870e96dbd6b426c8987574a23904fa",
    (4, "sqlite"): "8bf23248b29657f5e163d037adc6c7ace6424510e5e33e5a6eeea9977bde753f",
    (4, "postgres"): "8bf23248b29657f5e163d037adc6c7ace6424510e5e33e5a6eeea9977bde753f",
    (5, "sqlite"): "9e94fcb4520afa96515c0b105d3a85922b9b45aeb1b2fcc40980b1ad741347d0",
    (5, "postgres"): "ea1a66a07e8a79b6b181a7e0c6f88cdc35db87481e3370a35c8c02144be3977c",
    (6, "sqlite"): "48c384e759aae74a6e935304247d43faef08604c814a7c0fdaadc27d4ed89264",
    (6, "postgres"): "48c384e759aae74a6e935304247d43faef08604c814a7c0fdaadc27d4ed89264",
    (7, "sqlite"): "76d65b77dd2c8f50e941d8dd643fd9abf7e44d98dde4a26c506ae683b09abf67",
    (7, "postgres"): "76d65b77dd2c8f50e941d8dd643fd9abf7e44d98dde4a26c506ae683b09abf67",
    (8, "sqlite"): "092c4a5ab01a0f4a45408cf56996944f73665f2377120c7ddc2493652100c6dc",
    (8, "postgres"): "092c4a5ab01a0f4a45408cf56996944f73665f2377120c7ddc2493652100c6dc",
    (9, "sqlite"): "6d12912a0b9a7062203e5488f5c5305eb70a3b4b4918cbe1fcfaa41ef06d102d",
    (9, "postgres"): "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    (10, "sqlite"): "bc41078c28902e71f29c48cb421be62226ecb8346b83a7ed4e0c8107eee555c6",
    (10, "postgres"): "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
}


def test_released_migrations_never_change() -> None:
    """Each released migration's SQL is exactly what was released (a new version adds one)."""
    found = {
        (version, dialect): hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()
        for version, by_dialect in _schema.MIGRATIONS.items()
        for dialect, statements in by_dialect.items()
    }
    assert {key: found[key] for key in RELEASED} == RELEASED
    assert set(found) <= set(RELEASED) | {(SCHEMA_VERSION, "sqlite"), (SCHEMA_VERSION, "postgres")}


def table_columns(url: str) -> dict[str, list[str]]:
    """Each ol_ table's columns, in order, in the database behind ``url``."""
    if url.startswith("postgresql://"):
        with psycopg.connect(url) as pg:
            rows = pg.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
            ).fetchall()
    else:
        with sqlite3.connect(url) as connection:
            rows = [
                (table, column[1])
                for (table,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
                for column in connection.execute(f"PRAGMA table_info({table})")
            ]
        connection.close()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_the_newest_schema_fits_the_models(new_url: UrlMaker) -> None:
    """The newest migration makes the tables and columns the codec writes, and no others."""
    url = new_url()
    open_store(url).close()
    order_columns, _, order_steps = _codec.split(_codec.ORDER, Order.create("o-1"))
    checkout = Checkout("chk-1", history=[Step(None, None, CheckoutState.OPEN, T0)])
    checkout_columns, _, checkout_steps = _codec.split(_codec.CHECKOUT, checkout)
    steps = ["seq", "spec_version", *_codec.STEP_FIELDS]
    assert len(order_steps[0]) == len(checkout_steps[0]) == len(_codec.STEP_FIELDS)
    # SQLite's statuses are rows of their own (schema 10), PostgreSQL's columns of the inbox.
    status, statuses = "ol_inbox_status", ["status", "reason", "attempts", "due_at"]
    sqlite = not url.startswith("postgresql://")
    inbox = {"ol_inbox": list(_inbox_sql.INBOX_COLUMNS)}
    if sqlite:
        inbox = {
            "ol_inbox": [c for c in _inbox_sql.INBOX_COLUMNS if c not in statuses],
            status: ["seq", *statuses],
        }
    assert table_columns(url) == {
        "ol_schema": ["version"],
        "ol_orders": ["id", "version", *list(order_columns)[1:], "body"],
        "ol_order_steps": ["order_id", *steps],
        "ol_checkouts": ["id", "version", *list(checkout_columns)[1:], "body"],
        "ol_checkout_steps": ["checkout_id", *steps],
        "ol_applied_events": ["event_id", "order_id", "applied_at"],
        "ol_kept_deliveries": [
            *["id", "kept_at", "reason", "event_id", "order_id", "raw", "size", "sha256"]
        ],
        "ol_counters": ["name", "value"],
        "ol_actions": _outbox_sql.COLUMNS,
        **inbox,
    }
    assert set(table_columns(url)) == set(_schema.TABLES) - (set() if sqlite else {status})


SQL_VALUES = (
    st.none()
    | st.integers(-(2**63), 2**63 - 1)
    | st.just(HUGE)
    | st.just(f'{{"items": [], "n": {HUGE}}}')
    | st.floats()
    | st.binary(max_size=8)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
    | st.sampled_from(["{}", "[]", '{"items": 5}', "null", "2026-03-01", "accepted", "9e999999"])
)


@pytest.fixture(scope="module")
def stocked_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a store with an order, a checkout, an applied event and a kept delivery."""
    path = tmp_path_factory.mktemp("stocked") / "orders.db"
    stocked(str(path))
    with open_store(path) as store:
        store.update_order("o-1", accept, event_id="evt-1")
    return path.read_bytes()


def accept(order: Order) -> None:
    fire(order, OrderEvent.ACCEPT, at=T0)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_damaged_value_is_a_typed_error(
    tmp_path: Path, stocked_file: bytes, data: st.DataObject
) -> None:
    """Any value in any column of any table: every read works or raises a library error."""
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "orders.db"  # a new folder: no old -wal
    path.write_bytes(stocked_file)
    with sqlite3.connect(path) as connection:
        table = data.draw(st.sampled_from(_schema.TABLES[1:]), label="table")
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
        column = data.draw(st.sampled_from(columns), label="column")
        value = data.draw(SQL_VALUES, label="value")
        with contextlib.suppress(sqlite3.IntegrityError):  # NOT NULL, a primary key taken...
            connection.execute(f'UPDATE {table} SET "{column}" = ?', [value])  # noqa: S608
    connection.close()
    with open_store(path) as store:
        reads: list[Callable[[], object]] = [
            store.order_ids,
            store.checkout_ids,
            store.kept_deliveries,
            store.check,
            lambda: store.get_order("o-1"),
            lambda: store.get_checkout("chk-1"),
            lambda: store.applied_event_ids("o-1"),
            lambda: store.order_of_event("evt-1"),
            lambda: store.update_order("o-1", lambda order: fire(order, "dispute", at=T0)),
            store.list_deliveries,
            lambda: store.get_delivery(1),
            store.delivery_counts,
            lambda: Reconciler(store).run_once(),
            lambda: store.refeed_delivery(1),
        ]
        for read_it in reads:
            with contextlib.suppress(OrderLifecycleError):
                read_it()


# --- hostile places: what a path or DSN may be, and what it may hold -----------------------------


def test_a_fifo_or_a_folder_is_not_a_store(tmp_path: Path) -> None:
    """A FIFO (which SQLite would wait on for ever), a folder, a device: StoreUnavailable."""
    fifo = tmp_path / "orders.db"
    os.mkfifo(fifo)
    program = (
        "from order_lifecycle.store import open_store\n"
        "import sys\n"
        "for create in (None, True, False):\n"
        "    try:\n"
        "        open_store(sys.argv[1], create=create)\n"
        "    except Exception as error:\n"
        "        print(type(error).__name__, error)\n"
    )
    done = subprocess.run(  # noqa: S603 (this interpreter, this test's program)
        [sys.executable, "-c", program, str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    refused = (
        f"StoreUnavailable Cannot open the SQLite file {fifo}: it is a FIFO (named pipe), "
        "not a file a store can be in."
    )
    assert done.stdout.splitlines() == [refused] * 3
    with pytest.raises(StoreUnavailable, match="it is a folder"):
        open_store(tmp_path)
    with pytest.raises(StoreUnavailable, match="it is a character device"):
        open_store("/dev/null", create=True)


@pytest.mark.parametrize(
    "name", ["x" * 5000, "a" * 300 + ".db", "sqlite://" + "/y" * 3000], ids=["5000", "300", "url"]
)
def test_a_name_too_long_for_a_file_is_invalid_input(tmp_path: Path, name: str) -> None:
    """A path the file system cannot hold is InvalidInput, with or without create."""
    for create in (None, True, False):
        with pytest.raises(InvalidInput, match="is not a file path: File name too long"):
            open_store(name if name.startswith("sqlite") else str(tmp_path / name), create=create)
    assert list(tmp_path.iterdir()) == []


def unprivileged(call: Callable[[], str]) -> str:
    """What ``call()`` returns run without root's rights over files (a forked child, as root).

    Root may enter any folder; a child that gave up root for an unprivileged user may not.
    Everything ``call`` needs is imported already: the child may not read this interpreter.
    """
    user = _unprivileged_user()  # None when this process is not root already
    if user is None:
        return call()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's coverage is not collected)
        try:
            entry = pwd.getpwnam(user)
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            os.write(writing, call().encode())
        finally:
            os._exit(0)
    os.close(writing)
    with os.fdopen(reading, "rb") as pipe:
        shown = pipe.read().decode()
    os.waitpid(child, 0)
    return shown


def test_a_folder_this_process_may_not_enter(tmp_path: Path) -> None:
    """A store in a folder the process may not search is StoreUnavailable, not PermissionError."""
    locked = tmp_path / "locked"
    locked.mkdir()
    path = locked / "orders.db"
    migrate(path)
    locked.chmod(0o700)
    tmp_path.chmod(0o755)
    for folder in tmp_path.parents:  # pytest's own folders are root's alone
        if folder.name.startswith("pytest-"):
            folder.chmod(0o755)

    def try_to_open() -> str:
        shown = []
        for create in (None, True, False):
            try:
                open_store(path, create=create).close()
            except OrderLifecycleError as error:
                shown.append(f"{type(error).__name__} {error}")
            except Exception as error:  # noqa: BLE001 (what the test shows)
                shown.append(f"untyped {type(error).__name__} {error}")
        return "\n".join(shown)

    refused = f"StoreUnavailable Cannot open the SQLite file {path}: Permission denied."
    assert unprivileged(try_to_open).splitlines() == [refused] * 3


def test_a_damaged_schema_that_is_not_utf8_is_store_corrupt(tmp_path: Path) -> None:
    """A schema entry whose bytes are not UTF-8 is StoreCorrupt, not a UnicodeDecodeError."""
    path = tmp_path / "orders.db"
    migrate(path)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA writable_schema = ON")
        connection.execute(
            "UPDATE sqlite_master SET name = CAST(X'FF' AS TEXT) || name, "
            "sql = 'CREATE TABLE ' || CAST(X'FF' AS TEXT) || ' (' WHERE name = 'ol_counters'"
        )
    connection.close()
    for read_only in (False, True):
        with pytest.raises(StoreCorrupt, match="holds text that is not UTF-8"):
            open_store(path, read_only=read_only)
    assert main(["check", "--db", str(path)]) == 1


def test_a_host_name_no_resolver_takes(postgres_dsn: str) -> None:
    """A host label of more than 63 characters is StoreUnavailable, not a UnicodeError."""
    for host in ("a" * 64 + ".example", "x." * 200 + "example"):
        with pytest.raises(StoreUnavailable, match="Cannot connect to PostgreSQL at"):
            open_store(f"postgresql://shop@{host}/orders")
    for dsn in ("postgresql://shop@\udc80.example/orders", "postgresql://%ed%a0%80@db/orders"):
        with pytest.raises(StoreUnavailable, match="Not a PostgreSQL DSN: it holds text that"):
            open_store(dsn)
    with open_store(new_postgres_schema(postgres_dsn)):
        pass  # the cluster is fine: only those names fail


def test_psycopg_installed_but_not_loading_says_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A psycopg that is installed but cannot load its libpq is named as such, not 'install'."""

    class NoLibpq(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, *_: object) -> None:
            if name == "psycopg":
                raise ImportError(
                    "no pq wrapper available.\nAttempts made:\n- couldn't import psycopg 'c' "
                    "implementation: No module named 'psycopg_c'\n- couldn't import psycopg "
                    "'python' implementation: libpq library not found"
                )

    for module in [m for m in sys.modules if m.startswith(("psycopg", _POSTGRES_MODULE))]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(sys, "meta_path", [NoLibpq(), *sys.meta_path])
    with pytest.raises(StoreUnavailable) as raised:
        open_store("postgresql://shop@localhost/orders")
    message = str(raised.value)
    assert message.startswith("PostgreSQL's driver psycopg is installed but does not load: no pq")
    assert "libpq library not found" in message
    assert "needs the libpq library" in message
    assert "pip install 'order-lifecycle[postgres]'" not in message


_POSTGRES_MODULE = "order_lifecycle.store.postgres"


# Whatever may be given as a store's place: paths and DSNs of every kind, and not even those.
PLACES = st.one_of(
    st.sampled_from(
        [
            ":memory:",
            "",
            ".",
            "/",
            "/dev/null",
            "/proc/self/status",
            "x" * 5000,
            "sqlite://",
            "sqlite:///dev/null",
            "sqlite://\x00",
            "mysql://shop@localhost/orders",
            "postgresql://",
            "postgresql://%zz@127.0.0.1/orders",
            "postgresql://shop@" + "a" * 64 + ".example/orders",
            "postgresql://shop@127.0.0.1:1/orders?connect_timeout=1",
            "postgresql://shop@127.0.0.1/orders?sslmode=bogus",
            "postgres://\ud800@127.0.0.1/orders",
        ]
    ),
    HOSTILE_TEXT,
    st.sampled_from([5, None, b"orders.db", 1.5, ["orders.db"], Path("\x00")]),
)
FLAGS = st.sampled_from([None, True, False, 0, 1, "yes"])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(place=PLACES, create=FLAGS, migrating=FLAGS, read_only=FLAGS)
def test_any_place_opens_or_is_a_typed_error(  # noqa: PLR0917 (fixtures, then drawn values)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    place: object,
    create: object,
    migrating: object,
    read_only: object,
) -> None:
    """Paths, DSNs and junk with any flags: a store, or an error from the tree, nothing else."""
    monkeypatch.chdir(tmp_path)  # relative names are made here, if anywhere
    try:
        store = open_store(place, create=create, migrate=migrating, read_only=read_only)  # type: ignore[arg-type]
    except OrderLifecycleError:
        return
    store.close()


@pytest.fixture(scope="module")
def store_params(postgres_dsn: str) -> dict[str, str]:
    """The connection parameters of a store in the session's cluster, made once."""
    params = conninfo.conninfo_to_dict(new_postgres_schema(postgres_dsn))
    return {name: str(value) for name, value in params.items()}


@given(
    part=st.sampled_from(["user", "dbname", "options", "port", "application_name"]),
    value=HOSTILE_TEXT | st.sampled_from(["-c lock_timeout=bogus", "-c search_path=", "99999"]),
    create=FLAGS,
)
def test_any_dsn_of_the_cluster_opens_or_is_a_typed_error(
    store_params: dict[str, str], part: str, value: str, create: object
) -> None:
    """The session's cluster with one hostile part: a store, or an error from the tree."""
    query = urlencode({**store_params, part: value}, errors="surrogatepass")
    for url in (
        f"postgresql://?{query}",
        f"postgresql://{quote(value, safe='', errors='surrogatepass')}@127.0.0.1/x",
    ):
        try:
            store = open_store(url, create=create)  # type: ignore[arg-type]
        except OrderLifecycleError:
            continue
        store.close()

"""Migrations on purpose: the statements, the script a DBA runs, and roles that may not."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_lifecycle import Item, Order, fire
from order_lifecycle.cli import main
from order_lifecycle.exceptions import InvalidInput, OrderLifecycleError, WrongType
from order_lifecycle.store import (
    SCHEMA_VERSION,
    Incoming,
    Migration,
    MigrationNeeded,
    _schema,
    _sql,
    migrate,
    open_store,
    schema_script,
)
from order_lifecycle.store._migrate import DIALECTS, upgrade
from order_lifecycle.store._schema import Dialect
from order_lifecycle.testing import HOSTILE_TEXT
from tests.cli.test_migrate import COMMANDS, run

from .conftest import REAL_BACKENDS, UrlMaker, new_postgres_schema
from .test_open import newer_code, snapshot, table_columns


def statements_of(script: str) -> list[str]:
    """The statements of a script, without its comments and its BEGIN and COMMIT."""
    kept = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    statements = [s.strip() for s in kept.split(";\n") if s.strip()]
    assert (statements[0], statements[-1]) == ("BEGIN", "COMMIT;")
    return statements[1:-1]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_script_is_what_a_store_runs(dialect: str) -> None:
    """schema_script holds upgrade's statements, new tables or older ones, and nothing else."""
    for since in (None, *range(1, SCHEMA_VERSION)):
        script = schema_script(dialect, since)
        assert statements_of(script) == [s.strip() for s in upgrade(Dialect(dialect), since)]
        assert script.count(f"-- version {SCHEMA_VERSION}\n") == 1
    assert upgrade(Dialect(dialect), None)[-1] == (
        f"INSERT INTO ol_schema (version) VALUES ({SCHEMA_VERSION})"  # noqa: S608 (an int)
    )
    assert upgrade(Dialect(dialect), SCHEMA_VERSION) == []


@given(st.one_of(st.text(), st.integers(), st.none(), st.sampled_from(["", "mysql", "POSTGRES"])))
def test_the_script_of_no_dialect_is_a_typed_error(dialect: object) -> None:
    """A dialect the migrations are not written for is InvalidInput or WrongType."""
    if dialect in DIALECTS:
        return
    with pytest.raises((InvalidInput, WrongType)):
        schema_script(dialect)  # type: ignore[arg-type]


@pytest.mark.parametrize("since", [0, -1, SCHEMA_VERSION, 2**63, True, "1", 1.0])
def test_the_script_from_no_older_version_is_a_typed_error(since: object) -> None:
    """``since`` must be a version older than the newest."""
    with pytest.raises((InvalidInput, WrongType)):
        schema_script("sqlite", since)  # type: ignore[arg-type]


def test_a_dba_makes_a_sqlite_store_from_the_script(tmp_path: Path) -> None:
    """The printed SQL run by sqlite3 makes the tables migrate makes: the store opens as is."""
    by_hand, by_migrate = tmp_path / "by-hand.db", tmp_path / "by-migrate.db"
    with sqlite3.connect(by_hand, isolation_level=None) as connection:
        connection.executescript(schema_script("sqlite"))
    connection.close()
    migrate(by_migrate)
    assert table_columns(str(by_hand)) == table_columns(str(by_migrate))
    with open_store(by_hand, create=False) as store:
        assert store.found_version == SCHEMA_VERSION  # type: ignore[attr-defined]
        store.create_order(Order.create("o-1"))


@pytest.mark.parametrize("no_tables_url", REAL_BACKENDS, indirect=True)
def test_migrate_creates_then_has_nothing_to_do(no_tables_url: UrlMaker) -> None:
    """The first migrate makes the tables; run again it changes nothing and says so."""
    url = no_tables_url()
    first = migrate(url)
    assert (first.found, first.version, first.changed) == (None, SCHEMA_VERSION, True)
    again = migrate(url)
    assert again == Migration(first.where, SCHEMA_VERSION, SCHEMA_VERSION)
    assert not again.changed


def test_a_sqlite_file_is_never_changed_by_opening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older store file, or one of other tables, is left byte for byte as it was."""
    migrate(tmp_path / "older.db")
    with sqlite3.connect(tmp_path / "other.db") as connection:
        connection.execute("CREATE TABLE app (x)")
    connection.close()
    before = snapshot(tmp_path)
    newer_code(monkeypatch)
    for name in ("older.db", "other.db"):
        with pytest.raises(MigrationNeeded, match="order-lifecycle migrate --db "):
            open_store(tmp_path / name)
    assert snapshot(tmp_path) == before


# --- a role that may read and write the tables, and no more ---------------------------------


@pytest.fixture
def app_role(postgres_dsn: str) -> Iterator[tuple[str, str]]:
    """An owner's DSN and an application role's DSN onto one new, empty schema.

    The application role may connect, use the schema, and read and write its tables (once
    there are tables), but not create anything in it: the least privilege a shop gives
    its app servers.
    """
    owner = new_postgres_schema(postgres_dsn, tables=False)
    schema = owner.rpartition("%3D")[2]
    role = f"app_{schema}"
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {role} LOGIN")
        connection.execute(f"GRANT CONNECT ON DATABASE postgres TO {role}")
        connection.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        connection.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
        )
    yield owner, owner.replace("//test@", f"//{role}@")
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")
        connection.execute(f"DROP OWNED BY {role}")
        connection.execute(f"DROP ROLE {role}")


def test_a_role_that_may_not_create_tables_is_told_what_to_run(
    app_role: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """No tables: opening, create=True and migrate say which command to run, never the raw error."""
    _, app = app_role
    with pytest.raises(MigrationNeeded, match="run `order-lifecycle migrate --db ") as plain:
        open_store(app)
    assert plain.value.found is None
    assert plain.value.reason is None
    with pytest.raises(MigrationNeeded, match="could not be made") as denied:
        open_store(app, create=True)
    assert "permission denied for schema" in str(denied.value.reason)
    assert "as a role that may create tables there" in str(denied.value)
    assert main(["migrate", "--db", app]) == 1
    err = capsys.readouterr().err
    assert err.startswith("order-lifecycle: There is no order-lifecycle store in PostgreSQL")
    assert err.count("\n") == 1


def test_a_role_that_may_not_create_tables_uses_a_current_store(app_role: tuple[str, str]) -> None:
    """Once the owner migrated, the application role opens the store and does its work."""
    owner, app = app_role
    assert migrate(owner).found is None
    with open_store(app) as store:
        assert store.found_version == SCHEMA_VERSION  # type: ignore[attr-defined]
        store.create_order(Order.create("o-1", items=[Item("shirt", 1, physical=True)]))
        store.update_order("o-1", lambda order: fire(order, "accept"), event_id="evt-1")
        assert store.keep_delivery(b"{}", "invalid: a test") is not None
        (ship,) = store.claim_actions()
        store.complete_action(ship.key, {"parcel": "P-1"}, claim=ship.tries)
        assert [a.state for a in store.list_actions()] == ["done"]
        assert store.applied_event_ids("o-1") == {"evt-1"}


def test_a_role_that_may_not_alter_tables_is_told_what_to_run(
    app_role: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Older tables: the application role is refused, asked to migrate or not, untouched."""
    owner, app = app_role
    migrate(owner)
    newer = newer_code(monkeypatch)
    with pytest.raises(MigrationNeeded, match=f"at schema version {SCHEMA_VERSION}, "):
        open_store(app)
    with pytest.raises(MigrationNeeded, match="must be owner of table") as denied:
        open_store(app, migrate=True)
    assert (denied.value.found, denied.value.supported) == (SCHEMA_VERSION, newer)
    assert migrate(owner).found == SCHEMA_VERSION
    with open_store(app) as store:
        assert store.found_version == newer  # type: ignore[attr-defined]


def test_a_dba_makes_a_postgres_store_from_the_script(app_role: tuple[str, str]) -> None:
    """The printed SQL, run by the owner, makes a store the application role opens."""
    owner, app = app_role
    with psycopg.connect(owner, autocommit=True) as connection:
        connection.execute(schema_script("postgres").encode())
    with open_store(app) as store:
        store.create_order(Order.create("o-1"))
    reference = new_postgres_schema(owner.partition("?")[0])
    assert table_columns(owner) == table_columns(reference)


def test_every_failure_is_typed(app_role: tuple[str, str]) -> None:
    """What the application role meets opening stores is the library's errors only."""
    owner, app = app_role
    for url in (app, owner.replace("//test@", "//nobody@")):
        for create, migrating in ((False, False), (True, False), (True, True)):
            with pytest.raises(OrderLifecycleError):
                open_store(url, create=create, migrate=migrating)


@settings(max_examples=60)
@given(command=st.sampled_from(COMMANDS), part=HOSTILE_TEXT, where=st.sampled_from(range(3)))
def test_every_command_given_a_hostile_postgres_dsn_answers_in_one_line(
    postgres_dsn: str, command: list[str], part: str, where: int
) -> None:
    """The session's cluster with a hostile schema, user or database: one line, never a bug."""
    quoted = quote(part, safe="", errors="surrogatepass")
    dsn = [
        f"{postgres_dsn}?options={quote('-csearch_path=', safe='')}{quoted}",
        postgres_dsn.replace("//test@", f"//{quoted}@"),
        f"{postgres_dsn.rpartition('/')[0]}/{quoted}",
    ][where]
    code, _, err = run(*command, f"--db={dsn}")
    assert code in {0, 1}
    if code == 1:
        assert err.startswith("order-lifecycle: ")
        assert err.count("\n") == 1
        assert "a bug: please report it" not in err


@pytest.mark.parametrize("no_tables_url", REAL_BACKENDS, indirect=True)
def test_a_store_at_schema_7_with_deliveries_migrates_and_keeps_deduplicating(
    no_tables_url: UrlMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 8 keys the stored rows by order and event id: each redelivery is still one."""
    url = no_tables_url()
    stored = [("e-1", "o-1"), ("e-2", None), ("e-3", "o-2"), ("e-4", "o-1")]
    with monkeypatch.context() as patch:
        patch.delitem(_schema.MIGRATIONS, 8)
        for module in (_schema, _sql):
            patch.setattr(module, "SCHEMA_VERSION", 7)
        with open_store(url, create=True) as store, store._transaction(write=True):  # type: ignore[attr-defined]
            for event_id, order_id in stored:
                store._write(  # type: ignore[attr-defined]
                    "INSERT INTO ol_inbox (event_id, order_id, received_at, status, body) "
                    "VALUES (?, ?, ?, 'pending', ?)",
                    [event_id, order_id, "2026-04-10T12:00:00.000000Z", b"{}"],
                )
    with open_store(url, migrate=True) as store:
        assert store.found_version == 7  # type: ignore[attr-defined]
        with store._transaction(write=False):  # type: ignore[attr-defined]
            indexes = {
                row[0]
                for row in store._query(  # type: ignore[attr-defined]
                    "SELECT name FROM sqlite_master WHERE tbl_name = 'ol_inbox'"
                    if url.endswith(".db")
                    else "SELECT indexname FROM pg_indexes WHERE tablename = 'ol_inbox' "
                    "AND schemaname = current_schema()"
                )
            }
        assert "ol_inbox_by_key" in indexes
        assert not indexes & {"ol_inbox_by_event", "ol_inbox_by_order"}
        again = [
            Incoming(e, "order.accepted", o, None, "2026-04-10T12:00:01Z", "pending", None, b"")
            for e, o in [*stored, ("e-1", "o-2")]
        ]
        *redelivered, new = store.accept_deliveries(again)
        assert redelivered == [None] * len(stored)
        assert new is not None  # e-1 of another order: a key of its own
        assert [r.event_id for r in store.list_deliveries(order_id="o-1")] == ["e-1", "e-4"]
        claim = store.claim_deliveries(limit=5, now=datetime.now(UTC))
        assert [(r.event_id, r.order_id) for r in claim.deliveries] == [
            *stored,
            ("e-1", "o-2"),
        ]


def inbox_compression(url: str) -> tuple[str, list[str | None]]:
    """The inbox body column's compression method, and each stored body's (None: as is)."""
    with psycopg.connect(url) as pg:
        row = pg.execute(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'ol_inbox'::regclass AND attname = 'body'"
        ).fetchone()
        assert row is not None
        bodies = pg.execute("SELECT pg_column_compression(body) FROM ol_inbox ORDER BY seq")
        return str(row[0]), [method for (method,) in bodies]


def big_body(event_id: str) -> bytes:
    """A body past PostgreSQL's 2 kB threshold, which compresses well."""
    items = ", ".join('{"sku": "box", "quantity": 1}' for _ in range(120))
    return f'{{"id": "{event_id}", "data": {{"object": {{"items": [{items}]}}}}}}'.encode()


def accept_big(store: object, event_id: str) -> None:
    """Store a big body as a pending delivery of order o-1."""
    stored = Incoming(
        event_id, "order.accepted", "o-1", None, "2026-04-10T12:00:01Z", "pending", None,
        big_body(event_id),
    )  # fmt: skip
    assert store.accept_deliveries([stored]) != [None]  # type: ignore[attr-defined]


@pytest.mark.parametrize("no_tables_url", ["postgres"], indirect=True)
def test_postgres_compresses_new_inbox_bodies_with_lz4(
    no_tables_url: UrlMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From version 11, bodies past 2 kB are lz4-compressed; those stored before keep pglz.

    Each reads back exactly.
    """
    url = no_tables_url()
    with monkeypatch.context() as patch:
        patch.delitem(_schema.MIGRATIONS, 11)
        for module in (_schema, _sql):
            patch.setattr(module, "SCHEMA_VERSION", 10)
        with open_store(url, create=True) as store:
            accept_big(store, "e-1")
    assert inbox_compression(url) == ("", ["pglz"])
    with open_store(url, migrate=True) as store:
        accept_big(store, "e-2")
        claim = store.claim_deliveries(limit=1, now=datetime.now(UTC))
        assert [row.body for row in claim.deliveries] == [big_body("e-1"), big_body("e-2")]
    assert inbox_compression(url) == ("l", ["pglz", "lz4"])


def test_a_server_without_the_method_keeps_its_compression_and_migrates(
    postgres_dsn: str,
) -> None:
    """Version 11's block on a server that lacks the method changes nothing, and fails nothing."""
    url = new_postgres_schema(postgres_dsn)
    (block,) = _schema.MIGRATIONS[11]["postgres"]
    with psycopg.connect(url) as pg:
        pg.execute("ALTER TABLE ol_inbox ALTER COLUMN body SET COMPRESSION pglz")
        # zstd: a method this server's TOAST lacks, as lz4 is lacking from some builds.
        pg.execute(block.replace("lz4", "zstd"))
        pg.execute(block.replace("SET COMPRESSION lz4", "SET COMPRESSION lz4 lz4"))
    assert inbox_compression(url) == ("p", [])

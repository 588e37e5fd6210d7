"""PostgreSQL faults: lost connections come back, lock waits and long statements are bounded."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, unquote

import psycopg
import pytest

from order_lifecycle import InvalidInput, Order, OrderEvent, fire
from order_lifecycle.store import Incoming, Store, StoreReadOnly, StoreUnavailable, open_store
from order_lifecycle.store.postgres import RETRIED, PostgresStore
from order_lifecycle.webhooks import error_status
from tests.otel import Telemetry

from .conftest import new_postgres_schema


@pytest.fixture
def url(postgres_dsn: str) -> str:
    """A DSN of a new, empty schema of the session's cluster."""
    return new_postgres_schema(postgres_dsn)


@pytest.fixture
def other(url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A second connection to the same database, as another app server (or an operator)."""
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


def kill_backends(other: psycopg.Connection[tuple[object, ...]]) -> int:
    """Terminate every other session of the database, as a server restart would; how many."""
    rows = other.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE pid <> pg_backend_pid() AND datname = current_database() "
        "AND backend_type = 'client backend'"
    ).fetchall()
    return len(rows)


def accept(order: Order) -> None:
    fire(order, OrderEvent.ACCEPT)


def test_a_lost_connection_is_replaced_on_the_next_call(
    url: str, other: psycopg.Connection[tuple[object, ...]]
) -> None:
    """After its backend is killed, every kind of call works again, first time, once each."""
    with PostgresStore(url) as store:
        store.create_order(Order.create("o-1"))
        calls: list[Callable[[], object]] = [
            lambda: store.get_order("o-1"),
            store.order_ids,
            lambda: store.update_order("o-1", accept, event_id="evt-1"),
            lambda: store.create_order(Order.create("o-2")),
            lambda: store.begin_submission("chk-1"),
            lambda: store.keep_delivery(b"raw", "invalid"),
            store.kept_deliveries,
            store.check,
            lambda: store.applied_event_ids("o-1"),
        ]
        for call in calls:
            assert kill_backends(other) == 1
            call()
        assert store.order_ids() == ["o-1", "o-2"]
        assert str(store.get_order("o-1").state) == "accepted"
        assert store.applied_event_ids("o-1") == {"evt-1"}
        assert len(store.kept_deliveries()) == 1


def test_a_server_that_stays_down_is_unavailable_then_comes_back(
    url: str, other: psycopg.Connection[tuple[object, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While no connection can be made, calls are StoreUnavailable; then the store recovers."""
    with PostgresStore(url) as store:
        store.create_order(Order.create("o-1"))
        kill_backends(other)
        real = psycopg.connect

        def refuse(*_args: object, **_kwargs: object) -> None:
            raise psycopg.OperationalError("connection refused (the server is restarting)")

        monkeypatch.setattr(psycopg, "connect", refuse)
        with pytest.raises(StoreUnavailable, match="Cannot connect to PostgreSQL"):
            store.get_order("o-1")
        monkeypatch.setattr(psycopg, "connect", real)
        assert store.order_ids() == ["o-1"]


def test_a_closed_store_stays_closed(url: str) -> None:
    """close() is final: the store does not reconnect behind its owner's back."""
    store = PostgresStore(url)
    store.close()
    with pytest.raises(StoreUnavailable, match="is closed"):
        store.order_ids()


def hold_row_lock(other: psycopg.Connection[tuple[object, ...]], order_id: str) -> None:
    other.execute("BEGIN")
    other.execute("SELECT 1 FROM ol_orders WHERE id = %s FOR UPDATE", [order_id])


def test_a_lock_wait_is_bounded_by_lock_timeout(
    url: str, other: psycopg.Connection[tuple[object, ...]]
) -> None:
    """A row another transaction locked: StoreUnavailable within lock_timeout, nothing written."""
    with PostgresStore(url, lock_timeout=0.2) as store:
        store.create_order(Order.create("o-1"))
        before = store.get_order("o-1")
        hold_row_lock(other, "o-1")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"waited more than lock_timeout \(0\.2 s\)"):
            store.update_order("o-1", accept, event_id="evt-1")
        # Without the timeout it would wait until the ROLLBACK below, forever; the bound is
        # generous so a loaded machine (CI, other pytest runs beside) never trips it.
        assert time.monotonic() - started < 20
        other.execute("ROLLBACK")
        assert store.get_order("o-1") == before
        assert store.applied_event_ids("o-1") == frozenset()
        store.update_order("o-1", accept, event_id="evt-1")  # the session is still good


def test_a_long_statement_is_bounded_by_statement_timeout(
    url: str, other: psycopg.Connection[tuple[object, ...]]
) -> None:
    """A statement running past statement_timeout: StoreUnavailable, nothing written."""
    with PostgresStore(url, lock_timeout=30, statement_timeout=0.2) as store:
        store.create_order(Order.create("o-1"))
        before = store.get_order("o-1")
        hold_row_lock(other, "o-1")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"after statement_timeout \(0\.2 s\)"):
            store.update_order("o-1", accept, event_id="evt-1")
        assert time.monotonic() - started < 20  # as above: unbounded without it
        other.execute("ROLLBACK")
        assert store.get_order("o-1") == before
        assert store.order_of_event("evt-1") is None


def test_default_timeouts_are_set_on_every_session(
    url: str, other: psycopg.Connection[tuple[object, ...]]
) -> None:
    """By default a session waits 5 s for a lock, 30 s for a statement; after reconnects too."""
    with PostgresStore(url) as store:
        for _ in range(2):
            store.order_ids()  # reconnects, the second time
            with store._transaction(write=False):
                settings = store._query(
                    "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
                )
            assert settings == [("5s", "30s")]
            kill_backends(other)


def session_timeouts(store: PostgresStore) -> list[tuple[object, ...]]:
    with store._transaction(write=False):
        return store._query(
            "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
        )


def test_the_dsns_own_timeouts_win_over_the_defaults(
    url: str, other: psycopg.Connection[tuple[object, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timeouts in the DSN's options (or PGOPTIONS) are kept; those given to the store win."""
    dsn = url.replace(
        "options=", f"options={quote('-clock_timeout=250ms -cstatement_timeout=7s ')}"
    )
    with PostgresStore(dsn) as store:
        assert session_timeouts(store) == [("250ms", "7s")]
        assert (store.lock_timeout, store.statement_timeout) == (0.25, 7.0)
        store.create_order(Order.create("o-1"))
        hold_row_lock(other, "o-1")
        with pytest.raises(StoreUnavailable, match=r"waited more than lock_timeout \(0\.25 s\)"):
            store.update_order("o-1", accept, event_id="evt-1")
        other.execute("ROLLBACK")
    with PostgresStore(dsn, lock_timeout=1) as store:
        assert session_timeouts(store) == [("1s", "7s")]
    base, _, options = url.partition("?options=")
    monkeypatch.setenv("PGOPTIONS", f"{unquote(options)} -c statement_timeout=3s")
    with PostgresStore(base) as store:
        assert session_timeouts(store) == [("5s", "3s")]


@pytest.mark.parametrize("value", [0, -1, True, "5", float("nan"), float("inf")])
def test_timeouts_must_be_seconds_above_0(url: str, value: object) -> None:
    """A timeout that is not a positive number of seconds is InvalidInput, nothing connected."""
    with pytest.raises(InvalidInput, match="lock_timeout must be"):
        PostgresStore(url, lock_timeout=value)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="statement_timeout must be"):
        PostgresStore(url, statement_timeout=value)  # type: ignore[arg-type]


def test_a_read_only_postgres_store(url: str) -> None:
    """read_only reads, refuses writes with StoreReadOnly, and never creates tables."""
    with pytest.raises(StoreUnavailable, match="There is no order-lifecycle store"):
        open_store(new_postgres_schema(url.partition("?")[0], tables=False), read_only=True)
    with open_store(url) as store:
        store.create_order(Order.create("o-1"))
    with open_store(url, read_only=True) as store:
        assert store.order_ids() == ["o-1"]
        assert store.check() == []
        with pytest.raises(StoreReadOnly, match="opened read-only"):
            store.create_order(Order.create("o-2"))
        with pytest.raises(StoreReadOnly):
            store.begin_submission("chk-1")
        assert store.order_ids() == ["o-1"]


def test_a_write_lost_before_commit_is_run_once_more(
    url: str, other: psycopg.Connection[tuple[object, ...]]
) -> None:
    """The connection dies while a change runs: the update is read and run again, applied once."""
    with PostgresStore(url) as store:
        store.create_order(Order.create("o-1"))
        runs = []

        def accept_while_the_server_restarts(order: Order) -> int:
            runs.append(order.state)
            if len(runs) == 1:
                kill_backends(other)
            accept(order)
            return len(runs)

        assert store.update_order("o-1", accept_while_the_server_restarts, event_id="evt-1") == 2
        assert [str(state) for state in runs] == ["pending_payment", "pending_payment"]
        assert [str(step.dest) for step in store.get_order("o-1").history] == [
            "pending_payment",
            "accepted",
        ]
        assert store.applied_event_ids("o-1") == {"evt-1"}


def test_every_call_of_the_contract_is_run_once_more() -> None:
    """Each store call that runs transactions is wrapped by PostgresStore, none forgotten."""
    assert Store.__abstractmethods__ - {"_stored_histories"} <= RETRIED
    for name in RETRIED:
        method = getattr(PostgresStore, name)
        assert hasattr(method, "__wrapped__") or name in vars(PostgresStore), name


def test_a_lost_connection_is_logged_run_once_more_and_counted_as_a_reconnect(
    url: str,
    other: psycopg.Connection[tuple[object, ...]],
    caplog: pytest.LogCaptureFixture,
    otel: Telemetry,
) -> None:
    """A killed backend: a warning that the call runs once more, an info on reconnecting."""
    with PostgresStore(url) as store:
        store.create_order(Order.create("o-1"))
        kill_backends(other)
        with caplog.at_level(logging.INFO, "order_lifecycle.store"):
            assert store.order_ids() == ["o-1"]
    retrying, reconnected = [r for r in caplog.records if r.name == "order_lifecycle.store"]
    assert (retrying.levelno, getattr(retrying, "outcome", None)) == (logging.WARNING, "retried")
    assert (reconnected.levelno, getattr(reconnected, "outcome", None)) == (
        logging.INFO,
        "reconnected",
    )
    assert otel.value("order_lifecycle.store.reconnects") == 1


def test_a_ping_reconnects_after_a_restart_and_reports_a_server_down(
    url: str, other: psycopg.Connection[tuple[object, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ping after a lost connection reconnects and answers; with no server it is unavailable."""
    with PostgresStore(url) as store:
        kill_backends(other)
        assert store.ping().current
        kill_backends(other)
        seen: list[object] = []
        real = psycopg.connect

        def refuse(*_args: object, **kwargs: object) -> None:
            seen.append(kwargs.get("connect_timeout"))
            raise psycopg.OperationalError("connection refused (the server is down)")

        monkeypatch.setattr(psycopg, "connect", refuse)
        with pytest.raises(StoreUnavailable, match="Cannot connect to PostgreSQL"):
            store.ping(timeout=0.5)
        assert seen == [2]  # the least libpq waits, not the store's 10 s
        monkeypatch.setattr(psycopg, "connect", real)
        assert store.ping().current


def test_a_ping_is_bounded_by_the_server_too(url: str) -> None:
    """A ping's statements run under its timeout, set for its transaction alone."""
    with PostgresStore(url) as store:
        with store._transaction(write=False):
            store._bound_statements(0.25)
            (bound,) = store._query("SHOW statement_timeout")[0]
        assert bound == "250ms"
        assert session_timeouts(store) == [("5s", "30s")]  # the session keeps its own


def test_a_delivery_accepted_after_a_restart_is_stored_once_on_a_new_connection(
    url: str, other: psycopg.Connection[tuple[object, ...]]
) -> None:
    """A request after the server dropped the session: run again on a new one, stored once."""
    at = "2026-04-10T12:00:00+00:00"
    first = Incoming("evt-1", "order.accepted", "o-1", None, at, "pending", None, b"{}")
    second = Incoming("evt-2", "order.accepted", "o-1", None, at, "pending", None, b"{}")
    with open_store(url) as store:
        (stored,) = store.accept_deliveries([first])
        assert stored is not None
        assert kill_backends(other) >= 1
        (again,) = store.accept_deliveries([second])
        assert again is not None
        assert [d.event_id for d in store.list_deliveries()] == ["evt-1", "evt-2"]


@pytest.mark.parametrize("order_id", ["o-1", None])
def test_a_delivery_whose_commit_answer_was_lost_is_answered_its_own_seq(
    url: str,
    other: psycopg.Connection[tuple[object, ...]],
    monkeypatch: pytest.MonkeyPatch,
    order_id: str | None,
) -> None:
    """Committed, then the connection lost before the answer: run again, its seq, stored once.

    Found again by its key (its order, or none, and its event id), arrival time and body.
    """
    at = "2026-04-10T12:00:00+00:00"
    row = Incoming("evt-1", "order.accepted", order_id, None, at, "pending", None, b"{}")
    real = psycopg.ClientCursor.execute
    runs: list[str] = []

    def committed_then_lost(cursor: psycopg.ClientCursor[Any], *args: Any) -> object:
        done = real(cursor, *args)
        runs.append("run")
        if len(runs) == 1:
            kill_backends(other)
            cursor.connection.execute("SELECT 1")  # finds the connection gone
        return done

    with open_store(url) as store:
        monkeypatch.setattr(psycopg.ClientCursor, "execute", committed_then_lost)
        (stored,) = store.accept_deliveries([row])
        assert runs == ["run", "run"]
        assert stored is not None
        assert [d.seq for d in store.list_deliveries()] == [stored]


def test_a_redelivery_whose_connection_was_lost_is_still_a_duplicate(
    url: str, other: psycopg.Connection[tuple[object, ...]]
) -> None:
    """A lost connection, then the event found stored by an earlier delivery: None, not its seq."""
    first = Incoming(
        "evt-1", "order.accepted", "o-1", None, "2026-04-10T12:00:00+00:00", "pending", None, b"{}"
    )
    again = first._replace(received_at="2026-04-10T12:05:00+00:00")
    with open_store(url) as store:
        assert store.accept_deliveries([first]) != [None]
        assert kill_backends(other) >= 1
        assert store.accept_deliveries([again]) == [None]
        assert [d.event_id for d in store.list_deliveries()] == ["evt-1"]


@pytest.mark.parametrize("batch", [1, 2])
def test_a_slow_insert_is_cancelled_by_the_server_within_accept_timeout(
    url: str, other: psycopg.Connection[tuple[object, ...]], batch: int
) -> None:
    """A request's INSERT running past accept_timeout: the server cancels it, 503, none stored."""
    other.execute(
        "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(3); RETURN NEW; END $$"
    )
    other.execute(
        "CREATE TRIGGER slow BEFORE INSERT ON ol_inbox FOR EACH ROW EXECUTE FUNCTION slow()"
    )
    at = "2026-04-10T12:00:00+00:00"
    rows = [
        Incoming(f"evt-{i}", "order.accepted", "o-1", None, at, "pending", None, b"{}")
        for i in range(batch)
    ]
    with PostgresStore(url) as store:
        store.accept_timeout = 0.2
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"statement_timeout \(0\.2 s\)") as refused:
            store.accept_deliveries(rows)
        assert time.monotonic() - started < 2
        assert error_status(refused.value) == 503
        other.execute("DROP TRIGGER slow ON ol_inbox")
        assert store.list_deliveries() == []
        assert None not in store.accept_deliveries(rows)  # the session goes on, bounded as before
        assert session_timeouts(store) == [("5s", "30s")]

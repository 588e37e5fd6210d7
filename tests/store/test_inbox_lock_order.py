"""PostgreSQL: batches of the request path take event ids in one order, so they never deadlock."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest

from order_lifecycle.store import Incoming, open_store
from order_lifecycle.store.postgres import _LOCK_EVENTS

from .conftest import new_postgres_schema

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
INSERT = (
    "INSERT INTO ol_inbox (event_id, event_type, order_id, created_time, received_at, status, "
    "body) VALUES (%s, 'order.accepted', 'o-1', NULL, %s, 'pending', '\\x7b7d')"
)


def _incoming(event_id: str) -> Incoming:
    return Incoming(
        event_id, "order.accepted", "o-1", None, NOW.isoformat(), "pending", None, b"{}"
    )


def _waiting_for_a_lock(pg: psycopg.Connection[tuple[object, ...]], pid: int) -> bool:
    row = pg.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", [pid])
    return bool((row.fetchone() or (0,))[0])


@pytest.fixture
def url(postgres_dsn: str) -> str:
    return new_postgres_schema(postgres_dsn)


def test_a_batch_given_event_ids_out_of_order_waits_for_another_and_never_deadlocks(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Another batch holds e-1 and will take e-2; a batch of e-2, e-1 waits before either.

    Without the batches' locks on their event ids (taken in one order), the batch would
    hold e-2 while waiting for e-1, and the other, taking e-2, would wait for it: a
    deadlock, which PostgreSQL breaks by aborting one of them after a second.
    """
    caplog.set_level(logging.WARNING, logger="order_lifecycle")
    with (
        open_store(url) as store,
        psycopg.connect(url) as other,
        psycopg.connect(url, autocommit=True) as watcher,
    ):
        # The other batch, as the store runs one: its event ids' locks, then its first row.
        other.execute(_LOCK_EVENTS, [["e-1", "e-2"]])
        other.execute(INSERT, ["e-1", NOW.isoformat()])  # its transaction stays open
        answers: list[object] = []
        pid = store._connection.info.backend_pid  # type: ignore[attr-defined]
        batch = threading.Thread(
            target=lambda: answers.append(
                store.accept_deliveries([_incoming("e-2"), _incoming("e-1")])
            )
        )
        batch.start()
        deadline = time.monotonic() + 30
        while not _waiting_for_a_lock(watcher, pid):  # the batch waits, holding no key
            assert time.monotonic() < deadline, "the batch never waited"
            time.sleep(0.01)
        other.execute(INSERT, ["e-2", NOW.isoformat()])  # free: the batch holds none
        other.commit()
        batch.join(30)
    assert answers == [[None, None]]  # both stored by the other session first
    # PostgreSQL broke no deadlock (the store would have run the batch once more, and said so).
    assert not [r for r in caplog.records if "deadlock" in r.getMessage()]

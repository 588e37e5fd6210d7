"""What the stores tell an operator: cancellations, holds, retries, lost connections."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
import pytest

from order_lifecycle import Order, OrderEvent
from order_lifecycle.actions import Failed, action_key
from order_lifecycle.models import fire
from order_lifecycle.orders import cancel_items
from order_lifecycle.store import MemoryStore
from order_lifecycle.store.postgres import PostgresStore
from tests.otel import Telemetry

from .conftest import new_postgres_schema
from .test_outbox import accepted
from .test_postgres_faults import kill_backends

LOGGER = "order_lifecycle.store"
SHIP = action_key("o1", "ship", "box")


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


def test_a_change_that_cancels_actions_logs_each(caplog: pytest.LogCaptureFixture) -> None:
    """Cancelling every item cancels its ship and deliver actions: one info record each, why."""
    store = MemoryStore()
    accepted(store)
    with caplog.at_level(logging.INFO, LOGGER):
        store.update_order("o1", lambda o: cancel_items(o, {"box": 2, "key": 1}))
    cancelled = {getattr(r, "action_key", None): r for r in records(caplog)}
    assert {SHIP, action_key("o1", "deliver_digitally", "key")} <= set(cancelled)
    record = cancelled[SHIP]
    assert (record.levelno, getattr(record, "outcome", None)) == (logging.INFO, "cancelled")
    assert getattr(record, "order_id", None) == "o1"


def test_a_dispute_logs_the_kinds_it_holds_and_its_end_their_resumption(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entering a dispute is logged with the kinds it holds; leaving it, with their resumption."""
    store = MemoryStore()
    accepted(store)
    with caplog.at_level(logging.INFO, LOGGER):
        store.update_order("o1", lambda o: fire(o, OrderEvent.DISPUTE))
        store.update_order("o1", lambda o: fire(o, OrderEvent.RESOLVE_DISPUTE))
    outcomes = {"held", "resumed"}
    held, resumed = (r for r in records(caplog) if getattr(r, "outcome", None) in outcomes)
    assert (getattr(held, "outcome", None), getattr(resumed, "outcome", None)) == tuple(
        sorted(outcomes)
    )
    assert "ship" in held.getMessage()
    assert getattr(held, "order_id", None) == "o1"


def test_an_operators_retry_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Retrying a dead action is an info record naming it."""
    store = MemoryStore()
    store.max_tries = 1
    accepted(store)
    (claimed,) = store.claim_actions(["ship"])
    store.finish_actions([Failed(claimed.key, claimed.tries, "the warehouse is down")])
    with caplog.at_level(logging.INFO, LOGGER):
        store.retry_action(SHIP)
    (record,) = records(caplog)
    assert (getattr(record, "action_key", None), getattr(record, "outcome", None)) == (
        SHIP,
        "retried",
    )


@pytest.fixture
def url(postgres_dsn: str) -> str:
    """A DSN of a new, empty schema of the session's cluster."""
    return new_postgres_schema(postgres_dsn)


@pytest.fixture
def other(url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A second connection to the same database, as an operator's."""
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


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
        with caplog.at_level(logging.INFO, LOGGER):
            assert store.order_ids() == ["o-1"]
    retrying, reconnected = records(caplog)
    assert (retrying.levelno, getattr(retrying, "outcome", None)) == (logging.WARNING, "retried")
    assert (reconnected.levelno, getattr(reconnected, "outcome", None)) == (
        logging.INFO,
        "reconnected",
    )
    assert otel.value("order_lifecycle.store.reconnects") == 1

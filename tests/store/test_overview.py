"""The overview and the ping, on every store: counts by state and status, the oldest, the schema."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle.actions import ActionState
from order_lifecycle.exceptions import InvalidInput, StoreUnavailable, WrongType
from order_lifecycle.store import SCHEMA_VERSION, Store, Tally, open_store
from order_lifecycle.webhooks import DeliveryStatus
from tests.hostile import VALUES

from .test_pages import T0, inbox_rows, shipped_orders


def test_the_overview_counts_everything_with_its_oldest(store: Store) -> None:
    """Orders by state, deliveries by status, actions by state: counts and oldest moments."""
    store.accept_deliveries(inbox_rows(700))
    store.refeed_deliveries([1, 8])  # two invalid ones pending again
    shipped_orders(store, batches=2, per_batch=10)
    claimed = store.claim_actions(limit=5, lease=timedelta(hours=1))
    overview = store.overview()
    assert overview.orders == {"accepted": 20}
    invalid = [n for n in range(700) if n % 7 == 0 and n not in (0, 7)]
    assert overview.deliveries == {
        DeliveryStatus.PENDING: Tally(700 - len(invalid), T0),
        DeliveryStatus.INVALID: Tally(len(invalid), T0 + timedelta(minutes=invalid[0])),
    }
    actions = store.list_actions()
    counted = Counter(a.state for a in actions)
    assert {state: t.count for state, t in overview.actions.items()} == counted
    assert overview.actions[ActionState.CLAIMED].oldest == min(a.created_at for a in claimed)
    assert overview.actions[ActionState.PENDING].oldest == min(
        a.created_at for a in actions if a.state == "pending"
    )
    assert (overview.delivery_count("pending", "invalid"), overview.action_count("dead")) == (
        700,
        0,
    )


def test_an_open_only_overview_counts_the_backlog_alone(store: Store) -> None:
    """open_only leaves out orders, settled deliveries and finished actions."""
    store.accept_deliveries(inbox_rows(30))
    store.dismiss_delivery(2)
    shipped_orders(store, batches=1, per_batch=2)
    (action, *_) = store.claim_actions(limit=1)
    store.complete_action(action.key, claim=action.tries)
    backlog = store.overview(open_only=True)
    assert backlog.orders == {}
    assert set(backlog.deliveries) == {"pending"}  # invalid and dismissed are settled
    assert backlog.delivery_count("pending") == len([n for n in range(30) if n % 7]) - 1
    assert {state: t.count for state, t in backlog.actions.items()} == {"pending": 11}


def test_an_empty_store_has_nothing_to_show(store: Store) -> None:
    """A new store's overview is empty, and its oldest are none."""
    overview = store.overview()
    assert (overview.orders, overview.deliveries, overview.actions) == ({}, {}, {})
    assert Tally(0).age(T0) is None
    assert Tally(1, T0).age(T0 + timedelta(minutes=5)) == timedelta(minutes=5)


def test_a_ping_reads_the_schema_version(store: Store) -> None:
    """A reachable store answers its schema version, current, and how long the answer took."""
    answer = store.ping()
    assert answer.schema_version == SCHEMA_VERSION
    assert answer.current
    assert 0 <= answer.seconds < 2


def test_a_busy_store_answers_no_ping_in_time(store: Store) -> None:
    """While another call holds the store's connection past the timeout, ping says it is busy."""
    lock: threading.Lock = store._lock  # type: ignore[attr-defined]
    with lock, pytest.raises(StoreUnavailable, match="busy"):
        store.ping(timeout=0.05)
    assert store.ping(timeout=0.05).current


def test_a_ping_of_a_store_whose_tables_went_says_so(tmp_path: Path) -> None:
    """A SQLite store whose tables were dropped since it opened pings with no schema version."""
    path = tmp_path / "orders.db"
    with open_store(path) as store:
        with sqlite3.connect(path) as other:
            other.execute("DROP TABLE ol_schema")
        answer = store.ping()
    assert (answer.schema_version, answer.current) == (None, False)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(timeout=VALUES | st.floats(), open_only=VALUES)
def test_hostile_ping_and_overview_arguments_are_refused_typed(
    store: Store, timeout: object, open_only: object
) -> None:
    """Any timeout pings or is refused with InvalidInput; any open_only reads or is WrongType."""
    try:
        store.ping(timeout)  # type: ignore[arg-type]
    except InvalidInput:
        assert not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool)) or not (
            0 < timeout <= 60
        )
    try:
        store.overview(open_only=open_only)  # type: ignore[arg-type]
    except WrongType:
        assert not isinstance(open_only, bool)

"""An update never reloads or rewrites an order's old history; copies stay independent.

A long order's copies share one index of its history, and no rewrite slips past it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from order_lifecycle import Charge, Inbox, InvalidInput, Item, Order, OrderState, fire
from order_lifecycle.lifecycle import Step, announced, shared_prefix
from order_lifecycle.store import SQLiteStore, Store
from tests import webhook_events as ev

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def long_order(order_id: str, cycles: int) -> Order:
    """An accepted order with ``2 * cycles + 2`` steps (dispute and resolution cycles)."""
    order = Order.create(
        order_id,
        OrderState.IN_REVIEW,
        at=T0,
        items=[Item("widget", 1, physical=True)],
        charges=[Charge("ch-1", "capturable", Decimal("10.00"), "USD")],
    )
    fire(order, "accept", at=T0 + timedelta(minutes=1))
    for n in range(cycles):
        fire(order, "dispute", at=T0 + timedelta(minutes=2 + 2 * n))
        fire(order, "resolve_dispute", at=T0 + timedelta(minutes=3 + 2 * n))
    return order


def dispute(store: Store, order_id: str, event_id: str, minute: int) -> None:
    """One update appending one step, with an event id."""
    at = T0 + timedelta(days=1, minutes=minute)
    store.update_order(
        order_id, lambda o: fire(o, "dispute", at=at, event_id=event_id), event_id=event_id
    )


def traced(store: SQLiteStore) -> list[str]:
    """Every statement the store's connection runs from now on, in a list."""
    statements: list[str] = []
    connection: sqlite3.Connection = store._connection
    connection.set_trace_callback(statements.append)
    return statements


def test_an_update_reads_no_history_rows_and_writes_only_the_new_step(tmp_path: Path) -> None:
    """update_order on a long order neither reads its stored steps nor writes old ones."""
    with SQLiteStore(tmp_path / "s.db") as store:
        store.create_order(long_order("o-1", 100))
        store.get_order("o-1")
        statements = traced(store)
        dispute(store, "o-1", "evt-1", 0)
        read_steps = [s for s in statements if "FROM ol_order_steps" in s]
        inserted = [s for s in statements if s.startswith("INSERT INTO ol_order_steps")]
        assert read_steps == []
        assert len(inserted) == 1
        assert len(store.get_order("o-1").history) == 203


def test_a_first_update_reads_no_history_rows_either(tmp_path: Path) -> None:
    """An order this store created is updated without reading its history back."""
    with SQLiteStore(tmp_path / "s.db") as store:
        store.create_order(long_order("o-1", 50))
        statements = traced(store)
        dispute(store, "o-1", "evt-1", 0)
        assert [s for s in statements if "FROM ol_order_steps" in s] == []


def test_another_connections_update_is_read_back(tmp_path: Path) -> None:
    """A store sees an order another connection changed, not a stale copy of its own."""
    with SQLiteStore(tmp_path / "s.db") as first, SQLiteStore(tmp_path / "s.db") as second:
        first.create_order(long_order("o-1", 2))
        assert len(second.get_order("o-1").history) == 6
        dispute(first, "o-1", "evt-1", 0)
        seen = second.get_order("o-1")
        assert seen.state is OrderState.DISPUTE
        assert len(seen.history) == 7
        dispute_resolved = seen.history[-1]
        assert dispute_resolved.event_id == "evt-1"


def test_copies_handed_out_are_independent(store: Store) -> None:
    """Changing an order a read returned, or one given to a change, changes nothing stored."""
    store.create_order(long_order("o-1", 1))
    kept: list[Order] = []

    def change(order: Order) -> None:
        kept.append(order)
        fire(order, "dispute", at=T0 + timedelta(days=1), event_id="evt-1")

    store.update_order("o-1", change, event_id="evt-1")
    read = store.get_order("o-1")
    fire(read, "resolve_dispute", at=T0 + timedelta(days=2))
    fire(kept[0], "resolve_dispute", at=T0 + timedelta(days=2))
    again = store.get_order("o-1")
    assert again.state is OrderState.DISPUTE
    assert len(again.history) == 5
    assert store.get_order("o-1") is not again


def test_the_page_cache_holds_a_busy_stores_indexes(tmp_path: Path) -> None:
    """A SQLite store's page cache is 64 MiB, not SQLite's default 2 MB, on every open."""
    for _ in range(2):
        with SQLiteStore(tmp_path / "s.db") as store:
            connection: sqlite3.Connection = store._connection
            assert connection.execute("PRAGMA cache_size").fetchone() == (-65536,)


def test_a_batch_deriving_no_action_runs_no_outbox_statement(tmp_path: Path) -> None:
    """Deliveries that create and cancel no action write nothing to (or about) the outbox."""
    reviewing, blocked = ev.review_then_blocked()
    with SQLiteStore(tmp_path / "s.db") as store:
        inbox = Inbox(store, verified_upstream=True)
        statements = traced(store)
        assert [str(r.outcome) for r in inbox.receive([ev.raw(reviewing)])] == ["applied"]
        assert [s for s in statements if "ol_actions" in s] == []
        inbox.receive([ev.raw(blocked)])  # blocking notifies: the outbox is written
        assert [s for s in statements if "INSERT INTO ol_actions" in s] != []
        assert [a.kind for a in store.list_actions()] == ["notify_customer"]


def test_copies_of_a_long_order_share_its_historys_index(store: Store) -> None:
    """Every read of a long order shares one index of its steps, taken at its first copy."""
    store.create_order(long_order("o-1", 40))
    first, second = store.get_order("o-1"), store.get_order("o-1")
    assert len(first.history) == 82
    assert shared_prefix(first.history, second.history) == 82
    dispute(store, "o-1", "evt-1", 0)
    third = store.get_order("o-1")
    assert announced(third.history, "evt-1")
    assert shared_prefix(third.history, store.get_order("o-1").history) >= 82


def test_a_rewrite_of_a_long_orders_indexed_steps_is_refused(store: Store) -> None:
    """A step rewritten among those a long order's index covers: the update is refused."""
    store.create_order(long_order("o-1", 40))

    def rewrite(order: Order) -> None:
        old = order.history[3]
        order.history[3] = Step(old.event, old.source, old.dest, old.at, "evt-0", old.implied)
        fire(order, "dispute", at=T0 + timedelta(days=1), event_id="evt-1")

    with pytest.raises(InvalidInput, match="rewrote its stored history"):
        store.update_order("o-1", rewrite, event_id="evt-1")
    assert not announced(store.get_order("o-1").history, "evt-0")

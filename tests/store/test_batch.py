"""The batch primitives, on every store: one read of each kind, one transaction of changes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from order_lifecycle import Charge, Item, Order, OrderEvent, OrderState, fire
from order_lifecycle.exceptions import WrongType
from order_lifecycle.lifecycle import Step
from order_lifecycle.store import (
    ChangeOutcome,
    DeliveryToKeep,
    OrderChange,
    SQLiteStore,
    Store,
    open_store,
)

from .conftest import REAL_BACKENDS, UrlMaker

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new_order(order_id: str) -> Order:
    return Order.create(
        order_id,
        OrderState.IN_REVIEW,
        at=T0,
        items=[Item("widget", 1, physical=True)],
        charges=[Charge("ch-1", "capturable", Decimal("10.00"), "USD")],
    )


def accepted(order: Order, event_id: str | None = None) -> Order:
    """A copy of ``order`` moved by ``accept``."""
    work = order.copy()
    fire(work, "accept", at=T0 + timedelta(minutes=1), event_id=event_id)
    return work


def disputed(order: Order, event_id: str | None = None) -> Order:
    """A copy of ``order`` moved by ``dispute``."""
    work = order.copy()
    fire(work, "dispute", at=T0 + timedelta(minutes=2), event_id=event_id)
    return work


def test_reads_give_the_stored_orders_and_applied_events_only(store: Store) -> None:
    """read_orders and events_applied answer for the ids stored, leaving the rest out."""
    store.create_order(new_order("o-1"), event_id="evt-1")
    store.update_order("o-1", lambda o: fire(o, "accept", at=T0), event_id="evt-2")
    store.create_order(new_order("o-2"))
    found = store.read_orders(["o-1", "o-2", "o-3", "o-1"])
    assert sorted(found) == ["o-1", "o-2"]
    assert found["o-1"][0] == 2
    assert found["o-1"][1] == store.get_order("o-1")
    assert found["o-2"][0] == 1
    assert store.events_applied(["evt-1", "evt-2", "evt-9"]) == {"evt-1": "o-1", "evt-2": "o-1"}
    assert store.read_orders([]) == {}
    assert store.events_applied([]) == {}


def test_orders_read_are_independent_copies(store: Store) -> None:
    """Changing an order read_orders gave changes nothing stored."""
    store.create_order(new_order("o-1"))
    _, order = store.read_orders(["o-1"])["o-1"]
    fire(order, "accept", at=T0)
    assert store.get_order("o-1").state is OrderState.IN_REVIEW
    assert store.read_orders(["o-1"])["o-1"][1].state is OrderState.IN_REVIEW


def test_a_batch_commits_new_orders_and_chained_updates(store: Store) -> None:
    """New orders, and two updates of one order in turn, commit with their event ids."""
    store.create_order(new_order("o-1"))
    version, base = store.read_orders(["o-1"])["o-1"]
    first = accepted(base, "evt-1")
    second = disputed(first, "evt-2")
    results = store.commit_changes(
        [
            OrderChange(first, base, version, "evt-1"),
            OrderChange(new_order("o-2"), event_id="evt-3"),
            OrderChange(second, first, version + 1, "evt-2"),
        ]
    )
    assert [r.outcome for r in results] == [ChangeOutcome.COMMITTED] * 3
    assert store.get_order("o-1") == second
    assert store.get_order("o-2") == new_order("o-2")
    assert store.read_orders(["o-1"])["o-1"][0] == version + 2
    assert store.events_applied(["evt-1", "evt-2", "evt-3"]) == {
        "evt-1": "o-1",
        "evt-2": "o-1",
        "evt-3": "o-2",
    }
    assert store.check() == []


def test_a_lost_change_rolls_back_only_itself_and_its_orders_later_changes(store: Store) -> None:
    """A stale version loses; the order's next change is not tried; other orders commit."""
    store.create_order(new_order("o-1"))
    store.create_order(new_order("o-2"))
    found = store.read_orders(["o-1", "o-2"])
    (v1, o1), (v2, o2) = found["o-1"], found["o-2"]
    store.update_order("o-1", lambda o: fire(o, "accept", at=T0))  # a racing writer
    first = accepted(o1, "evt-1")
    results = store.commit_changes(
        [
            OrderChange(first, o1, v1, "evt-1"),
            OrderChange(accepted(o2, "evt-2"), o2, v2, "evt-2"),
            OrderChange(disputed(first, "evt-3"), first, v1 + 1, "evt-3"),
        ],
        [DeliveryToKeep(b"{}", "a conflict", "evt-4", "o-9")],
    )
    assert [r.outcome for r in results] == [
        ChangeOutcome.LOST,
        ChangeOutcome.COMMITTED,
        ChangeOutcome.LOST,
    ]
    assert "not tried" in results[2].reason
    assert store.get_order("o-1").state is OrderState.ACCEPTED
    assert len(store.get_order("o-1").history) == 2
    assert store.get_order("o-2").state is OrderState.ACCEPTED
    assert store.events_applied(["evt-1", "evt-2", "evt-3"]) == {"evt-2": "o-2"}
    assert store.kept_deliveries() == []  # kept only when every change committed


def test_an_event_applied_meanwhile_rolls_its_order_write_back(store: Store) -> None:
    """A change whose event id another writer applied writes nothing of the order."""
    store.create_order(new_order("o-1"))
    store.create_order(new_order("o-2"), event_id="evt-1")
    version, base = store.read_orders(["o-1"])["o-1"]
    results = store.commit_changes([OrderChange(accepted(base, "evt-1"), base, version, "evt-1")])
    assert [r.outcome for r in results] == [ChangeOutcome.LOST]
    assert store.get_order("o-1") == base
    assert store.read_orders(["o-1"])["o-1"][0] == version
    assert store.events_applied(["evt-1"]) == {"evt-1": "o-2"}


def test_a_new_order_stored_meanwhile_is_lost(store: Store) -> None:
    """A new order whose id another writer stored first loses, and writes no event id."""
    store.create_order(new_order("o-1"))
    results = store.commit_changes([OrderChange(accepted(new_order("o-1")), event_id="evt-1")])
    assert [r.outcome for r in results] == [ChangeOutcome.LOST]
    assert store.get_order("o-1").state is OrderState.IN_REVIEW
    assert store.events_applied(["evt-1"]) == {}


def test_a_refused_change_costs_only_itself(store: Store) -> None:
    """A rewritten or illegal history is refused with the reason; the others commit."""
    store.create_order(new_order("o-1"))
    store.create_order(new_order("o-2"))
    found = store.read_orders(["o-1", "o-2"])
    (v1, o1), (v2, o2) = found["o-1"], found["o-2"]
    illegal = o1.copy()
    illegal.history.append(Step(OrderEvent.FULFIL, OrderState.IN_REVIEW, OrderState.FULFILLED, T0))
    illegal.state = OrderState.FULFILLED
    results = store.commit_changes(
        [
            OrderChange(illegal, o1, v1, "evt-1"),
            OrderChange(accepted(o2, "evt-2"), o2, v2, "evt-2"),
        ],
        [DeliveryToKeep(b"{}", "a conflict")],
    )
    assert [r.outcome for r in results] == [ChangeOutcome.REFUSED, ChangeOutcome.COMMITTED]
    assert "does not allow" in results[0].reason
    assert store.get_order("o-1") == o1
    assert store.get_order("o-2").state is OrderState.ACCEPTED
    assert store.kept_deliveries() == []


def test_deliveries_are_kept_when_every_change_committed(store: Store) -> None:
    """The batch's kept deliveries are written with its changes, in order, under the cap."""
    results = store.commit_changes(
        [OrderChange(new_order("o-1"), event_id="evt-1")],
        [
            DeliveryToKeep(b"one", "first", "evt-2", "o-1"),
            DeliveryToKeep(b"x" * 1000, "second", summary=True),
        ],
    )
    assert [r.outcome for r in results] == [ChangeOutcome.COMMITTED]
    kept = store.kept_deliveries()
    assert [(k.raw, k.reason, k.event_id, k.order_id) for k in kept] == [
        (b"one", "first", "evt-2", "o-1"),
        (b"x" * 256, "second", None, None),
    ]
    assert kept[1].summary
    assert kept[1].size == 1000
    store.max_kept_bytes = store.kept_bytes() + 1
    store.commit_changes([], [DeliveryToKeep(b"too much", "third")])
    assert store.deliveries_not_kept() == 1


def test_batches_refuse_what_is_not_a_change(store: Store) -> None:
    """Wrong types are WrongType before anything is written."""
    with pytest.raises(WrongType):
        store.commit_changes([new_order("o-1")])  # type: ignore[list-item]
    with pytest.raises(WrongType):
        store.commit_changes([], [b"raw"])  # type: ignore[list-item]
    with pytest.raises(WrongType):
        store.read_orders("o-1")
    with pytest.raises(WrongType):
        store.events_applied([1])  # type: ignore[list-item]
    assert store.order_ids() == []


def test_a_sqlite_batch_is_one_transaction(tmp_path: Path) -> None:
    """Many changes commit with one BEGIN and one COMMIT (one fsync), no savepoint at all."""
    with SQLiteStore(tmp_path / "s.db") as store:
        statements: list[str] = []
        connection: sqlite3.Connection = store._connection
        connection.set_trace_callback(statements.append)
        store.commit_changes(
            [OrderChange(new_order(f"o-{n}"), event_id=f"evt-{n}") for n in range(20)]
        )
        assert statements.count("BEGIN IMMEDIATE") == 1
        assert statements.count("COMMIT") == 1
        assert not [s for s in statements if "SAVEPOINT" in s]
        assert len(store.order_ids()) == 20


def test_a_sqlite_batch_that_loses_a_race_is_done_again_under_savepoints(tmp_path: Path) -> None:
    """A lost race rolls the batch back once; it is done again with a savepoint per change."""
    with SQLiteStore(tmp_path / "s.db") as store:
        store.create_order(new_order("o-0"))  # a racing writer stored o-0 first
        statements: list[str] = []
        connection: sqlite3.Connection = store._connection
        connection.set_trace_callback(statements.append)
        results = store.commit_changes(
            [OrderChange(new_order(f"o-{n}"), event_id=f"evt-{n}") for n in range(5)]
        )
        assert [r.outcome for r in results] == [ChangeOutcome.LOST] + [ChangeOutcome.COMMITTED] * 4
        assert statements.count("BEGIN IMMEDIATE") == 2
        assert statements.count("ROLLBACK") == 1
        assert statements.count("COMMIT") == 1
        assert statements.count("SAVEPOINT ol_change") == 5
        assert store.events_applied([f"evt-{n}" for n in range(5)]) == {
            f"evt-{n}": f"o-{n}" for n in range(1, 5)
        }


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_a_batch_sends_a_few_statements_whatever_its_size(
    new_url: UrlMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that wins every race sends one statement per kind of write, no savepoint."""
    with open_store(new_url()) as store:
        for n in range(20):
            store.create_order(new_order(f"o-{n}"))
        found = store.read_orders([f"o-{n}" for n in range(40)])
        changes = [OrderChange(new_order(f"o-{n}"), event_id=f"evt-{n}") for n in range(20, 40)]
        changes += [
            OrderChange(accepted(order, f"evt-{n}"), order, version, f"evt-{n}")
            for n, (version, order) in enumerate(found.values())
        ]
        sent: list[str] = []
        for name in ("_write", "_write_many", "_query"):
            monkeypatch.setattr(store, name, spy(getattr(store, name), sent))
        results = store.commit_changes(changes)
        assert all(result.committed for result in results)
        # New orders, updates, event ids, steps, the outbox's new actions (5); the
        # transaction's BEGIN and COMMIT go to the connection directly.
        assert len(sent) == 5
        assert not [sql for sql in sent if "SAVEPOINT" in sql]
        assert len(store.order_ids()) == 40
        assert len(store.events_applied([f"evt-{n}" for n in range(40)])) == 40


def spy(method: Callable[..., Any], sent: list[str]) -> Callable[..., Any]:
    """``method``, recording the statement of each call in ``sent``."""

    def record(sql: str, *args: Any) -> Any:
        sent.append(sql)
        return method(sql, *args)

    return record


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_an_orders_chain_of_changes_is_written_as_one_row(
    new_url: UrlMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new order and two changes made on it write one order row, as the three would."""
    with open_store(new_url()) as store:
        created = new_order("o-1")
        first = accepted(created, "evt-2")
        second = disputed(first, "evt-3")
        changes = [
            OrderChange(created, event_id="evt-1"),
            OrderChange(first, created, 1, "evt-2"),
            OrderChange(second, first, 2, "evt-3"),
        ]
        rows: list[int] = []
        write_many = store._write_many  # type: ignore[attr-defined]

        def counted(sql: str, params: list[Any]) -> int:
            rows.append(len(params))
            return int(write_many(sql, params))

        monkeypatch.setattr(store, "_write_many", counted)
        assert all(result.committed for result in store.commit_changes(changes))
        # The order, its three event ids, its three steps, the two actions it created.
        assert rows == [1, 3, 3, 2]
        version, stored = store.read_orders(["o-1"])["o-1"]
        assert version == 3
        assert stored == second
        assert [step.event_id for step in stored.history] == [None, "evt-2", "evt-3"]
        assert store.events_applied(["evt-1", "evt-2", "evt-3"]) == dict.fromkeys(
            ["evt-1", "evt-2", "evt-3"], "o-1"
        )

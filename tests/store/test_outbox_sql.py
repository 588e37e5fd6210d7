"""The outbox's SQL writes: no statement for a row that one write creates and cancels, or lacks.

``SQLOutbox._write_actions`` inserts an action created and cancelled by one write as
cancelled, in one statement (an upsert), where the general path inserts it pending and
then cancels it. Over random derivations (keys created, rewritten and cancelled, twice or
not at all, over rows already held in every state), both paths must leave the same rows,
on SQLite and PostgreSQL. A write that inserts an order sends no cancellation of its keys
but those it creates (no other row of it exists): over random lives received as one
batch, the rows are the same as when every cancellation is sent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle import Inbox, Order
from order_lifecycle.actions import Action, Derived
from order_lifecycle.lifecycle import ActionKind, ActionState
from order_lifecycle.store import Store, _outbox_sql, _sql, open_store
from order_lifecycle.store._sql import SQLStore
from order_lifecycle.testing import OrderLife, order_lives
from tests import webhook_events as ev

from .conftest import new_postgres_schema

KEYS = [f"k{n}" for n in range(5)]
HELD = st.dictionaries(
    st.sampled_from(KEYS),
    st.tuples(st.sampled_from(list(ActionState)), st.booleans()),  # state, leased ahead
    max_size=4,
)


def action(key: str, note: int) -> Action:
    return Action(key, "o-1", ActionKind.SHIP, key, {"item_id": key, "note": note})


DERIVED = st.lists(
    st.builds(
        lambda created, updated, cancelled: Derived(
            created=tuple(action(k, n) for k, n in created),
            updated=tuple(action(k, n) for k, n in updated),
            cancelled=tuple(cancelled),
            reasons={k: f"why {k} went, change {n}" for n, k in enumerate(cancelled)},
        ),
        st.lists(st.tuples(st.sampled_from(KEYS), st.integers(0, 3)), max_size=3),
        st.lists(st.tuples(st.sampled_from(KEYS), st.integers(4, 6)), max_size=2),
        st.lists(st.sampled_from(KEYS), max_size=3),
    ),
    min_size=1,
    max_size=4,
)


def rows(store: SQLStore) -> list[tuple[Any, ...]]:
    """Every action's row, its moments told only as written or not (each clock its own)."""
    found = store._query(
        "SELECT key, payload, state, tries, lease_until, retry_at, last_error, result, "
        "created_at IS NOT NULL, finished_at IS NOT NULL FROM ol_actions ORDER BY key"
    )
    return [
        (*row[:4], row[4] is not None and row[4] > "3000", *row[5:])  # a lease: kept or ended
        for row in found
    ]


def prepared(store: SQLStore, held: dict[str, tuple[ActionState, bool]]) -> None:
    """The order ``o-1``, and the ``held`` actions in their states (a lease ahead or behind)."""
    if "o-1" not in store.order_ids():
        store.create_order(Order.create("o-1"))
    with store._transaction(write=True):
        store._write("DELETE FROM ol_actions")
        store._insert_actions([action(key, 9) for key in held])
        for key, (state, ahead) in held.items():
            lease = ("9000" if ahead else "2000") + "-01-01T00:00:00.000000Z"
            store._write(
                "UPDATE ol_actions SET state = ?, lease_until = ? WHERE key = ?",
                [str(state), lease, key],
            )


def counted(store: SQLStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements the store runs by ``executemany`` from now, each by its first two words."""
    statements: list[str] = []
    write_many = store._write_many

    def counting(sql: str, params: Sequence[Sequence[object]]) -> int:
        statements.append(" ".join(sql.split()[:2]))
        return write_many(sql, params)

    monkeypatch.setattr(store, "_write_many", counting)
    return statements


@contextmanager
def general_path() -> Iterator[None]:
    """The path the one-statement write shortcuts: every action inserted, then cancelled."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_outbox_sql, "_born_cancelled", lambda *_: {})
        yield


def written(store: SQLStore, derived: list[Derived]) -> list[tuple[Any, ...]]:
    with store._transaction(write=True):
        store._write_actions(derived)
    return rows(store)


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], SQLStore]]:
    """Makes SQL stores of the backend (a new SQLite file or PostgreSQL schema each)."""
    opened: list[Store] = []
    counter = itertools.count()
    dsn: str | None = None
    if request.param == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")

    def make() -> SQLStore:
        if dsn is not None:
            store = open_store(new_postgres_schema(dsn))
        else:
            store = open_store(tmp_path / f"store-{next(counter)}.db", create=True)
        opened.append(store)
        assert isinstance(store, SQLStore)
        return store

    yield make
    for store in opened:
        store.close()


def test_actions_created_and_cancelled_at_once_are_written_as_the_general_path_writes_them(
    make_store: Callable[[], SQLStore],
) -> None:
    """Created and cancelled by one write, an action's row is what insert-then-cancel leaves."""
    fast, general = make_store(), make_store()

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(held=HELD, derived=DERIVED)
    def agree(held: dict[str, tuple[ActionState, bool]], derived: list[Derived]) -> None:
        prepared(fast, held)
        prepared(general, held)
        with general_path():
            expected = written(general, derived)
        assert written(fast, derived) == expected

    agree()


def test_an_action_created_and_cancelled_at_once_is_one_statement(
    make_store: Callable[[], SQLStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new action created and cancelled by one write is inserted cancelled: no UPDATE."""
    store = make_store()
    prepared(store, {})
    statements = counted(store, monkeypatch)
    derived = [
        Derived(created=(action("k0", 1),)),
        Derived(cancelled=("k0",), reasons={"k0": "the item has no open units any more"}),
    ]
    assert written(store, derived) == [
        ("k0", '{"item_id": "k0", "note": 1}', "cancelled", 0, False, None, None,
         '{"cancelled": "the item has no open units any more"}', 1, 1),
    ]  # fmt: skip
    assert statements == ["INSERT INTO"]


def test_a_new_orders_life_in_one_write_leaves_the_rows_every_cancellation_leaves(
    make_store: Callable[[], SQLStore],
) -> None:
    """A life received as one batch leaves the same actions as with every cancellation sent."""

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(life=order_lives(max_moves=10))
    def agree(life: OrderLife) -> None:
        fast, general = make_store(), make_store()
        bodies = [ev.raw(event) for event in life.events]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_sql, "_unheld", lambda *_: frozenset())
            Inbox(general, verified_upstream=True).receive(bodies)
        Inbox(fast, verified_upstream=True).receive(bodies)
        assert rows(fast) == rows(general)
        fast.close()
        general.close()

    agree()


def test_a_new_order_sends_no_cancellation_of_an_action_it_never_had(
    make_store: Callable[[], SQLStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A life accepted, fulfilled and completed in one write cancels by no UPDATE at all."""
    store = make_store()
    statements = counted(store, monkeypatch)
    life = [ev.raw(event) for event in ev.accepted_fulfilled_complete()]
    Inbox(store, verified_upstream=True).receive(life)
    assert "UPDATE ol_actions" not in statements
    assert {(str(a.kind), str(a.state)) for a in store.list_actions()} >= {("ship", "cancelled")}

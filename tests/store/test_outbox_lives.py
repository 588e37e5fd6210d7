"""The outbox end to end: random provider lives through the inbox into every store."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from order_lifecycle import Inbox, OrderState
from order_lifecycle.actions import ActionState, action_key
from order_lifecycle.lifecycle import ActionKind
from order_lifecycle.store import MemoryStore, Store, open_store
from order_lifecycle.testing import OrderLife, order_lives
from tests import webhook_events as ev
from tests.test_actions import outbox, the_life

from .conftest import BACKENDS, new_postgres_schema

LIVES = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=20, deadline=None
)


@pytest.fixture(params=BACKENDS)
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    """Makes new, empty stores of each kind (one per hypothesis example)."""
    backend: str = request.param
    if backend == "memory":
        return MemoryStore
    if backend == "sqlite":
        counter = itertools.count()
        return lambda: open_store(tmp_path / f"lives-{next(counter)}.db")
    dsn: str = request.getfixturevalue("postgres_dsn")
    return lambda: open_store(new_postgres_schema(dsn))


@LIVES
@given(life=order_lives())
def test_a_store_keeps_the_outbox_the_derivation_says(
    new_store: Callable[[], Store], life: OrderLife
) -> None:
    """Delivered one by one, a life leaves in the store exactly the actions derived for it."""
    with new_store() as store:
        inbox = Inbox(store, verified_upstream=True)
        for event in life.events:
            inbox.receive([ev.raw(event)])
        expected = {key: state for key, (_, state) in outbox(the_life(life)).items()}
        found = {a.key: str(a.state) for a in store.list_actions()}
        assert found == expected
        order = store.get_order(life.order_id)
        kinds = {a.kind for a in store.list_actions()}
        if not any(step.dest is OrderState.ACCEPTED for step in order.history):
            assert kinds <= {ActionKind.NOTIFY_CUSTOMER}  # nothing before acceptance
        if order.state in {OrderState.CANCELLED, OrderState.BLOCKED}:
            assert not store.list_actions(kinds=["ship"], states=["pending"])


@LIVES
@given(life=order_lives())
def test_a_batched_life_ships_each_open_physical_item_once(
    new_store: Callable[[], Store], life: OrderLife
) -> None:
    """Delivered as one batch, each physical item still open once accepted has one ship."""
    with new_store() as store:
        Inbox(store, verified_upstream=True).receive([ev.raw(e) for e in life.events])
        order = store.get_order(life.order_id)
        ships = store.list_actions(kinds=["ship"])
        assert len({a.subject for a in ships}) == len(ships)
        assert all(a.key == action_key(life.order_id, "ship", a.subject) for a in ships)
        if not any(step.dest is OrderState.ACCEPTED for step in order.history):
            assert ships == []
        elif order.state is OrderState.ACCEPTED:  # each open physical item, once, pending
            open_physical = {i.id for i in order.items if i.physical and i.open_quantity}
            pending = {a.subject for a in ships if a.state is ActionState.PENDING}
            assert open_physical <= pending
        if order.state in {OrderState.CANCELLED, OrderState.BLOCKED}:
            assert not [a for a in ships if a.state is ActionState.PENDING]

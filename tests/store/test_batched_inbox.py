"""The inbox, batch by batch, gives on every store what it gives in memory."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle import Inbox
from order_lifecycle.store import MemoryStore, SQLiteStore, Store, open_store
from order_lifecycle.testing import order_lives
from order_lifecycle.webhooks import DeliveryResult, DeliveryStatus
from tests import webhook_events as ev

from .conftest import new_postgres_schema

JUNK = [b"{not json", b"[]", ev.raw(ev.event("evt-x", "sub.created", {"id": "s"}, ev.T0))]


@st.composite
def batches(draw: st.DrawFn) -> list[list[bytes]]:
    """Deliveries of a few random lives, some twice, some junk, shuffled, cut in batches."""
    bodies: list[bytes] = []
    for n in range(draw(st.integers(1, 3))):
        life = draw(order_lives(order_id=f"o{n}", max_moves=8))
        bodies += [ev.raw(event) for event in life.events]
    if bodies:
        bodies += draw(st.lists(st.sampled_from(bodies), max_size=4))
    bodies += draw(st.lists(st.sampled_from(JUNK), max_size=2))
    shuffled = draw(st.permutations(bodies))
    cuts = sorted(draw(st.lists(st.integers(0, len(shuffled)), max_size=4)))
    edges = [0, *cuts, len(shuffled)]
    return [list(shuffled[a:b]) for a, b in itertools.pairwise(edges)]


StoreMaker = Callable[[], Any]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def stores(request: pytest.FixtureRequest) -> StoreMaker:
    """Makes new, empty stores of one kind (a contextmanager each)."""
    kind: str = request.param

    @contextmanager
    def made() -> Iterator[Store]:
        if kind == "memory":
            store: Store = MemoryStore()
        elif kind == "sqlite":
            store = SQLiteStore(":memory:")
        else:
            store = open_store(new_postgres_schema(request.getfixturevalue("postgres_dsn")))
        with store:
            yield store

    return made


def contents(store: Store) -> tuple[Any, ...]:
    """Everything an inbox leaves in a store: orders, event ids, its deliveries' statuses."""
    orders = {key: store.get_order(key) for key in store.order_ids()}
    events = {key: store.applied_event_ids(key) for key in orders}
    inbox = [
        (row.body, row.event_id, row.order_id, row.status, row.reason, row.attempts)
        for row in store.list_deliveries(limit=10_000)
    ]
    return orders, events, inbox


def unnumbered(results: list[DeliveryResult]) -> list[DeliveryResult]:
    """The results without their seqs (PostgreSQL's numbers have gaps: a duplicate takes one)."""
    return [attrs.evolve(result, seq=None) for result in results]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(deliveries=batches())
def test_batches_give_what_they_give_in_memory(
    stores: StoreMaker, deliveries: list[list[bytes]]
) -> None:
    """Results, orders, event ids and the inbox's rows equal the memory store's."""
    memory = MemoryStore()
    with stores() as store:
        inbox = Inbox(store, verified_upstream=True)
        reference = Inbox(memory, verified_upstream=True)
        for batch in deliveries:
            assert unnumbered(inbox.receive(batch)) == unnumbered(reference.receive(batch))
        assert contents(store) == contents(memory)


def test_several_events_of_one_order_in_a_batch_apply_in_turn(stores: StoreMaker) -> None:
    """One batch with a whole life applies each event to the order the one before left."""
    events = [ev.raw(e) for e in ev.accepted_fulfilled_complete()]
    with stores() as store:
        results = Inbox(store, verified_upstream=True).receive(events + events[:1])
        assert {r.outcome for r in results[:-1]} == {
            DeliveryStatus.APPLIED,
            DeliveryStatus.UNKNOWN,
        }
        assert results[-1].outcome is DeliveryStatus.DUPLICATE
        applied = [r for r in results if r.outcome is DeliveryStatus.APPLIED]
        assert len(store.events_applied([r.event_id or "" for r in applied])) == len(applied)
        [order_id] = store.order_ids()
        assert str(store.get_order(order_id).state) == "complete"

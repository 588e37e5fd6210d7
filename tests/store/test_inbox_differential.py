"""Routing does not matter: one inbox and one reconciler, or many of each interleaved, agree.

The provider's traffic for a few orders (the kit's lives, shuffled and redelivered) is
stored either through one inbox and reconciled by one reconciler, or spread round-robin
over several inboxes (each its own store object: its own connection, as app servers have)
in batches taken in a random order, then reconciled by several reconcilers whose steps
(claim, decide and write, release) interleave in a random order. The orders (histories
too), the applied event ids, the actions and every delivery's status come out the same,
on the memory store, a SQLite file and PostgreSQL; and each order ends where its life, in
order, leaves it (what one inbox always gave).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle import Inbox, Reconciler
from order_lifecycle.store import MemoryStore, Store, open_store
from order_lifecycle.testing import (
    TEST_SECRET,
    OrderLife,
    SignedDelivery,
    assert_order_invariants,
    order_lives,
    shuffled_deliveries,
)

from .conftest import BACKENDS, new_postgres_schema
from .inbox_workers import drain, outcome

NOW = datetime(2026, 4, 2, tzinfo=UTC)  # the reconcilers' clock: a day after the lives
StoreMaker = Callable[[], Store]


@st.composite
def traffic(draw: st.DrawFn) -> tuple[list[OrderLife], list[SignedDelivery]]:
    """A few orders' lives, and all their deliveries (redelivered some) in one random order."""
    lives = [draw(order_lives(f"o{n}", max_moves=8)) for n in range(draw(st.integers(1, 3)))]
    deliveries = [d for life in lives for d in draw(shuffled_deliveries(life))]
    return lives, draw(st.permutations(deliveries))


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], StoreMaker]:
    """Makes a new database and gives a function opening store objects on it (memory: one)."""
    backend: str = request.param
    counter = iter(range(10**6))

    def new() -> StoreMaker:
        if backend == "memory":
            shared = MemoryStore()
            return lambda: shared
        if backend == "sqlite":
            url = str(tmp_path / f"routing-{next(counter)}.db")
        else:
            url = new_postgres_schema(request.getfixturevalue("postgres_dsn"))
        return lambda: open_store(url)

    return new


@contextmanager
def opened(make: StoreMaker, count: int) -> Iterator[list[Store]]:
    """``count`` store objects on one database, closed after (the memory store: the same)."""
    with ExitStack() as stack:
        stores = [make() for _ in range(count)]
        for store in {id(s): s for s in stores}.values():
            stack.enter_context(store)
        yield stores


def one_of_each(make: StoreMaker, deliveries: list[SignedDelivery]) -> tuple[Any, ...]:
    """One inbox stores everything, one reconciler settles it."""
    with opened(make, 1) as (store,):
        Inbox(store, secrets=[TEST_SECRET]).accept(deliveries)
        drain(Reconciler(store, clock=lambda: NOW, batch=2))
        return outcome(store)


def routed(
    make: StoreMaker, deliveries: list[SignedDelivery], data: st.DataObject
) -> tuple[Any, ...]:
    """Round-robin over app servers, batches in a random order; reconcilers interleaved."""
    servers = data.draw(st.integers(2, 4), label="app servers")
    with opened(make, servers + 3) as stores:
        inboxes = [Inbox(store, secrets=[TEST_SECRET]) for store in stores[:servers]]
        shares = [deliveries[n::servers] for n in range(servers)]
        batches = [
            (n, share[i : i + 2]) for n, share in enumerate(shares) for i in range(0, len(share), 2)
        ]
        for n, batch in data.draw(st.permutations(batches), label="batches as they came"):
            inboxes[n].accept(batch)
        reconcilers = [Reconciler(store, clock=lambda: NOW, batch=2) for store in stores[servers:]]
        held: list[Any] = [None] * len(reconcilers)
        for _ in range(1000):  # far more steps than any example needs
            due = stores[0].claim_deliveries(now=NOW, limit=10)
            stores[0].release_claim(due)
            if not due.deliveries and all(claim is None for claim in held):
                break
            n = data.draw(st.integers(0, len(reconcilers) - 1), label="reconciler stepping")
            reconciler, store = reconcilers[n], stores[servers + n]
            if held[n] is None:
                held[n] = store.claim_deliveries(limit=2, now=NOW)
            else:
                try:
                    reconciler._reconcile(held[n])
                finally:
                    store.release_claim(held[n])
                    held[n] = None
        return outcome(stores[0])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=traffic(), data=st.data())
def test_routing_changes_nothing(
    database: Callable[[], StoreMaker],
    drawn: tuple[list[OrderLife], list[SignedDelivery]],
    data: st.DataObject,
) -> None:
    """One inbox and reconciler, or several of each interleaved: the same orders and statuses."""
    lives, deliveries = drawn
    expected = one_of_each(database(), deliveries)
    assert routed(database(), deliveries, data) == expected
    orders = expected[0]
    for life in lives:
        with opened(database(), 1) as (in_order,):
            Inbox(in_order, secrets=[TEST_SECRET]).receive(life.deliveries)
            reference = in_order.get_order(life.order_id)
        order = orders[life.order_id]
        assert_order_invariants(order)
        assert (order.state, order.fraud_state) == (reference.state, reference.fraud_state)
        assert {i.id: i for i in order.items} == {i.id: i for i in reference.items}
        assert {c.id: c for c in order.charges} == {c.id: c for c in reference.charges}

"""The webhook inbox over every store: the same results as in memory, and race-safe."""

from __future__ import annotations

from collections import Counter

import pytest

from order_lifecycle import (
    EventOutcome,
    Inbox,
    InvalidInput,
    MemoryWebhookStore,
    Order,
    OrderEvent,
    fire,
)
from order_lifecycle.store import StaleOrder, Store, StoreWebhooks, open_store
from order_lifecycle.testing import assert_order_invariants
from tests.webhook_events import ALL_LIVES, raw

from . import workers
from .conftest import REAL_BACKENDS, UrlMaker
from .test_races import PROCESSES, SPAWN, run_processes


@pytest.mark.parametrize("life", sorted(ALL_LIVES))
def test_every_life_ends_as_in_memory(store: Store, life: str) -> None:
    """Each fixture life, twice over (redelivered), ends in every store as in memory."""
    deliveries = [raw(event) for event in ALL_LIVES[life]()] * 2
    memory = MemoryWebhookStore()
    expected = Inbox(memory, secrets=None).receive(deliveries)
    results = Inbox(StoreWebhooks(store), secrets=None).receive(deliveries)
    assert results == expected
    for order_id in {r.order_id for r in results if r.order_id}:
        stored, remembered = store.get_order(order_id), memory.get_order(order_id)
        assert stored == remembered
        assert stored is not None
        assert_order_invariants(stored)


def test_a_second_server_sees_the_duplicate(store: Store) -> None:
    """An event applied through one inbox is a duplicate for another inbox on the same store."""
    [accepted] = [raw(e) for e in ALL_LIVES["card_order_accepted"]()][:1]
    first = Inbox(StoreWebhooks(store), secrets=None).receive([accepted])
    again = Inbox(StoreWebhooks(store), secrets=None).receive([accepted])
    assert [r.outcome for r in first + again] == [EventOutcome.APPLIED, EventOutcome.DUPLICATE]


def test_save_is_a_compare_and_set(store: Store) -> None:
    """A save after another writer changed the order raises StaleOrder and writes nothing."""
    [accepted] = [raw(e) for e in ALL_LIVES["card_order_accepted"]()][:1]
    [result] = Inbox(StoreWebhooks(store), secrets=None).receive([accepted])
    order_id = result.order_id
    assert order_id is not None
    webhooks = StoreWebhooks(store)
    read = webhooks.get_order(order_id)
    assert read is not None
    store.update_order(order_id, lambda o: fire(o, OrderEvent.DISPUTE))  # another writer
    before = store.get_order(order_id)
    fire(read, OrderEvent.DISPUTE)
    with pytest.raises(StaleOrder, match="changed after this update read it"):
        webhooks.save(read, "evt-late")
    assert store.get_order(order_id) == before
    assert store.order_of_event("evt-late") is None


def test_save_needs_a_read_first(store: Store) -> None:
    """Saving an order the adapter never handed out is refused: nothing to compare against."""
    with pytest.raises(InvalidInput, match="must be read with get_order before save"):
        StoreWebhooks(store).save(Order.create("o-1"), "evt-1")
    assert store.order_ids() == []


def test_bad_deliveries_are_kept_in_the_store(store: Store) -> None:
    """Invalid and unknown deliveries are kept, raw, in the store, for an operator."""
    results = Inbox(StoreWebhooks(store), secrets=None).receive([b"{not json", b"[]"])
    assert all(r.kept for r in results)
    assert [k.raw for k in store.kept_deliveries()] == [b"{not json", b"[]"]


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_processes_delivering_one_webhook_apply_it_once(new_url: UrlMaker) -> None:
    """8 processes deliver the same webhook through their own inbox: it is applied once."""
    url = new_url()
    with open_store(url):
        pass  # the tables exist before the race; the race is about the order
    [accepted] = [raw(e) for e in ALL_LIVES["card_order_accepted"]()][:1]
    barrier = SPAWN.Barrier(PROCESSES)
    reported = run_processes(workers.deliver_webhooks, [(url, [accepted], barrier)] * PROCESSES)
    outcomes = Counter(outcome for kind, outcome in reported if kind == "result")
    assert outcomes[str(EventOutcome.APPLIED)] == 1
    assert sum(outcomes.values()) + sum(1 for kind, _ in reported if kind == "lost race") == (
        PROCESSES
    )
    with open_store(url) as store:
        [order_id] = store.order_ids()
        order = store.get_order(order_id)
        applied = Counter(step.event_id for step in order.history if step.event_id)
    assert all(count == 1 for count in applied.values())
    assert_order_invariants(order)


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_processes_delivering_different_events_lose_nothing(new_url: UrlMaker) -> None:
    """Processes racing different events of one order lose none once the provider redelivers.

    A delivery that loses a race writes nothing (compare-and-set), so the redelivery of
    every event ends the order exactly where the events in order take it.
    """
    url = new_url()
    events = [raw(e) for e in ALL_LIVES["accepted_fulfilled_complete"]()]
    with open_store(url) as store:
        Inbox(StoreWebhooks(store), secrets=None).receive(events[:1])  # the order exists
    rest = events[1:]
    shares = [[rest[n % len(rest)]] for n in range(PROCESSES)]  # every event, some twice
    barrier = SPAWN.Barrier(PROCESSES)
    run_processes(workers.deliver_webhooks, [(url, share, barrier) for share in shares])
    memory = MemoryWebhookStore()
    Inbox(memory, secrets=None).receive(events)
    with open_store(url) as store:
        Inbox(StoreWebhooks(store), secrets=None).receive(events)  # the provider redelivers
        [order_id] = store.order_ids()
        order = store.get_order(order_id)
    expected = memory.get_order(order_id)
    assert expected is not None
    assert (order.state, order.fraud_state, order.items, order.charges) == (
        expected.state,
        expected.fraud_state,
        expected.items,
        expected.charges,
    )
    assert_order_invariants(order)

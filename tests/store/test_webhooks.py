"""The webhook inbox over every store: the same results as in memory, and race-safe."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest

from order_lifecycle import Delivery, Inbox
from order_lifecycle.store import MemoryStore, Store, open_store
from order_lifecycle.testing import assert_order_invariants
from order_lifecycle.webhooks import DeliveryStatus
from tests.webhook_events import ALL_LIVES, raw

from . import workers
from .conftest import REAL_BACKENDS, UrlMaker
from .test_races import PROCESSES, SPAWN, run_processes


@pytest.mark.parametrize("life", sorted(ALL_LIVES))
def test_every_life_ends_as_in_memory(store: Store, life: str) -> None:
    """Each fixture life, twice over (redelivered), ends in every store as in memory."""
    deliveries = [raw(event) for event in ALL_LIVES[life]()] * 2
    memory = MemoryStore()
    expected = Inbox(memory, verified_upstream=True).receive(deliveries)
    results = Inbox(store, verified_upstream=True).receive(deliveries)
    assert results == expected
    for order_id in {r.order_id for r in results if r.order_id}:
        stored, remembered = store.get_order(order_id), memory.get_order(order_id)
        assert stored == remembered
        assert stored is not None
        assert_order_invariants(stored)


def test_a_second_server_sees_the_duplicate(store: Store) -> None:
    """An event applied through one inbox is a duplicate for another inbox on the same store."""
    [accepted] = [raw(e) for e in ALL_LIVES["card_order_accepted"]()][:1]
    first = Inbox(store, verified_upstream=True).receive([accepted])
    again = Inbox(store, verified_upstream=True).receive([accepted])
    assert [r.outcome for r in first + again] == [DeliveryStatus.APPLIED, DeliveryStatus.DUPLICATE]


def test_bad_deliveries_are_stored_for_an_operator(store: Store) -> None:
    """Signed but unreadable deliveries are stored, raw, as invalid, for an operator."""
    results = Inbox(store, verified_upstream=True).receive([b"{not json", b"[]"])
    assert [(r.outcome, r.status_code) for r in results] == [(DeliveryStatus.INVALID, 202)] * 2
    rows = store.list_deliveries(statuses=["invalid"])
    assert [row.body for row in rows] == [b"{not json", b"[]"]
    assert store.kept_deliveries() == []


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_processes_delivering_one_webhook_apply_it_once(new_url: UrlMaker) -> None:
    """8 processes deliver the same webhook through their own inbox: it is applied once."""
    url = new_url()
    with open_store(url):
        pass  # the tables exist before the race; the race is about the order
    [accepted] = [raw(e) for e in ALL_LIVES["card_order_accepted"]()][:1]
    barrier = SPAWN.Barrier(PROCESSES)
    reported = run_processes(workers.deliver_webhooks, [(url, [accepted], barrier)] * PROCESSES)
    assert [report for report in reported if report[0] != "result"] == []
    outcomes = Counter(outcome for _, outcome in reported)
    assert outcomes == {
        str(DeliveryStatus.APPLIED): 1,
        str(DeliveryStatus.DUPLICATE): PROCESSES - 1,
    }
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
        Inbox(store, verified_upstream=True).receive(events[:1])  # the order exists
    rest = events[1:]
    shares = [[rest[n % len(rest)]] for n in range(PROCESSES)]  # every event, some twice
    barrier = SPAWN.Barrier(PROCESSES)
    reported = run_processes(workers.deliver_webhooks, [(url, share, barrier) for share in shares])
    assert [report for report in reported if report[0] != "result"] == []
    memory = MemoryStore()
    Inbox(memory, verified_upstream=True).receive(events)
    with open_store(url) as store:
        Inbox(store, verified_upstream=True).receive(events)  # the provider redelivers
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


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_servers_ingesting_overlapping_batches_apply_each_event_once(new_url: UrlMaker) -> None:
    """4 processes ingest the same lives, shuffled apart, in batches: no race reaches them.

    Every outcome is one a single inbox gives (a lost race is re-read and re-applied, so a
    redelivery another process applied first is a duplicate), each event id is applied at
    most once, and the orders end where one inbox taking every event in turn leaves them.
    """
    url = new_url()
    with open_store(url):
        pass
    lives = ["accepted_fulfilled_complete", "dispute_and_resolution", "charge_capture_and_cancel"]
    bodies = [raw(e) for life in lives for e in ALL_LIVES[life]()]
    servers = 4
    barrier = SPAWN.Barrier(servers)
    reported = run_processes(
        workers.deliver_batches, [(url, bodies, seed, 5, barrier) for seed in range(servers)]
    )
    assert [report for report in reported if report[0] != "result"] == []
    assert len(reported) == servers * len(bodies)
    applied = Counter(event_id for _, outcome, event_id in reported if outcome == "applied")
    assert set(applied.values()) == {1}
    memory = MemoryStore()
    Inbox(memory, verified_upstream=True).receive(bodies)
    with open_store(url) as store:
        again = Inbox(store, verified_upstream=True).receive(bodies)  # the provider redelivers
        assert {r.outcome for r in again} <= {
            DeliveryStatus.DUPLICATE,
            DeliveryStatus.STALE,
            DeliveryStatus.UNKNOWN,
            DeliveryStatus.APPLIED,
        }
        for order_id in store.order_ids():
            order, expected = store.get_order(order_id), memory.get_order(order_id)
            assert expected is not None
            assert (order.state, order.items, order.charges) == (
                expected.state,
                expected.items,
                expected.charges,
            )
            assert_order_invariants(order)
        assert store.check() == []


def _with(event: dict[str, Any], **fields: str) -> bytes:
    """The event with its id, order id or checkout id replaced."""
    event = copy.deepcopy(event)
    if "event_id" in fields:
        event["id"] = fields["event_id"]
    if "order_id" in fields:
        event["data"]["object"]["id"] = fields["order_id"]
    if "checkout_id" in fields:
        event["data"]["object"]["checkoutId"] = fields["checkout_id"]
    return raw(event)


@pytest.mark.parametrize(
    "poison",
    [
        {"event_id": "evt-\x00"},
        {"event_id": "evt-\udc80"},
        {"event_id": ""},
        {"order_id": "10\x0001"},
        {"order_id": "10\ud80001"},
        {"order_id": ""},
        {"checkout_id": "chk-\x00"},
        {"checkout_id": "chk-\udc80"},
    ],
    ids=repr,
)
def test_poison_deliveries_do_not_stop_a_batch(store: Store, poison: dict[str, str]) -> None:
    """A signed delivery with ids no store can hold is stored invalid; the next applies."""
    [accepted] = ALL_LIVES["card_order_accepted"]()[:1]
    [pending] = ALL_LIVES["expired_wire_transfer"]()[:1]
    batch = [_with(accepted, **poison), raw(pending)]
    results = Inbox(store, verified_upstream=True).receive(batch)
    assert [r.outcome for r in results] == [DeliveryStatus.INVALID, DeliveryStatus.APPLIED]
    again = Inbox(store, verified_upstream=True).receive(batch)  # stored once: duplicates
    assert [r.outcome for r in again] == [DeliveryStatus.DUPLICATE] * 2
    assert store.order_ids() == ["1003"]
    assert store.applied_event_ids("1003") == {pending["id"]}
    rows = store.list_deliveries()
    assert [(row.body, row.status) for row in rows] == [
        (batch[0], DeliveryStatus.INVALID),
        (batch[1], DeliveryStatus.APPLIED),
    ]
    for row in rows:
        for text in (row.reason, row.event_id, row.order_id):
            assert text is None or ("\x00" not in text and text.isprintable())


def test_forgeries_fill_no_store(store: Store) -> None:
    """Unsigned deliveries are kept as summaries up to the store's cap, then only counted."""
    store.max_kept_bytes = 4096
    inbox = Inbox(store, secrets=["whsec-store"])
    forged = [Delivery(b"%d" % n + b"x" * 99_998, "t=1, forged") for n in range(10, 60)]
    results = inbox.receive(forged)
    assert {r.outcome for r in results} == {DeliveryStatus.INVALID}
    kept = store.kept_deliveries()
    assert all(k.summary and k.size == 100_000 for k in kept)
    assert len(kept) + store.deliveries_not_kept() == 50
    assert store.kept_bytes() <= 4096
    assert inbox.refused["signature"] == 50

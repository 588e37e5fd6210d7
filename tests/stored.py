"""What a store holds, read whole: the views the inbox's tests assert on."""

from __future__ import annotations

from collections.abc import Iterable

from order_lifecycle import Order
from order_lifecycle.store import MemoryStore, Store


def orders(store: Store) -> dict[str, Order]:
    """Every stored order by id, as copies."""
    return {key: store.get_order(key) for key in store.order_ids()}


def event_ids(store: Store) -> dict[str, str]:
    """Every applied webhook event id, with the id of its order."""
    return {event: key for key in store.order_ids() for event in store.applied_event_ids(key)}


def seeded(known: Iterable[Order] = ()) -> MemoryStore:
    """A memory store holding ``known`` (orders created from ``POST /orders`` 201s)."""
    store = MemoryStore()
    for order in known:
        store.create_order(order)
    return store

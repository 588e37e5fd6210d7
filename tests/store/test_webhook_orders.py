"""Orders reconciled from webhooks, kept by every store: memory, a SQLite file, PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from order_lifecycle import Order, OrderState
from order_lifecycle.store import DuplicateEvent, Store
from order_lifecycle.testing import assert_order_invariants
from order_lifecycle.webhooks import EventOutcome, Reconciled, apply_event, parse_event
from tests import webhook_events as ev


def reconcile(store: Store, payload: dict[str, Any]) -> Reconciled:
    """One event through a store, as an inbox on it would: create, or update as a change."""
    event = parse_event(ev.raw(payload))
    order_id = str(event.order_id)
    if order_id not in store.order_ids():
        result = apply_event(None, event)
        assert result.order is not None
        store.create_order(result.order, event_id=event.id)
        return result
    return store.update_order(order_id, lambda order: apply_event(order, event), event_id=event.id)


def test_reconciled_orders_round_trip(store: Store) -> None:
    """Snapshot marks, implied and recorded steps, charge marks: read back as reconciled."""
    life = ev.dispute_and_resolution(resolved_to="accepted")
    expected: Order | None = None
    for payload in life:
        result = reconcile(store, payload)
        assert result.outcome is EventOutcome.APPLIED
        expected = result.order
    stored = store.get_order("1006")
    assert stored == expected
    assert stored.as_of is not None
    assert stored.charges[0].as_of is not None
    # accepted and fulfilled implied (from the first snapshot's stateTransitions), then recorded
    assert [s.implied for s in stored.history] == [True, True, False, False, False]
    assert stored.state is OrderState.ACCEPTED  # the [X] resolution, recorded as reported
    assert_order_invariants(stored)
    assert store.applied_event_ids("1006") == {p["id"] for p in life}
    assert store.check() == []


def test_a_redelivered_event_is_refused_by_the_store(store: Store) -> None:
    """The store's unique event ids back the inbox's duplicates: nothing is written twice."""
    life = ev.accepted_fulfilled_complete()
    reconcile(store, life[0])
    before = store.get_order("1005")
    with pytest.raises(DuplicateEvent):
        reconcile(store, life[0])
    assert store.get_order("1005") == before

"""What the stores tell an operator: cancellations, holds, retries (see postgres_faults too)."""

from __future__ import annotations

import logging

import pytest

from order_lifecycle import OrderEvent
from order_lifecycle.actions import Failed, action_key
from order_lifecycle.models import fire
from order_lifecycle.orders import cancel_items
from order_lifecycle.store import MemoryStore

from .test_outbox import accepted

LOGGER = "order_lifecycle.store"
SHIP = action_key("o1", "ship", "box")


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


def test_a_change_that_cancels_actions_logs_each(caplog: pytest.LogCaptureFixture) -> None:
    """Cancelling every item cancels its ship and deliver actions: one info record each, why."""
    store = MemoryStore()
    accepted(store)
    with caplog.at_level(logging.INFO, LOGGER):
        store.update_order("o1", lambda o: cancel_items(o, {"box": 2, "key": 1}))
    cancelled = {getattr(r, "action_key", None): r for r in records(caplog)}
    assert {SHIP, action_key("o1", "deliver_digitally", "key")} <= set(cancelled)
    record = cancelled[SHIP]
    assert (record.levelno, getattr(record, "outcome", None)) == (logging.INFO, "cancelled")
    assert getattr(record, "order_id", None) == "o1"


def test_a_dispute_logs_the_kinds_it_holds_and_its_end_their_resumption(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entering a dispute is logged with the kinds it holds; leaving it, with their resumption."""
    store = MemoryStore()
    accepted(store)
    with caplog.at_level(logging.INFO, LOGGER):
        store.update_order("o1", lambda o: fire(o, OrderEvent.DISPUTE))
        store.update_order("o1", lambda o: fire(o, OrderEvent.RESOLVE_DISPUTE))
    outcomes = {"held", "resumed"}
    held, resumed = (r for r in records(caplog) if getattr(r, "outcome", None) in outcomes)
    assert (getattr(held, "outcome", None), getattr(resumed, "outcome", None)) == tuple(
        sorted(outcomes)
    )
    assert "ship" in held.getMessage()
    assert getattr(held, "order_id", None) == "o1"


def test_an_operators_retry_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """Retrying a dead action is an info record naming it."""
    store = MemoryStore()
    store.max_tries = 1
    accepted(store)
    (claimed,) = store.claim_actions(["ship"])
    store.finish_actions([Failed(claimed.key, claimed.tries, "the warehouse is down")])
    with caplog.at_level(logging.INFO, LOGGER):
        store.retry_action(SHIP)
    (record,) = records(caplog)
    assert (getattr(record, "action_key", None), getattr(record, "outcome", None)) == (
        SHIP,
        "retried",
    )

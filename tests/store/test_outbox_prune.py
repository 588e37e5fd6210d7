"""Pruning the outbox, on every store: finished actions go, every other stays."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from order_lifecycle.actions import ActionState, action_key
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.orders import cancel_items
from order_lifecycle.store import Store
from tests.store.test_outbox import SHIP, accepted, states


def test_prune_deletes_done_and_cancelled_actions_finished_before(store: Store) -> None:
    """Done and cancelled actions finished before the moment go; pending, failed, dead stay."""
    accepted(store, "o1")
    accepted(store, "o2")
    accepted(store, "o3")
    store.max_tries = 1
    by_key = {a.key: a for a in store.claim_actions(["ship"], limit=10)}
    store.complete_action(SHIP, "shipped")
    store.fail_action(action_key("o2", "ship", "box"), "dead: one try")
    store.update_order("o3", lambda o: cancel_items(o, {"key": 1}))  # its delivery: cancelled
    assert set(by_key) == {SHIP, action_key("o2", "ship", "box"), action_key("o3", "ship", "box")}
    before = states(store)
    assert store.prune_actions(datetime.now(UTC) - timedelta(hours=1)) == 0  # none that old
    assert states(store) == before
    time.sleep(0.01)
    pruned = store.prune_actions(datetime.now(UTC))
    after = states(store)
    assert pruned == 2
    assert SHIP not in after
    assert action_key("o3", "deliver_digitally", "key") not in after
    assert set(after.values()) == {"pending", "dead", "claimed"}
    assert after[action_key("o2", "ship", "box")] == "dead"
    assert store.prune_actions(datetime.now(UTC)) == 0


def test_a_finished_action_says_when(store: Store) -> None:
    """Completing or cancelling an action stamps its finished_at; nothing else does."""
    accepted(store)
    start = datetime.now(UTC)
    (ship,) = store.claim_actions(["ship"])
    assert ship.finished_at is None
    done = store.complete_action(SHIP, "ok")
    assert done.finished_at is not None
    assert done.finished_at >= start - timedelta(seconds=1)
    (pending,) = store.list_actions(kinds=["deliver_digitally"])
    assert (pending.state, pending.finished_at) == (ActionState.PENDING, None)


@pytest.mark.parametrize("moment", [None, "2026-01-01", datetime(2026, 1, 1), 3])  # noqa: DTZ001
def test_prune_wants_an_aware_moment(store: Store, moment: Any) -> None:
    """A moment that is not an aware datetime: InvalidInput, nothing deleted."""
    accepted(store)
    store.claim_actions(["ship"])
    store.complete_action(SHIP)
    with pytest.raises(InvalidInput, match="done_before"):
        store.prune_actions(moment)
    assert SHIP in states(store)

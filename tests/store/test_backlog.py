"""A store's backlog, on every store: open deliveries and actions counted, with the oldest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from order_lifecycle import Delivery, Inbox, OrderEvent, Reconciler
from order_lifecycle.actions import ActionState, Failed
from order_lifecycle.models import fire
from order_lifecycle.store import Backlog, DeliveryStatus, Store, Waiting
from order_lifecycle.webhooks import sign
from tests import webhook_events as ev

from .test_outbox import pending_order

SECRET = "whsec-backlog"  # noqa: S105 (a made-up test secret)
T0 = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)


def test_an_empty_store_has_no_backlog(store: Store) -> None:
    """Nothing stored: every status and state counted 0, with no oldest."""
    backlog = store.backlog()
    assert backlog == Backlog()
    assert set(backlog.deliveries) == {DeliveryStatus.PENDING, DeliveryStatus.WAITING}
    assert set(backlog.actions) == {"pending", "claimed", "failed", "dead"}
    assert all(w == Waiting(0, None) for w in [*backlog.deliveries.values()])


def test_deliveries_are_counted_pending_then_waiting_then_not_at_all(store: Store) -> None:
    """Stored deliveries are pending since the first arrived; one that cannot apply waits."""
    accepted, capture, _ = ev.charge_capture_and_cancel()
    inbox = Inbox(store, secrets=[SECRET], clock=lambda: T0)
    first = ev.raw(capture)
    inbox.accept([Delivery(first, sign(first, SECRET, T0), received_at=T0)])
    later = T0 + timedelta(seconds=30)
    other = ev.raw(ev.card_order_accepted()[0])
    inbox.accept([Delivery(other, sign(other, SECRET, later), received_at=later)])
    pending = store.backlog().deliveries[DeliveryStatus.PENDING]
    assert pending.count == 2
    assert pending.oldest == T0
    reconciler = Reconciler(store, clock=lambda: later)
    while reconciler.run_once():
        pass
    backlog = store.backlog().deliveries
    assert backlog[DeliveryStatus.PENDING] == Waiting(0, None)
    assert backlog[DeliveryStatus.WAITING] == Waiting(1, T0)  # the capture: its order unseen
    body = ev.raw(accepted)
    inbox.accept([Delivery(body, sign(body, SECRET, later), received_at=later)])
    reconciler.run_once()
    assert store.backlog().deliveries[DeliveryStatus.WAITING].count == 0


def test_actions_are_counted_by_state_until_done(store: Store) -> None:
    """An accepted order's actions are pending, then claimed, then dead once out of tries."""
    store.create_order(pending_order())
    store.update_order("o1", lambda o: fire(o, OrderEvent.ACCEPT))
    actions = store.backlog().actions
    assert actions[ActionState.PENDING].count == 2
    created = min(a.created_at for a in store.list_actions())
    assert actions[ActionState.PENDING].oldest == created
    store.max_tries = 1
    (claimed,) = store.claim_actions(["ship"])
    assert store.backlog().actions[ActionState.CLAIMED] == Waiting(1, claimed.created_at)
    store.finish_actions([Failed(claimed.key, claimed.tries, "the warehouse is down")])
    actions = store.backlog().actions
    assert actions[ActionState.DEAD] == Waiting(1, claimed.created_at)
    assert (actions[ActionState.PENDING].count, actions[ActionState.CLAIMED].count) == (1, 0)

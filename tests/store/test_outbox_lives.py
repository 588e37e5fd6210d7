"""The outbox end to end: random provider lives through the inbox into every store."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle import Inbox, Order, OrderState
from order_lifecycle.actions import ActionPolicy, ActionState, StoredAction, action_key
from order_lifecycle.exceptions import ActionNotRetryable
from order_lifecycle.lifecycle import ORDER_SPEC, ActionKind
from order_lifecycle.orders import cancel_items
from order_lifecycle.store import MemoryStore, Store, open_store
from order_lifecycle.testing import OrderLife, order_lives, shuffled_deliveries, subscriptions
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


ITEM_KINDS = {ActionKind.SHIP, ActionKind.DELIVER_DIGITALLY, ActionKind.REVIEW_FULFILMENT}
HELD_KINDS = [str(kind) for kind in ORDER_SPEC.holds()]


def reason_gone(action: StoredAction, order: Order) -> str | None:
    """Why ``action`` has no reason any more in ``order`` (by the table), or ``None``."""
    kept = {
        ActionKind.SHIP: ACCEPTED_OR_DISPUTE,
        ActionKind.DELIVER_DIGITALLY: ACCEPTED_OR_DISPUTE,
        ActionKind.REVIEW_FULFILMENT: ACCEPTED_OR_DISPUTE,
        ActionKind.CAPTURE: {OrderState.FULFILLED, OrderState.DISPUTE},
        ActionKind.RESPOND_TO_DISPUTE: {OrderState.DISPUTE},
    }.get(ActionKind(action.kind))
    if kept is not None and order.state not in kept:
        return f"the order is {order.state}"
    if action.kind in ITEM_KINDS:
        item = next(i for i in order.items if i.id == action.subject)
        if item.open_quantity == 0:
            return f"item {item.id} has nothing open"
    if action.kind is ActionKind.CAPTURE:
        charge = next(c for c in order.charges if c.id == action.subject)
        if charge.open_amount == 0:
            return f"charge {charge.id} has nothing to capture"
    return None


ACCEPTED_OR_DISPUTE = {OrderState.ACCEPTED, OrderState.DISPUTE}


def check_the_outbox_follows(store: Store, order_id: str) -> None:
    """Nothing stands without its reason; what stands covers what is open; a dispute holds."""
    order = store.get_order(order_id)
    open_units = {i.id: i.open_quantity for i in order.items}
    for action in store.list_actions(order_id=order_id):
        if action.state is ActionState.CANCELLED:
            with pytest.raises(ActionNotRetryable):
                store.retry_action(action.key)
            continue
        if action.state is ActionState.DONE:
            continue
        gone = reason_gone(action, order)
        assert gone is None, f"{action.key} is {action.state} though {gone}"
        if action.kind in ITEM_KINDS:
            assert action.payload["quantity"] == open_units[action.subject]
        held = (
            order.state is OrderState.DISPUTE
            and action.kind in ORDER_SPEC.holds()
            and action.state in {ActionState.PENDING, ActionState.FAILED}
        )
        assert action.held_by == (OrderState.DISPUTE if held else None)
    if order.state is OrderState.DISPUTE:
        assert store.claim_actions(HELD_KINDS) == []


def disputed(life: OrderLife) -> bool:
    """Whether the provider disputed the order in ``life``."""
    return any(event["type"] == "order.dispute" for event in life.events)


@LIVES
@given(life=order_lives().filter(disputed) | order_lives(), data=st.data())
def test_actions_follow_the_order_through_disputes_partial_cancellations_and_deaths(
    new_store: Callable[[], Store], life: OrderLife, data: st.DataObject
) -> None:
    """Between deliveries the shop cancels units, and a worker lets actions die: all follow."""
    with new_store() as store:
        store.max_tries = 1  # each failure is a death
        inbox = Inbox(store, verified_upstream=True)
        for event in life.events:
            inbox.receive([ev.raw(event)])
            if life.order_id not in store.order_ids():
                continue
            move = data.draw(st.sampled_from(["nothing", "cancel a unit", "a worker fails"]))
            order = store.get_order(life.order_id)
            several = [i.id for i in order.items if i.open_quantity >= 2]
            if move == "cancel a unit" and order.state is OrderState.ACCEPTED and several:
                units = {data.draw(st.sampled_from(several)): 1}
                store.update_order(life.order_id, functools.partial(cancel_items, items=units))
            elif move == "a worker fails":
                for action in store.claim_actions(limit=100):
                    store.fail_action(action.key, "the warehouse is down", claim=action.tries)
            check_the_outbox_follows(store, life.order_id)


def subscribed_ids(life: OrderLife, policy: ActionPolicy) -> set[tuple[str, str]]:
    """Each (kind, event id) the policy's subscriptions ask for in ``life``."""
    return {
        (kind, event["id"])
        for event in life.events
        for kind in policy.subscribe.kinds_for(event["type"])
    }


@LIVES
@given(
    life=order_lives(refund_events=True),
    subscribe=subscriptions(),
    data=st.data(),
)
def test_every_subscribed_delivery_of_a_life_yields_its_action_once(
    new_store: Callable[[], Store],
    life: OrderLife,
    subscribe: dict[str, list[str]],
    data: st.DataObject,
) -> None:
    """Shuffled and redelivered, one at a time: each subscribed event makes one action a kind."""
    policy = ActionPolicy(subscribe=subscribe)
    deliveries = data.draw(shuffled_deliveries(life))
    with new_store() as store:
        store.action_policy = policy
        inbox = Inbox(store, verified_upstream=True)
        for delivery in deliveries:
            inbox.receive([delivery])
        found = [(str(a.kind), a.subject) for a in store.list_actions(kinds=list(policy.kinds))]
        assert sorted(found) == sorted(subscribed_ids(life, policy))
        reports = {e["id"] for e in life.events if e["type"] == "refund.complete"}
        settled = [
            a for a in store.list_actions(kinds=["confirm_refund"]) if "settled_by" in a.payload
        ]
        assert {a.payload["settled_by"]["event_id"] for a in settled} == reports
        made = [
            a.payload["settled_by"]["event_id"] for a in settled if "refund_id" not in a.payload
        ]
        assert len(made) == len(set(made))  # no report settles two of the order's actions


@LIVES
@given(life=order_lives(refund_events=True))
def test_in_order_each_refund_the_provider_confirms_settles_its_confirm_refund(
    new_store: Callable[[], Store], life: OrderLife
) -> None:
    """Delivered in order, each refund.complete settles the order's oldest open confirm_refund."""
    with new_store() as store:
        inbox = Inbox(store, verified_upstream=True)
        for event in life.events:
            inbox.receive([ev.raw(event)])
        actions = store.list_actions(kinds=["confirm_refund"])
        assert not [a for a in actions if "refund_id" in a.payload]  # none kept apart
        settled = [a for a in actions if a.state is ActionState.DONE]
        assert len(settled) == sum(1 for e in life.events if e["type"] == "refund.complete")
        pending = [a for a in actions if a.state is ActionState.PENDING]
        oldest_first = sorted(actions, key=lambda a: (a.created_at, a.key))
        assert oldest_first[: len(settled)] == sorted(settled, key=lambda a: (a.created_at, a.key))
        assert len(settled) + len(pending) == len(actions)

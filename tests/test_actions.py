"""The actions a change creates and cancels, derived from the order table, over random lives."""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Charge, ChargeState, Inbox, Item, Order, OrderState
from order_lifecycle.actions import Action, Derived, action_key, derive_actions
from order_lifecycle.actions._derive import _cancelled, _derived, _entry, _parts
from order_lifecycle.exceptions import OrderLifecycleError, WrongType
from order_lifecycle.lifecycle import ORDER_SPEC, ActionKind, ActionScope, Operation, OrderEvent
from order_lifecycle.models import fire
from order_lifecycle.orders import cancel_items, capture, fulfil_items, refund
from order_lifecycle.store import MemoryStore
from order_lifecycle.testing import OrderLife, order_lives

from . import webhook_events as ev

# Values no caller should pass: NUL, lone surrogates, huge numbers, the wrong types.
HOSTILE = (
    st.integers(-(2**70), 2**70)
    | st.floats()
    | st.binary(max_size=8)
    | st.text(st.sampled_from(["\x00", "\ud800", "a", "\U0010ffff"]), max_size=6)
    | st.lists(st.integers(), max_size=3)
    | st.just(OrderState.ACCEPTED)
    | st.just(Decimal("1e999999"))
)
ITEM_KINDS = {ActionKind.SHIP, ActionKind.DELIVER_DIGITALLY, ActionKind.REVIEW_FULFILMENT}
KIND_OF = {
    True: ActionKind.SHIP,
    False: ActionKind.DELIVER_DIGITALLY,
    None: ActionKind.REVIEW_FULFILMENT,
}


def accepted_order() -> Order:
    """An order accepted with one physical, one digital and one unknown item, one charge."""
    order = Order.create(
        "o1",
        items=[Item("box", 2, physical=True), Item("key", 1, physical=False), Item("x", 1, None)],
        charges=[Charge("c1", "capturable", Decimal("30.00"), "EUR")],
    )
    fire(order, OrderEvent.ACCEPT)
    return order


def the_life(life: OrderLife) -> list[tuple[Order, Order, Derived]]:
    """Each delivery of ``life`` in turn: the order before and after it, and what it derives."""
    store = MemoryStore()
    inbox = Inbox(store, verified_upstream=True)
    changes: list[tuple[Order, Order, Derived]] = []
    before: Order | None = None
    for event in life.events:
        inbox.receive([ev.raw(event)])
        if life.order_id not in store.order_ids():
            continue
        after = store.get_order(life.order_id)
        if before is None or after != before:
            changes.append((before, after, derive_actions(before, after)))  # type: ignore[arg-type]
        before = after
    return changes


def outbox(changes: list[tuple[Order, Order, Derived]]) -> dict[str, tuple[Action, str]]:
    """The outbox a store keeps from these changes: each key first created, then cancelled."""
    kept: dict[str, tuple[Action, str]] = {}
    for _, _, derived in changes:
        for action in derived.created:
            kept.setdefault(action.key, (action, "pending"))
        for key in derived.cancelled:
            if key in kept and kept[key][1] == "pending":
                kept[key] = (kept[key][0], "cancelled")
    return kept


def test_acceptance_creates_one_action_per_item() -> None:
    """Accepting ships the physical item, delivers the digital one, reviews the unknown one."""
    order = Order.create(
        "o1",
        items=[Item("box", 2, physical=True), Item("key", 1, physical=False), Item("x", 1, None)],
        charges=[Charge("c1", "capturable", Decimal("30.00"), "EUR")],
    )
    derived = derive_actions(order, accepted_order())
    assert {(a.kind, a.subject) for a in derived.created} == {
        (ActionKind.SHIP, "box"),
        (ActionKind.DELIVER_DIGITALLY, "key"),
        (ActionKind.REVIEW_FULFILMENT, "x"),
    }
    ship = next(a for a in derived.created if a.kind is ActionKind.SHIP)
    assert ship.key == action_key("o1", "ship", "box") == '["o1","ship","box"]'
    assert ship.payload == {"item_id": "box", "quantity": 2}
    assert derived.cancelled == ()
    assert derive_actions(order, accepted_order()) == derived  # stable keys


def test_a_new_order_created_accepted_gets_its_actions() -> None:
    """An order stored already accepted (a 201) derives its actions from no order before."""
    derived = derive_actions(None, accepted_order())
    assert {a.kind for a in derived.created} == ITEM_KINDS


def test_cancelling_cancels_pending_shipping_and_notifies() -> None:
    """Every item cancelled: the order's cancel cancels ship and the rest, and notifies."""
    accepted = accepted_order()
    cancelled = accepted.copy()
    cancel_items(cancelled, {"box": 2, "key": 1, "x": 1})  # the charges go with them
    assert cancelled.state is OrderState.CANCELLED
    derived = derive_actions(accepted, cancelled)
    assert [(a.kind, a.payload["state"]) for a in derived.created] == [
        (ActionKind.NOTIFY_CUSTOMER, "cancelled")
    ]
    assert "payment" in derived.created[0].payload["message"]
    assert set(derived.cancelled) >= {
        action_key("o1", "ship", "box"),
        action_key("o1", "deliver_digitally", "key"),
    }


def test_fulfilling_asks_to_capture_and_refunds_to_confirm() -> None:
    """The order fulfilled asks to capture each uncaptured charge; a refund to confirm it."""
    accepted = accepted_order()
    fulfilled = accepted.copy()
    fulfil_items(fulfilled, {"box": 2, "key": 1, "x": 1})
    assert fulfilled.state is OrderState.FULFILLED
    derived = derive_actions(accepted, fulfilled)
    assert [(a.kind, a.payload["amount"]) for a in derived.created] == [
        (ActionKind.CAPTURE, "30.00")
    ]
    assert action_key("o1", "ship", "box") in derived.cancelled  # nothing left to ship
    captured = fulfilled.copy()
    capture(captured, "c1", "30.00")
    assert derive_actions(fulfilled, captured).cancelled == (action_key("o1", "capture", "c1"),)
    refunded = captured.copy()
    refund(refunded, "10.00")
    (confirm,) = derive_actions(captured, refunded).created
    assert confirm.kind is ActionKind.CONFIRM_REFUND
    assert confirm.subject == "c1@10.00"
    assert confirm.payload["amount"] == "10.00"
    assert derive_actions(captured, refunded, Operation.REFUND) == derive_actions(
        captured, refunded
    )


@given(order_lives())
def test_every_physical_item_ships_once_after_acceptance(life: OrderLife) -> None:
    """Over any life: each item open at acceptance gets one action of its kind, none earlier."""
    changes = the_life(life)
    accepted_at = next(
        (
            i
            for i, (_, after, _) in enumerate(changes)
            if any(s.dest is OrderState.ACCEPTED for s in after.history)
        ),
        None,
    )
    for index, (_, _, derived) in enumerate(changes):
        if accepted_at is None or index < accepted_at:
            assert {a.kind for a in derived.created} <= {ActionKind.NOTIFY_CUSTOMER}
    kept = outbox(changes)
    keys = [a.key for _, _, d in changes for a in d.created]
    if accepted_at is None:
        assert not [k for k in keys if '"ship"' in k]
        return
    _, first, _ = changes[accepted_at]
    for item in first.items:
        mine = {a.key for a, _ in kept.values() if a.subject == item.id and a.kind in ITEM_KINDS}
        if item.open_quantity > 0 and first.state is OrderState.ACCEPTED:
            assert mine == {action_key(life.order_id, KIND_OF[item.physical], item.id)}
        else:
            assert mine <= {action_key(life.order_id, KIND_OF[item.physical], item.id)}


@given(order_lives())
def test_nothing_pending_outlives_its_reason(life: OrderLife) -> None:
    """At any life's end, a pending item action has open units, in a state that keeps it."""
    changes = the_life(life)
    if not changes:
        return
    order = changes[-1][1]
    open_items = {i.id for i in order.items if i.open_quantity > 0}
    for action, state in outbox(changes).values():
        if state != "pending":
            continue
        if action.kind in ITEM_KINDS:
            assert action.subject in open_items
            assert order.state in {OrderState.ACCEPTED, OrderState.DISPUTE}
        if order.state in {OrderState.CANCELLED, OrderState.BLOCKED}:
            assert action.kind is ActionKind.NOTIFY_CUSTOMER


@given(order_lives())
def test_an_order_blocked_or_cancelled_first_ships_nothing(life: OrderLife) -> None:
    """A life that ends blocked or cancelled before acceptance created no item action."""
    changes = the_life(life)
    if not changes or changes[-1][1].state not in {OrderState.BLOCKED, OrderState.CANCELLED}:
        return
    if any(s.dest is OrderState.ACCEPTED for s in changes[-1][1].history):
        return
    kinds = {a.kind for _, _, d in changes for a in d.created}
    assert kinds <= {ActionKind.NOTIFY_CUSTOMER}


@given(HOSTILE)
def test_hostile_arguments_raise_typed_errors(value: Any) -> None:
    """Wrong types for before, after or the operation raise WrongType; the orders stay."""
    order = accepted_order()
    snapshot = order.copy()
    for args in ((value, order), (None, value), (None, order, value)):
        with pytest.raises(WrongType):
            derive_actions(*args)
    assert order == snapshot


def test_wrong_types_name_the_argument() -> None:
    """The error names which argument was wrong, and is the library's."""
    with pytest.raises(WrongType, match="after") as raised:
        derive_actions(None, "o1")  # type: ignore[arg-type]
    assert isinstance(raised.value, OrderLifecycleError)


@given(order_lives())
def test_the_fast_path_derives_what_the_full_derivation_does(life: OrderLife) -> None:
    """A change the fast path calls quiet derives nothing in the full derivation either."""
    changes = the_life(life)
    for before, after, derived in changes:
        assert derived == _derived(before, after, None, ORDER_SPEC)
        fulfilled = after.copy()
        if fulfilled.state is OrderState.ACCEPTED and fulfilled.items:
            item = fulfilled.items[0]
            if item.open_quantity:
                fulfil_items(fulfilled, {item.id: item.open_quantity})
                expected = _derived(after, fulfilled, Operation.FULFIL_ITEMS, ORDER_SPEC)
                assert derive_actions(after, fulfilled, Operation.FULFIL_ITEMS) == expected


def _every_cancellation(before: Order, after: Order) -> list[tuple[str, str]]:
    """The cancellations by their definition: every declared action, every item and charge."""
    left = f"the order left {before.state} for {after.state}"
    was_open = {item.id: item.open_quantity > 0 for item in before.items}
    was_uncaptured = {charge.id: charge.open_amount > 0 for charge in before.charges}
    found = []
    for declared in ORDER_SPEC.actions:
        held = declared.while_in
        gone = before.state != after.state and held is not None
        gone = gone and before.state in held and after.state not in held  # type: ignore[operator]
        if declared.for_each is ActionScope.ORDER:
            if gone and isinstance(declared.on, OrderState):
                subject = _entry(before, declared.on)
                found.append((action_key(after.id, declared.kind, subject), left))
        elif declared.for_each is ActionScope.UNCAPTURED_CHARGE:
            for charge in after.charges:
                if gone or (was_uncaptured.get(charge.id, False) and charge.open_amount == 0):
                    why = left if gone else f"charge {charge.id!r} has nothing left to capture"
                    found.append((action_key(after.id, declared.kind, charge.id), why))
        elif declared.for_each is not ActionScope.REFUNDED_CHARGE:
            for item in after.items:
                if gone or (was_open.get(item.id, False) and item.open_quantity == 0):
                    why = left if gone else f"item {item.id!r} has no open units any more"
                    found.append((action_key(after.id, declared.kind, item.id), why))
    return found


@given(order_lives())
def test_the_cancellations_are_every_action_whose_reason_went_away(life: OrderLife) -> None:
    """What a change cancels, found by its closed parts, is the scan of every action's subject."""
    for before, after, _ in the_life(life):
        if before is None:
            continue
        assert list(_cancelled(ORDER_SPEC, before, after)) == _every_cancellation(before, after)
        # A unit fulfilled, then a charge captured: an item closed, a charge settled.
        changed = after.copy()
        open_items = {i.id: i.open_quantity for i in changed.items if i.open_quantity}
        if changed.state is OrderState.ACCEPTED and open_items:
            fulfil_items(changed, open_items)
            assert list(_cancelled(ORDER_SPEC, after, changed)) == _every_cancellation(
                after, changed
            )
        if changed.state is OrderState.FULFILLED and changed.charges:
            charge = changed.charges[0]
            if charge.open_amount and charge.state in {
                ChargeState.CAPTURABLE,
                ChargeState.PROCESSING,
            }:
                capture(changed, charge.id, charge.open_amount)
                assert list(_cancelled(ORDER_SPEC, after, changed)) == _every_cancellation(
                    after, changed
                )


def _parts_by_definition(before: Order, after: Order) -> tuple[Any, Any]:
    """The parts a change closed and moved, by their definition: every part read again."""
    units = {item.id: item.open_quantity for item in before.items}
    money = {charge.id: charge.open_amount for charge in before.charges}
    closed = (
        {i.id for i in after.items if units.get(i.id, 0) > 0 and i.open_quantity == 0},
        {c.id for c in after.charges if money.get(c.id, 0) > 0 and c.open_amount == 0},
    )
    moved = (
        [i for i in after.items if 0 < units.get(i.id, 0) != i.open_quantity > 0],
        [c for c in after.charges if 0 < money.get(c.id, 0) != c.open_amount > 0],
    )
    return closed, moved


@given(order_lives(), st.integers(min_value=1, max_value=10**6))
def test_the_parts_a_change_closed_or_moved_are_read_once_as_defined(
    life: OrderLife, units: int
) -> None:
    """The items and charges a change closed or moved are those their open values say."""
    orders = [after for _, after, _ in the_life(life)]
    for before, after in pairwise(orders):
        # Against the first order too: parts it did not have yet are neither closed nor moved.
        for earlier in (before, orders[0], Order.create(after.id, OrderState.IN_REVIEW)):
            assert tuple(_parts(earlier, after)) == _parts_by_definition(earlier, after)
        changed = after.copy()
        if changed.state is OrderState.ACCEPTED and changed.items:
            item = changed.items[-1]
            if item.open_quantity:  # some units cancelled, maybe all: moved or closed
                cancel_items(changed, {item.id: min(units, item.open_quantity)})
        if changed.state is OrderState.FULFILLED and changed.charges:
            charge = changed.charges[0]
            if charge.open_amount and charge.state in {
                ChargeState.CAPTURABLE,
                ChargeState.PROCESSING,
            }:
                capture(changed, charge.id, min(Decimal(units) / 100, charge.open_amount))
        assert tuple(_parts(after, changed)) == _parts_by_definition(after, changed)


def test_a_quiet_change_derives_nothing_and_a_loud_one_something() -> None:
    """An order created in review derives nothing; its acceptance creates its ship."""
    order = Order.create("o1", OrderState.IN_REVIEW, items=[Item("box", 1, physical=True)])
    assert derive_actions(None, order) == Derived()
    accepted = order.copy()
    fire(accepted, OrderEvent.ACCEPT)
    assert [a.kind for a in derive_actions(order, accepted).created] == [ActionKind.SHIP]


@given(st.text(), st.text())
def test_an_action_key_is_the_json_of_its_parts(order_id: str, subject: str) -> None:
    """The key is the compact JSON list of order id, kind and subject, for any text."""
    expected = json.dumps([order_id, "ship", subject], ensure_ascii=False, separators=(",", ":"))
    assert action_key(order_id, ActionKind.SHIP, subject) == expected


def test_a_partial_cancellation_rewrites_what_the_pending_action_covers() -> None:
    """Cancelling 1 of 3 units: the ship action of that item now covers 2, by the derivation."""
    order = Order.create("o1", items=[Item("box", 3, physical=True)])
    fire(order, OrderEvent.ACCEPT)
    cancelled = order.copy()
    cancel_items(cancelled, {"box": 1})
    derived = derive_actions(order, cancelled)
    assert derived.created == ()
    assert derived.cancelled == ()
    rewritten = {a.key: a.payload for a in derived.updated}
    assert rewritten[action_key("o1", "ship", "box")] == {"quantity": 2}
    # every item kind: the rewrite reaches the item's action however it was classified
    assert set(rewritten) == {action_key("o1", kind, "box") for kind in KIND_OF.values()}


def test_a_partial_capture_rewrites_the_amount_to_capture() -> None:
    """Capturing part of a charge once fulfilled: its capture action covers what is left."""
    fulfilled = accepted_order()
    fulfil_items(fulfilled, {"box": 2, "key": 1, "x": 1})
    captured = fulfilled.copy()
    capture(captured, "c1", "10.00")
    (rewrite,) = derive_actions(fulfilled, captured).updated
    assert (rewrite.key, rewrite.payload) == (
        action_key("o1", "capture", "c1"),
        {"amount": "20.00"},
    )


def test_back_from_a_dispute_nothing_is_created_again() -> None:
    """A dispute holds the item actions; its resolution creates none anew (they still stand)."""
    accepted = accepted_order()
    disputed = accepted.copy()
    fire(disputed, OrderEvent.DISPUTE)
    into = derive_actions(accepted, disputed)
    assert [a.kind for a in into.created] == [ActionKind.RESPOND_TO_DISPUTE]
    assert into.cancelled == ()  # a dispute keeps them (and holds them), it does not cancel
    resolved = disputed.copy()
    fire(resolved, OrderEvent.RESOLVE_DISPUTE)
    back = derive_actions(disputed, resolved)
    assert back.created == ()
    respond = action_key("o1", "respond_to_dispute", "dispute#1")
    assert respond in back.cancelled
    assert not [key for key in back.cancelled if '"ship"' in key or '"deliver' in key]
    assert back.reasons[respond] == "the order left dispute for accepted"


def test_every_cancellation_says_why() -> None:
    """Each cancelled key has its reason: the state the order left, or the item closed."""
    accepted = accepted_order()
    cancelled = accepted.copy()
    cancel_items(cancelled, {"box": 2, "key": 1, "x": 1})
    derived = derive_actions(accepted, cancelled)
    assert set(derived.reasons) == set(derived.cancelled)
    assert derived.reasons[action_key("o1", "ship", "box")] == (
        "the order left accepted for cancelled"
    )
    partly = accepted.copy()
    cancel_items(partly, {"box": 2})
    closed = derive_actions(accepted, partly)
    assert closed.reasons[action_key("o1", "ship", "box")] == (
        "item 'box' has no open units any more"
    )


@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.text())))
def test_why_an_action_was_cancelled_takes_its_key_or_says_wrongtype(key: object) -> None:
    """A key that is no str is a WrongType; a key the change named says its words, else why not."""
    derived = Derived(cancelled=("k-1",), reasons={"k-1": "the order was cancelled"})
    with pytest.raises(WrongType):
        derived.why(key)  # type: ignore[arg-type]
    assert derived.why("k-1") == "the order was cancelled"
    assert derived.why("k-2") == "its reason went away"

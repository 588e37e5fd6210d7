"""The shop's own kinds in every store: subscriptions, refund settlements, listeners."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from order_lifecycle import Charge, Inbox, Item, Order, OrderEvent, OrderState, Reconciler
from order_lifecycle.actions import (
    Action,
    ActionPolicy,
    ActionState,
    CaptureRequest,
    ConfirmRefund,
    DeliverRequest,
    EventReceived,
    NotifyCustomer,
    RefundSettlement,
    RespondToDispute,
    ReviewRequest,
    ShipRequest,
    StoredAction,
    Transitioned,
    action_key,
    on,
)
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import ActionKind
from order_lifecycle.models import fire
from order_lifecycle.orders import capture, fulfil_items, refund
from order_lifecycle.store import OrderChange, Store
from order_lifecycle.store._outbox import refund_moves
from order_lifecycle.webhooks import DeliveryStatus
from tests import webhook_events as ev

REFUNDS = ActionPolicy(subscribe={"refunds": "refund.*"})


def receive(store: Store, *events: ev.Json) -> list[DeliveryStatus]:
    """Deliver ``events`` one by one through the inbox; each delivery's status."""
    inbox = Inbox(store, verified_upstream=True)
    return [inbox.receive([ev.raw(event)])[0].outcome for event in events]


def captured_order(order_id: str = "1001") -> Order:
    """An order accepted, its one item fulfilled and its charge of 30.00 captured: complete."""
    order = Order.create(
        order_id,
        items=[Item("box", 1, physical=True)],
        charges=[Charge("c1", "capturable", Decimal("30.00"), "USD")],
    )
    fire(order, OrderEvent.ACCEPT)
    fulfil_items(order, {"box": 1})
    capture(order, "c1", "30.00")
    return order


def confirm_refunds(store: Store) -> list[StoredAction]:
    """Every ``confirm_refund`` action, oldest first."""
    return store.list_actions(kinds=["confirm_refund"])


def test_a_subscribed_event_the_table_does_not_model_becomes_one_action(store: Store) -> None:
    """A subscribed invoice is applied and makes an action, once; unsubscribed, it stays unknown."""
    store.action_policy = ActionPolicy(subscribe={"documents": ["order.invoice.created"]})
    store.create_order(captured_order())
    invoice = ev.file_event("evt-inv", "order.invoice.created", "1001", ev.at(60))
    memo = ev.file_event("evt-memo", "order.credit_memo.created", "1001", ev.at(61))
    assert receive(store, invoice, memo) == [DeliveryStatus.APPLIED, DeliveryStatus.UNKNOWN]
    (action,) = store.list_actions(kinds=["documents"])
    assert (action.key, action.subject) == (action_key("1001", "documents", "evt-inv"), "evt-inv")
    request = action.request
    assert isinstance(request, EventReceived)
    assert (request.event_id, request.type, request.order_id) == (
        "evt-inv",
        "order.invoice.created",
        "1001",
    )
    assert request.fields["purpose"] == "customer_invoice"
    assert request.object_id == "file-evt-inv"
    assert store.order_of_event("evt-inv") == "1001"  # its event id recorded with it
    assert store.order_of_event("evt-memo") is None
    assert [a.kind for a in store.list_actions()] == ["documents"]  # the memo made nothing


def test_a_redelivered_or_refed_subscribed_event_makes_nothing_new(store: Store) -> None:
    """Redelivered, or fed again by an operator, a subscribed event is a duplicate."""
    store.action_policy = ActionPolicy(subscribe={"documents": "order.*"})
    store.create_order(captured_order())
    invoice = ev.file_event("evt-inv", "order.invoice.created", "1001", ev.at(60))
    assert receive(store, invoice, invoice) == [DeliveryStatus.APPLIED, DeliveryStatus.DUPLICATE]
    (delivery,) = store.list_deliveries()
    store.refeed_delivery(delivery.seq)
    Reconciler(store).run_once()
    assert store.get_delivery(delivery.seq).status is DeliveryStatus.DUPLICATE
    assert len(store.list_actions(kinds=["documents"])) == 1


def test_a_subscribed_event_waits_for_its_order(store: Store) -> None:
    """Before its order is known, a subscribed event waits; it is delivered with the order."""
    store.action_policy = ActionPolicy(subscribe={"documents": "order.invoice.created"})
    invoice = ev.file_event("evt-inv", "order.invoice.created", "1001", ev.at(60))
    assert receive(store, invoice) == [DeliveryStatus.WAITING]
    assert store.list_actions() == []
    accepted = ev.card_order_accepted()[0]
    accepted["data"]["object"]["id"] = "1001"
    assert receive(store, accepted) == [DeliveryStatus.APPLIED]
    assert [d.status for d in store.list_deliveries()] == [DeliveryStatus.APPLIED] * 2
    assert len(store.list_actions(kinds=["documents"])) == 1


def test_a_subscription_to_a_modelled_type_gets_each_applied_delivery(store: Store) -> None:
    """Subscribed to ``order.*``, each applied or stale delivery of a life makes one action."""
    store.action_policy = ActionPolicy(subscribe={"orders": "order.*"})
    life = ev.accepted_fulfilled_complete()
    statuses = receive(store, *life, life[0])  # the first again: a duplicate
    assert statuses[-1] is DeliveryStatus.DUPLICATE
    subjects = [a.subject for a in store.list_actions(kinds=["orders"])]
    assert sorted(subjects) == sorted(e["id"] for e in life if e["type"].startswith("order."))
    assert any(not e["type"].startswith("order.") for e in life)  # fulfillment.created: none


def test_refund_complete_confirms_the_refund_the_shop_made(store: Store) -> None:
    """The shop's refund asks to confirm it; the provider's refund.complete makes it done."""
    store.create_order(captured_order())
    store.update_order("1001", lambda order: refund(order, "10.00"))
    (pending,) = confirm_refunds(store)
    assert pending.state is ActionState.PENDING
    done = ev.refund_event("evt-r1", "1001", "c1", 10.0, ev.at(90), refund_id="re_1")
    assert receive(store, done) == [DeliveryStatus.APPLIED]  # no subscription needed
    (settled,) = confirm_refunds(store)
    assert settled.key == pending.key
    assert settled.state is ActionState.DONE
    assert settled.payload["settled_by"]["refund_id"] == "re_1"
    assert "refund re_1 complete" in json.loads(settled.result or "{}")["settled"]
    assert store.claim_actions(["confirm_refund"]) == []


def test_refund_failed_surfaces_the_providers_reason(store: Store) -> None:
    """refund.failed makes the confirm_refund dead, its error the provider's reason."""
    store.create_order(captured_order())
    store.update_order("1001", lambda order: refund(order, "10.00"))
    failed = ev.refund_event("evt-r1", "1001", "c1", 10.0, ev.at(90), failed="bank refused")
    assert receive(store, failed) == [DeliveryStatus.APPLIED]
    (dead,) = store.list_actions(states=["dead"])
    assert dead.kind is ActionKind.CONFIRM_REFUND
    assert dead.last_error is not None
    assert "failed: bank refused" in dead.last_error
    assert "issue another refund" in dead.last_error


def test_a_claimed_confirm_refund_settled_meanwhile_is_not_run_again(store: Store) -> None:
    """Settled while a worker holds it, the action is done; the claim's end changes nothing."""
    store.create_order(captured_order())
    store.update_order("1001", lambda order: refund(order, "10.00"))
    (claimed,) = store.claim_actions(["confirm_refund"])
    receive(store, ev.refund_event("evt-r1", "1001", "c1", 10.0, ev.at(90)))
    after = store.fail_action(claimed.key, "the provider is down", claim=claimed.tries)
    assert after.state is ActionState.DONE
    assert after.lease_until is None


def test_a_refund_reported_before_the_order_shows_it_settles_it_later(store: Store) -> None:
    """refund.complete first: kept settled; the order's confirm_refund is settled when written."""
    store.create_order(captured_order())
    report = ev.refund_event("evt-r1", "1001", "c1", 10.0, ev.at(90), refund_id="re_1")
    assert receive(store, report) == [DeliveryStatus.APPLIED]
    (kept,) = confirm_refunds(store)
    assert kept.state is ActionState.DONE
    assert kept.payload["awaiting"] is True
    assert isinstance(kept.request, ConfirmRefund)
    assert kept.request.refund_id == "re_1"
    store.update_order("1001", lambda order: refund(order, "10.00"))
    paired, made = sorted(confirm_refunds(store), key=lambda a: a.key != kept.key)
    assert made.subject == "c1@10.00"
    assert made.state is ActionState.DONE
    assert made.payload["settled_by"]["event_id"] == "evt-r1"
    assert paired.payload["paired_with"] == made.key
    assert "awaiting" not in paired.payload


def test_equal_refunds_settle_one_each_oldest_first(store: Store) -> None:
    """Two refunds of one amount on one charge: each report settles one, the oldest first."""
    store.create_order(captured_order())
    store.update_order("1001", lambda order: refund(order, "10.00"))
    store.update_order("1001", lambda order: refund(order, "10.00"))
    first, second = confirm_refunds(store)
    receive(store, ev.refund_event("evt-r1", "1001", "c1", 10.0, ev.at(90)))
    assert [a.state for a in confirm_refunds(store)] == [ActionState.DONE, ActionState.PENDING]
    receive(store, ev.refund_event("evt-r2", "1001", "c1", 10.0, ev.at(91)))
    by_key = {a.key: a for a in confirm_refunds(store)}
    assert by_key[first.key].payload["settled_by"]["event_id"] == "evt-r1"
    assert by_key[second.key].payload["settled_by"]["event_id"] == "evt-r2"


def test_a_refund_of_another_amount_settles_nothing_of_the_order(store: Store) -> None:
    """A report of another amount than the confirm_refund's leaves it pending, kept apart."""
    store.create_order(captured_order())
    store.update_order("1001", lambda order: refund(order, "10.00"))
    receive(store, ev.refund_event("evt-r1", "1001", "c1", 7.0, ev.at(90)))
    states = sorted((a.subject, a.state) for a in confirm_refunds(store))
    assert states == [("c1@10.00", ActionState.PENDING), ("refund re_evt-r1 on c1", "done")]


# --- listeners -------------------------------------------------------------------------------


LISTENERS = ActionPolicy(
    listen={
        "welcome": on("accepted"),
        "disputes": on(event="dispute"),
        "audit": on(),
    }
)


def subjects(store: Store, kind: str) -> list[str]:
    """The subjects of ``kind``'s actions, sorted."""
    return sorted(a.subject for a in store.list_actions(kinds=[kind]))


def test_a_listener_hears_each_committed_transition_once(store: Store) -> None:
    """Each listener gets one action per step it hears, the order's creation included."""
    store.action_policy = LISTENERS
    store.create_order(captured_order().copy())  # created pending, moved in memory: its steps
    assert subjects(store, "welcome") == ["step#1"]
    assert subjects(store, "audit") == ["step#0", "step#1", "step#2", "step#3"]
    store.update_order("1001", lambda order: fire(order, OrderEvent.DISPUTE))
    store.update_order("1001", lambda order: fire(order, OrderEvent.RESOLVE_DISPUTE))
    assert subjects(store, "disputes") == ["step#4"]
    assert len(subjects(store, "audit")) == 6
    (heard,) = store.list_actions(kinds=["disputes"])
    request = heard.request
    assert isinstance(request, Transitioned)
    assert (request.step, request.event, request.source, request.dest) == (
        4,
        OrderEvent.DISPUTE,
        OrderState.COMPLETE,
        OrderState.DISPUTE,
    )
    assert request.implied is False


def test_a_listener_hears_no_change_rolled_back_or_lost(store: Store) -> None:
    """A change that raised, or lost its race, leaves no listener's action behind."""
    store.action_policy = LISTENERS
    order = Order.create("1001", items=[Item("box", 1, physical=True)])
    store.create_order(order)

    def accept_then_fail(order: Order) -> None:
        fire(order, OrderEvent.ACCEPT)
        raise RuntimeError("the shop's change failed after the transition")

    with pytest.raises(RuntimeError):
        store.update_order("1001", accept_then_fail)
    assert subjects(store, "welcome") == []
    version, read = store.read_orders(["1001"])["1001"]
    store.update_order("1001", lambda order: fire(order, OrderEvent.ACCEPT))
    moved = read.copy()
    fire(moved, OrderEvent.ACCEPT)  # the same step, by a writer that read the order before
    (lost,) = store.commit_changes([OrderChange(moved, read, version)])
    assert not lost.committed
    assert subjects(store, "welcome") == ["step#1"]


def test_a_listener_hears_the_webhooks_transitions_once_however_often_they_come(
    store: Store,
) -> None:
    """Delivered twice, in one batch and one by one, a life's steps are heard once each."""
    store.action_policy = LISTENERS
    life = ev.dispute_and_resolution()
    Inbox(store, verified_upstream=True).receive([ev.raw(e) for e in [*life, *life]])
    receive(store, *life)
    order = store.get_order(life[0]["data"]["object"]["id"])
    assert subjects(store, "audit") == sorted(f"step#{n}" for n in range(len(order.history)))
    assert len(subjects(store, "disputes")) == sum(
        1 for step in order.history if step.event is OrderEvent.DISPUTE
    )


def test_the_shops_kinds_are_claimed_and_listed_by_name(store: Store) -> None:
    """claim_actions and list_actions take the policy's kinds; an unknown name is refused."""
    store.action_policy = ActionPolicy(
        subscribe={"refunds": "refund.*"}, listen={"welcome": on("accepted")}
    )
    store.create_order(captured_order())
    (claimed,) = store.claim_actions(["welcome"])
    assert claimed.kind == "welcome"
    assert store.list_actions(kinds=["refunds"]) == []
    with pytest.raises(InvalidInput, match="Unknown action kind 'welcom'"):
        store.claim_actions(["welcom"])


def every_kind(store: Store) -> None:
    """Orders whose lives make an action of every kind, the shop's included."""
    order = Order.create(
        "1001",
        items=[
            Item("box", 2, physical=True, sku="SKU-BOX"),
            Item("key", 1, physical=False),
            Item("x", 1, physical=None),
        ],
        charges=[Charge("c1", "capturable", Decimal("30.00"), "USD")],
    )
    store.create_order(order)
    store.update_order("1001", lambda o: fire(o, OrderEvent.ACCEPT))
    store.update_order("1001", lambda o: fulfil_items(o, {"box": 2, "key": 1, "x": 1}))
    store.update_order("1001", lambda o: capture(o, "c1", "30.00"))
    store.update_order("1001", lambda o: refund(o, "5.50"))
    store.update_order("1001", lambda o: fire(o, OrderEvent.DISPUTE))
    store.create_order(Order.create("1002", items=[Item("box", 1, physical=True)]))
    store.update_order("1002", lambda o: fire(o, OrderEvent.BLOCK))
    receive(store, ev.refund_event("evt-r1", "1001", "c1", 1.25, ev.at(90), failed="no"))


def test_every_kinds_payload_reads_back_as_its_request(store: Store) -> None:
    """From every store, each action's payload reads back as its kind's typed request."""
    store.action_policy = ActionPolicy(subscribe={"refunds": "refund.*"}, listen={"audit": on()})
    every_kind(store)
    types = {
        "ship": ShipRequest,
        "deliver_digitally": DeliverRequest,
        "review_fulfilment": ReviewRequest,
        "notify_customer": NotifyCustomer,
        "capture": CaptureRequest,
        "confirm_refund": ConfirmRefund,
        "respond_to_dispute": RespondToDispute,
        "refunds": EventReceived,
        "audit": Transitioned,
    }
    found = {str(a.kind): a for a in store.list_actions()}
    assert set(found) == set(types)
    for kind, action in found.items():
        assert type(action.request) is types[kind], kind
    ship = found["ship"].request
    assert ship == ShipRequest("1001", "box", 2, "SKU-BOX")
    capture_request = found["capture"].request
    assert capture_request == CaptureRequest("1001", "c1", Decimal("30.00"), "USD")
    assert found["notify_customer"].request == NotifyCustomer(
        "1002", OrderState.BLOCKED, found["notify_customer"].payload["message"]
    )
    assert found["respond_to_dispute"].request == RespondToDispute("1001", "dispute#1")
    event = found["refunds"].request
    assert isinstance(event, EventReceived)
    assert event.refund is not None
    assert (event.refund.state, event.refund.failure_reason, event.refund.amount) == (
        "failed",
        "no",
        Decimal("1.25"),
    )


def test_equal_refunds_made_at_one_moment_settle_in_the_order_they_were_made() -> None:
    """Refunds a clock cannot set apart are settled in their charge's order: 5.00, then 10.00."""
    at = datetime(2026, 3, 1, tzinfo=UTC)
    rows = [
        StoredAction.new(
            Action(
                action_key("1001", "confirm_refund", f"c1@{total}"),
                "1001",
                ActionKind.CONFIRM_REFUND,
                f"c1@{total}",
                {"charge_id": "c1", "amount": "5.00", "refunded": total, "currency": "USD"},
            ),
            at,
        )
        for total in ("10.00", "5.00")  # by key, 10.00 comes first
    ]
    report = RefundSettlement(
        "1001", "evt-r1", "refund.complete", "re_1", "c1", Decimal("5.00"), "USD", confirmed=True
    )
    written, moves = refund_moves(rows, [report], at)
    assert written == []
    assert [action.subject for action, _ in moves] == ["c1@5.00"]

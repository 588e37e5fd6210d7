from __future__ import annotations

import copy
import re
from datetime import timedelta
from decimal import Decimal
from random import Random
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Charge, ChargeState, EventConflict, Item, Order, OrderEvent, OrderState
from order_lifecycle.exceptions import InvalidInput, WrongType
from order_lifecycle.lifecycle import ORDER_SPEC, FraudState, ItemState, replay
from order_lifecycle.models import SnapshotMark
from order_lifecycle.models._models import marked_charge
from order_lifecycle.provider import ItemSnapshot
from order_lifecycle.testing import OrderLife, assert_order_invariants, charges, order_lives
from order_lifecycle.webhooks import Event, EventOutcome, Reconciled, apply_event, parse_event
from order_lifecycle.webhooks._reconcile import _merge_charges, _merge_items, applied_to_copy

from . import webhook_events as ev


def parsed(payload: dict[str, Any]) -> Event:
    return parse_event(ev.raw(payload))


def applied(events: list[dict[str, Any]], order: Order | None = None) -> list[Reconciled]:
    """Apply the events in turn, the order created by the first carried along."""
    results = []
    for payload in events:
        result = apply_event(order, parsed(payload))
        order = result.order
        results.append(result)
    return results


def final(events: list[dict[str, Any]]) -> Order:
    order = applied(events)[-1].order
    assert order is not None
    assert_order_invariants(order)
    return order


def snapshot_event(
    state: str,
    seconds: float,
    *,
    event_id: str | None = None,
    event_type: str = "order.updated",
    items: list[dict[str, Any]] | None = None,
    charges: list[dict[str, Any]] | str | None = "one",
    transitions: dict[str, Any] | None = None,
    **details: Any,
) -> dict[str, Any]:
    """An event about order 2001 in ``state`` at ``T0 + seconds``."""
    obj = ev.order(
        "2001",
        state,
        transitions=transitions or {state: ev.at(seconds - 1)},
        items=items if items is not None else [ev.item("2001-1", 1, physical=True)],
        charges=[ev.charge("ch-2001", "capturable", 10.0)] if charges == "one" else charges,  # type: ignore[arg-type]
        **details,
    )
    return ev.event(event_id or f"evt-{state}-{seconds}", event_type, obj, ev.at(seconds))


FULFILLED_ITEM = [ev.item("2001-1", 1, physical=True, state="fulfilled")]
CAPTURED = [
    ev.charge("ch-2001", "complete", 10.0, captures=[ev.operation("cp", 10.0, "complete", ev.T0)])
]


def test_card_order_accepted_at_once() -> None:
    """An order not known yet is created by its order.accepted, carrying the event id."""
    (result,) = applied(ev.card_order_accepted())
    order = result.order
    assert order is not None
    assert (result.outcome, result.created) == (EventOutcome.APPLIED, True)
    assert order.state is OrderState.ACCEPTED
    assert order.fraud_state is FraudState.PASSED
    assert order.checkout_id == "chk-1001"
    assert order.history[0].event_id == "evt-1001-accepted"
    assert not order.history[0].implied
    assert order.history[0].at == ev.at(3)  # the provider's stateTransitions.accepted
    assert order.as_of == SnapshotMark(ev.at(4), "evt-1001-accepted")
    assert order.charges[0].as_of == order.as_of
    assert result.steps == tuple(order.history)


def test_physical_and_digital_items_are_told_apart() -> None:
    """order.accepted's expanded products say which items ship and which are digital."""
    order = final(ev.accepted_physical_and_digital())
    assert [(i.id, i.quantity, i.physical) for i in order.items] == [
        ("1002-shirt", 2, True),
        ("1002-ebook", 1, False),
    ]


def test_expired_wire_transfer() -> None:
    """pending_payment, then cancelled with no charge: the order.cancelled step carries its id."""
    results = applied(ev.expired_wire_transfer())
    order = results[-1].order
    assert order is not None
    assert [r.outcome for r in results] == [EventOutcome.APPLIED] * 2
    assert order.state is OrderState.CANCELLED
    assert order.charges == ()
    assert order.items[0].cancelled == 1
    assert [(s.dest, s.event_id, s.implied) for s in order.history] == [
        (OrderState.PENDING_PAYMENT, "evt-1003-pending", False),
        (OrderState.CANCELLED, "evt-1003-cancelled", False),
    ]
    assert order.history[-1].at == ev.at(3 * 86400)


def test_review_then_blocked() -> None:
    """in_review, then blocked: fraud state blocked, the charge cancelled."""
    order = final(ev.review_then_blocked())
    assert (order.state, order.fraud_state) == (OrderState.BLOCKED, FraudState.BLOCKED)
    assert order.charges[0].state is ChargeState.CANCELLED
    assert order.charges[0].cancelled == Decimal("26.89")


def test_accepted_fulfilled_complete() -> None:
    """The happy path: each order event moves one step; charge events move nothing."""
    results = applied(ev.accepted_fulfilled_complete())
    order = results[-1].order
    assert order is not None
    assert [r.outcome for r in results] == [
        EventOutcome.APPLIED,
        EventOutcome.UNKNOWN,  # fulfillment.created: nothing to reconcile
        EventOutcome.APPLIED,
        EventOutcome.APPLIED,
        EventOutcome.APPLIED,
        EventOutcome.APPLIED,
    ]
    assert [len(r.steps) for r in results[2:]] == [0, 1, 0, 1]
    assert [s.dest for s in order.history] == [
        OrderState.ACCEPTED,
        OrderState.FULFILLED,
        OrderState.COMPLETE,
    ]
    assert all(not s.implied for s in order.history)
    assert order.fraud_state is FraudState.PASSED  # from fraudStateTransitions
    assert order.charges[0].captured == Decimal("20.0")
    assert_order_invariants(order)


def test_dispute_and_resolution() -> None:
    """A dispute opens (fraud review_opened) and closes back to complete (fraud passed)."""
    results = applied(ev.dispute_and_resolution())
    order = results[-1].order
    assert order is not None
    assert [s.dest for s in order.history] == [
        OrderState.ACCEPTED,
        OrderState.FULFILLED,  # listed by the first snapshot's stateTransitions
        OrderState.COMPLETE,
        OrderState.DISPUTE,
        OrderState.COMPLETE,
    ]
    assert results[1].order is not None
    assert (order.state, order.fraud_state) == (OrderState.COMPLETE, FraudState.PASSED)
    assert order.history[-1].event_id == "evt-1006-resolved"
    assert_order_invariants(order)


def test_the_payload_state_wins_a_dispute_resolution() -> None:
    """[X] Resolved into accepted although complete before: recorded as the provider says."""
    order = final(ev.dispute_and_resolution(resolved_to="accepted"))
    last = order.history[-1]
    assert (last.source, last.dest, last.event) == (
        OrderState.DISPUTE,
        OrderState.ACCEPTED,
        OrderEvent.RESOLVE_DISPUTE,
    )
    assert (last.event_id, last.implied) == ("evt-1006-resolved", False)
    assert replay(ORDER_SPEC, order.history) is OrderState.ACCEPTED


def test_a_resolution_into_an_earlier_state_delivered_before_its_dispute() -> None:
    """[X] A newer resolution into accepted, seen before its dispute, goes through the dispute."""
    complete, dispute, resolved = ev.dispute_and_resolution(resolved_to="accepted")
    results = applied([complete, resolved, dispute])
    order = results[-1].order
    assert order is not None
    assert [r.outcome for r in results] == [
        EventOutcome.APPLIED,
        EventOutcome.APPLIED,
        EventOutcome.STALE,
    ]
    assert [(s.source, s.dest, s.implied, s.event_id) for s in order.history[-2:]] == [
        (OrderState.COMPLETE, OrderState.DISPUTE, True, None),
        (OrderState.DISPUTE, OrderState.ACCEPTED, False, "evt-1006-resolved"),
    ]
    assert order.state is final([complete, dispute, resolved]).state
    assert replay(ORDER_SPEC, order.history) is OrderState.ACCEPTED


def test_a_snapshot_listing_a_missed_dispute_is_not_behind() -> None:
    """[X] A newer snapshot in accepted whose stateTransitions list a dispute comes after it."""
    complete, dispute, resolved = ev.dispute_and_resolution(resolved_to="accepted")
    later = copy.deepcopy(resolved)
    later["id"], later["type"] = "evt-1006-updated", "order.updated"
    results = applied([complete, later, dispute, resolved])
    order = results[-1].order
    assert order is not None
    assert [r.outcome for r in results] == [
        EventOutcome.APPLIED,
        EventOutcome.APPLIED,
        EventOutcome.STALE,  # the dispute, older than the snapshot the order holds
        EventOutcome.STALE,  # the resolution: as old, and first by id
    ]
    assert order.state is OrderState.ACCEPTED
    assert OrderState.DISPUTE in order.state_transitions
    assert replay(ORDER_SPEC, order.history) is OrderState.ACCEPTED


def test_a_snapshot_past_a_second_dispute_is_not_behind() -> None:
    """[X] A newer snapshot in accepted listing the order's fulfilled came back by a dispute.

    The order was in dispute before (so ``stateTransitions`` names no new dispute) and
    missed the second one: the snapshot lists ``fulfilled``, so it is not behind it.
    """
    events = ev.disputed_twice_back_to_accepted()
    later = copy.deepcopy(events[-1])
    later["id"], later["type"] = "evt-1009-updated", "order.updated"
    results = applied([*events[:4], later, *events[4:]])
    order = results[-1].order
    assert order is not None
    assert [r.outcome for r in results[3:]] == [
        EventOutcome.APPLIED,
        EventOutcome.APPLIED,  # the snapshot: fulfilled -> accepted through the dispute
        EventOutcome.STALE,
        EventOutcome.STALE,
        EventOutcome.STALE,
    ]
    assert order.state is final(events).state is OrderState.ACCEPTED
    assert order.history[-2].dest is OrderState.DISPUTE
    assert replay(ORDER_SPEC, order.history) is OrderState.ACCEPTED
    assert_order_invariants(order)


def test_a_known_order_follows_the_listed_states() -> None:
    """Accepted, then a snapshot in complete listing fulfilled: the history keeps fulfilled."""
    events = ev.accepted_fulfilled_complete()
    results = applied([events[0], events[-1]])
    order = results[-1].order
    assert order is not None
    assert [(s.source, s.dest, s.implied, s.event_id, s.at) for s in results[-1].steps] == [
        (OrderState.ACCEPTED, OrderState.FULFILLED, True, None, ev.at(60)),
        (OrderState.FULFILLED, OrderState.COMPLETE, False, "evt-1005-complete", ev.at(91)),
    ]
    assert results[-1].reason == "accepted -> complete (implied: fulfilled)"
    assert order.state_transitions == {
        OrderState.ACCEPTED: ev.at(3),
        OrderState.FULFILLED: ev.at(60),
        OrderState.COMPLETE: ev.at(91),
    }
    assert_order_invariants(order)


def test_a_known_order_follows_the_listed_states_through_a_dispute() -> None:
    """[X] Fulfilled, then past a missed second dispute: complete and the dispute in between."""
    events = ev.disputed_twice_back_to_accepted()
    order = final([*events[:4], events[-1]])
    assert [(s.source, s.dest, s.implied) for s in order.history[4:]] == [
        (OrderState.FULFILLED, OrderState.COMPLETE, True),
        (OrderState.COMPLETE, OrderState.DISPUTE, True),
        (OrderState.DISPUTE, OrderState.ACCEPTED, False),
    ]


def test_listed_states_that_are_no_legal_path_fall_back_to_the_shortest() -> None:
    """A listed state the guards refuse on the snapshot's data is skipped: the shortest path."""
    events = ev.accepted_fulfilled_complete()
    # The order was fulfilled and complete at the provider, and is disputed now; the
    # snapshot lists complete before fulfilled, which no legal path takes.
    late = copy.deepcopy(events[-1])
    obj = late["data"]["object"]
    obj["state"] = "dispute"
    obj["stateTransitions"] = {
        "accepted": ev.stamp(ev.at(3)),
        "complete": ev.stamp(ev.at(50)),
        "fulfilled": ev.stamp(ev.at(60)),
        "dispute": ev.stamp(ev.at(95)),
    }
    late["id"], late["type"] = "evt-1005-dispute", "order.dispute"
    order = final([events[0], late])
    assert [s.dest for s in order.history] == [OrderState.ACCEPTED, OrderState.DISPUTE]


def test_a_guarded_path_is_preferred_over_the_payload_winning() -> None:
    """From dispute, a later state is reached through the resolution the guard allows."""
    events = [
        snapshot_event("accepted", 10),
        snapshot_event("dispute", 20, fraud="review_opened"),
        snapshot_event(
            "fulfilled", 30, event_type="order.fulfilled", items=FULFILLED_ITEM, event_id="evt-f"
        ),
    ]
    order = final(events)
    assert [(s.dest, s.implied, s.event_id) for s in order.history[-2:]] == [
        (OrderState.ACCEPTED, True, None),
        (OrderState.FULFILLED, False, "evt-f"),
    ]


def test_charge_capture_and_cancel_never_move_the_order() -> None:
    """Charge events update their charge only: the order stays accepted with a settled charge."""
    results = applied(ev.charge_capture_and_cancel())
    order = results[-1].order
    assert order is not None
    assert [r.steps for r in results[1:]] == [(), ()]
    assert order.state is OrderState.ACCEPTED
    charge = order.charges[0]
    assert (charge.state, charge.captured, charge.cancelled) == (
        ChargeState.COMPLETE,
        Decimal("30.0"),
        Decimal("20.0"),
    )
    assert charge.as_of == SnapshotMark(ev.at(181), "evt-1007-cancel")
    assert order.as_of == SnapshotMark(ev.at(4), "evt-1007-accepted")


def test_an_event_applied_twice_changes_nothing() -> None:
    """Applying an event again changes nothing: a duplicate, or stale once superseded."""
    events = ev.accepted_fulfilled_complete()
    order = final(events)
    outcomes = {}
    for payload in events:
        if payload["type"] == "fulfillment.created":
            continue
        before = copy.deepcopy(order)
        outcomes[payload["id"]] = apply_event(order, parsed(payload)).outcome
        assert order == before
    assert outcomes == {
        "evt-1005-accepted": EventOutcome.DUPLICATE,  # its step is in the history
        "evt-1005-capture-pending": EventOutcome.STALE,  # its charge snapshot was replaced
        "evt-1005-fulfilled": EventOutcome.DUPLICATE,
        "evt-1005-capture-complete": EventOutcome.STALE,
        "evt-1005-complete": EventOutcome.DUPLICATE,
    }


def test_an_older_snapshot_is_stale() -> None:
    """Once a newer snapshot is held, an older one is stale: recorded, not applied."""
    events = ev.accepted_fulfilled_complete()
    order = final([events[0], events[-1]])
    before = copy.deepcopy(order)
    result = apply_event(order, parsed(events[3]))
    assert result.outcome is EventOutcome.STALE
    assert "older than the snapshot the order holds" in result.reason
    assert order == before
    charge = apply_event(order, parsed(events[2]))
    assert (charge.outcome, order) == (EventOutcome.STALE, before)
    assert "holds a newer snapshot" in charge.reason


def test_a_stale_dispute_does_not_reopen() -> None:
    """A dispute older than the snapshot of its resolution is stale, not a new dispute."""
    events = ev.dispute_and_resolution()
    order = final([events[0], events[2]])
    result = apply_event(order, parsed(events[1]))
    assert result.outcome is EventOutcome.STALE
    assert order.state is OrderState.COMPLETE


def test_a_newer_snapshot_behind_the_state_is_stale() -> None:
    """A newer snapshot whose state leads to the order's (not from it) is stale."""
    order = final([snapshot_event("fulfilled", 10, items=FULFILLED_ITEM)])
    before = copy.deepcopy(order)
    result = apply_event(order, parsed(snapshot_event("accepted", 20)))
    assert result.outcome is EventOutcome.STALE
    assert result.reason == "its state accepted is behind the order's fulfilled"
    assert order == before


@pytest.mark.parametrize(
    ("first", "second", "reason"),
    [
        (
            snapshot_event("blocked", 10, fraud="blocked"),
            snapshot_event("accepted", 20),
            "no legal path leads from blocked to accepted",
        ),
        (
            snapshot_event("blocked", 20, fraud="blocked"),
            snapshot_event("accepted", 10),
            "an older snapshot in accepted, which can neither lead to nor follow blocked",
        ),
        (
            snapshot_event("accepted", 10),
            snapshot_event("fulfilled", 20),
            "no legal path leads from accepted to fulfilled with the snapshot's data",
        ),
        (
            snapshot_event("accepted", 10),
            snapshot_event("accepted", 20, items=[ev.item("2001-1", 3)]),
            "item '2001-1': its quantity was 1, the snapshot says 3",
        ),
        (
            snapshot_event("accepted", 10),
            snapshot_event("accepted", 20, checkout_id="chk-other"),
            "it names checkout 'chk-other', the order checkout 'chk-2001'",
        ),
        (
            snapshot_event("accepted", 10),
            snapshot_event("accepted", 20, currency="EUR", charges=[]),
            "it is in EUR, the order in USD",
        ),
        (
            snapshot_event("fulfilled", 10, items=FULFILLED_ITEM),
            snapshot_event("complete", 20, items=FULFILLED_ITEM),
            "no legal path leads from fulfilled to complete",
        ),
    ],
)
def test_conflicts_change_nothing(
    first: dict[str, Any], second: dict[str, Any], reason: str
) -> None:
    """A snapshot the order cannot be reconciled with raises EventConflict; nothing changes."""
    order = final([first])
    before = copy.deepcopy(order)
    with pytest.raises(EventConflict, match=reason) as raised:
        apply_event(order, parsed(second))
    assert order == before
    conflict = raised.value
    assert (conflict.event_id, conflict.order_id) == (second["id"], "2001")
    assert (conflict.state, conflict.payload_state) == (
        before.state,
        second["data"]["object"]["state"],
    )
    assert "keep the event for an operator" in str(conflict)


def test_an_event_about_another_order_conflicts() -> None:
    """apply_event refuses an event whose order id is not the order's."""
    order = final(ev.card_order_accepted())
    before = copy.deepcopy(order)
    with pytest.raises(EventConflict, match="it is about order '1002', not this one") as raised:
        apply_event(order, parsed(ev.accepted_physical_and_digital()[0]))
    assert (raised.value.order_id, raised.value.state) == ("1001", OrderState.ACCEPTED)
    with pytest.raises(EventConflict, match="it is about order '1007'"):
        apply_event(order, parsed(ev.charge_capture_and_cancel()[1]))
    assert order == before


def test_a_charge_event_cannot_create_an_order() -> None:
    """A charge event for an order not known yet is a conflict (its order is not here)."""
    with pytest.raises(EventConflict, match="a charge event cannot create its order") as raised:
        apply_event(None, parsed(ev.charge_capture_and_cancel()[1]))
    assert raised.value.state is None
    assert "which is not known here" in str(raised.value)


def test_data_that_contradicts_the_state_conflicts() -> None:
    """A complete order never takes an open charge; closed orders never open units."""
    order = final([snapshot_event("complete", 10, items=FULFILLED_ITEM, charges=CAPTURED)])
    before = copy.deepcopy(order)
    reopened = ev.event(
        "evt-reopen",
        "order.charge.capture.failed",
        ev.charge("ch-2001", "capturable", 10.0, order_id="2001"),
        ev.at(20),
    )
    with pytest.raises(EventConflict, match="complete with charges"):
        apply_event(order, parsed(reopened))
    assert order == before
    with pytest.raises(EventConflict, match="no order can be created in complete"):
        apply_event(None, parsed(snapshot_event("complete", 10, items=FULFILLED_ITEM)))


def test_a_charge_in_another_currency_conflicts() -> None:
    """A charge event in a currency other than the order's is refused."""
    order = final([snapshot_event("accepted", 10)])
    other = ev.event(
        "evt-eur",
        "order.charge.capturable",
        ev.charge("ch-2", "capturable", 5.0, order_id="2001", currency="EUR"),
        ev.at(20),
    )
    with pytest.raises(EventConflict, match="one currency per order"):
        apply_event(order, parsed(other))


def test_a_charge_event_may_bring_a_new_charge() -> None:
    """A charge the order did not show yet is added by its charge event."""
    order = final([snapshot_event("pending_payment", 10, charges=None, fraud=None)])
    added = ev.event(
        "evt-new-charge",
        "order.charge.pending",
        ev.charge("ch-new", "pending", 12.5, order_id="2001"),
        ev.at(20),
    )
    result = apply_event(order, parsed(added))
    assert result.outcome is EventOutcome.APPLIED
    assert [c.id for c in order.charges] == ["ch-new"]
    assert order.currency == "USD"


def test_creation_walks_implied_steps_with_the_providers_times() -> None:
    """An order first seen complete is created along its stateTransitions, steps implied."""
    events = ev.accepted_fulfilled_complete()
    (result,) = applied([events[-1]])
    order = result.order
    assert order is not None
    assert [(s.dest, s.implied, s.event_id, s.at) for s in order.history] == [
        (OrderState.ACCEPTED, True, None, ev.at(3)),
        (OrderState.FULFILLED, True, None, ev.at(60)),
        (OrderState.COMPLETE, False, "evt-1005-complete", ev.at(91)),
    ]
    assert order.state_transitions == {
        OrderState.ACCEPTED: ev.at(3),
        OrderState.FULFILLED: ev.at(60),
        OrderState.COMPLETE: ev.at(91),
    }
    assert result.reason == "order created in complete (implied: accepted, fulfilled)"


def test_without_state_transitions_creation_takes_the_shortest_path() -> None:
    """With no stateTransitions, an order first seen complete is created accepted -> complete."""
    payload = ev.accepted_fulfilled_complete()[-1]
    del payload["data"]["object"]["stateTransitions"]
    order = final([payload])
    assert [(s.dest, s.implied) for s in order.history] == [
        (OrderState.ACCEPTED, True),
        (OrderState.COMPLETE, False),
    ]


def test_an_order_first_seen_in_dispute_keeps_the_state_before_it() -> None:
    """First seen in dispute after complete: history and resolution both say complete."""
    events = ev.dispute_and_resolution()
    dispute = events[1]
    order = final([dispute])
    assert [s.dest for s in order.history] == [
        OrderState.ACCEPTED,
        OrderState.FULFILLED,
        OrderState.COMPLETE,
        OrderState.DISPUTE,
    ]
    assert order.state_before_dispute is OrderState.COMPLETE
    resolved = apply_event(order, parsed(events[2]))
    last = order.history[-1]
    assert (resolved.outcome, last.source, last.dest) == (
        EventOutcome.APPLIED,
        OrderState.DISPUTE,
        OrderState.COMPLETE,
    )


def test_a_first_sight_follows_the_provider_record_past_a_lagging_item() -> None:
    """The provider's order.dispute with its item still created: accepted, fulfilled, complete."""
    dispute, resolved = ev.dispute_with_a_lagging_item()
    result = apply_event(None, parsed(dispute))
    order = result.order
    assert order is not None
    assert order.items[0].fulfilled == 0  # the snapshot's item data, as it came
    assert [(s.source, s.dest, s.implied, s.event_id) for s in order.history] == [
        (None, OrderState.ACCEPTED, True, None),
        (OrderState.ACCEPTED, OrderState.FULFILLED, True, None),
        (OrderState.FULFILLED, OrderState.COMPLETE, True, None),
        (OrderState.COMPLETE, OrderState.DISPUTE, False, "evt-1010-dispute"),
    ]
    assert [s.at for s in order.history] == [ev.at(7), ev.at(24), ev.at(60_000), ev.at(200_000)]
    assert order.state_before_dispute is OrderState.COMPLETE
    assert result.reason == "order created in dispute (implied: accepted, fulfilled, complete)"
    back = apply_event(order, parsed(resolved))
    assert (back.outcome, order.state, order.items[0].fulfilled) == (
        EventOutcome.APPLIED,
        OrderState.COMPLETE,
        1,
    )
    assert [(s.source, s.dest, s.event_id) for s in back.steps] == [
        (OrderState.DISPUTE, OrderState.COMPLETE, "evt-1010-resolved")
    ]
    assert replay(ORDER_SPEC, order.history) is OrderState.COMPLETE


def test_a_known_order_follows_the_provider_record_past_a_lagging_item() -> None:
    """An accepted order, then the dispute whose item still lags: fulfilled and complete kept."""
    dispute, _ = ev.dispute_with_a_lagging_item()
    accepted = copy.deepcopy(dispute)
    obj = accepted["data"]["object"]
    obj["state"], obj["fraudState"] = "accepted", "passed"
    obj["stateTransitions"] = {"accepted": ev.stamp(ev.at(7))}
    obj["payment"]["charges"] = obj["charges"] = [ev.charge("ch-1010", "capturable", 20.0)]
    accepted["id"], accepted["type"], accepted["createdTime"] = (
        "evt-1010-accepted",
        "order.accepted",
        ev.stamp(ev.at(8)),
    )
    order = final([accepted, dispute])
    assert [(s.source, s.dest, s.implied) for s in order.history[1:]] == [
        (OrderState.ACCEPTED, OrderState.FULFILLED, True),
        (OrderState.FULFILLED, OrderState.COMPLETE, True),
        (OrderState.COMPLETE, OrderState.DISPUTE, False),
    ]
    assert order.state_before_dispute is OrderState.COMPLETE


def test_the_provider_record_does_not_pass_a_lagging_final_state() -> None:
    """The snapshot's own state is still guarded: complete with its item open conflicts."""
    dispute, _ = ev.dispute_with_a_lagging_item()
    obj = dispute["data"]["object"]
    obj["state"] = "complete"
    del obj["stateTransitions"]["dispute"]
    with pytest.raises(EventConflict, match=r"complete with items \['1010-1'\] still open"):
        apply_event(None, parsed(dispute))


def test_state_transitions_are_walked_in_time_order() -> None:
    """The listed states are taken by their times, not by the map's key order."""
    payload = ev.accepted_fulfilled_complete()[-1]
    obj = payload["data"]["object"]
    obj["stateTransitions"] = dict(reversed(list(obj["stateTransitions"].items())))
    order = final([payload])
    assert [s.dest for s in order.history] == [
        OrderState.ACCEPTED,
        OrderState.FULFILLED,
        OrderState.COMPLETE,
    ]


def test_state_transitions_that_are_no_legal_path_fall_back_to_the_shortest() -> None:
    """Listed states that cannot follow each other in their time order: the shortest path."""
    payload = ev.accepted_fulfilled_complete()[-1]
    payload["data"]["object"]["stateTransitions"] = {
        "accepted": ev.stamp(ev.at(3)),
        "complete": ev.stamp(ev.at(60)),
        "fulfilled": ev.stamp(ev.at(91)),  # fulfilled after complete: no legal path
    }
    order = final([payload])
    assert [(s.dest, s.implied) for s in order.history] == [
        (OrderState.ACCEPTED, True),
        (OrderState.COMPLETE, False),
    ]


def test_a_null_state_transition_is_not_a_step() -> None:
    """A null stateTransitions entry is a state not entered: no step for it."""
    payload = ev.accepted_fulfilled_complete()[-1]
    payload["data"]["object"]["stateTransitions"]["fulfilled"] = None
    order = final([payload])
    assert [s.dest for s in order.history] == [OrderState.ACCEPTED, OrderState.COMPLETE]


def test_a_2020_01_07_order_is_created_and_moved() -> None:
    """The top-level-charges shape creates its order and moves it, charges and all."""
    results = applied(ev.legacy_order_fulfilled())
    assert [(r.outcome, r.created) for r in results] == [
        (EventOutcome.APPLIED, True),
        (EventOutcome.APPLIED, False),
    ]
    order = final(ev.legacy_order_fulfilled())
    assert (order.state, order.checkout_id) == (OrderState.FULFILLED, None)
    assert [(c.id, c.state, c.captured) for c in order.charges] == [
        ("ch-1008", ChargeState.PROCESSING, Decimal("15.0"))
    ]


def test_creation_prefers_the_entry_state_the_provider_lists() -> None:
    """A stateTransitions naming pending_payment makes that the entry state, not accepted."""
    payload = snapshot_event(
        "accepted",
        30,
        event_type="order.accepted",
        transitions={"pending_payment": ev.at(1), "accepted": ev.at(29)},
    )
    order = final([payload])
    assert [(s.dest, s.implied) for s in order.history] == [
        (OrderState.PENDING_PAYMENT, True),
        (OrderState.ACCEPTED, False),
    ]


def test_step_times_never_go_back() -> None:
    """A re-entry (no new stateTransitions time) takes the event's time, never earlier."""
    events = ev.dispute_and_resolution()
    order = final(events)
    times = [s.at for s in order.history]
    assert times == sorted(times)
    assert order.history[-1].at == ev.at(2 * 86400)


def test_an_order_from_post_orders_takes_its_events() -> None:
    """An order created by the 201 (no snapshot mark) is moved by its first events."""
    order = Order.create(
        "1005",
        "accepted",
        at=ev.T0 + timedelta(hours=1),  # our clock ran ahead of the provider's
        items=[Item("1005-1", 1, physical=True)],
        charges=[Charge("ch-1005", "capturable", Decimal(20), "USD")],
    )
    for result in applied(ev.accepted_fulfilled_complete(), order):
        assert result.outcome in {EventOutcome.APPLIED, EventOutcome.UNKNOWN}
    assert order.state is OrderState.COMPLETE
    assert [s.at for s in order.history] == [ev.T0 + timedelta(hours=1)] * 3
    assert_order_invariants(order)


def test_units_only_close() -> None:
    """A later snapshot showing an item open again does not reopen its units."""
    order = final([snapshot_event("fulfilled", 10, items=FULFILLED_ITEM)])
    apply_event(order, parsed(snapshot_event("dispute", 20, fraud="review_opened")))
    assert order.items[0].fulfilled == 1
    assert order.state is OrderState.DISPUTE


def test_a_physical_flag_left_out_keeps_the_known_one() -> None:
    """A snapshot without productDetails.physical keeps what an earlier one said."""
    order = final([snapshot_event("accepted", 10)])
    apply_event(order, parsed(snapshot_event("accepted", 20, items=[ev.item("2001-1", 1)])))
    assert order.items[0].physical is True


def test_unknown_events_change_nothing() -> None:
    """An unknown type, or an object that is no order or charge, comes back unknown."""
    order = final(ev.card_order_accepted())
    before = copy.deepcopy(order)
    invoice = {"id": "f1", "fileId": "f1", "orderId": "1001", "purpose": "customer_invoice"}
    for payload in (
        ev.event("e1", "order.invoice.created", invoice, ev.at(50)),
        ev.event("e2", "order.created", invoice, ev.at(50)),
        ev.event("e3", "order.teleported", ev.card_order_accepted()[0]["data"]["object"], ev.T0),
    ):
        result = apply_event(order, parsed(payload))
        assert result.outcome is EventOutcome.UNKNOWN
        assert order == before
    assert apply_event(None, parsed(ev.accepted_fulfilled_complete()[1])).order is None


def test_apply_event_checks_its_arguments() -> None:
    """An order or event of the wrong type is a WrongType."""
    event = parsed(ev.card_order_accepted()[0])
    with pytest.raises(WrongType, match="order must be an Order or None"):
        apply_event("1001", event)  # type: ignore[arg-type]
    with pytest.raises(WrongType, match="event must be an Event"):
        apply_event(None, ev.card_order_accepted()[0])  # type: ignore[arg-type]


def test_an_old_dispute_after_a_later_cancellation_is_stale() -> None:
    """A dispute resolved, then the order cancelled: the old dispute is stale, no conflict."""
    cancelled_item = [ev.item("2001-1", 1, physical=True, state="cancelled")]
    cancelled_charge = [ev.charge("ch-2001", "cancelled", 10.0)]
    order = final(
        [
            snapshot_event("accepted", 10),
            snapshot_event("dispute", 20, fraud="review_opened"),
            snapshot_event("accepted", 30, event_type="order.dispute.resolved"),
            snapshot_event("cancelled", 40, items=cancelled_item, charges=cancelled_charge),
        ]
    )
    late = snapshot_event("dispute", 20, event_id="evt-dispute-again", fraud="review_opened")
    assert apply_event(order, parsed(late)).outcome is EventOutcome.STALE


def test_a_snapshot_without_items_keeps_the_orders() -> None:
    """An order object that leaves items out changes no item."""
    order = final([snapshot_event("accepted", 10)])
    bare = snapshot_event("accepted", 20)
    del bare["data"]["object"]["items"]
    assert apply_event(order, parsed(bare)).outcome is EventOutcome.APPLIED
    assert [i.id for i in order.items] == ["2001-1"]


def test_the_payload_winning_still_needs_consistent_data() -> None:
    """A dispute resolved into fulfilled while items are open is a conflict, not a step."""
    order = final(
        [snapshot_event("accepted", 10), snapshot_event("dispute", 20, fraud="review_opened")]
    )
    before = copy.deepcopy(order)
    resolved = snapshot_event("fulfilled", 30, event_type="order.dispute.resolved")
    with pytest.raises(EventConflict, match=r"fulfilled with items \['2001-1'\] still open"):
        apply_event(order, parsed(resolved))
    assert order == before


def test_a_new_order_with_contradicting_data_conflicts() -> None:
    """An order object whose charges are in another currency than itself creates nothing."""
    payload = snapshot_event("accepted", 10, charges=[ev.charge("c", "capturable", 1.0)])
    payload["data"]["object"]["currency"] = "EUR"
    with pytest.raises(EventConflict, match="one currency per order") as raised:
        apply_event(None, parsed(payload))
    assert raised.value.state is None


@given(charges(st.sampled_from(list(ChargeState))))
def test_a_marked_charge_is_the_charge_evolved(charge: Charge) -> None:
    """marked_charge gives what attrs.evolve(charge, as_of=mark) gives, every field kept."""
    mark = SnapshotMark(ev.T0, "evt-1")
    assert marked_charge(charge, mark) == attrs.evolve(charge, as_of=mark)


_MARKS = st.builds(
    SnapshotMark, st.integers(0, 3).map(lambda n: ev.T0 + timedelta(seconds=n)), st.just("evt-1")
)
_POOLED_CHARGES = st.builds(
    lambda c, i, m: marked_charge(attrs.evolve(c, id=i), m),
    charges(st.sampled_from(list(ChargeState))),
    st.sampled_from(["c1", "c2"]),
    st.one_of(st.none(), _MARKS),
)


@given(
    st.lists(_POOLED_CHARGES, max_size=2, unique_by=lambda c: c.id),  # an order's: ids unique
    st.lists(_POOLED_CHARGES, max_size=3),
    _MARKS,
)
def test_merged_charges_are_the_merge_by_id(
    local: list[Charge], reported: list[Charge], mark: SnapshotMark
) -> None:
    """Each reported charge (an id's last) replaces the local one but a newer; new ones added."""
    fresh = {c.id: marked_charge(c, mark) for c in reported}
    kept = [c if c.id not in fresh or (c.as_of and c.as_of > mark) else fresh[c.id] for c in local]
    added = [c for c in fresh.values() if c.id not in {c.id for c in local}]
    merged = _merge_charges(tuple(local), tuple(reported), mark)
    assert merged == (*kept, *added)
    assert _merge_charges(tuple(local), None, mark) == tuple(local)


_POOLED_ITEMS = st.builds(
    lambda i, n, f: Item(i, n, physical=None, fulfilled=min(f, n)),
    st.sampled_from(["i1", "i2"]),
    st.integers(1, 2),
    st.integers(0, 2),
)
_ITEM_SNAPSHOTS = st.builds(
    ItemSnapshot,
    st.builds(
        Item, st.sampled_from(["i1", "i2"]), st.integers(1, 2), st.sampled_from([None, True])
    ),
    st.one_of(st.none(), st.sampled_from(list(ItemState))),
)


@given(
    st.lists(_POOLED_ITEMS, max_size=2, unique_by=lambda i: i.id),  # an order's: ids unique
    st.lists(_ITEM_SNAPSHOTS, max_size=3),
)
def test_merged_items_are_each_snapshot_onto_its_item(
    local: list[Item], reported: list[ItemSnapshot]
) -> None:
    """Each item takes its (last) snapshot, new ones are added; or the quantity's error."""
    by_id = {s.id: s for s in reported}
    try:
        merged = [by_id[i.id].onto(i) if i.id in by_id else i for i in local]
        added = [s.onto(None) for s in reported if s.id not in {i.id for i in local}]
    except InvalidInput as error:
        with pytest.raises(InvalidInput, match=re.escape(str(error))):
            _merge_items(tuple(local), tuple(reported))
        return
    assert _merge_items(tuple(local), tuple(reported)) == (*merged, *added)


# --- the provider's record, whatever the data lags -------------------------------------------

# The data a snapshot in each final state needs (its own state's guards and invariants);
# anything earlier lags: items still created, the charge still capturable.
_ITEM_IN = {"fulfilled": "fulfilled", "complete": "fulfilled", "returned": "returned"}
_ITEM_IN["cancelled"] = "cancelled"
_CHARGE_IN = {"complete": "complete", "returned": "complete", "cancelled": "cancelled"}


@st.composite
def _recorded_lives(draw: st.DrawFn) -> list[OrderState]:
    """A path of the table from an entry state, each state once, no dispute resolved."""
    path = [draw(st.sampled_from(sorted(ORDER_SPEC.entry_states)))]
    for _ in range(draw(st.integers(0, 5))):
        rows = [
            row
            for row in ORDER_SPEC.transitions_from(path[-1])
            if row.event is not OrderEvent.RESOLVE_DISPUTE and row.dest not in path
        ]
        if not rows:
            break
        path.append(draw(st.sampled_from(rows)).dest)
    return path


def _recording(path: list[OrderState], seconds: int) -> dict[str, Any]:
    """A snapshot in ``path[-1]`` listing each state of ``path``, its data lagging behind."""
    state = str(path[-1])
    captured = [ev.operation("cp", 10.0, "complete", ev.at(1))]
    charge = ev.charge(
        "ch-2001",
        _CHARGE_IN.get(state, "capturable"),
        10.0,
        captures=captured if _CHARGE_IN.get(state) == "complete" else (),
    )
    return snapshot_event(
        state,
        seconds,
        items=[ev.item("2001-1", 1, physical=True, state=_ITEM_IN.get(state, "created"))],
        charges=[charge],
        transitions={str(s): ev.at(10 * (index + 1)) for index, s in enumerate(path)},
    )


@given(_recorded_lives(), st.data())
def test_the_provider_record_is_followed_whatever_the_data_lags(
    path: list[OrderState], data: st.DataObject
) -> None:
    """A first sight, or a known order at a state of the record, lives every listed state."""
    known = data.draw(st.integers(0, len(path) - 1), label="states known before")
    order = None
    if known:
        order = apply_event(None, parsed(_recording(path[:known], 10 * known + 5))).order
    result = apply_event(order, parsed(_recording(path, 10 * len(path) + 5)))
    assert result.order is not None
    assert [s.dest for s in result.order.history] == path
    assert [s.at for s in result.order.history] == [ev.at(10 * (i + 1)) for i in range(len(path))]
    assert replay(ORDER_SPEC, result.order.history) is path[-1]


@given(order_lives(max_moves=8), st.randoms(use_true_random=False))
def test_applied_to_copy_is_apply_event_without_touching_its_order(
    life: OrderLife, random: Random
) -> None:
    """applied_to_copy gives what apply_event gives on a copy, and leaves the order as it was."""
    events = [parse_event(d.body) for d in life.deliveries]
    random.shuffle(events)
    order: Order | None = None
    for event in events:
        before = None if order is None else order.copy()
        try:
            expected = apply_event(None if order is None else order.copy(), event)
        except EventConflict as conflict:
            with pytest.raises(EventConflict, match=re.escape(conflict.reason)):
                applied_to_copy(order, event)
            continue
        done = applied_to_copy(order, event)
        assert (done.outcome, done.reason, done.steps, done.order) == (
            expected.outcome,
            expected.reason,
            expected.steps,
            expected.order,
        )
        if order is not None:
            assert order == before
        order = done.order

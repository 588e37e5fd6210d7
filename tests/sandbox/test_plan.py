"""plan_life: the scripted lives the local provider sends are lives the library accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Order
from order_lifecycle.exceptions import EventConflict, InvalidInput, WrongType
from order_lifecycle.sandbox import EVENT_TYPES, LIVES, Plan, plan_life
from order_lifecycle.sandbox.shapes import stamp
from order_lifecycle.testing import HOSTILE_TEXT, assert_order_invariants
from order_lifecycle.webhooks import EventOutcome, apply_event, parse_event

CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOKENS = st.sampled_from([*EVENT_TYPES, *(f"life:{name}" for name in LIVES)])


def applied(plan: Plan, order: Order | None = None) -> tuple[Order, list[EventOutcome]]:
    """The order the plan's events make, applied in order, and each event's outcome."""
    outcomes = []
    for event in plan.events:
        done = apply_event(order, parse_event(event.body))
        order = done.order
        outcomes.append(done.outcome)
    assert order is not None
    return order, outcomes


def plan_or_none(tokens: list[str], **options: object) -> Plan | None:
    """The plan of ``tokens``, or ``None`` when the provider cannot send them in that order."""
    try:
        return plan_life("o1", tokens, created=CREATED, **options)  # type: ignore[arg-type]
    except InvalidInput as error:
        if "cannot come next" not in str(error):
            raise
        return None


@given(st.lists(TOKENS, min_size=1, max_size=4))
def test_every_scripted_life_applies_in_order(tokens: list[str]) -> None:
    """Any plannable tokens give events that each apply in order; the order ends in plan.state."""
    plan = plan_or_none(tokens)
    if plan is None:
        return
    order, outcomes = applied(plan)
    unknown = [e.type == "refund.complete" for e in plan.events]  # no order or charge event
    assert outcomes == [EventOutcome.UNKNOWN if u else EventOutcome.APPLIED for u in unknown]
    assert str(order.state) == plan.state
    assert_order_invariants(order)


@given(st.lists(TOKENS, min_size=1, max_size=3), st.randoms(use_true_random=False))
def test_a_scripted_life_shuffled_ends_the_same(tokens: list[str], chance: object) -> None:
    """Delivered in any order (a conflict delivered again later), the life ends the same."""
    plan = plan_or_none(tokens)
    if plan is None:
        return
    in_order, _ = applied(plan)
    events = list(plan.events)
    chance.shuffle(events)  # type: ignore[attr-defined]
    order: Order | None = None
    for _ in range(len(events)):  # as the provider redelivers what was refused
        waiting = []
        for event in events:
            try:
                order = apply_event(order, parse_event(event.body)).order
            except EventConflict:
                waiting.append(event)
        events = waiting
    assert order is not None
    assert (order.state, order.fraud_state) == (in_order.state, in_order.fraud_state)
    assert order.items == in_order.items


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_event_type_is_sent_last_for_a_new_order(event_type: str) -> None:
    """Each event type alone plans the provider's steps to it: last, or before its follow-up."""
    plan = plan_life("o1", [event_type], created=CREATED)
    types = [e.type for e in plan.events]
    assert event_type in types
    follow_ups = {"order.charge.capture.complete": ["order.complete"]}
    assert types[types.index(event_type) + 1 :] in ([], follow_ups.get(event_type))


@pytest.mark.parametrize("name", LIVES)
def test_each_named_life_sends_its_types_in_order(name: str) -> None:
    """life:NAME sends the types the life names, in that order, among the provider's others."""
    types = [e.type for e in plan_life("o1", [f"life:{name}"], created=CREATED).events]
    positions = [types.index(t) for t in LIVES[name]]
    assert positions == sorted(positions)


def test_times_are_consistent() -> None:
    """The first state is entered at created; each event later than the last, one step apart."""
    step = timedelta(seconds=5)
    plan = plan_life("o1", ["life:dispute"], created=CREATED, step=step)
    times = [e.created for e in plan.events]
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    assert plan.created["stateTransitions"] == {"accepted": stamp(CREATED)}
    for event in plan.events:
        if event.order is not None:
            entered = event.order["stateTransitions"][event.order["state"]]
            assert datetime.fromisoformat(entered) <= event.created
    assert times[0] == CREATED + step


def test_ids_and_checkout() -> None:
    """Event ids start with the prefix and are unique; every order object names the checkout."""
    plan = plan_life(
        "o9", ["life:refunded"], created=CREATED, event_prefix="evt-run", checkout_id="chk-9"
    )
    ids = [e.id for e in plan.events]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("evt-run-") for i in ids)
    assert {e.order["checkoutId"] for e in plan.events if e.order} == {"chk-9"}
    assert plan.order_id == "o9"


@pytest.mark.parametrize(
    ("entry", "first"),
    [
        ("pending_payment", "order.pending_payment"),
        ("in_review", "order.review_opened"),
        ("accepted", "order.accepted"),
    ],
)
def test_an_entry_state_forces_the_creation(entry: str, first: str) -> None:
    """With entry, the life starts in that state (as a 201 created it), then goes on."""
    plan = plan_life("o1", ["order.accepted"], created=CREATED, entry=entry)
    assert plan.created["state"] == entry
    assert plan.events[0].type == first
    assert plan.state == "accepted"
    assert len(plan_life("o1", [], created=CREATED, entry=entry).events) == 1


def test_an_event_that_cannot_come_is_refused() -> None:
    """order.accepted after order.fulfilled: a typed error naming the state; nothing planned."""
    with pytest.raises(InvalidInput, match=r"order\.accepted cannot come next for an order in"):
        plan_life("o1", ["order.fulfilled", "order.accepted"], created=CREATED)
    with pytest.raises(InvalidInput, match="cannot come next for an order in blocked"):
        plan_life("o1", ["life:blocked", "order.refunded"], created=CREATED)


def test_nothing_asked_or_a_bad_entry_is_refused() -> None:
    """No tokens and no entry, or an entry that is no entry state: InvalidInput."""
    with pytest.raises(InvalidInput, match="at least one"):
        plan_life("o1", [], created=CREATED)
    with pytest.raises(InvalidInput, match="entry must be one of"):
        plan_life("o1", [], created=CREATED, entry="fulfilled")


@pytest.mark.parametrize(
    "arguments",
    [
        {"order_id": ""},
        {"order_id": 5},
        {"tokens": "order.accepted"},
        {"tokens": [None]},
        {"created": datetime(2026, 1, 1)},  # noqa: DTZ001 (naive: the point)
        {"step": timedelta(seconds=-1)},
        {"step": 1},
    ],
)
def test_arguments_of_the_wrong_type_are_refused(arguments: dict[str, Any]) -> None:
    """A wrong order id, tokens, created or step: WrongType (an InvalidInput), nothing planned."""
    given_arguments: dict[str, Any] = {"order_id": "o1", "tokens": ["order.accepted"]}
    given_arguments["created"] = CREATED
    with pytest.raises(WrongType):
        plan_life(**(given_arguments | arguments))


@given(st.lists(HOSTILE_TEXT | TOKENS, min_size=1, max_size=3))
def test_hostile_tokens_are_refused_with_a_typed_error(tokens: list[str]) -> None:
    """Any text as a token: a plan, or InvalidInput in one line that never echoes it whole."""
    try:
        plan_life("o1", tokens, created=CREATED)
    except InvalidInput as error:
        message = str(error)
        assert message.isprintable()  # one line: NUL, surrogates and newlines escaped
        assert len(message) < 1000

"""The outbox contract, on every store: actions written with their change, leased, finished."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle import Charge, Inbox, Item, Order, OrderEvent, OrderState
from order_lifecycle.actions import (
    ActionPolicy,
    ActionState,
    Completed,
    Derived,
    Released,
    action_key,
)
from order_lifecycle.exceptions import (
    ActionNotRetryable,
    InvalidInput,
    NotFound,
    OrderLifecycleError,
    StaleOrder,
    UnknownAction,
    WrongType,
)
from order_lifecycle.lifecycle import ActionKind
from order_lifecycle.models import fire
from order_lifecycle.orders import cancel_items, fulfil_items
from order_lifecycle.store import Store
from order_lifecycle.store._outbox import cancelled_result, encode_json
from order_lifecycle.testing import HOSTILE_TEXT
from tests import webhook_events as ev

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SHIP = action_key("o1", "ship", "box")


def pending_order(order_id: str = "o1") -> Order:
    """An order awaiting payment: a physical and a digital item, one charge."""
    return Order.create(
        order_id,
        items=[Item("box", 2, physical=True), Item("key", 1, physical=False)],
        charges=[Charge("c1", "capturable", Decimal("30.00"), "EUR")],
    )


def accepted(store: Store, order_id: str = "o1") -> None:
    """Store an order and accept it through the store."""
    store.create_order(pending_order(order_id))
    store.update_order(order_id, lambda o: fire(o, OrderEvent.ACCEPT))


def states(store: Store) -> dict[str, str]:
    """Every action's key and state."""
    return {a.key: str(a.state) for a in store.list_actions()}


def test_nothing_before_acceptance_and_each_item_once_after(store: Store) -> None:
    """A new pending order has no action; accepting it creates ship and deliver, once."""
    store.create_order(pending_order())
    assert store.list_actions() == []
    store.update_order("o1", lambda o: fire(o, OrderEvent.ACCEPT))
    assert states(store) == {
        SHIP: "pending",
        action_key("o1", "deliver_digitally", "key"): "pending",
    }
    (ship,) = store.list_actions(kinds=["ship"])
    assert (ship.order_id, ship.kind, ship.subject, ship.tries) == ("o1", ActionKind.SHIP, "box", 0)
    assert ship.payload == {"item_id": "box", "quantity": 2}


def test_a_refused_change_writes_no_action(store: Store) -> None:
    """A change that raises, or loses its race, writes its actions nowhere."""
    store.create_order(pending_order())

    def accept_then_fail(order: Order) -> None:
        fire(order, OrderEvent.ACCEPT)
        raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        store.update_order("o1", accept_then_fail)
    assert store.list_actions() == []
    calls: list[int] = []

    def accept_and_race(order: Order) -> None:
        fire(order, OrderEvent.ACCEPT)
        if not calls:  # another writer commits meanwhile, once
            calls.append(1)
            store.update_order("o1", lambda o: fire(o, OrderEvent.OPEN_REVIEW))

    with pytest.raises(StaleOrder):
        store.update_order("o1", accept_and_race)
    assert store.list_actions() == []


def test_cancelling_before_shipping_cancels_the_ship_action(store: Store) -> None:
    """Every item cancelled: pending ship and deliver are cancelled, the customer told."""
    accepted(store)
    store.update_order("o1", lambda o: cancel_items(o, {"box": 2, "key": 1}))
    assert store.get_order("o1").state is OrderState.CANCELLED
    assert states(store)[SHIP] == "cancelled"
    (notify,) = store.list_actions(kinds=["notify_customer"])
    assert notify.state is ActionState.PENDING
    assert "no payment" in notify.payload["message"]
    assert store.claim_actions(["ship"]) == []


def test_an_action_cancelled_under_its_claim_is_still_its_claims_to_finish(store: Store) -> None:
    """Cancelled while claimed: no claim takes it again, but its handler's success is done."""
    accepted(store)
    # A lease long enough that the cancellation comes under it on a loaded machine; then
    # it lapses: a cancelled action is due nevertheless never.
    (claimed,) = store.claim_actions(["ship"], lease=timedelta(seconds=2))
    store.update_order("o1", lambda o: cancel_items(o, {"box": 2, "key": 1}))
    (cancelled,) = store.list_actions(kinds=["ship"])
    assert (cancelled.state, cancelled.lease_until) == (ActionState.CANCELLED, claimed.lease_until)
    time.sleep(2.1)
    assert store.claim_actions(["ship"]) == []
    done = store.complete_action(SHIP, "shipped", claim=claimed.tries)
    assert (done.state, done.result) == (ActionState.DONE, '"shipped"')


def test_a_dispute_holds_the_fulfilment_and_its_resolution_resumes_it(store: Store) -> None:
    """In dispute no claim takes ship or deliver (the provider answers 409); back, they run."""
    accepted(store)
    store.update_order("o1", lambda o: fire(o, OrderEvent.DISPUTE))
    held = {a.kind: a.held_by for a in store.list_actions()}
    assert held == {
        ActionKind.SHIP: OrderState.DISPUTE,
        ActionKind.DELIVER_DIGITALLY: OrderState.DISPUTE,
        ActionKind.RESPOND_TO_DISPUTE: None,
    }
    (respond,) = store.claim_actions()
    assert respond.kind is ActionKind.RESPOND_TO_DISPUTE
    assert store.claim_actions() == []
    store.update_order("o1", lambda o: fire(o, OrderEvent.RESOLVE_DISPUTE))
    resumed = store.claim_actions()
    assert {(a.kind, a.tries) for a in resumed} == {
        (ActionKind.SHIP, 1),
        (ActionKind.DELIVER_DIGITALLY, 1),
    }
    assert all(a.held_by is None for a in store.list_actions())


def test_a_retried_action_stays_held_while_the_dispute_lasts(store: Store) -> None:
    """A dead ship retried during a dispute is pending but held; it runs once resolved."""
    store.max_tries = 1
    accepted(store)
    (ship,) = store.claim_actions(["ship"])
    store.fail_action(SHIP, "down", claim=ship.tries)
    store.update_order("o1", lambda o: fire(o, OrderEvent.DISPUTE))
    retried = store.retry_action(SHIP)
    assert (retried.state, retried.held_by) == (ActionState.PENDING, OrderState.DISPUTE)
    assert store.claim_actions(["ship"]) == []
    store.update_order("o1", lambda o: fire(o, OrderEvent.RESOLVE_DISPUTE))
    assert [a.key for a in store.claim_actions(["ship"])] == [SHIP]


def test_a_partial_cancellation_changes_what_the_pending_ship_covers(store: Store) -> None:
    """1 of 2 units cancelled: the pending ship (and a dead one alike) covers 1."""
    accepted(store)
    store.update_order("o1", lambda o: cancel_items(o, {"box": 1}))
    (ship,) = store.list_actions(kinds=["ship"])
    assert (ship.state, ship.payload) == (ActionState.PENDING, {"item_id": "box", "quantity": 1})
    (claimed,) = store.claim_actions(["ship"])
    assert claimed.payload["quantity"] == 1


def test_a_dead_action_whose_reason_went_away_is_cancelled_and_never_retried(
    store: Store,
) -> None:
    """A dead ship of an order cancelled since: cancelled with the reason; a retry is refused."""
    store.max_tries = 1
    accepted(store)
    (ship,) = store.claim_actions(["ship"])
    assert store.fail_action(SHIP, "the courier went bust", claim=ship.tries).state is (
        ActionState.DEAD
    )
    store.update_order("o1", lambda o: cancel_items(o, {"box": 2, "key": 1}))
    (cancelled,) = store.list_actions(kinds=["ship"])
    assert (cancelled.state, cancelled.cancel_reason, cancelled.last_error) == (
        ActionState.CANCELLED,
        "the order left accepted for cancelled",
        "the courier went bust",
    )
    with pytest.raises(ActionNotRetryable, match="cancelled, its reason gone") as refused:
        store.retry_action(SHIP)
    assert (refused.value.key, refused.value.state) == (SHIP, "cancelled")
    assert store.list_actions(kinds=["ship"]) == [cancelled]
    assert store.claim_actions(["ship"]) == []


def test_fulfilment_asks_to_capture(store: Store) -> None:
    """The order fulfilled: shipping is moot, each uncaptured charge is to capture."""
    accepted(store)
    store.update_order("o1", lambda o: fulfil_items(o, {"box": 2, "key": 1}))
    found = states(store)
    assert found[SHIP] == "cancelled"
    assert found[action_key("o1", "capture", "c1")] == "pending"


def test_claim_complete_and_never_twice(store: Store) -> None:
    """A claim leases due actions once; a completed one is done, with its result."""
    accepted(store)
    claimed = store.claim_actions(limit=1)
    assert [a.key for a in claimed] == [SHIP] or len(claimed) == 1
    rest = store.claim_actions(limit=10)
    assert {a.key for a in claimed} | {a.key for a in rest} == set(states(store))
    assert store.claim_actions() == []  # leased: nobody else gets them
    done = store.complete_action(claimed[0].key, {"tracking": "Z1"})
    assert done.state is ActionState.DONE
    assert json.loads(done.result or "") == {"tracking": "Z1"}
    assert done.lease_until is None
    assert store.complete_action(claimed[0].key, "again").result == done.result  # stays


def test_failure_backs_off_then_dies_and_an_operator_retries(store: Store) -> None:
    """A failure keeps its error and waits; after max_tries it is dead until retried."""
    store.max_tries = 2
    accepted(store)
    store.claim_actions(["ship"])
    failed = store.fail_action(SHIP, RuntimeError("warehouse down"))
    assert failed.state is ActionState.FAILED
    assert failed.last_error == "RuntimeError: warehouse down"
    assert failed.retry_at is not None
    assert failed.retry_at > datetime.now(UTC) + timedelta(seconds=1)
    assert store.claim_actions(["ship"]) == []  # not due yet
    store.fail_action(SHIP, "ignored: not claimed")  # a failure of no claim changes nothing
    assert store.list_actions(kinds=["ship"])[0].last_error == "RuntimeError: warehouse down"
    due_now = datetime.now(UTC) - timedelta(seconds=1)
    store.retry_action(SHIP)
    (again,) = store.claim_actions(["ship"])
    assert again.tries == 1
    store.fail_action(SHIP, "still down", retry_at=due_now)
    (third,) = store.claim_actions(["ship"])
    assert third.tries == 2
    dead = store.fail_action(SHIP, "gave up")
    assert (dead.state, dead.retry_at, dead.last_error) == (ActionState.DEAD, None, "gave up")
    assert store.claim_actions(["ship"]) == []
    assert store.list_actions(states=["dead"])[0].key == SHIP
    revived = store.retry_action(SHIP)
    assert (revived.state, revived.tries) == (ActionState.PENDING, 0)


def test_an_expired_lease_is_claimable_again(store: Store) -> None:
    """A claim whose lease ended (its worker died) is handed out again, counted."""
    accepted(store)
    (held,) = store.claim_actions(["ship"], lease=timedelta(seconds=1))
    assert held.lease_until is not None
    assert store.claim_actions(["ship"]) == [] or datetime.now(UTC) >= held.lease_until
    time.sleep(max(0.0, (held.lease_until - datetime.now(UTC)).total_seconds()) + 0.05)
    (again,) = store.claim_actions(["ship"])
    assert (again.key, again.tries) == (SHIP, 2)


def test_a_webhook_batch_writes_its_actions_once(store: Store) -> None:
    """order.accepted through the inbox creates the actions; its redelivery adds none."""
    inbox = Inbox(store, verified_upstream=True)
    deliveries = [ev.raw(e) for e in ev.accepted_physical_and_digital()]
    inbox.receive(deliveries)
    first = store.list_actions()
    assert {(a.kind, a.subject) for a in first} == {
        (ActionKind.SHIP, "1002-shirt"),
        (ActionKind.DELIVER_DIGITALLY, "1002-ebook"),
    }
    inbox.receive(deliveries)
    assert store.list_actions() == first


def test_the_stores_policy_classifies_what_the_provider_left_unsaid(store: Store) -> None:
    """With the shop's catalogue set on the store, an unflagged acceptance ships and delivers."""
    assert store.action_policy.classify is None
    store.action_policy = ActionPolicy(
        classify={"sku-1002-shirt": "physical", "sku-1002-ebook": "digital"}
    )
    (event,) = ev.accepted_physical_and_digital()
    for entry in event["data"]["object"]["items"]:
        del entry["productDetails"]["physical"]  # as 13 of the provider's 14 payloads
    Inbox(store, verified_upstream=True).receive([ev.raw(event)])
    found = {(a.kind, a.subject): a.payload for a in store.list_actions()}
    assert found[(ActionKind.SHIP, "1002-shirt")] == {
        "item_id": "1002-shirt", "quantity": 2, "sku": "sku-1002-shirt", "decided_by": "classifier",
    }  # fmt: skip
    assert (ActionKind.DELIVER_DIGITALLY, "1002-ebook") in found
    with pytest.raises(WrongType, match="action_policy"):
        store.action_policy = {"sku-1": "physical"}  # type: ignore[assignment]


def test_a_201_writes_the_new_orders_actions(store: Store) -> None:
    """A 201 for an accepted order stores it and its actions with the consumed checkout."""
    created = json.dumps(
        {
            "id": "o-9",
            "state": "accepted",
            "checkoutId": "chk-9",
            "items": [{"id": "widget", "quantity": 1, "productDetails": {"physical": True}}],
        }
    )
    store.begin_submission("chk-9", at=T0)
    store.record_response("chk-9", 201, created, at=T0)
    assert [(a.kind, a.subject) for a in store.list_actions()] == [(ActionKind.SHIP, "widget")]


def test_lists_filter(store: Store) -> None:
    """list_actions filters by state, kind and order, and honours its limit."""
    accepted(store, "o1")
    accepted(store, "o2")
    assert len(store.list_actions()) == 4
    assert {a.order_id for a in store.list_actions(order_id="o2")} == {"o2"}
    assert len(store.list_actions(limit=1)) == 1
    assert store.list_actions(states=["done"]) == []
    assert store.list_actions(kinds=[]) == []


def test_unknown_keys_are_not_found(store: Store) -> None:
    """Completing, failing or retrying a key the outbox lacks raises UnknownAction."""
    for call in (store.complete_action, store.retry_action):
        with pytest.raises(UnknownAction):
            call("nope")
    with pytest.raises(NotFound):
        store.fail_action("nope", "boom")


EXTREME_MOMENTS = st.sampled_from(
    [
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),  # year 10000 in UTC
        datetime(1, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=5))),  # year 0 in UTC
        datetime.max.replace(tzinfo=UTC),
        datetime.min.replace(tzinfo=UTC),
        datetime(999, 1, 1, tzinfo=UTC),
    ]
)
HOSTILE: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([2**63 - 1, 2**63, 2**64, -(2**63) - 1])
    | EXTREME_MOMENTS
    | st.floats()
    | st.binary(max_size=6)
    | st.text(st.sampled_from(["\x00", "\ud800", "a", "\U0010ffff"]), max_size=5)
    | st.just("ship")
    | st.lists(st.text(st.sampled_from(["\x00", "\udfff", "x"]), max_size=3), max_size=2)
    | st.just(float("nan"))
    | st.just(timedelta(days=-1))
    | st.just(datetime(2026, 1, 1))  # naive  # noqa: DTZ001
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(value=HOSTILE, which=st.integers(0, 19))
def test_hostile_input_raises_typed_errors_and_changes_nothing(
    store: Store, value: Any, which: int
) -> None:
    """NUL, surrogates, huge numbers, wrong types: only the library's errors; nothing changes."""
    if not store.order_ids():
        accepted(store)
    before = states(store)
    calls: list[Callable[[], object]] = [
        lambda: store.claim_actions(value),
        lambda: store.claim_actions(limit=value),
        lambda: store.claim_actions(lease=value),
        lambda: store.complete_action(value),
        lambda: store.complete_action(SHIP, value),
        lambda: store.fail_action(value, "boom"),
        lambda: store.fail_action(SHIP, "boom", retry_at=value),
        lambda: store.retry_action(value),
        lambda: store.list_actions(states=value),
        lambda: store.list_actions(order_id=value if value is not None else 5),  # type: ignore[arg-type]
        lambda: store.complete_action(SHIP, claim=value),
        lambda: store.fail_action(SHIP, "boom", claim=value),
        lambda: store.extend_lease(SHIP, timedelta(minutes=1), claim=value),
        lambda: store.extend_leases(value, timedelta(minutes=1)),
        lambda: store.extend_leases({SHIP: value}, timedelta(minutes=1)),
        lambda: store.finish_actions(value),
        lambda: store.finish_actions([Completed(SHIP, value)]),
        lambda: store.finish_actions([Released(SHIP, value)]),
        lambda: store.prune_actions(value),
        lambda: store.fail_action(SHIP, value),
    ]
    try:
        calls[which]()
    except OrderLifecycleError:
        assert states(store) == before
    # A well-formed value (None kinds, the kind "ship") may do what the contract says.


def test_a_retry_moment_before_year_1000_is_kept_and_read_back(store: Store) -> None:
    """A failure due again in year 999 is stored as 0999 and read back, not StoreCorrupt."""
    accepted(store)
    (claimed,) = store.claim_actions(["ship"])
    long_ago = datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert store.fail_action(SHIP, "boom", long_ago, claim=claimed.tries).retry_at == long_ago
    (failed,) = store.list_actions(kinds=["ship"])
    assert failed.retry_at == long_ago
    (again,) = store.claim_actions(["ship"])  # due long ago
    assert again.tries == 2


def test_moments_past_year_9999_in_utc_are_refused_typed(store: Store) -> None:
    """A retry moment or prune bound its offset takes outside years 1-9999: InvalidInput."""
    accepted(store)
    (claimed,) = store.claim_actions(["ship"])
    late = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    with pytest.raises(InvalidInput, match="year 1 to 9999"):
        store.fail_action(SHIP, "boom", late, claim=claimed.tries)
    with pytest.raises(InvalidInput, match="year 1 to 9999"):
        store.prune_actions(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    assert states(store)[SHIP] == "claimed"


def test_a_claim_beyond_any_count_is_refused_typed(store: Store) -> None:
    """A claim of 2**63 (past a database's integers): WrongType, not an OverflowError."""
    accepted(store)
    store.claim_actions(["ship"])
    calls: list[Callable[[], object]] = [
        lambda: store.complete_action(SHIP, claim=2**63),
        lambda: store.extend_lease(SHIP, timedelta(minutes=1), claim=2**63),
    ]
    for call in calls:
        with pytest.raises(WrongType, match="2\\*\\*63-1"):
            call()
    assert store.complete_action(SHIP, claim=2**63 - 1).state is ActionState.CLAIMED


def test_an_unknown_kind_is_a_clear_error(store: Store) -> None:
    """A kind the order table does not declare names the ones it does."""
    with pytest.raises(InvalidInput, match=r"Unknown action kind 'shipp'.*ship"):
        store.claim_actions(["shipp"])


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.decimals() | HOSTILE_TEXT,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(HOSTILE_TEXT | st.integers(), inner, max_size=3)
    ),
    max_leaves=8,
)


def _dumped(value: object) -> str:
    """What json.dumps writes of ``value`` with encode_json's options, or why it refuses."""
    try:
        return json.dumps(value, ensure_ascii=True, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        return f"refused: payload must be plain JSON: {error}"


def _encoded(value: object) -> str:
    try:
        return encode_json(value, "payload")
    except InvalidInput as error:
        return f"refused: {error}"


@given(_JSONISH)
def test_encode_json_writes_what_json_dumps_writes_or_refuses_alike(value: object) -> None:
    """Any value (every code point, NaN, Decimal, mixed keys) is json.dumps's text, or refused."""
    assert _encoded(value) == _dumped(value)


@given(reason=st.text() | st.integers() | st.none(), given_reason=st.booleans())
def test_a_cancellations_result_is_the_generic_encoders_text(
    reason: object,
    given_reason: bool,
) -> None:
    """A cancelled key's result is encode_json's text, byte for byte, whatever the reason."""
    reasons: dict[str, Any] = {"k": reason} if given_reason else {}  # typed str; not checked
    derived = Derived(cancelled=("k",), reasons=reasons)
    said = reason if given_reason else "its reason went away"
    assert cancelled_result(derived, "k") == encode_json({"cancelled": said}, "reason")

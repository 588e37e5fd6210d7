"""The reconciler on the memory store: order by order, waiting, poison, orders never seen."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_lifecycle import Delivery, Inbox, Order, OrderState, Reconciler
from order_lifecycle.exceptions import InvalidInput, WrongType
from order_lifecycle.store import ChangeOutcome, Claim, GroupResult, MemoryStore, SettledGroup
from order_lifecycle.testing import (
    TEST_SECRET,
    SignedDelivery,
    order_lives,
    shuffled_deliveries,
)
from order_lifecycle.webhooks import DeliveryStatus, _reconcile, _reconciler, sign
from order_lifecycle.webhooks._reconciler import waiting_backoff

from . import webhook_events as ev
from .hostile import VALUES
from .stored import event_ids, orders

SECRET = "whsec-reconciler"  # noqa: S105 (a made-up test secret)
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)


@attrs.define
class Clock:
    """A clock the test moves."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        """The moment the test set."""
        return self.now


def setup(store: MemoryStore | None = None) -> tuple[Inbox, Reconciler, MemoryStore, Clock]:
    store = MemoryStore() if store is None else store
    clock = Clock()
    return Inbox(store, secrets=[SECRET], clock=clock), Reconciler(store, clock=clock), store, clock


def signed(payload: dict[str, Any]) -> Delivery:
    body = ev.raw(payload)
    return Delivery(body, sign(body, SECRET, NOW), received_at=NOW)


def statuses(store: MemoryStore) -> dict[str, str]:
    """Each stored delivery's status, by event id."""
    return {row.event_id: str(row.status) for row in store.list_deliveries(limit=10_000)}


def drain(reconciler: Reconciler) -> int:
    settled = 0
    while done := reconciler.run_once():
        settled += done
    return settled


def test_a_delivery_before_its_order_waits_then_applies_with_it() -> None:
    """The request path stores a charge event before its order (202); it applies with it."""
    box, reconciler, store, _ = setup()
    accepted, capture, _ = ev.charge_capture_and_cancel()
    (early,) = box.accept([signed(capture)])
    assert (early.outcome, early.status_code) == (DeliveryStatus.PENDING, 202)
    assert reconciler.run_once() == 1
    assert statuses(store) == {capture["id"]: "waiting"}
    (order_event,) = box.accept([signed(accepted)])
    assert order_event.status_code == 202
    assert reconciler.run_once() == 2
    assert statuses(store) == {capture["id"]: "applied", accepted["id"]: "applied"}
    assert store.get_order("1007").charges[0].captured == 30
    assert reconciler.counts.settled == {"waiting": 1, "applied": 2}


def test_a_waiting_delivery_is_tried_again_after_its_backoff() -> None:
    """Nothing new for its order: a waiting delivery is due after 1 s, then 2 s, 4 s ..."""
    box, reconciler, store, clock = setup()
    capture = ev.charge_capture_and_cancel()[1]
    box.accept([signed(capture)])
    reconciler.run_once()
    for attempt in range(1, 5):
        (row,) = store.list_deliveries()
        assert (row.status, row.attempts) == (DeliveryStatus.WAITING, attempt)
        assert row.due_at == clock.now + waiting_backoff(attempt)
        assert reconciler.run_once() == 0  # not due yet
        clock.now = row.due_at
        assert reconciler.run_once() == 1
    assert [waiting_backoff(n).total_seconds() for n in (1, 2, 3, 13, 99)] == [
        1,
        2,
        4,
        3600,
        3600,
    ]


def test_deliveries_apply_in_created_time_order_whatever_the_arrival() -> None:
    """An order's deliveries stored in any order apply by createdTime: the life as sent."""
    life = ev.accepted_fulfilled_complete()
    forwards, backwards = MemoryStore(), MemoryStore()
    for store, events in ((forwards, life), (backwards, life[::-1])):
        box, reconciler, _, _ = setup(store)
        box.accept([signed(p) for p in events])
        drain(reconciler)
    assert orders(forwards) == orders(backwards)
    assert statuses(forwards) == statuses(backwards)
    assert "waiting" not in statuses(forwards).values()


def test_a_poison_delivery_never_stalls_its_order() -> None:
    """A malformed delivery of an order is invalid; the order's other deliveries apply."""
    box, reconciler, store, _ = setup()
    life = ev.accepted_fulfilled_complete()
    poison = json.loads(json.dumps(life[3]))
    poison["id"] = "evt-poison"
    poison["data"]["object"]["items"][0]["quantity"] = "lots"
    box.accept([signed(p) for p in [life[0], poison, *life[1:]]])
    drain(reconciler)
    found = statuses(store)
    assert found.pop("evt-poison") == "invalid"
    assert set(found.values()) <= {"applied", "unknown"}
    assert store.get_order("1005").state is OrderState.COMPLETE
    (row,) = store.list_deliveries(statuses=["invalid"])
    assert "data.object.items[0]" in (row.reason or "")


def test_deliveries_naming_no_order_are_each_settled_inline() -> None:
    """Several deliveries without an order id in one receive: each is invalid, with a reason."""
    box, _, store, _ = setup()
    poisons = []
    for n in range(3):
        poison = json.loads(json.dumps(ev.accepted_fulfilled_complete()[0]))
        poison["id"] = f"evt-no-order-{n}"
        poison["data"]["object"]["id"] = ""
        poisons.append(signed(poison))
    results = box.receive(poisons)
    assert [(r.outcome, bool(r.reason)) for r in results] == [(DeliveryStatus.INVALID, True)] * 3
    assert set(statuses(store).values()) == {"invalid"}


class RefusingOne(MemoryStore):
    """A store whose database refuses the change of one event id, as a database refuses data."""

    refused_event = "evt-1005-fulfilled"

    def settle_deliveries(self, groups: Sequence[SettledGroup]) -> list[GroupResult]:
        """Refuse a group whose changes apply ``refused_event``; settle the others."""
        results = []
        for group in groups:
            ids = [change.event_id for change in group.changes]
            if self.refused_event in ids:
                index = ids.index(self.refused_event)
                results.append(GroupResult(ChangeOutcome.REFUSED, "no room for it", index))
            else:
                results.extend(super().settle_deliveries([group]))
        return results


def test_a_change_the_store_refuses_makes_only_its_delivery_invalid() -> None:
    """A refused change: its delivery invalid with the store's reason; the order decided anew."""
    box, reconciler, store, _ = setup(RefusingOne())
    life = ev.accepted_fulfilled_complete()
    box.accept([signed(p) for p in life])
    drain(reconciler)
    found = statuses(store)
    assert found["evt-1005-fulfilled"] == "invalid"
    (row,) = store.list_deliveries(statuses=["invalid"])
    assert row.reason == "refused while reconciling: no room for it"
    assert found["evt-1005-accepted"] == "applied"
    assert "evt-1005-fulfilled" not in event_ids(store)


def fetched(life_events: list[dict[str, Any]]) -> bytes:
    """The GET /orders body of the last order snapshot of ``life_events``."""
    return json.dumps(life_events[-1]["data"]["object"]).encode()


def test_an_order_never_seen_is_fetched_after_the_wait() -> None:
    """Past order_wait, fetch_order's body creates the order; its waiting deliveries settle.

    The fetched snapshot is the provider's record now, newer than the waiting charge
    event: that one comes out stale (a fetch is reconciled as a webhook created now).
    """
    store = MemoryStore()
    clock = Clock()
    asked: list[str] = []
    accepted, capture, _ = ev.charge_capture_and_cancel()

    def fetch(order_id: str) -> bytes:
        asked.append(order_id)
        return fetched([accepted])

    box = Inbox(store, secrets=[SECRET], clock=clock)
    reconciler = Reconciler(store, clock=clock, fetch_order=fetch, order_wait=timedelta(minutes=5))
    box.accept([signed(capture)])
    reconciler.run_once()
    assert (statuses(store), asked) == ({capture["id"]: "waiting"}, [])
    clock.now = NOW + timedelta(minutes=5)
    assert reconciler.run_once() == 1
    assert asked == ["1007"]
    assert statuses(store) == {capture["id"]: "stale"}
    order = store.get_order("1007")
    assert order.state is OrderState.ACCEPTED
    assert order.history[0].event_id is None  # a fetch is no event
    assert capture["id"] in event_ids(store)


def _finds_none(_order_id: str) -> None:
    return None


@pytest.mark.parametrize("hook", [None, _finds_none])
def test_an_order_never_found_is_unknown_order_until_it_arrives(hook: Any) -> None:
    """No hook, or the hook finds none: unknown_order, listed; its order's event applies it."""
    store = MemoryStore()
    clock = Clock()
    box = Inbox(store, secrets=[SECRET], clock=clock)
    reconciler = Reconciler(store, clock=clock, fetch_order=hook, order_wait=timedelta(0))
    accepted, capture, _ = ev.charge_capture_and_cancel()
    box.accept([signed(capture)])
    reconciler.run_once()
    (row,) = store.list_deliveries(statuses=["unknown_order"])
    assert "order '1007' was never seen" in (row.reason or "")
    assert row.due_at is None
    clock.now += timedelta(days=1)
    assert reconciler.run_once() == 0  # not tried again by time
    box.accept([signed(accepted)])
    assert reconciler.run_once() == 2
    assert statuses(store) == {capture["id"]: "applied", accepted["id"]: "applied"}


def test_a_failing_fetch_waits_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A hook that raises leaves the deliveries waiting (tried again later), with a warning."""
    store = MemoryStore()
    clock = Clock()

    def fetch(order_id: str) -> bytes:
        raise ConnectionError(f"no route to the provider for {order_id}")

    box = Inbox(store, secrets=[SECRET], clock=clock)
    reconciler = Reconciler(store, clock=clock, fetch_order=fetch, order_wait=timedelta(0))
    box.accept([signed(ev.charge_capture_and_cancel()[1])])
    with caplog.at_level(logging.WARNING, logger="order_lifecycle.webhooks"):
        reconciler.run_once()
    (row,) = store.list_deliveries()
    assert row.status is DeliveryStatus.WAITING
    assert "fetch_order('1007') failed" in (row.reason or "")
    assert "no route to the provider for 1007" in caplog.text


def test_two_claims_never_hold_one_order() -> None:
    """While one claim holds an order, another claim of the same store skips it."""
    box, _, store, _ = setup()
    box.accept([signed(ev.card_order_accepted()[0]), signed(ev.expired_wire_transfer()[0])])
    first = store.claim_deliveries(limit=1, now=NOW)
    second = store.claim_deliveries(limit=10, now=NOW)
    assert (first.orders, second.orders) == (("1001",), ("1003",))
    assert store.claim_deliveries(limit=10, now=NOW).orders == ()
    store.release_claim(first)
    assert store.claim_deliveries(limit=10, now=NOW).orders == ("1001",)


def test_run_forever_stops_when_asked_in_a_thread() -> None:
    """start() runs it in a thread that reconciles what arrives; stop() ends it."""
    box, _, store, _ = setup()
    reconciler = Reconciler(store, idle=0.01)
    thread = reconciler.start()
    box.accept([signed(ev.card_order_accepted()[0])])
    done = threading.Event()
    for _ in range(500):
        if statuses(store) == {"evt-1001-accepted": "applied"}:
            done.set()
            break
        done.wait(0.01)
    reconciler.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert done.is_set()


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"batch": 0}, "Reconciler.batch must be an int from 1 to 10,000"),
        ({"batch": True}, "Reconciler.batch must be an int"),
        ({"order_wait": -timedelta(seconds=1)}, "Reconciler.order_wait must be a timedelta"),
        ({"order_wait": 60}, "Reconciler.order_wait must be a timedelta"),
        ({"idle": 0}, "Reconciler.idle must be a number of seconds above 0"),
        ({"fetch_order": "GET"}, "Reconciler.fetch_order must be a callable"),
        ({"clock": 5}, "Reconciler.clock must be a callable"),
    ],
)
def test_misconfiguration_is_refused_at_construction(
    settings_: dict[str, Any], message: str
) -> None:
    """A wrong batch, wait, idle, hook or clock raises WrongType when built."""
    with pytest.raises(WrongType, match=message.replace(".", r"\.")):
        Reconciler(MemoryStore(), **settings_)
    with pytest.raises(WrongType, match=r"Reconciler\.store must be a Store"):
        Reconciler({})  # type: ignore[arg-type]


def test_a_naive_clock_is_a_configuration_error() -> None:
    """A clock giving naive times raises WrongType at the first run; nothing settled."""
    box, _, store, _ = setup()
    box.accept([signed(ev.card_order_accepted()[0])])
    with pytest.raises(WrongType, match=r"Reconciler\.clock\(\) must be an aware datetime"):
        Reconciler(store, clock=datetime.now).run_once()
    assert statuses(store) == {"evt-1001-accepted": "pending"}


@settings(max_examples=200)
@given(
    name=st.sampled_from(["claim", "settle", "release", "settle_map"]),
    value=VALUES,
    other=VALUES,
)
def test_hostile_calls_raise_typed_errors_and_change_nothing(
    name: str, value: object, other: object
) -> None:
    """Any value to the reconciler's store calls or settle: typed errors only, nothing changed."""
    box, reconciler, store, _ = setup()
    box.accept([signed(ev.card_order_accepted()[0])])
    before = statuses(store)
    calls: dict[str, Callable[[], object]] = {
        "claim": lambda: store.claim_deliveries(limit=value, now=other),  # type: ignore[arg-type]
        "settle": lambda: store.settle_deliveries(value),  # type: ignore[arg-type]
        "release": lambda: store.release_claim(value),  # type: ignore[arg-type]
        "settle_map": lambda: reconciler.settle(value),  # type: ignore[arg-type]
    }
    with contextlib.suppress(InvalidInput):
        calls[name]()
    assert statuses(store) == before


def test_a_stale_snapshot_is_told_by_its_keys_without_parsing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An older order or charge snapshot is stale by its envelope's keys: never parsed whole."""
    box, reconciler, store, _ = setup()
    accepted, capture, cancel = ev.charge_capture_and_cancel()
    box.accept([signed(accepted), signed(cancel)])
    drain(reconciler)
    before = orders(store)

    def unparsed(*body: object) -> object:
        raise AssertionError(body)

    monkeypatch.setattr("order_lifecycle.webhooks._reconciler.read_event", unparsed)
    older_order = ev.event("evt-older", "order.accepted", accepted["data"]["object"], ev.at(1))
    box.accept([signed(older_order), signed(capture)])
    assert drain(reconciler) == 2
    rows = {row.event_id: row for row in store.list_deliveries(limit=100)}
    assert rows["evt-older"].status is DeliveryStatus.STALE
    assert (rows["evt-older"].reason or "").startswith("older than the snapshot the order holds")
    assert rows[capture["id"]].status is DeliveryStatus.STALE
    assert "holds a newer snapshot" in (rows[capture["id"]].reason or "")
    assert orders(store) == before
    assert event_ids(store)["evt-older"] == accepted["data"]["object"]["id"]


@st.composite
def _traffic(draw: st.DrawFn) -> list[SignedDelivery]:
    """A few orders' deliveries (the kit's lives, redelivered some) in one random order."""
    lives = [draw(order_lives(f"o{n}", max_moves=6)) for n in range(draw(st.integers(1, 3)))]
    return draw(st.permutations([d for life in lives for d in draw(shuffled_deliveries(life))]))


def _settled(deliveries: list[SignedDelivery]) -> tuple[Any, ...]:
    """One inbox and one reconciler over ``deliveries``: every order, id and status after."""
    store = MemoryStore()
    Inbox(store, secrets=[TEST_SECRET]).accept(deliveries)
    drain(Reconciler(store, clock=lambda: NOW, batch=2))
    return orders(store), dict(event_ids(store)), statuses(store)


@settings(max_examples=40)
@given(_traffic())
def test_asking_once_whether_the_order_holds_an_event_changes_no_outcome(
    deliveries: list[SignedDelivery],
) -> None:
    """Each delivery's duplicate check made once, or again while applying: the same outcomes."""
    once = _settled(deliveries)
    real = _reconcile.applied_to_copy

    def asked_again(order: Any, event: Any, *, unseen: bool) -> Any:  # noqa: ARG001
        return real(order, event)

    with mock.patch.object(_reconciler, "applied_to_copy", asked_again):
        twice = _settled(deliveries)
    assert once == twice


def test_each_delivery_asks_once_whether_its_order_holds_its_event() -> None:
    """A delivery read by its keys: its event id looked for in its order once, not twice."""
    box, reconciler, _, _ = setup()
    accepted, capture, cancel = ev.charge_capture_and_cancel()
    box.accept([signed(accepted)])
    drain(reconciler)
    asked: list[str] = []
    applies: list[str] = []
    real_check, real_apply = _reconcile.already_applied, Reconciler._apply

    def check(order: Any, event_id: str) -> bool:
        asked.append(event_id)
        return real_check(order, event_id)

    def apply(self: Reconciler, work: Any, read: Any, row: Any) -> Any:
        applies.append(read.id)
        return real_apply(self, work, read, row)

    with (
        mock.patch.object(_reconcile, "already_applied", check),
        mock.patch.object(_reconciler, "already_applied", check),
        mock.patch.object(Reconciler, "_apply", apply),
    ):
        box.accept([signed(capture), signed(cancel)])
        drain(reconciler)
    assert sorted(asked) == sorted(applies) == sorted([capture["id"], cancel["id"]])


def test_an_event_recorded_on_an_unchanged_order_hands_the_store_no_copy() -> None:
    """A stale delivery's change is the working order itself (the store copies what it keeps)."""
    box, reconciler, store, _ = setup()
    reviewing, blocked = ev.review_then_blocked()
    box.accept([signed(blocked)])
    drain(reconciler)
    groups: list[SettledGroup] = []
    settle = store.settle_deliveries

    def recorded(given: Sequence[SettledGroup]) -> list[GroupResult]:
        groups.extend(given)
        return settle(given)

    store.settle_deliveries = recorded  # type: ignore[method-assign,assignment]
    box.accept([signed(reviewing)])
    drain(reconciler)
    assert statuses(store)[reviewing["id"]] == "stale"
    [change] = [change for group in groups for change in group.changes]
    assert change.order is change.base
    change.order.history.clear()  # the store kept a copy: nothing it holds changes
    assert len(store.get_order(change.order.id).history) == 2


class _Collector:
    """The ``gc`` module as a reconciler sees it: on, and noting what lives when turned on."""

    def __init__(self, alive: Callable[[], list[object]]) -> None:
        self.alive = alive
        self.seen: list[list[object]] = []

    def isenabled(self) -> bool:
        return True

    def disable(self) -> None:
        pass

    def enable(self) -> None:
        self.seen.append(self.alive())


def test_a_claims_orders_are_freed_before_the_collector_is_on_again() -> None:
    """No order a claim read outlives the pause of the collector (no collection walks it)."""
    box, reconciler, store, _ = setup()
    reviewing, blocked = ev.review_then_blocked()
    box.accept([signed(reviewing)])
    drain(reconciler)
    box.accept([signed(blocked)])
    read: list[weakref.ref[Order]] = []
    claim_deliveries = store.claim_deliveries

    def claimed(**kwargs: Any) -> Claim:
        claim = claim_deliveries(**kwargs)
        read.extend(weakref.ref(order) for _, order in claim.known.values())
        return claim

    store.claim_deliveries = claimed  # type: ignore[method-assign]
    collector = _Collector(lambda: [order for ref in read if (order := ref()) is not None])
    with mock.patch.object(_reconciler, "gc", collector):
        assert reconciler.run_once() == 1
    assert read
    assert collector.seen == [[]]

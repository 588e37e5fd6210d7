from __future__ import annotations

import gc
import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from order_lifecycle import Delivery, Inbox, InvalidInput, Order, OrderState, Reconciler
from order_lifecycle.exceptions import DuplicateEvent, WrongType
from order_lifecycle.store import (
    ChangeOutcome,
    Claim,
    GroupResult,
    MemoryStore,
    SettledGroup,
    StoreError,
)
from order_lifecycle.testing import assert_order_invariants
from order_lifecycle.webhooks import DeliveryResult, DeliveryStatus, sign
from order_lifecycle.webhooks._reconciler import paused_gc

from . import webhook_events as ev
from .stored import event_ids, orders, seeded

SECRET = "whsec-test"  # noqa: S105 (a made-up test secret)
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)


def signed(payload: dict[str, Any], secret: str = SECRET, at: datetime = NOW) -> Delivery:
    """A delivery of ``payload`` signed as the provider would sign it at ``at``."""
    body = ev.raw(payload)
    return Delivery(body, sign(body, secret, at), received_at=NOW)


def inbox(store: MemoryStore | None = None) -> tuple[Inbox, MemoryStore]:
    store = MemoryStore() if store is None else store
    return Inbox(store, secrets=[SECRET], clock=lambda: NOW), store


def outcomes(results: list[DeliveryResult]) -> list[str]:
    return [str(r.outcome) for r in results]


def stored(store: MemoryStore, *statuses: str) -> list[Any]:
    """The inbox's deliveries in ``statuses`` (every status if none), oldest first."""
    return store.list_deliveries(statuses=list(statuses) or None, limit=10_000)


def test_a_life_goes_in_one_delivery_at_a_time() -> None:
    """Signed deliveries of a life are applied; the fulfilment event is stored as unknown."""
    box, store = inbox()
    results = box.receive([signed(p) for p in ev.accepted_fulfilled_complete()])
    assert outcomes(results) == ["applied", "unknown", "applied", "applied", "applied", "applied"]
    order = orders(store)["1005"]
    assert order.state is OrderState.COMPLETE
    assert_order_invariants(order)
    assert set(event_ids(store)) == {p["id"] for p in ev.accepted_fulfilled_complete()} - {
        "evt-1005-fulfilment"
    }
    (kept,) = stored(store, "unknown")
    assert kept.body == ev.raw(ev.accepted_fulfilled_complete()[1])
    assert (kept.event_id, kept.order_id) == ("evt-1005-fulfilment", "1005")
    assert "fulfillment.created" in (kept.reason or "")
    assert results[1].seq == kept.seq
    assert [r.status_code for r in results] == [200, 202, 200, 200, 200, 200]
    assert results[3].steps[0].dest is OrderState.FULFILLED
    assert (results[0].event_type, results[0].order_id) == ("order.accepted", "1005")


def test_every_hand_written_life_in_order_and_backwards() -> None:
    """Each life ends in the same state, fraud state and charges delivered in either order."""
    for name, life in ev.ALL_LIVES.items():
        forwards, backwards = MemoryStore(), MemoryStore()
        inbox(forwards)[0].receive([signed(p) for p in life()])
        results = inbox(backwards)[0].receive([signed(p) for p in reversed(life())])
        assert all(r.outcome is not DeliveryStatus.WAITING for r in results), name
        for order_id, order in orders(forwards).items():
            other = orders(backwards)[order_id]
            assert (order.state, order.fraud_state) == (other.state, other.fraud_state), name
            assert order.charges == other.charges, name
            assert order.items == other.items, name


def test_redeliveries_are_duplicates() -> None:
    """A redelivery, in the same batch or a later one, is a duplicate and changes nothing."""
    box, store = inbox()
    life = ev.review_then_blocked()
    first = box.receive([signed(life[0]), signed(life[0])])
    assert outcomes(first) == ["applied", "duplicate"]
    before = orders(store)
    again = box.receive([signed(life[0])])
    assert outcomes(again) == ["duplicate"]
    assert again[0].reason == "event 'evt-1004-review' was stored in the inbox already"
    assert [r.status_code for r in [*first, *again]] == [200, 200, 200]
    assert orders(store) == before


def test_stale_events_are_recorded_not_applied() -> None:
    """An older event after a newer one is stale; its id is recorded, so it is not seen twice."""
    box, store = inbox()
    life = ev.expired_wire_transfer()
    results = box.receive([signed(life[1])])
    results += box.receive([signed(life[0]), signed(life[0])])
    assert outcomes(results) == ["applied", "stale", "duplicate"]
    assert event_ids(store)["evt-1003-pending"] == "1003"
    assert orders(store)["1003"].state is OrderState.CANCELLED


def test_a_charge_event_before_its_order_waits_for_the_batch() -> None:
    """In one batch, a charge event before its order's first event is applied after it."""
    box, store = inbox()
    life = ev.charge_capture_and_cancel()
    results = box.receive([signed(life[1]), signed(life[0])])
    assert outcomes(results) == ["applied", "applied"]
    assert stored(store, "waiting") == []
    assert orders(store)["1007"].charges[0].captured == 30


def test_a_delivery_before_its_order_waits_in_the_inbox_then_applies() -> None:
    """An early charge event is stored and waits (202, never 409); its order's event applies it."""
    box, store = inbox()
    life = ev.charge_capture_and_cancel()
    (early,) = box.receive([signed(life[1])])
    assert (early.outcome, early.status_code) == (DeliveryStatus.WAITING, 202)
    assert "a charge event cannot create its order" in early.reason
    (waiting,) = stored(store, "waiting")
    assert (waiting.body, waiting.reason, waiting.attempts) == (ev.raw(life[1]), early.reason, 1)
    assert waiting.due_at == NOW + timedelta(seconds=1)
    assert event_ids(store) == {}
    assert outcomes(box.receive([signed(life[0])])) == ["applied"]
    assert store.get_delivery(waiting.seq).status is DeliveryStatus.APPLIED
    assert orders(store)["1007"].charges[0].captured == 30
    assert set(event_ids(store)) == {life[0]["id"], life[1]["id"]}


def test_conflicting_snapshots_leave_the_order_alone() -> None:
    """An accepted snapshot after blocked cannot apply: it waits, the order as it was."""
    box, store = inbox()
    blocked = ev.review_then_blocked()
    box.receive([signed(p) for p in blocked])
    before = orders(store)
    revived = ev.event(
        "evt-revived",
        "order.accepted",
        ev.order("1004", "accepted", transitions={"accepted": ev.at(900)}),
        ev.at(901),
    )
    (result,) = box.receive([signed(revived)])
    assert result.outcome is DeliveryStatus.WAITING
    assert result.reason == "no legal path leads from blocked to accepted with the snapshot's data"
    assert orders(store) == before
    assert stored(store, "waiting")[-1].body == ev.raw(revived)
    assert "evt-revived" not in event_ids(store)


@pytest.mark.parametrize(
    "delivery",
    [
        signed(ev.card_order_accepted()[0], "another-secret"),
        Delivery(ev.raw(ev.card_order_accepted()[0])),
        signed(ev.card_order_accepted()[0], at=NOW - timedelta(hours=1)),
    ],
)
def test_unsigned_deliveries_are_kept_as_summaries_only(delivery: Delivery) -> None:
    """A bad, missing or old signature: 401, a summary kept, nothing stored in the inbox."""
    box, store = inbox()
    (result,) = box.receive([delivery])
    assert (result.outcome, result.refusal, result.status_code) == (
        DeliveryStatus.INVALID,
        "signature",
        401,
    )
    assert "signature is not valid" in result.reason
    assert store.kept_deliveries()[0].raw == delivery.body[:256]
    assert store.kept_deliveries()[0].size == len(delivery.body)
    assert stored(store) == []
    assert orders(store) == {}
    assert event_ids(store) == {}


def test_a_signed_body_that_is_not_json_is_stored_invalid() -> None:
    """A signed body that is not JSON is stored as invalid (202), keyed by its digest, once."""
    body = b'{"id": "evt-1", "type": "order.acc'
    box, store = inbox()
    first, again = box.receive([signed_bytes(body), signed_bytes(body)])
    assert (first.outcome, first.status_code, first.event_id) == (DeliveryStatus.INVALID, 202, None)
    assert "the body is not JSON" in first.reason
    assert (again.outcome, again.status_code) == (DeliveryStatus.DUPLICATE, 200)
    (row,) = stored(store)
    assert (row.body, row.status, row.reason) == (body, DeliveryStatus.INVALID, first.reason)
    assert row.event_id == f"sha256:{hashlib.sha256(body).hexdigest()}"
    assert store.kept_deliveries() == []
    assert orders(store) == {}


def test_an_invalid_event_names_its_field_and_id() -> None:
    """A signed event with a wrong type in it is invalid; the reason names the field."""
    payload = ev.card_order_accepted()[0]
    payload["data"]["object"]["items"][0]["quantity"] = "two"
    box, store = inbox()
    (result,) = box.receive([signed(payload)])
    assert result.outcome is DeliveryStatus.INVALID
    assert "data.object.items[0]" in result.reason
    assert result.event_id == "evt-1001-accepted"
    assert stored(store, "invalid")[0].event_id == "evt-1001-accepted"


def test_an_event_id_stored_already_is_a_duplicate_whatever_its_body() -> None:
    """Another body under a stored order and event id is a duplicate; another order's, invalid."""
    box, store = inbox()
    box.receive([signed(ev.card_order_accepted()[0])])
    changed = ev.card_order_accepted()[0]
    changed["data"]["object"]["state"] = "cancelled"
    (again,) = box.receive([signed(changed)])
    assert (again.outcome, again.seq) == (DeliveryStatus.DUPLICATE, None)
    forged = ev.accepted_physical_and_digital()[0]
    forged["id"] = "evt-1001-accepted"
    (result,) = box.receive([signed(forged)])
    assert (result.outcome, result.order_id) == (DeliveryStatus.INVALID, "1002")
    assert "was recorded for order '1001'" in result.reason
    assert "1002" not in orders(store)
    assert [(r.order_id, r.status) for r in stored(store)] == [
        ("1001", DeliveryStatus.APPLIED),
        ("1002", DeliveryStatus.INVALID),
    ]


def test_an_event_id_applied_to_another_order_is_invalid() -> None:
    """An event id recorded for one order (by any path), delivered for another, is invalid."""
    box, store = inbox()
    store.create_order(Order.create("1001", "accepted", at=ev.T0), event_id="evt-1001-accepted")
    forged = ev.accepted_physical_and_digital()[0]
    forged["id"] = "evt-1001-accepted"
    (result,) = box.receive([signed(forged)])
    assert result.outcome is DeliveryStatus.INVALID
    assert result.reason == (
        "event 'evt-1001-accepted' was recorded for order '1001', but this delivery names "
        "order '1002'"
    )
    assert "1002" not in orders(store)
    assert stored(store, "invalid")[-1].order_id == "1002"


def test_a_missing_id_is_invalid() -> None:
    """A delivery without an event id cannot be deduplicated by it: stored invalid."""
    payload = ev.card_order_accepted()[0]
    del payload["id"]
    box, _ = inbox()
    (result,) = box.receive([signed(payload)])
    assert (result.outcome, result.event_id) == (DeliveryStatus.INVALID, None)
    assert "the event id is missing" in result.reason


def test_signatures_of_any_current_secret_pass() -> None:
    """While a secret rotates, deliveries signed with either are accepted."""
    store = MemoryStore()
    box = Inbox(store, secrets=["old-secret", SECRET], clock=lambda: NOW)
    results = box.receive(
        [signed(ev.card_order_accepted()[0], "old-secret"), signed(ev.expired_wire_transfer()[0])]
    )
    assert outcomes(results) == ["applied", "applied"]


def test_the_age_is_judged_at_reception() -> None:
    """A delivery queued for later is judged by when it arrived, or else by the clock."""
    body = ev.raw(ev.card_order_accepted()[0])
    header = sign(body, SECRET, NOW)
    later = NOW + timedelta(days=1)
    box = Inbox(MemoryStore(), secrets=[SECRET], clock=lambda: later)
    assert outcomes(box.receive([Delivery(body, header, received_at=NOW)])) == ["applied"]
    assert outcomes(box.receive([Delivery(body, header)])) == ["invalid"]


def test_verified_upstream_takes_raw_bytes_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """verified_upstream=True leaves signatures to a proxy, logged as a warning when built."""
    store = MemoryStore()
    with caplog.at_level(logging.WARNING, logger="order_lifecycle.webhooks"):
        box = Inbox(store, verified_upstream=True)
    (record,) = caplog.records
    assert record.name == "order_lifecycle.webhooks"
    assert record.levelno == logging.WARNING
    assert "verified_upstream=True: signatures are NOT checked" in record.getMessage()
    results = box.receive([ev.raw(p) for p in ev.card_order_accepted()])
    assert outcomes(results) == ["applied"]


@pytest.mark.parametrize("settings", [{}, {"secrets": None}, {"verified_upstream": False}])
def test_an_inbox_without_secrets_is_refused(settings: dict[str, Any]) -> None:
    """No secrets, and no explicit verified_upstream=True: refused, naming what to pass."""
    with pytest.raises(InvalidInput, match=r"verified_upstream=True") as refused:
        Inbox(MemoryStore(), **settings)
    assert "secrets=[...]" in str(refused.value)


def test_secrets_and_verified_upstream_together_are_refused() -> None:
    """Secrets and verified_upstream=True contradict each other: refused; a non-bool too."""
    with pytest.raises(InvalidInput, match="both secrets and verified_upstream=True"):
        Inbox(MemoryStore(), secrets=[SECRET], verified_upstream=True)
    with pytest.raises(WrongType, match=r"Inbox\.verified_upstream must be True or False"):
        Inbox(MemoryStore(), verified_upstream="yes")  # type: ignore[arg-type]


def test_orders_known_already_take_their_events() -> None:
    """A store seeded with an order from POST /orders applies its events to it."""
    order = Order.create("1001", "accepted", at=ev.T0)
    store = seeded([order])
    (result,) = inbox(store)[0].receive([signed(ev.card_order_accepted()[0])])
    assert result.outcome is DeliveryStatus.APPLIED
    assert result.reason == "snapshot applied; the order stays accepted"
    assert orders(store)["1001"].charges[0].id == "ch-1001"


def test_inbox_configuration_is_checked() -> None:
    """No secrets at all, a lone string, or a delivery not in bytes are refused early."""
    with pytest.raises(InvalidInput, match=r"Inbox\.secrets is empty"):
        Inbox(MemoryStore(), secrets=[])
    with pytest.raises(WrongType, match=r"Inbox\.secrets must be a list of secrets"):
        Inbox(MemoryStore(), secrets="whsec")
    with pytest.raises(WrongType, match=r"Delivery\.body must be the delivery's raw bytes"):
        Delivery("{}")
    with pytest.raises(WrongType, match=r"Delivery\.received_at must be an aware datetime"):
        Delivery(b"{}", received_at=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(WrongType, match=r"Delivery\.body"):
        Inbox(MemoryStore(), verified_upstream=True).receive(["{}"])  # type: ignore[list-item]
    with pytest.raises(WrongType, match=r"Inbox\.store must be a Store"):
        Inbox({}, verified_upstream=True)  # type: ignore[arg-type]


def test_the_memory_store_keeps_copies() -> None:
    """Changing an order read from the memory store changes nothing stored."""
    store = MemoryStore()
    inbox(store)[0].receive([signed(ev.card_order_accepted()[0])])
    order = store.get_order("1001")
    order.history.clear()
    assert len(store.get_order("1001").history) == 1
    assert store.order_of_event("evt-1001-accepted") == "1001"
    assert repr(store) == "<MemoryStore(num_orders=1, num_checkouts=0)>"


def test_the_memory_store_refuses_an_event_id_for_two_orders() -> None:
    """An event id applied to one order is refused for another; nothing stored."""
    store = MemoryStore()
    store.create_order(Order.create("a", at=ev.T0), event_id="evt-1")
    with pytest.raises(DuplicateEvent, match="already applied to order 'a'"):
        store.create_order(Order.create("b", at=ev.T0), event_id="evt-1")
    assert set(orders(store)) == {"a"}
    with pytest.raises(WrongType, match="order must be an Order"):
        store.create_order("a", event_id="evt-2")  # type: ignore[arg-type]


class FailingStore(MemoryStore):
    """A store whose settlements fail after the first, as a database that went away."""

    def __init__(self) -> None:
        super().__init__()
        self.settled = 0
        self.failing = True

    def settle_deliveries(self, groups: Sequence[SettledGroup]) -> list[GroupResult]:
        """Settle the first batch; fail from the second on, while ``failing``."""
        self.settled += 1
        if self.settled > 1 and self.failing:
            raise StoreError("the database went away")
        return super().settle_deliveries(groups)


def test_a_store_error_propagates_and_what_was_stored_stays() -> None:
    """A failed settlement raises; the delivery stays stored, and a later reconciler applies it."""
    store = FailingStore()
    box = Inbox(store, verified_upstream=True)
    pending, cancelled = (ev.raw(p) for p in ev.expired_wire_transfer())
    box.receive([pending])
    with pytest.raises(StoreError, match="went away"):
        box.receive([cancelled])
    assert store.get_order("1003").state is OrderState.PENDING_PAYMENT
    assert event_ids(store) == {"evt-1003-pending": "1003"}
    assert [row.status for row in stored(store)] == [DeliveryStatus.APPLIED, DeliveryStatus.PENDING]
    store.failing = False
    assert Reconciler(store).run_once() == 1
    assert store.get_order("1003").state is OrderState.CANCELLED


def test_results_say_what_was_read() -> None:
    """Every result names the event, its type and its order where they could be read."""
    box, store = inbox()
    unknown = ev.event("evt-x", "subscription.created", {"id": "sub-1", "planId": "p"}, ev.T0)
    results = box.receive([signed(unknown), signed(ev.card_order_accepted()[0])])
    assert [(r.event_id, r.event_type, r.order_id) for r in results] == [
        ("evt-x", "subscription.created", None),
        ("evt-1001-accepted", "order.accepted", "1001"),
    ]
    assert store.get_order("1001").id == "1001"


# --- hardening: configuration, bounded keeping, poison ------------------------------------------


@pytest.mark.parametrize(
    ("secrets", "error", "message"),
    [
        ([""], InvalidInput, "secret 0 is empty"),
        ([SECRET, "short"], InvalidInput, "secret 1 is 5 bytes long"),
        ([None], WrongType, "secret 0 must be a str or bytes"),
        (b"whsec-bytes", WrongType, "not one str or bytes"),
        (42, WrongType, "Inbox.secrets must be a list of secrets"),
    ],
)
def test_unusable_secrets_are_refused_when_the_inbox_is_built(
    secrets: object, error: type, message: str
) -> None:
    """An empty, short or non-text secret, or one bytes value, is refused: never fail open."""
    with pytest.raises(error, match=re.escape(message)):
        Inbox(MemoryStore(), secrets=secrets)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_age": 300}, "Inbox.max_age must be a timedelta"),
        ({"max_age": timedelta(seconds=-1)}, "Inbox.max_age must not be negative"),
        ({"max_body": 0}, "Inbox.max_body must be an int of 1 or more"),
        ({"max_body": 2.5}, "Inbox.max_body must be an int of 1 or more"),
        ({"clock": "now"}, "Inbox.clock must be a function"),
    ],
)
def test_wrong_settings_are_typed_errors(settings: dict[str, Any], message: str) -> None:
    """A max_age in seconds, a body limit of 0 or a clock that is not callable are refused."""
    with pytest.raises(InvalidInput, match=re.escape(message)):
        Inbox(MemoryStore(), secrets=[SECRET], **settings)


@pytest.mark.parametrize(
    ("deliveries", "message"),
    [
        (None, "deliveries must be a list of deliveries"),
        (b"{}", "deliveries must be a list of deliveries, not one"),
        ([b"{}", None], r"Delivery.body must be the delivery's raw bytes"),
    ],
)
def test_receive_refuses_what_is_not_a_batch(deliveries: object, message: str) -> None:
    """receive(None), one bytes value or a None in the batch is a WrongType; nothing done."""
    box, store = inbox()
    with pytest.raises(WrongType, match=re.escape(message)):
        box.receive(deliveries)  # type: ignore[arg-type]
    assert store.kept_deliveries() == []
    assert stored(store) == []


def test_a_delivery_signature_must_be_text() -> None:
    """A signature header that is not a str is refused when the Delivery is made."""
    with pytest.raises(WrongType, match=r"Delivery\.signature must be a str or None"):
        Delivery(b"{}", signature=b"t=1, x")  # type: ignore[arg-type]


def test_a_naive_clock_is_a_configuration_error_not_an_invalid_delivery() -> None:
    """A clock giving naive times raises WrongType; the delivery is not blamed or kept."""
    store = MemoryStore()
    box = Inbox(store, secrets=[SECRET], clock=datetime.now)
    body = ev.raw(ev.card_order_accepted()[0])
    with pytest.raises(WrongType, match=r"Inbox\.clock\(\) must be an aware datetime"):
        box.receive([Delivery(body, sign(body, SECRET, NOW))])
    assert store.kept_deliveries() == []
    assert stored(store) == []


def test_the_inbox_repr_hides_the_secrets() -> None:
    """repr(inbox) says how many secrets it has, never what they are."""
    box, _ = inbox()
    assert SECRET not in repr(box)
    assert "secrets=<1 secret>" in repr(box)


def test_forgeries_are_kept_as_summaries_and_counted() -> None:
    """A delivery failing its signature is kept as its first 256 bytes, size and digest."""
    box, store = inbox()
    body = b"x" * 10_000
    results = box.receive([Delivery(body, "t=1, forged"), Delivery(body)])
    assert outcomes(results) == ["invalid", "invalid"]
    [kept] = store.kept_deliveries()  # the second, the same bytes, counted as a redelivery
    assert (kept.raw, kept.size, kept.summary) == (body[:256], 10_000, True)
    assert kept.sha256 == hashlib.sha256(body).hexdigest()
    assert store.redeliveries_not_kept() == 1
    assert box.refused == {"signature": 2, "too_large": 0}


def test_a_body_over_max_body_is_refused_before_it_is_read() -> None:
    """A body over the limit is refused, 413 (not 2xx: it is not stored), a summary kept."""
    body = ev.raw(ev.card_order_accepted()[0])
    store = MemoryStore()
    box = Inbox(store, secrets=[SECRET], clock=lambda: NOW, max_body=len(body) - 1)
    (result,) = box.receive([Delivery(body, sign(body, SECRET, NOW))])
    assert (result.outcome, result.event_id) == (DeliveryStatus.INVALID, None)
    assert (result.refusal, result.status_code) == ("too_large", 413)
    assert stored(store) == []
    assert result.reason == (
        f"the body is {len(body)} bytes long, over the limit of {len(body) - 1}; not read"
    )
    assert orders(store) == {}
    assert (store.kept_deliveries()[0].size, store.kept_deliveries()[0].raw) == (
        len(body),
        body[:256],
    )
    assert box.refused == {"signature": 0, "too_large": 1}
    assert Inbox(MemoryStore(), verified_upstream=True).max_body == 2**20


def test_the_memory_store_caps_what_it_keeps() -> None:
    """Past max_kept_bytes the memory store counts deliveries instead of keeping them."""
    store = MemoryStore()
    store.max_kept_bytes = 1000
    box = Inbox(store, secrets=[SECRET], clock=lambda: NOW)
    forgeries = [Delivery(b"%d" % n + b"x" * 499, "t=1, forged") for n in range(10)]
    results = box.receive(forgeries)
    assert outcomes(results) == ["invalid"] * 10
    assert len(store.kept_deliveries()) == 2
    assert store.kept_bytes() <= 1000
    assert store.deliveries_not_kept() == 8
    store.max_kept_bytes = 0
    with pytest.raises(InvalidInput, match="max_kept_bytes must be an int of 1 or more"):
        box.receive(forgeries[:1])


def poisoned(event_id: str, order_id: str) -> Delivery:
    """A validly signed acceptance with the event id and order id given."""
    payload = ev.card_order_accepted()[0]
    payload["id"] = event_id
    payload["data"]["object"]["id"] = order_id
    return signed(payload)


POISON = [
    ("evt-\x00", "1001", "id: the event id contains NUL"),
    ("evt-\udc80", "1001", "id: the event id contains a lone surrogate"),
    ("evt-p", "10\x0001", "data.object.id: the order id contains NUL"),
    ("evt-p", "10\ud80001", "data.object.id: the order id contains a lone surrogate"),
]


@pytest.mark.parametrize(("event_id", "order_id", "why"), POISON)
def test_poison_ids_are_invalid_stored_and_the_batch_goes_on(
    event_id: str, order_id: str, why: str
) -> None:
    """An id no database can store is invalid, stored without it; the next delivery applies."""
    box, store = inbox()
    good = signed(ev.expired_wire_transfer()[0])
    results = box.receive([poisoned(event_id, order_id), good])
    assert outcomes(results) == ["invalid", "applied"]
    assert why in results[0].reason
    (row,) = stored(store, "invalid")
    assert row.event_id == "evt-p" or row.event_id.startswith("sha256:")
    assert row.order_id is None
    assert set(orders(store)) == {"1003"}
    assert set(event_ids(store)) == {"evt-1003-pending"}


class RefusingStore(MemoryStore):
    """A store that refuses to write one order id, as a database refuses what it cannot store."""

    def settle_deliveries(self, groups: Sequence[SettledGroup]) -> list[GroupResult]:
        """Refuse every change of order 1001 (writing nothing of it); settle the rest."""
        refused = GroupResult(ChangeOutcome.REFUSED, "order id 1001 cannot be stored here", 0)
        settle = super().settle_deliveries
        return [refused if g.order_id == "1001" and g.changes else settle([g])[0] for g in groups]


def test_a_delivery_the_store_refuses_is_invalid_and_the_batch_goes_on() -> None:
    """A change the store refuses makes its delivery invalid (poison), stored; others apply."""
    store = RefusingStore()
    box = Inbox(store, verified_upstream=True)
    first = ev.raw(ev.card_order_accepted()[0])
    results = box.receive([first, ev.raw(ev.expired_wire_transfer()[0])])
    assert outcomes(results) == ["invalid", "applied"]
    assert results[0].reason == "refused while reconciling: order id 1001 cannot be stored here"
    assert stored(store, "invalid")[0].body == first
    assert set(orders(store)) == {"1003"}


def test_amounts_overflowing_decimal_are_invalid() -> None:
    """Amounts whose sum overflows decimal (9e999999 twice) make the event invalid, kept."""
    [cancel] = [p for p in ev.charge_capture_and_cancel() if p["id"] == "evt-1007-cancel"]
    text = ev.raw(cancel).decode()
    for operation in ("captures", "cancels"):
        amount = cancel["data"]["object"][operation][0]["amount"]
        text = text.replace(f'"amount": {amount}', '"amount": 9e999999', 1)
    box, store = inbox()
    (result,) = box.receive([signed_bytes(text.encode())])
    assert result.outcome is DeliveryStatus.INVALID
    assert "must be less than 10^18 in size" in result.reason
    assert orders(store) == {}
    assert event_ids(store) == {}


def signed_bytes(body: bytes) -> Delivery:
    """A delivery of ``body`` signed now."""
    return Delivery(body, sign(body, SECRET, NOW), received_at=NOW)


class _Watching(MemoryStore):
    """A memory store that notes whether the garbage collector was on at each claim."""

    def __init__(self) -> None:
        super().__init__()
        self.collecting: list[bool] = []

    def claim_deliveries(
        self, *, limit: int = 100, now: datetime, only: Iterable[int] | None = None
    ) -> Claim:
        """The claim; notes the collector's state."""
        self.collecting.append(gc.isenabled())
        return super().claim_deliveries(limit=limit, now=now, only=only)


def test_a_batch_runs_with_the_cyclic_collector_paused() -> None:
    """A reconciler turns the cyclic GC off for its batch and on again after it, even on errors."""
    store = _Watching()
    box = Inbox(store, secrets=[SECRET], clock=lambda: NOW)
    assert gc.isenabled()
    box.receive([signed(p) for p in ev.accepted_fulfilled_complete()])
    assert store.collecting == [False]
    assert gc.isenabled()
    with pytest.raises(WrongType):
        box.receive([object()])  # type: ignore[list-item]
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off() -> None:
    """A caller's gc.disable() outlives a batch; nested pauses turn it on only once."""
    store = _Watching()
    box = Inbox(store, secrets=[SECRET], clock=lambda: NOW)
    gc.disable()
    try:
        box.receive([signed(ev.accepted_fulfilled_complete()[0])])
        assert not gc.isenabled()
    finally:
        gc.enable()
    with paused_gc():
        box.receive([signed(ev.accepted_fulfilled_complete()[2])])
        assert not gc.isenabled()
    assert gc.isenabled()
    assert store.collecting == [False, False]


def test_a_pause_lasts_no_longer_than_the_batch_that_began_it() -> None:
    """Overlapping batches (threads): the first one's end turns the collector on again."""
    first, second = paused_gc(), paused_gc()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_inline_an_old_delivery_for_an_unknown_order_waits() -> None:
    """Inline, no order is given up on: a replayed log's early charge event waits."""
    store = MemoryStore()
    box = Inbox(store, secrets=[SECRET], clock=lambda: NOW + timedelta(days=30))
    (result,) = box.receive([signed(ev.charge_capture_and_cancel()[1])])  # received at NOW
    assert result.outcome is DeliveryStatus.WAITING

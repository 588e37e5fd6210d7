"""Property tests of webhook ingestion: order independence, hostile input, a stateful inbox.

What order independence means here, precisely. For the events of any valid life of an
order (``testing.order_lives``), delivered in any order with any duplicates, the inbox
ends with the same ``state``, ``fraud_state``, items and charges (compared by id) as when
they are delivered in order, also across dispute cycles: an order snapshot older than the
one the order holds is stale, so a dispute delivered after its own resolution, or after
anything later, does not reopen it, and the state is always the one of the newest order
snapshot. What may differ is the history: steps the in-order run saw announced may be
implied, and a dispute cycle over before a newer snapshot arrived is missing from it (and
from ``state_transitions``). A charge event delivered before anything made its order known
waits in the inbox: within one batch it applies after its order's first event (an order's
deliveries apply in createdTime order), across batches when a newer delivery of its order
arrives, or when a reconciler tries it again after its backoff.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import event as note
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from order_lifecycle import Delivery, Inbox, InvalidSignature, Order, OrderState, Reconciler
from order_lifecycle.sandbox.shapes import VERSION as SHAPES_VERSION
from order_lifecycle.store import MemoryStore
from order_lifecycle.testing import (
    OrderLife,
    assert_order_invariants,
    order_lives,
    signed_delivery,
)
from order_lifecycle.webhooks import DeliveryResult, DeliveryStatus, sign, verify_signature
from order_lifecycle.webhooks._envelope import read_envelope

from . import webhook_events as ev
from .hostile import hostile_bodies
from .stored import event_ids, orders, seeded

SECRET = "whsec-props"  # noqa: S105 (a made-up test secret)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


def run(
    life: OrderLife, events: list[dict[str, Any]], *, batched: bool, known: bool
) -> tuple[Order, list[DeliveryResult]]:
    """Deliver ``events``: one batch, or one at a time then the waiting tried once due.

    The results say where each delivery ends: a waiting one tried again, its last status.
    """
    store = seeded([life.as_created()] if known else [])
    inbox = Inbox(store, verified_upstream=True)
    bodies = [ev.raw(e) for e in events]
    if batched:
        results = inbox.receive(bodies)
    else:
        results = [r for body in bodies for r in inbox.receive([body])]
        later = Reconciler(store, clock=lambda: datetime.now(UTC) + timedelta(days=1))
        while later.run_once():
            pass
        results = [
            r if r.seq is None else attrs.evolve(r, outcome=store.get_delivery(r.seq).status)
            for r in results
        ]
    order = store.get_order(life.order_id)
    assert order is not None
    assert_order_invariants(order)
    return order, results


def the_same(one: Order, other: Order) -> None:
    assert one.state is other.state
    assert one.fraud_state is other.fraud_state
    assert {c.id: c for c in one.charges} == {c.id: c for c in other.charges}
    assert {i.id: i for i in one.items} == {i.id: i for i in other.items}


@given(order_lives(), st.data())
def test_any_order_and_duplicates_end_alike(life: OrderLife, data: st.DataObject) -> None:
    """Any permutation of a life's events, with duplicates, ends as the events in order do."""
    known = data.draw(st.booleans(), label="known from POST /orders")
    in_order, results = run(life, life.events, batched=True, known=known)
    assert all(r.outcome is DeliveryStatus.APPLIED for r in results)
    assert in_order.state is life.final_state
    duplicates = data.draw(st.lists(st.sampled_from(life.events), max_size=4))
    shuffled = data.draw(st.permutations(life.events + duplicates), label="delivered")
    batched = data.draw(st.booleans(), label="one batch")
    other, results = run(life, shuffled, batched=batched, known=known)
    the_same(in_order, other)
    assert DeliveryStatus.WAITING not in {r.outcome for r in results}


def hand_written(events: list[dict[str, Any]]) -> OrderLife:
    """A hand-written life (``webhook_events``) as ``order_lives`` gives one."""
    obj = events[-1]["data"]["object"]
    deliveries = tuple(
        signed_delivery(ev.raw(e), at=datetime.fromisoformat(e["createdTime"])) for e in events
    )
    return OrderLife(obj["id"], OrderState(obj["state"]), SHAPES_VERSION, deliveries, obj)


@given(order_lives(), st.booleans(), st.integers(1, 30))
@example(  # a second dispute, missed: the snapshot lists no new one (first entries only)
    life=hand_written(ev.disputed_twice_back_to_accepted()), known=False, prefix=4
).via("the snapshot past a missed second dispute once judged stale")
def test_a_newer_snapshot_after_any_first_events_ends_as_all_do(
    life: OrderLife, known: bool, prefix: int
) -> None:
    """Any first events of a life, then its last snapshot, end as all the events and it do."""
    last = datetime.fromisoformat(life.events[-1]["createdTime"])
    newest = ev.event("evt-newest", "order.updated", life.snapshot, last + timedelta(seconds=1))
    in_order, _ = run(life, [*life.events, newest], batched=True, known=known)
    first = life.events[: min(prefix, len(life.events))]
    other, results = run(life, [*first, newest], batched=True, known=known)
    assert results[-1].outcome is DeliveryStatus.APPLIED
    assert (other.state, other.fraud_state) == (in_order.state, in_order.fraud_state)
    assert {i.id: i for i in other.items} == {i.id: i for i in in_order.items}


@given(order_lives())
def test_a_dispute_after_its_resolution_stays_closed(life: OrderLife) -> None:
    """A resolved dispute's event, delivered again under a new id at the end, is stale."""
    in_order, _ = run(life, life.events, batched=True, known=False)
    types = [e["type"] for e in life.events]
    for index, event in enumerate(life.events):
        if event["type"] != "order.dispute" or "order.dispute.resolved" not in types[index:]:
            continue
        again = {**event, "id": f"{event['id']}-again"}  # a new id: not a duplicate
        # One at a time: it comes after the resolution applied (a batch applies by createdTime).
        after, results = run(life, [*life.events, again], batched=False, known=False)
        assert results[-1].outcome is DeliveryStatus.STALE
        the_same(in_order, after)


@given(st.binary(max_size=300), st.text(max_size=80))
def test_random_bytes_and_headers_only_fail_the_signature(body: bytes, header: str) -> None:
    """Random bodies and headers raise nothing but InvalidSignature."""
    with contextlib.suppress(InvalidSignature):
        verify_signature(header, body, [SECRET], NOW, timedelta(minutes=5))


@given(st.one_of(st.binary(max_size=300), JSON.map(lambda v: ev.raw({"v": v})[6:-1])))
def test_random_signed_bodies_are_invalid_or_unknown(body: bytes) -> None:
    """Random bytes or JSON, even correctly signed, come out invalid or unknown, stored."""
    store = MemoryStore()
    inbox = Inbox(store, secrets=[SECRET], clock=lambda: NOW)
    (result,) = inbox.receive([Delivery(body, sign(body, SECRET, NOW))])
    assert result.outcome in {DeliveryStatus.INVALID, DeliveryStatus.UNKNOWN}
    assert store.list_deliveries()[0].body == body
    assert orders(store) == {}


@given(st.lists(hostile_bodies(), min_size=1, max_size=4), st.booleans())
def test_hostile_deliveries_get_one_outcome_each(bodies: list[bytes], known: bool) -> None:
    """Signed hostile bodies: one outcome each, nothing raised, nothing stored when invalid."""
    store = MemoryStore()
    inbox = Inbox(store, secrets=[SECRET], clock=lambda: NOW)
    if known:  # the fixtures' orders known from their first events, so events may apply
        inbox.receive([Delivery(ev.raw(p), sign(ev.raw(p), SECRET, NOW)) for p in _FIRSTS])
    for body in bodies:
        before = orders(store)
        (result,) = inbox.receive([Delivery(body, sign(body, SECRET, NOW))])
        assert result.reason
        if result.outcome is DeliveryStatus.INVALID:
            assert orders(store) == before
            assert result.seq is not None
            assert store.get_delivery(result.seq).body == body
        for order in orders(store).values():
            assert_order_invariants(order)


_FIRSTS = [life()[0] for life in ev.ALL_LIVES.values()]
_UNCHANGING = {
    DeliveryStatus.DUPLICATE,
    DeliveryStatus.STALE,
    DeliveryStatus.WAITING,
    DeliveryStatus.UNKNOWN,
    DeliveryStatus.INVALID,
}


class InboxDeliveries(RuleBasedStateMachine):
    """Valid events of a few orders, redeliveries, forgeries and junk, into one inbox."""

    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        self.inbox = Inbox(self.store, secrets=[SECRET], clock=lambda: NOW)
        self.events: list[dict[str, Any]] = []
        self.delivered = 0
        self.outcomes = 0
        self.refused = 0
        self.keys: set[tuple[str | None, str]] = set()  # (order id, event id): the inbox's key

    @initialize(data=st.data(), count=st.integers(1, 3))
    def lives(self, data: st.DataObject, count: int) -> None:
        """The provider lives some orders; their events wait to be delivered."""
        for n in range(count):
            life = data.draw(order_lives(order_id=f"o{n}", max_moves=8))
            self.events += life.events

    def signed(self, payload: dict[str, Any]) -> Delivery:
        """A delivery of ``payload`` signed with the inbox's secret."""
        body = ev.raw(payload)
        return Delivery(body, sign(body, SECRET, NOW))

    def junk(self, data: st.DataObject) -> Delivery:  # noqa: PLR0911 (one return per kind)
        """A delivery that should not apply: unsigned, forged, malformed, unknown, contrary."""
        payload = dict(data.draw(st.sampled_from(self.events)))
        kind = data.draw(
            st.sampled_from(
                ["unsigned", "forged", "truncated", "bytes", "unknown", "other-order", "contrary"]
            )
        )
        if kind == "unsigned":
            return Delivery(ev.raw(payload))
        if kind == "forged":
            body = ev.raw(payload)
            return Delivery(body, sign(body, "not-the-secret", NOW))
        if kind == "truncated":
            body = ev.raw(payload)[: data.draw(st.integers(0, 40))]
            return Delivery(body, sign(body, SECRET, NOW))
        if kind == "bytes":
            body = data.draw(st.binary(max_size=60))
            return Delivery(body, sign(body, SECRET, NOW))
        if kind == "unknown":
            payload["type"] = "order.teleported"
            return self.signed(payload)
        if kind == "other-order":
            obj = dict(payload["data"]["object"])
            key = "orderId" if "orderId" in obj else "id"
            obj[key] = "o-elsewhere"
            return self.signed({**payload, "data": {"object": obj}})
        state = data.draw(st.sampled_from([str(s) for s in OrderState]))
        obj = ev.order(
            str(payload["data"]["object"].get("orderId") or payload["data"]["object"]["id"]),
            state,
            transitions={state: ev.at(data.draw(st.integers(0, 10**6)))},
        )
        moment = ev.at(data.draw(st.integers(0, 10**6)))
        contrary = ev.event(
            f"evt-contrary-{data.draw(st.integers(0, 99))}", "order.updated", obj, moment
        )
        return self.signed(contrary)

    def deliver(self, batch: list[Delivery]) -> list[DeliveryResult]:
        """Deliver a batch and check each result against the store."""
        results = self.inbox.receive(batch)
        assert len(results) == len(batch), "every delivery gets exactly one result"
        self.delivered += len(batch)
        self.outcomes += len(results)
        self.refused += sum(r.refusal is not None for r in results)
        envelopes = [
            read_envelope(d.body) for d, r in zip(batch, results, strict=True) if not r.refusal
        ]
        self.keys |= {(order_id, key) for key, _, order_id, _, _ in envelopes}
        for result in results:
            note(f"outcome: {result.outcome}")  # --hypothesis-show-statistics shows the mix
            assert result.reason
            if result.outcome in {DeliveryStatus.APPLIED, DeliveryStatus.STALE}:
                assert self.store.order_of_event(str(result.event_id)) == result.order_id
        return results

    @rule(data=st.data())
    def deliver_one(self, data: st.DataObject) -> None:
        """One delivery, valid or not; whatever does not apply changes no order."""
        if data.draw(st.booleans()):
            delivery = self.signed(data.draw(st.sampled_from(self.events)))
        else:
            delivery = self.junk(data)
        before = orders(self.store)
        (result,) = self.deliver([delivery])
        if result.outcome in _UNCHANGING:
            assert orders(self.store) == before, f"{result.outcome} changed an order"

    @rule(data=st.data())
    def deliver_a_batch(self, data: st.DataObject) -> None:
        """A batch of valid deliveries and junk, with redeliveries."""
        batch = [
            self.signed(data.draw(st.sampled_from(self.events)))
            if data.draw(st.integers(0, 3))
            else self.junk(data)
            for _ in range(data.draw(st.integers(1, 6)))
        ]
        self.deliver(batch)

    @invariant()
    def orders_keep_their_promises(self) -> None:
        """History replays, finals absorb, nothing after acceptance before it, and so on."""
        for order in orders(self.store).values():
            assert_order_invariants(order)

    @invariant()
    def nothing_is_dropped(self) -> None:
        """One result per delivery; every signed one stored once, every refused one summed up."""
        assert self.outcomes == self.delivered
        stored = self.store.list_deliveries(limit=10_000)
        assert {(row.order_id, row.event_id) for row in stored} == self.keys
        assert len(stored) == len(self.keys)
        kept = self.store.kept_deliveries()
        assert len(kept) + self.store.redeliveries_not_kept() == self.refused
        assert len({(k.sha256, k.summary) for k in kept}) == len(kept)  # none kept twice
        assert set(event_ids(self.store).values()) <= set(orders(self.store))


TestInboxDeliveries = InboxDeliveries.TestCase
# Each step delivers up to six events through the whole stack. With 20 steps, each of the
# six outcomes still shows in 30-97% of the runs (--hypothesis-show-statistics), in seconds;
# 150 runs of 20 steps (about 9 s in CI) keep the suite within its 5 minutes on 2 cores.
TestInboxDeliveries.settings = settings(max_examples=150, stateful_step_count=20)

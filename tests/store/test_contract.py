"""The store contract, run against every store: memory, a SQLite file, PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from order_lifecycle import (
    Charge,
    ChargeState,
    CheckoutState,
    Inbox,
    InvalidInput,
    Item,
    Order,
    OrderEvent,
    OrderState,
    TransitionNotAllowed,
    fire,
)
from order_lifecycle.checkout import InDoubt, OrderCreated
from order_lifecycle.exceptions import (
    CheckoutAlreadyConsumed,
    InvalidHistory,
    InvalidResponse,
    SubmissionInProgress,
    UnknownCheckout,
    WrongType,
)
from order_lifecycle.lifecycle import ORDER_SPEC, Step
from order_lifecycle.store import (
    DeliveryToKeep,
    DuplicateEvent,
    KeptDelivery,
    OrderExists,
    StaleOrder,
    Store,
    UnknownOrder,
    open_store,
)
from order_lifecycle.testing import assert_order_invariants, assert_submission_invariants
from order_lifecycle.webhooks._webhook_store import BatchStore

from .conftest import REAL_BACKENDS, UrlMaker

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new_order(order_id: str = "o-1", state: OrderState = OrderState.ACCEPTED) -> Order:
    return Order.create(
        order_id,
        state,
        at=T0,
        checkout_id=f"chk-{order_id}",
        items=[Item("widget", 2, physical=True), Item("manual", 1, physical=False)],
        charges=[Charge("ch-1", ChargeState.CAPTURABLE, Decimal("49.90"))],
    )


def dispute_and_resolve(order: Order) -> int:
    """A change that is always legal from accepted: a dispute, resolved."""
    fire(order, OrderEvent.DISPUTE, at=T0)
    fire(order, OrderEvent.RESOLVE_DISPUTE, at=T0)
    return len(order.history)


# --- orders ---------------------------------------------------------------------------------


def test_create_and_get(store: Store) -> None:
    """A stored order reads back equal, as a copy that changes nothing stored."""
    order = new_order()
    store.create_order(order)
    got = store.get_order("o-1")
    assert got == order
    assert got is not order
    got.history.clear()
    got.items = ()
    assert store.get_order("o-1") == order
    assert store.order_ids() == ["o-1"]
    assert store.applied_event_ids("o-1") == frozenset()


def test_create_refuses_what_it_cannot_store(store: Store) -> None:
    """A second order with the same id, a non-order, an illegal history: refused, nothing kept."""
    store.create_order(new_order(), event_id="evt-1")
    with pytest.raises(OrderExists, match="'o-1' is already stored"):
        store.create_order(new_order(), event_id="evt-2")
    with pytest.raises(DuplicateEvent, match="'evt-1' was already applied to order 'o-1'"):
        store.create_order(new_order("o-2"), event_id="evt-1")
    with pytest.raises(WrongType):
        store.create_order("o-3")  # type: ignore[arg-type]
    illegal = new_order("o-4")
    illegal.history.append(Step(OrderEvent.FULFIL, OrderState.IN_REVIEW, OrderState.ACCEPTED, T0))
    with pytest.raises(InvalidHistory):
        store.create_order(illegal)
    assert store.order_ids() == ["o-1"]
    assert store.applied_event_ids("o-1") == {"evt-1"}


def test_unknown_orders(store: Store) -> None:
    """Reading or updating an order never stored is refused."""
    with pytest.raises(UnknownOrder, match="Unknown order 'nope'"):
        store.get_order("nope")
    with pytest.raises(UnknownOrder):
        store.update_order("nope", dispute_and_resolve)
    with pytest.raises(UnknownOrder):
        store.applied_event_ids("nope")
    with pytest.raises(WrongType, match="order_id must be a non-empty str"):
        store.get_order("")


def test_update_commits_the_change_and_returns_its_result(store: Store) -> None:
    """The state, items, charges and new history steps commit together; the result returns."""
    store.create_order(new_order())

    def fulfil(order: Order) -> Step[OrderState, OrderEvent]:
        order.items = tuple(attrs.evolve(i, fulfilled=i.quantity) for i in order.items)
        order.charges = (Charge("ch-1", ChargeState.COMPLETE, Decimal("49.90")),)
        return fire(order, OrderEvent.FULFIL, at=T0 + timedelta(hours=1), event_id="evt-f")

    step = store.update_order("o-1", fulfil, event_id="evt-f")
    assert step.dest is OrderState.FULFILLED
    stored = store.get_order("o-1")
    assert stored.state is OrderState.FULFILLED
    assert [i.fulfilled for i in stored.items] == [2, 1]
    assert stored.charges[0].state is ChargeState.COMPLETE
    assert stored.history[-1] == step
    assert_order_invariants(stored)
    assert store.applied_event_ids("o-1") == {"evt-f"}


def test_a_failing_change_commits_nothing(store: Store) -> None:
    """A change that raises (here a refused event, after editing items) leaves no trace."""
    store.create_order(new_order())
    before = store.get_order("o-1")

    def refused(order: Order) -> None:
        order.items = ()
        fire(order, OrderEvent.COMPLETE)

    with pytest.raises(TransitionNotAllowed):
        store.update_order("o-1", refused, event_id="evt-1")
    assert store.get_order("o-1") == before
    assert store.applied_event_ids("o-1") == frozenset()
    store.update_order("o-1", dispute_and_resolve, event_id="evt-1")  # the id is still free


def test_a_duplicate_event_is_a_no_op(store: Store) -> None:
    """An event id applied before raises DuplicateEvent; the change does not even run."""
    store.create_order(new_order())
    store.create_order(new_order("o-2"))
    assert store.update_order("o-1", dispute_and_resolve, event_id="evt-1") == 3
    ran: list[str] = []

    def spy(order: Order) -> None:
        ran.append(order.id)

    with pytest.raises(DuplicateEvent) as duplicate:
        store.update_order("o-1", spy, event_id="evt-1")
    assert (duplicate.value.event_id, duplicate.value.order_id) == ("evt-1", "o-1")
    with pytest.raises(DuplicateEvent):
        store.update_order("o-2", spy, event_id="evt-1")
    assert ran == []
    assert len(store.get_order("o-1").history) == 3
    assert store.applied_event_ids("o-2") == frozenset()


def test_an_event_without_changes_is_still_recorded(store: Store) -> None:
    """A change that changes nothing (a stale event) still records its event id."""
    store.create_order(new_order())
    assert store.update_order("o-1", lambda order: order.state, event_id="evt-stale") == "accepted"
    assert store.applied_event_ids("o-1") == {"evt-stale"}
    with pytest.raises(DuplicateEvent):
        store.update_order("o-1", dispute_and_resolve, event_id="evt-stale")


def test_updates_may_only_append_legal_steps(store: Store) -> None:
    """Rewriting history, changing the id, or an illegal or inconsistent step is refused."""
    store.create_order(new_order())
    before = store.get_order("o-1")

    def rewrite(order: Order) -> None:
        first = order.history[0]
        order.history[0] = Step(first.event, first.source, first.dest, T0 - timedelta(days=1))

    def rename(order: Order) -> None:
        order.id = "o-2"

    def illegal_step(order: Order) -> None:
        order.history.append(Step(OrderEvent.BLOCK, OrderState.ACCEPTED, OrderState.BLOCKED, T0))
        order.state = OrderState.BLOCKED

    def state_without_step(order: Order) -> None:
        order.state = OrderState.FULFILLED

    for change, message in [
        (rewrite, "rewrote its stored history"),
        (rename, "changed its id"),
        (illegal_step, "which the table does not allow from accepted"),
        (state_without_step, "left order 'o-1' in fulfilled, but its history in accepted"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            store.update_order("o-1", change, event_id="evt-1")
    assert store.get_order("o-1") == before
    assert store.applied_event_ids("o-1") == frozenset()


def test_a_lost_race_raises_stale_order(store: Store) -> None:
    """An update that another update overtook between its read and its write writes nothing."""
    store.create_order(new_order())

    def overtaken(order: Order) -> None:
        store.update_order("o-1", dispute_and_resolve, event_id="evt-fast")
        dispute_and_resolve(order)

    with pytest.raises(StaleOrder, match="changed after this update read it"):
        store.update_order("o-1", overtaken, event_id="evt-slow")
    assert len(store.get_order("o-1").history) == 3
    assert store.applied_event_ids("o-1") == {"evt-fast"}


def test_the_retry_helper_reloads_and_reapplies(store: Store) -> None:
    """update_order_retrying re-runs the change on the new version; nothing is lost."""
    store.create_order(new_order())
    overtake = [True]
    seen: list[int] = []

    def change(order: Order) -> int:
        seen.append(len(order.history))
        if overtake.pop() if overtake else False:
            store.update_order("o-1", dispute_and_resolve)
        return dispute_and_resolve(order)

    assert store.update_order_retrying("o-1", change, event_id="evt-1") == 5
    assert seen == [1, 3]
    assert store.applied_event_ids("o-1") == {"evt-1"}

    def always_overtaken(order: Order) -> None:
        store.update_order("o-1", dispute_and_resolve)
        dispute_and_resolve(order)

    with pytest.raises(StaleOrder):
        store.update_order_retrying("o-1", always_overtaken, attempts=2)
    assert len(store.get_order("o-1").history) == 9
    with pytest.raises(InvalidInput, match="attempts must be an int of 1 or more, got 0"):
        store.update_order_retrying("o-1", dispute_and_resolve, attempts=0)


# --- checkouts: the store is a checkout ledger --------------------------------------------------

CREATED = json.dumps(
    {
        "id": "o-9",
        "state": "accepted",
        "checkoutId": "chk-9",
        "items": [{"id": "widget", "quantity": 1, "productDetails": {"physical": True}}],
    }
)


def test_a_201_stores_the_order_with_the_consumed_checkout(store: Store) -> None:
    """Recording a 201 consumes the checkout and stores its order in one transaction."""
    assert store.begin_submission("chk-9", at=T0) == {"checkoutId": "chk-9"}
    assert "chk-9" in store
    with pytest.raises(SubmissionInProgress):
        store.begin_submission("chk-9")
    outcome = store.record_response("chk-9", 201, CREATED, at=T0)
    assert isinstance(outcome, OrderCreated)
    checkout = store.get_checkout("chk-9")
    assert (checkout.state, checkout.order_id) == (CheckoutState.CONSUMED, "o-9")
    assert_submission_invariants(checkout)
    assert store.get_order("o-9") == outcome.order
    assert store.checkout_ids() == ["chk-9"]
    with pytest.raises(CheckoutAlreadyConsumed):
        store.begin_submission("chk-9")


def test_an_order_already_stored_is_kept(store: Store) -> None:
    """A webhook may store the order before the 201 is recorded: the stored one stays."""
    store.begin_submission("chk-9", at=T0)
    early = new_order("o-9")
    store.create_order(early)
    store.update_order("o-9", dispute_and_resolve)
    store.record_response("chk-9", 201, CREATED, at=T0)
    assert store.get_checkout("chk-9").state is CheckoutState.CONSUMED
    assert len(store.get_order("o-9").history) == 3


def test_settling_stores_the_order_found(store: Store) -> None:
    """A doubt settled with the order a lookup found stores that order too."""
    store.begin_submission("chk-1", at=T0)
    assert isinstance(store.record_no_response("chk-1", at=T0), InDoubt)
    found = new_order("o-found")
    found.checkout_id = "chk-1"
    store.settle("chk-1", found, at=T0)
    assert store.get_checkout("chk-1").order_id == "o-found"
    assert store.get_order("o-found") == found
    store.begin_submission("chk-2", at=T0)
    store.record_no_response("chk-2", at=T0)
    store.settle("chk-2", None, at=T0)
    assert store.get_checkout("chk-2").state is CheckoutState.OPEN
    assert store.order_ids() == ["o-found"]


def test_invalid_response_commits_the_doubt(store: Store) -> None:
    """An InvalidResponse commits the move to in doubt and the raw bytes, then raises."""
    store.begin_submission("chk-1", at=T0)
    with pytest.raises(InvalidResponse):
        store.record_response("chk-1", 201, b"\xffCreated", at=T0)
    checkout = store.get_checkout("chk-1")
    assert checkout.state is CheckoutState.IN_DOUBT
    assert checkout.attempts[-1].body == b"\xffCreated"
    assert store.order_ids() == []


def test_refused_checkout_calls_commit_nothing(store: Store) -> None:
    """Unknown checkouts and refused steps change nothing."""
    with pytest.raises(UnknownCheckout):
        store.get_checkout("nope")
    with pytest.raises(UnknownCheckout):
        store.record_no_response("nope")
    assert "nope" not in store
    store.begin_submission("chk-1", at=T0)
    before = store.get_checkout("chk-1")
    with pytest.raises(TransitionNotAllowed):
        store.settle("chk-1", Order.create("o-1", at=T0))
    assert store.get_checkout("chk-1") == before
    assert store.order_ids() == []


# --- one contract ------------------------------------------------------------------------------


def test_the_inbox_needs_of_a_store_are_declared_once(store: Store) -> None:
    """Store implements the inbox's BatchStore, declared only there; the inbox takes it as is."""
    assert issubclass(Store, BatchStore)
    assert isinstance(store, BatchStore)
    for name in ("read_orders", "events_applied", "commit_changes"):
        assert name not in vars(Store), f"Store redeclares {name}"
        assert getattr(BatchStore, name).__isabstractmethod__
    assert Inbox(store, verified_upstream=True).store is store


# --- deliveries, checking, persistence ---------------------------------------------------------


def test_kept_deliveries(store: Store) -> None:
    """Deliveries are kept byte for byte, with the reason and what could be read, in order."""
    first = store.keep_delivery(b"\x00\xff{not json", "invalid: not JSON", at=T0)
    second = store.keep_delivery(
        bytearray(b'{"id": "evt-1"}'), "conflict", event_id="evt-1", order_id="o-1"
    )
    assert first == KeptDelivery(1, b"\x00\xff{not json", "invalid: not JSON", T0)
    assert second is not None
    assert (second.id, second.raw, second.event_id, second.order_id) == (
        2,
        b'{"id": "evt-1"}',
        "evt-1",
        "o-1",
    )
    assert store.kept_deliveries() == [first, second]
    assert repr(first) == "<KeptDelivery(id=1, reason='invalid: not JSON', num_bytes=11)>"
    with pytest.raises(WrongType):
        store.keep_delivery("text", "invalid")  # type: ignore[arg-type]
    with pytest.raises(WrongType):
        store.keep_delivery(b"", "")


def test_a_redelivered_delivery_is_not_kept_again(store: Store) -> None:
    """The same bytes kept again (alone, as a summary, in a batch) are counted, not kept."""
    first = store.keep_delivery(b"conflicting", "conflict", event_id="evt-1", at=T0)
    later = T0 + timedelta(minutes=5)
    assert store.keep_delivery(b"conflicting", "conflict again", at=later) == first
    assert store.keep_delivery(b"conflicting", "forged", summary=True) == first
    charged = store.kept_bytes()
    store.commit_changes([], [DeliveryToKeep(b"conflicting", "in a batch")])
    other = store.keep_delivery(b"conflicting!", "conflict", at=T0)
    assert store.kept_deliveries() == [first, other]
    assert store.redeliveries_not_kept() == 3
    assert store.deliveries_not_kept() == 0
    assert store.kept_bytes() > charged  # only the other delivery was charged


def test_a_summary_stands_for_summaries_only(store: Store) -> None:
    """A summary (a forgery) stands for its redelivered summaries; the whole is kept once."""
    body = b"x" * 1000
    summary = store.keep_delivery(body, "forged", summary=True, at=T0)
    assert summary is not None
    assert summary.summary
    assert store.keep_delivery(body, "forged again", summary=True) == summary
    store.commit_changes([], [DeliveryToKeep(body, "invalid"), DeliveryToKeep(body, "again")])
    [first, whole] = store.kept_deliveries()
    assert first == summary
    assert (whole.raw, whole.reason, whole.summary) == (body, "invalid", False)
    assert store.keep_delivery(body, "forged", summary=True) == whole
    assert store.redeliveries_not_kept() == 3


def test_check_finds_histories_a_new_table_forbids(store: Store) -> None:
    """check() is empty for histories written here, and lists those a changed table forbids."""
    store.create_order(new_order("o-1"))
    store.create_order(new_order("o-2"))
    store.update_order("o-2", dispute_and_resolve)
    store.begin_submission("chk-1", at=T0)
    checked: list[int] = []
    assert store.check(progress=checked.append) == []
    assert checked == [1, 1, 1]  # two orders and a checkout, each told as it is checked
    # A new table where an accepted order can no longer be disputed (only later states).
    no_disputes = attrs.evolve(
        ORDER_SPEC,
        transitions=tuple(
            t
            for t in ORDER_SPEC.transitions
            if (t.event, t.source) != (OrderEvent.DISPUTE, OrderState.ACCEPTED)
        ),
    )
    [illegal] = store.check(order_spec=no_disputes)
    assert (illegal.kind, illegal.id, illegal.spec_versions) == (
        "order",
        "o-2",
        (ORDER_SPEC.version,),
    )
    assert "not legal at step 1: accepted -dispute-> dispute is not in the table" in illegal.problem
    assert str(illegal).startswith("order o-2: The order history is not legal at step 1")


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_a_reopened_store_has_everything(new_url: UrlMaker) -> None:
    """What one store object committed, another opened on the same database reads."""
    url = new_url()
    with open_store(url) as first:
        first.create_order(new_order(), event_id="evt-0")
        first.update_order("o-1", dispute_and_resolve, event_id="evt-1")
        first.begin_submission("chk-9", at=T0)
        first.record_response("chk-9", 201, CREATED, at=T0)
        first.keep_delivery(b"raw", "conflict", at=T0)
        orders = {i: first.get_order(i) for i in first.order_ids()}
        checkout = first.get_checkout("chk-9")
    with open_store(url) as second:
        assert {i: second.get_order(i) for i in second.order_ids()} == orders
        assert second.get_checkout("chk-9") == checkout
        assert second.applied_event_ids("o-1") == {"evt-0", "evt-1"}
        assert second.kept_deliveries() == [KeptDelivery(1, b"raw", "conflict", T0)]
        assert second.check() == []


def test_text_no_database_can_store_is_refused_by_every_store(store: Store) -> None:
    """A NUL character (PostgreSQL cannot store it) is refused alike everywhere, nothing kept."""
    with pytest.raises(InvalidInput, match="must not contain NUL characters"):
        store.create_order(new_order("o-\x00"))
    with pytest.raises(InvalidInput, match="must not contain NUL"):
        store.keep_delivery(b"raw", "conflict\x00")
    store.create_order(new_order())
    with pytest.raises(InvalidInput, match=r"Order\.checkout_id must not contain NUL"):
        store.update_order("o-1", lambda order: setattr(order, "checkout_id", "c\x00"))
    with pytest.raises(InvalidInput, match="event_id must not contain NUL"):
        store.update_order("o-1", dispute_and_resolve, event_id="evt\x00")
    assert store.order_ids() == ["o-1"]
    assert store.get_order("o-1") == new_order()
    assert store.kept_deliveries() == []


def test_lone_surrogates_are_refused_by_every_store(store: Store) -> None:
    """A lone surrogate (no UTF-8 for it) in an id is InvalidInput everywhere, nothing kept."""
    with pytest.raises(InvalidInput, match="must not contain lone surrogates"):
        store.create_order(new_order("o-\ud800"))
    with pytest.raises(InvalidInput, match="must not contain lone surrogates"):
        store.get_order("o-\udfff")
    with pytest.raises(InvalidInput, match="must not contain lone surrogates"):
        store.keep_delivery(b"raw", "conflict", event_id="evt-\udc80")
    with pytest.raises(InvalidInput, match="must not contain lone surrogates"):
        store.begin_submission("chk-\udbff", at=T0)
    store.create_order(new_order())
    with pytest.raises(InvalidInput, match=r"Order\.checkout_id must not contain lone surrogates"):
        store.update_order("o-1", lambda order: setattr(order, "checkout_id", "\udc00"))
    with pytest.raises(InvalidInput, match="event_id must not contain lone surrogates"):
        store.update_order("o-1", dispute_and_resolve, event_id="evt-\ud800")
    assert store.order_ids() == ["o-1"]
    assert store.get_order("o-1") == new_order()
    assert store.checkout_ids() == []
    assert store.kept_deliveries() == []


def test_threads_sharing_one_store(store: Store) -> None:
    """Threads sharing one store object: one claim of each checkout wins, no update is lost."""
    store.create_order(new_order())
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def shop(worker: int) -> None:
        start.wait()
        for n in range(5):
            try:
                store.begin_submission(f"chk-{n}", at=T0)
            except SubmissionInProgress:
                outcomes.append("refused")
            else:
                outcomes.append("won")
            store.update_order_retrying(
                "o-1", dispute_and_resolve, event_id=f"evt-{worker}-{n}", attempts=100
            )

    threads = [threading.Thread(target=shop, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 35 + ["won"] * 5
    assert len(store.get_order("o-1").history) == 1 + 2 * 40
    assert len(store.applied_event_ids("o-1")) == 40

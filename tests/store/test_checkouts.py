"""A store's checkouts by id: each consumed at most once, across threads and processes."""

from __future__ import annotations

import copy
import json
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TypeVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from order_lifecycle import (
    Checkout,
    CheckoutState,
    InvalidInput,
    Order,
    StoreError,
    TransitionNotAllowed,
)
from order_lifecycle.checkout import (
    CheckoutNeedsChanges,
    InDoubt,
    OrderCreated,
    SubmissionOutcome,
    SubmissionRejected,
    record_response,
)
from order_lifecycle.exceptions import (
    CheckoutAlreadyConsumed,
    CheckoutRejected,
    InvalidResponse,
    SubmissionInDoubt,
    SubmissionInProgress,
    SubmissionRefused,
    UnknownCheckout,
    WrongType,
)
from order_lifecycle.store import MemoryStore, Store, open_store
from order_lifecycle.testing import (
    assert_submission_invariants,
    created_bodies,
    error_bodies,
    hostile_responses,
    recode,
)
from tests.responses import PLAIN_SENTENCES, codes_in, mentioned, messages_in

T = TypeVar("T")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CREATED = json.dumps({"id": "o-1", "state": "accepted"})


def test_begin_submission_registers_a_new_checkout() -> None:
    """A checkout id seen for the first time is registered and claimed in one call."""
    ledger = MemoryStore()
    assert "chk-1" not in ledger
    assert ledger.begin_submission("chk-1", at=T0) == {"checkoutId": "chk-1"}
    assert "chk-1" in ledger
    checkout = ledger.get_checkout("chk-1")
    assert checkout.state is CheckoutState.SUBMITTING
    assert [step.at for step in checkout.history] == [T0, T0]
    assert repr(ledger) == "<MemoryStore(num_orders=0, num_checkouts=1)>"


def test_a_full_submission_through_the_ledger() -> None:
    """The ledger's calls mirror the module functions and commit each step."""
    ledger = MemoryStore()
    ledger.begin_submission("chk-1")
    assert isinstance(ledger.record_no_response("chk-1"), InDoubt)
    with pytest.raises(SubmissionInDoubt):
        ledger.begin_submission("chk-1")
    ledger.settle("chk-1", None)
    ledger.begin_submission("chk-1")
    outcome = ledger.record_response("chk-1", 201, CREATED)
    assert isinstance(outcome, OrderCreated)
    checkout = ledger.get_checkout("chk-1")
    assert (checkout.state, checkout.order_id, len(checkout.attempts)) == (
        CheckoutState.CONSUMED,
        "o-1",
        2,
    )
    with pytest.raises(CheckoutAlreadyConsumed):
        ledger.begin_submission("chk-1")


def test_get_gives_a_copy() -> None:
    """Changing what ``get`` returned changes nothing in the ledger."""
    ledger = MemoryStore()
    ledger.begin_submission("chk-1")
    copy_ = ledger.get_checkout("chk-1")
    copy_.attempts.clear()
    copy_.history.pop()
    assert len(ledger.get_checkout("chk-1").attempts) == 1
    assert ledger.get_checkout("chk-1").state is CheckoutState.SUBMITTING


def test_unknown_checkouts() -> None:
    """Reading or answering a checkout never seen is refused, and registers nothing."""
    ledger = MemoryStore()
    with pytest.raises(UnknownCheckout, match="Unknown checkout 'nope'"):
        ledger.get_checkout("nope")
    with pytest.raises(UnknownCheckout):
        ledger.record_response("nope", 201, CREATED)
    with pytest.raises(UnknownCheckout):
        ledger.record_no_response("nope")
    with pytest.raises(UnknownCheckout):
        ledger.settle("nope", None)
    with pytest.raises(WrongType, match="checkout_id must be a non-empty str"):
        ledger.begin_submission("")
    assert "nope" not in ledger
    assert 7 not in ledger


def test_invalid_response_commits_the_doubt() -> None:
    """An InvalidResponse commits the move to in doubt and the raw body, then raises."""
    ledger = MemoryStore()
    ledger.begin_submission("chk-1")
    with pytest.raises(InvalidResponse):
        ledger.record_response("chk-1", 201, "Created")
    checkout = ledger.get_checkout("chk-1")
    assert checkout.state is CheckoutState.IN_DOUBT
    assert checkout.attempts[-1].body == "Created"


def test_other_failures_commit_nothing() -> None:
    """A refused or badly called step leaves the stored checkout as it was."""
    ledger = MemoryStore()
    with pytest.raises(WrongType):
        ledger.begin_submission("chk-1", at=datetime(2026, 1, 1))  # noqa: DTZ001
    assert "chk-1" not in ledger
    ledger.begin_submission("chk-1", at=T0)
    before = ledger.get_checkout("chk-1")
    with pytest.raises(SubmissionInProgress):
        ledger.begin_submission("chk-1")
    with pytest.raises(WrongType):
        ledger.record_response("chk-1", "201", CREATED)  # type: ignore[arg-type]
    with pytest.raises(TransitionNotAllowed):
        ledger.settle("chk-1", None)
    assert ledger.get_checkout("chk-1") == before


LedgerMaker = Callable[[], Store]
LEDGERS: dict[str, LedgerMaker] = {
    "memory store": MemoryStore,
    "sqlite store": lambda: open_store(":memory:"),
}


def failing_steps(
    monkeypatch: pytest.MonkeyPatch, ledger: Store, error: Exception, count: int = 1
) -> list[str]:
    """Make the ledger's next ``count`` steps fail as a failed write does; the steps made.

    Each failing step runs its change, then raises ``error``: the ledger commits nothing and
    re-raises, exactly as when the database refuses the write.
    """
    real = ledger._apply
    steps: list[str] = []

    def apply(checkout_id: str, change: Callable[[Checkout], T], **kwargs: object) -> T:
        steps.append(checkout_id)
        if len(steps) > count:
            return real(checkout_id, change, **kwargs)  # type: ignore[arg-type]

        def change_then_fail(checkout: Checkout) -> T:
            change(checkout)
            raise error

        return real(checkout_id, change_then_fail, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "_apply", apply)
    return steps


def stored_orders(ledger: Store) -> list[str]:
    """The ids of the orders a store holds."""
    return ledger.order_ids()


@pytest.mark.parametrize("make", LEDGERS.values(), ids=LEDGERS.keys())
def test_a_failed_write_of_the_response_leaves_the_checkout_in_doubt(
    monkeypatch: pytest.MonkeyPatch, make: LedgerMaker
) -> None:
    """A 201 whose write fails: the StoreError is raised, and a second step puts it in doubt."""
    ledger = make()
    ledger.begin_submission("chk-1", at=T0)
    steps = failing_steps(monkeypatch, ledger, StoreError("database or disk is full"))
    with pytest.raises(StoreError, match="disk is full") as raised:
        ledger.record_response("chk-1", 201, CREATED, at=T0)
    assert str(raised.value) == (  # the message itself says it: logs and the CLI show it
        "database or disk is full. Checkout 'chk-1' is now in doubt: look up orders by "
        "checkout id and settle it."
    )
    checkout = ledger.get_checkout("chk-1")
    assert checkout.state is CheckoutState.IN_DOUBT
    assert (checkout.attempts[-1].status_code, checkout.attempts[-1].body) == (201, CREATED)
    assert (checkout.order_id, stored_orders(ledger)) == (None, [])
    assert steps == ["chk-1", "chk-1"]
    ledger.settle("chk-1", Order.create("o-1", at=T0, checkout_id="chk-1"), at=T0)
    assert ledger.get_checkout("chk-1").state is CheckoutState.CONSUMED
    assert_submission_invariants(ledger.get_checkout("chk-1"))


@pytest.mark.parametrize("make", LEDGERS.values(), ids=LEDGERS.keys())
def test_an_untyped_failure_while_recording_becomes_a_store_error(
    monkeypatch: pytest.MonkeyPatch, make: LedgerMaker
) -> None:
    """An untyped error from the write is raised as a StoreError (its cause); in doubt."""
    ledger = make()
    ledger.begin_submission("chk-1", at=T0)
    cause = UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
    failing_steps(monkeypatch, ledger, cause)
    with pytest.raises(StoreError, match="failed: UnicodeEncodeError") as raised:
        ledger.record_response("chk-1", 409, json.dumps({"type": "conflict", "errors": []}))
    assert raised.value.__cause__ is cause
    assert ledger.get_checkout("chk-1").state is CheckoutState.IN_DOUBT


@pytest.mark.parametrize("make", LEDGERS.values(), ids=LEDGERS.keys())
def test_a_body_the_store_refuses_is_left_out_of_the_doubt(
    monkeypatch: pytest.MonkeyPatch, make: LedgerMaker
) -> None:
    """When the move to in doubt with the body fails too, it is made without the body."""
    ledger = make()
    ledger.begin_submission("chk-1", at=T0)
    failing_steps(monkeypatch, ledger, StoreError("value too long"), count=2)
    with pytest.raises(StoreError, match="value too long") as raised:
        ledger.record_response("chk-1", 201, CREATED, at=T0)
    assert "value too long. Checkout 'chk-1' is now in doubt, without the raw body" in str(
        raised.value
    )
    checkout = ledger.get_checkout("chk-1")
    assert checkout.state is CheckoutState.IN_DOUBT
    assert (checkout.attempts[-1].status_code, checkout.attempts[-1].body) == (201, None)


@pytest.mark.parametrize("make", LEDGERS.values(), ids=LEDGERS.keys())
def test_a_dead_store_says_the_checkout_is_still_submitting(
    monkeypatch: pytest.MonkeyPatch, make: LedgerMaker
) -> None:
    """When no write succeeds, the first error says so; record_no_response recovers later."""
    ledger = make()
    ledger.begin_submission("chk-1", at=T0)
    failing_steps(monkeypatch, ledger, StoreError("server closed the connection"), count=3)
    with pytest.raises(StoreError, match="server closed") as raised:
        ledger.record_response("chk-1", 201, CREATED, at=T0)
    assert "it is still submitting; record_no_response moves it" in str(raised.value)
    assert ledger.get_checkout("chk-1").state is CheckoutState.SUBMITTING
    ledger.record_no_response("chk-1")
    assert ledger.get_checkout("chk-1").state is CheckoutState.IN_DOUBT


@pytest.mark.parametrize("make", LEDGERS.values(), ids=LEDGERS.keys())
def test_refusals_make_no_second_step(monkeypatch: pytest.MonkeyPatch, make: LedgerMaker) -> None:
    """A response for a checkout not submitting, or a bad argument, writes nothing at all."""
    ledger = make()
    ledger.begin_submission("chk-1", at=T0)
    ledger.record_no_response("chk-1", at=T0)
    before = ledger.get_checkout("chk-1")
    steps = failing_steps(monkeypatch, ledger, StoreError("unused"), count=0)
    with pytest.raises(TransitionNotAllowed):
        ledger.record_response("chk-1", 201, CREATED)
    with pytest.raises(WrongType):
        ledger.record_response("chk-1", 201, {"id": "o-1"})  # type: ignore[arg-type]
    with pytest.raises(UnknownCheckout):
        ledger.record_response("nope", 201, CREATED)
    assert steps == ["chk-1", "nope"]
    assert ledger.get_checkout("chk-1") == before


def test_a_write_sqlite_refuses_leaves_the_checkout_in_doubt(tmp_path: Path) -> None:
    """A real refused write (a trigger aborts the move to consumed): in doubt, the 201 kept."""
    store = open_store(tmp_path / "store.db")
    store.begin_submission("chk-1", at=T0)
    with sqlite3.connect(tmp_path / "store.db") as connection:
        connection.execute(
            "CREATE TRIGGER full BEFORE UPDATE ON ol_checkouts WHEN NEW.state = 'consumed' "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    with pytest.raises(StoreError, match="disk is full") as raised:
        store.record_response("chk-1", 201, CREATED, at=T0)
    assert str(raised.value).endswith(
        "Checkout 'chk-1' is now in doubt: look up orders by checkout id and settle it."
    )
    checkout = store.get_checkout("chk-1")
    assert checkout.state is CheckoutState.IN_DOUBT
    assert checkout.attempts[-1].body == CREATED
    assert store.order_ids() == []
    store.close()


@given(response=hostile_responses("chk-1"))
def test_hostile_responses_never_leave_a_checkout_submitting(
    response: tuple[int, str | bytes],
) -> None:
    """Through every ledger: typed errors only, never submitting after a response recorded."""
    status, body = response
    for make in LEDGERS.values():
        ledger = make()
        ledger.begin_submission("chk-1", at=T0)
        before = ledger.get_checkout("chk-1")
        try:
            outcome = ledger.record_response("chk-1", status, body, at=T0)
        except InvalidResponse:
            checkout = ledger.get_checkout("chk-1")
            assert checkout.state is CheckoutState.IN_DOUBT
            assert checkout.attempts[-1].body == body
            assert stored_orders(ledger) == []
        except InvalidInput:
            assert status not in range(100, 600)
            assert ledger.get_checkout("chk-1") == before
        else:
            checkout = ledger.get_checkout("chk-1")
            assert AFTER[type(outcome)] is checkout.state
            made = [outcome.order.id] if isinstance(outcome, OrderCreated) else []
            assert stored_orders(ledger) == made
        assert_submission_invariants(ledger.get_checkout("chk-1"))


class RacyStore(MemoryStore):
    """A broken store that reads, lets every racer read, then writes: no atomicity."""

    def __init__(self, racers: int) -> None:
        super().__init__()
        self._all_read = threading.Barrier(racers)
        self._racy: dict[str, Checkout] = {}

    def get_checkout(self, checkout_id: str) -> Checkout:
        """The checkout as last written by any racer."""
        return copy.deepcopy(self._racy[checkout_id])

    def _apply(
        self,
        checkout_id: str,
        change: Callable[[Checkout], T],
        *,
        register_at: datetime | None = None,
        adopt: Order | None = None,
    ) -> T:
        del register_at, adopt  # every racer may register the checkout: that is the bug shown
        stored = self._racy.get(checkout_id)
        work = Checkout(checkout_id) if stored is None else copy.deepcopy(stored)
        self._all_read.wait()  # the window a read-then-write leaves open
        result = change(work)
        self._racy[checkout_id] = work
        return result


def race(ledger: Store, checkout_id: str, racers: int) -> list[str]:
    """Start ``racers`` threads at once, each claiming ``checkout_id``; who won, who was refused."""
    start = threading.Barrier(racers)
    results: list[str] = []

    def claim() -> None:
        start.wait()
        try:
            ledger.begin_submission(checkout_id, at=T0)
        except SubmissionRefused as refused:
            results.append(type(refused).__name__)
        else:
            results.append("won")

    threads = [threading.Thread(target=claim) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads as often as the interpreter allows, so races are likely to interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("fast_switching")
def test_threads_racing_to_submit_one_checkout() -> None:
    """Of 8 threads claiming one checkout at once exactly one wins; the rest wait their turn."""
    ledger = MemoryStore()
    for round_ in range(50):
        results = race(ledger, f"chk-{round_}", racers=8)
        assert sorted(results) == ["SubmissionInProgress"] * 7 + ["won"]
        assert_submission_invariants(ledger.get_checkout(f"chk-{round_}"))


def test_the_race_check_catches_a_read_then_write_ledger() -> None:
    """The same race against a ledger that reads before it writes lets every thread win."""
    assert race(RacyStore(racers=8), "chk-1", racers=8) == ["won"] * 8


def submit_until_refused(ledger: Store, checkout_id: str, created: list[str]) -> None:
    """A shop's loop: submit, and resubmit after a 4xx, until the ledger refuses.

    The provider needs changes to the first two submissions and creates the order on the
    third; ``created`` lists each order the provider created (list.append is atomic).
    """
    for attempt in range(20):
        try:
            ledger.begin_submission(checkout_id)
        except (CheckoutAlreadyConsumed, CheckoutRejected):
            return
        except SubmissionInProgress:
            continue
        if attempt < 2:
            body = json.dumps({"type": "bad_request", "errors": []})
            ledger.record_response(checkout_id, 400, body)
            continue
        created.append(checkout_id)
        order = json.dumps({"id": f"o-{checkout_id}", "state": "accepted"})
        ledger.record_response(checkout_id, 201, order)


@pytest.mark.usefixtures("fast_switching")
def test_threads_racing_through_a_whole_submission() -> None:
    """Threads that each submit until refused create exactly one order per checkout."""
    ledger = MemoryStore()
    created: list[str] = []
    errors: list[BaseException] = []

    def shop(checkout_id: str, start: threading.Barrier) -> None:
        start.wait()
        try:
            submit_until_refused(ledger, checkout_id, created)
        except BaseException as error:  # noqa: BLE001 (reported by the test thread)
            errors.append(error)

    for n in range(20):
        start = threading.Barrier(6)
        threads = [
            threading.Thread(target=shop, args=(f"chk-{n}", start)) for _ in range(start.parties)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sorted(created) == sorted(f"chk-{n}" for n in range(20))
    for n in range(20):
        checkout = ledger.get_checkout(f"chk-{n}")
        assert (checkout.state, checkout.order_id) == (CheckoutState.CONSUMED, f"o-chk-{n}")
        assert_submission_invariants(checkout)


# --- random sequences of submissions and responses over many checkouts ------------------


@attrs.define
class FakeProvider:
    """The provider's truth: which checkouts became an order, which were rejected."""

    orders: dict[str, str] = attrs.Factory(dict)
    rejected: set[str] = attrs.Factory(set)

    def receive(self, checkout_id: str) -> None:
        """A POST /orders arrives: it must never be for a consumed or rejected checkout."""
        assert checkout_id not in self.orders, f"{checkout_id} submitted after it was consumed"
        assert checkout_id not in self.rejected, f"{checkout_id} submitted after it was rejected"


class Reply(Enum):
    """What the provider does with a submission, and what reaches the shop."""

    CREATED = "201"
    REJECTED = "409"
    NEEDS_CHANGES = "4xx"
    NOT_FOUND = "404: consumed by another POST /orders (an automatic retry), or not"
    SERVER_ERROR = "5xx"
    LOST = "no response"
    GARBLED = "a body not in the provider's shape"


GARBLED = [
    (201, "Created"),
    (201, '{"state": "accepted"}'),
    (201, '{"id": "x", "state": "shipped"}'),
    (409, "<html>Conflict</html>"),
    (400, "{}"),
    (200, "{}"),
]
EXPECTED_REFUSAL: dict[CheckoutState, type[SubmissionRefused]] = {
    CheckoutState.SUBMITTING: SubmissionInProgress,
    CheckoutState.IN_DOUBT: SubmissionInDoubt,
    CheckoutState.CONSUMED: CheckoutAlreadyConsumed,
    CheckoutState.REJECTED: CheckoutRejected,
}
AFTER: dict[type[SubmissionOutcome], CheckoutState] = {
    OrderCreated: CheckoutState.CONSUMED,
    SubmissionRejected: CheckoutState.REJECTED,
    CheckoutNeedsChanges: CheckoutState.OPEN,
    InDoubt: CheckoutState.IN_DOUBT,
}


class CheckoutConsumption(RuleBasedStateMachine):
    """A shop submitting many checkouts through one ledger, against a fake provider."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger = MemoryStore()
        self.provider = FakeProvider()
        self.awaiting: set[str] = set()  # sent, no answer recorded yet
        self.order_of: dict[str, str] = {}  # the order each consumed checkout named first
        self.seen: set[str] = set()

    checkout_ids = Bundle("checkout_ids")

    @rule(target=checkout_ids, checkout_id=st.text("abcdef", min_size=1, max_size=3))
    def new_checkout(self, checkout_id: str) -> str:
        """A checkout id the shop may submit (several draws may name the same one)."""
        return checkout_id

    @rule(checkout_id=checkout_ids)
    def submit(self, checkout_id: str) -> None:
        """Submit if the ledger allows it; the provider receives only what it allows."""
        before = (
            self.ledger.get_checkout(checkout_id).state
            if checkout_id in self.ledger
            else CheckoutState.OPEN
        )
        if before is not CheckoutState.OPEN:
            with pytest.raises(SubmissionRefused) as refused:
                self.ledger.begin_submission(checkout_id, at=T0)
            assert type(refused.value) is EXPECTED_REFUSAL[before]
            return
        body = self.ledger.begin_submission(checkout_id, at=T0)
        assert body == {"checkoutId": checkout_id}
        self.seen.add(checkout_id)
        self.provider.receive(checkout_id)
        self.awaiting.add(checkout_id)

    @precondition(lambda self: self.awaiting)
    @rule(data=st.data(), reply=st.sampled_from(Reply), order_made_anyway=st.booleans())
    def answer(self, data: st.DataObject, reply: Reply, *, order_made_anyway: bool) -> None:
        """The provider answers one waiting submission (or the answer is lost)."""
        checkout_id = data.draw(st.sampled_from(sorted(self.awaiting)))
        self.awaiting.discard(checkout_id)
        before = self.ledger.get_checkout(checkout_id)
        if reply is Reply.LOST:
            if order_made_anyway:
                self.provider.orders[checkout_id] = f"lost-{checkout_id}"
            assert isinstance(self.ledger.record_no_response(checkout_id), InDoubt)
            return
        status, body = data.draw(self.response(checkout_id, reply))
        if reply is Reply.CREATED:
            self.provider.orders[checkout_id] = json.loads(body)["id"]
        elif reply is Reply.REJECTED:
            self.provider.rejected.add(checkout_id)
        elif reply in {Reply.SERVER_ERROR, Reply.NOT_FOUND, Reply.GARBLED} and (
            order_made_anyway or status == 201
        ):
            self.provider.orders[checkout_id] = f"unseen-{checkout_id}"
        try:
            outcome = self.ledger.record_response(checkout_id, status, body, at=T0)
        except InvalidResponse:
            assert reply is Reply.GARBLED
            assert self.ledger.get_checkout(checkout_id).state is CheckoutState.IN_DOUBT
            return
        assert reply is not Reply.GARBLED
        assert AFTER[type(outcome)] is self.ledger.get_checkout(checkout_id).state
        # Changing every code changes no customer message (unless a message mentions one).
        recoded = recode(body, lambda code: f"changed-{code}")
        twin = record_on_copy(before, status, recoded)
        assert type(twin) is type(outcome)
        texts = " ".join([*messages_in(body), *PLAIN_SENTENCES])  # ours may hide a message
        if not mentioned(codes_in(body), texts) and not mentioned(codes_in(recoded), texts):
            assert twin.customer_message == outcome.customer_message

    @staticmethod
    def response(checkout_id: str, reply: Reply) -> st.SearchStrategy[tuple[int, str]]:
        """A response of the kind ``reply``, as the provider would send it."""
        if reply is Reply.CREATED:
            return st.tuples(st.just(201), created_bodies(checkout_id))
        if reply is Reply.REJECTED:
            return st.tuples(st.just(409), error_bodies("conflict"))
        if reply is Reply.NEEDS_CHANGES:
            return st.tuples(st.sampled_from([400, 422]), error_bodies("bad_request"))
        if reply is Reply.NOT_FOUND:
            return st.tuples(st.just(404), error_bodies("not_found"))
        if reply is Reply.SERVER_ERROR:
            return st.tuples(st.sampled_from([500, 503]), error_bodies() | st.just("oops"))
        return st.sampled_from(GARBLED)

    @rule(checkout_id=checkout_ids)
    def look_up_and_settle(self, checkout_id: str) -> None:
        """Look up orders by checkout id, as the provider knows them, and settle."""
        if checkout_id not in self.ledger:
            return
        state = self.ledger.get_checkout(checkout_id).state
        found = self.provider.orders.get(checkout_id)
        order = None if found is None else Order.create(found, at=T0, checkout_id=checkout_id)
        if state is not CheckoutState.IN_DOUBT:
            with pytest.raises(TransitionNotAllowed):
                self.ledger.settle(checkout_id, order)
            return
        self.ledger.settle(checkout_id, order, at=T0)
        expected = CheckoutState.OPEN if found is None else CheckoutState.CONSUMED
        assert self.ledger.get_checkout(checkout_id).state is expected

    @invariant()
    def ledger_agrees_with_the_provider(self) -> None:
        """At most one order per checkout, the provider's; only a settled doubt reopens."""
        for checkout_id, order_id in self.provider.orders.items():
            assert checkout_id not in self.provider.rejected
            checkout = self.ledger.get_checkout(checkout_id)
            assert checkout.state in {
                CheckoutState.CONSUMED,
                CheckoutState.IN_DOUBT,
            }, f"{checkout_id} has order {order_id} but is {checkout.state}"
            if checkout.state is CheckoutState.CONSUMED:
                assert checkout.order_id == order_id
                assert self.order_of.setdefault(checkout_id, order_id) == order_id
        for checkout_id in self.provider.rejected:
            assert self.ledger.get_checkout(checkout_id).state is CheckoutState.REJECTED

    @invariant()
    def every_checkout_keeps_its_promises(self) -> None:
        """Every checkout's history replays, with an attempt per submission."""
        for checkout_id in self.awaiting:
            assert self.ledger.get_checkout(checkout_id).state is CheckoutState.SUBMITTING
        for checkout_id in self.seen:
            assert_submission_invariants(self.ledger.get_checkout(checkout_id))


def record_on_copy(checkout: Checkout, status: int, body: str) -> SubmissionOutcome:
    """The outcome ``checkout`` (in submitting) would get from this response, on a copy."""
    return record_response(copy.deepcopy(checkout), status, body, at=T0)


CheckoutConsumption.TestCase.settings = settings(stateful_step_count=40)
TestCheckoutConsumption = CheckoutConsumption.TestCase

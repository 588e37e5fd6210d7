"""The inbox's part of the store contract, on every store: accept, claim, settle, an operator's."""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle import Inbox, Order, OrderState, Reconciler
from order_lifecycle.exceptions import (
    InvalidInput,
    StoreReadOnly,
    StoreUnavailable,
    UnknownDelivery,
    WrongType,
)
from order_lifecycle.lifecycle import Step
from order_lifecycle.store import (
    ChangeOutcome,
    DeliveryToKeep,
    Incoming,
    OrderChange,
    SettledGroup,
    Settlement,
    Store,
    open_store,
)
from order_lifecycle.testing import HOSTILE_TEXT
from order_lifecycle.webhooks import DeliveryStatus, error_status
from tests import webhook_events as ev
from tests.hostile import VALUES

from .conftest import REAL_BACKENDS, UrlMaker

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)


def incoming(event_id: str, order_id: str | None = "o-1", body: bytes = b"{}") -> Incoming:
    return Incoming(
        event_id, "order.accepted", order_id, None, NOW.isoformat(), "pending", None, body
    )


def rows(store: Store) -> list[tuple[str, str, str | None]]:
    """Each stored delivery's event id, status and reason, oldest first."""
    return [(r.event_id, str(r.status), r.reason) for r in store.list_deliveries(limit=10_000)]


def test_accept_stores_each_event_once_and_numbers_them(store: Store) -> None:
    """New event ids get increasing seqs; one stored before (or earlier in the batch) None."""
    first = store.accept_deliveries([incoming("e-1"), incoming("e-2"), incoming("e-1")])
    assert first[0] is not None
    assert first[1] is not None
    assert first[0] < first[1]
    assert first[2] is None
    assert store.accept_deliveries([incoming("e-2", body=b"other"), incoming("e-3")])[0] is None
    assert [event_id for event_id, _, _ in rows(store)] == ["e-1", "e-2", "e-3"]
    assert store.get_delivery(first[1]).body == b"{}"


_BATCHES_OF_ONE = itertools.count()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(keys=st.lists(st.sampled_from("abcd"), min_size=1, max_size=12))
def test_a_batch_of_one_answers_its_new_seq_or_none_when_stored(
    store: Store, keys: list[str]
) -> None:
    """One delivery at a time: each new event id answers its row's seq, one stored before None."""
    run = next(_BATCHES_OF_ONE)
    seen: set[str] = set()
    last = 0
    for key in keys:
        event_id = f"one-{run}-{key}"
        (seq,) = store.accept_deliveries([incoming(event_id, body=key.encode())])
        if event_id in seen:
            assert seq is None
            continue
        seen.add(event_id)
        assert seq is not None
        assert seq > last
        assert store.get_delivery(seq).event_id == event_id
        last = seq


_STORED_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=40
) | st.sampled_from(["'; DROP TABLE ol_inbox; --", "\\x00", "%s %(x)s %%", "$$ $1 ?", "E'\\''"])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.tuples(_STORED_TEXT, _STORED_TEXT, _STORED_TEXT), body=st.binary(max_size=300))
def test_a_delivery_of_any_storable_text_and_bytes_is_read_back_as_given(
    store: Store, text: tuple[str, str, str], body: bytes
) -> None:
    """Quotes, backslashes, placeholders, any code point but NUL or a surrogate: stored exactly."""
    event_id = f"{next(_BATCHES_OF_ONE)}{text[0]}"
    row = Incoming(event_id, text[1], text[2], text[0], NOW.isoformat(), "pending", text[1], body)
    (seq,) = store.accept_deliveries([row])
    assert seq is not None
    stored = store.get_delivery(seq)
    assert (stored.event_id, stored.event_type, stored.order_id) == (event_id, text[1], text[2])
    assert (stored.created_time, stored.reason, stored.body) == (text[0], text[1], body)
    assert store.accept_deliveries([row]) == [None]


def test_a_redelivery_is_a_duplicate_with_or_without_an_order(store: Store) -> None:
    """The same order and event id again, in one batch or the next: stored once (no order too)."""
    first = store.accept_deliveries(
        [incoming("r-1"), incoming("r-1"), incoming("r-2", None), incoming("r-2", None)]
    )
    assert first[0] is not None
    assert first[2] is not None
    assert (first[1], first[3]) == (None, None)
    again = [incoming("r-1", body=b"other"), incoming("r-2", None, b"other")]
    assert store.accept_deliveries(again) == [None, None]
    assert [store.accept_deliveries([row]) for row in again] == [[None], [None]]
    assert [(r.event_id, r.order_id) for r in store.list_deliveries()] == [
        ("r-1", "o-1"),
        ("r-2", None),
    ]


def test_an_event_id_under_another_order_is_stored_as_its_own_row(store: Store) -> None:
    """A delivery is a duplicate when its order and event id are stored, not its event id alone."""
    one, two, three = store.accept_deliveries(
        [incoming("e-1", "o-1"), incoming("e-1", "o-2"), incoming("e-1", None)]
    )
    assert None not in (one, two, three)
    assert store.accept_deliveries([incoming("e-1", "o-2"), incoming("e-1", None)]) == [None, None]
    assert [(r.seq, r.order_id) for r in store.list_deliveries(order_id="o-2")] == [(two, "o-2")]
    claim = store.claim_deliveries(limit=5, now=NOW)
    assert claim.orders == ("o-1", "o-2")
    assert [(r.order_id, r.event_id) for r in claim.deliveries] == [
        ("o-1", "e-1"),
        ("o-2", "e-1"),
        (None, "e-1"),
    ]


def test_an_event_applied_to_one_order_is_never_applied_to_another(store: Store) -> None:
    """Its id named under another order, in one claim or later: stored, then settled invalid."""
    inbox = Inbox(store, verified_upstream=True, clock=lambda: NOW)
    first = ev.card_order_accepted()[0]
    other = json.loads(json.dumps(first))
    other["data"]["object"]["id"] = "2002"
    inbox.receive([ev.raw(first), ev.raw(other)])
    later = json.loads(json.dumps(first))
    later["data"]["object"]["id"] = "3003"
    (result,) = inbox.receive([ev.raw(later)])
    assert result.outcome is DeliveryStatus.INVALID
    assert [(r.order_id, r.event_id, r.status) for r in store.list_deliveries()] == [
        ("1001", "evt-1001-accepted", DeliveryStatus.APPLIED),
        ("2002", "evt-1001-accepted", DeliveryStatus.INVALID),
        ("3003", "evt-1001-accepted", DeliveryStatus.INVALID),
    ]
    for row in store.list_deliveries()[1:]:
        assert f"was recorded for order '1001', but this delivery names order '{row.order_id}'" in (
            row.reason or ""
        )
    assert store.order_ids() == ["1001"]
    assert store.order_of_event("evt-1001-accepted") == "1001"
    (again,) = inbox.accept([ev.raw(other)])
    assert (again.seq, again.status_code) == (None, 200)


_KEY_ORDERS = st.one_of(st.none(), st.sampled_from(["o-1", "o-2", "''", "NULL"]), HOSTILE_TEXT)
_KEY_EVENTS = st.one_of(st.sampled_from(["e-1", "e-2", "k" * 100_000]), HOSTILE_TEXT)


def _storable_key_part(text: str | None) -> bool:
    return text is None or (
        text != "" and "\x00" not in text and not any(0xD800 <= ord(c) < 0xE000 for c in text)
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    keys=st.lists(st.tuples(_KEY_ORDERS, _KEY_EVENTS), min_size=1, max_size=8),
    size=st.integers(1, 4),
)
def test_a_delivery_is_stored_once_a_key_and_a_hostile_key_changes_nothing(
    store: Store, keys: list[tuple[str | None, str]], size: int
) -> None:
    """Stored when its (order, event id) is new, in any batches; NUL or a surrogate: typed."""
    run = f"key-{next(_BATCHES_OF_ONE)}-"
    seen: set[tuple[str | None, str]] = set()
    for start in range(0, len(keys), size):
        batch = [
            (None if order is None else run + order, run + event)
            for order, event in keys[start : start + size]
        ]
        before = rows(store)
        rows_in = [incoming(event, order) for order, event in batch]
        if not all(_storable_key_part(part) for key in batch for part in key):
            with pytest.raises((InvalidInput, WrongType)):
                store.accept_deliveries(rows_in)
            assert rows(store) == before
            continue
        expected = []
        for key in batch:
            expected.append(key not in seen)
            seen.add(key)
        stored = store.accept_deliveries(rows_in)
        assert [seq is not None for seq in stored] == expected
        for key, seq in zip(batch, stored, strict=True):
            if seq is not None:
                row = store.get_delivery(seq)
                assert (row.order_id, row.event_id) == key


def test_accept_keeps_summaries_in_the_same_transaction(store: Store) -> None:
    """The summaries given with a batch are kept with it, within the cap, even with no row."""
    summary = DeliveryToKeep(b"x" * 1000, "forged", summary=True, at=NOW)
    assert store.accept_deliveries([], [summary]) == []
    assert store.accept_deliveries([incoming("e-1")], [summary]) == [1] or rows(store)
    (kept,) = store.kept_deliveries()
    assert (kept.size, kept.summary) == (1000, True)
    assert store.redeliveries_not_kept() == 1


def test_a_claim_holds_orders_and_brings_what_deciding_needs(store: Store) -> None:
    """Oldest pending first, limit orders; their open rows, stored orders, applied event ids."""
    store.create_order(Order.create("o-2", at=ev.T0), event_id="e-applied")
    store.accept_deliveries(
        [incoming("e-1", "o-1"), incoming("e-2", "o-2"), incoming("e-3", "o-1")]
    )
    store.accept_deliveries([incoming("e-applied", "o-2"), incoming("e-4", None)])
    claim = store.claim_deliveries(limit=1, now=NOW)
    assert claim.orders == ("o-1",)
    assert [r.event_id for r in claim.deliveries] == ["e-1", "e-3"]
    assert dict(claim.known) == {}
    other = store.claim_deliveries(limit=5, now=NOW)
    assert other.orders == ("o-2",)
    assert [r.event_id for r in other.deliveries] == ["e-2", "e-applied", "e-4"]
    assert set(other.known) == {"o-2"}
    assert dict(other.applied) == {"e-applied": "o-2"}
    store.release_claim(claim)
    store.release_claim(claim)  # twice: nothing more
    store.release_claim(other)
    assert store.claim_deliveries(limit=5, now=NOW, only=[3]).orders == ("o-1",)


def test_waiting_deliveries_are_due_at_their_time(store: Store) -> None:
    """A waiting delivery is claimed once its due_at is past, not before."""
    (seq,) = store.accept_deliveries([incoming("e-1")])
    assert seq is not None
    due = (NOW + timedelta(seconds=30)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    claim = store.claim_deliveries(now=NOW)
    waiting = Settlement(seq, "pending", "waiting", "its order is not known", 1, due)
    assert store.settle_deliveries([SettledGroup("o-1", (), (waiting,))])[0].committed
    store.release_claim(claim)
    assert store.claim_deliveries(now=NOW + timedelta(seconds=29)).orders == ()
    later = store.claim_deliveries(now=NOW + timedelta(seconds=30))
    assert later.orders == ("o-1",)
    (row,) = later.deliveries
    assert (row.status, row.attempts, row.due_at) == (
        DeliveryStatus.WAITING,
        1,
        NOW + timedelta(seconds=30),
    )


def test_a_group_settled_by_another_writer_first_writes_nothing(store: Store) -> None:
    """A status changed since the claim: that order's group is LOST, whole; the others commit."""
    one, two = store.accept_deliveries([incoming("e-1", "o-1"), incoming("e-2", "o-2")])
    assert one is not None
    assert two is not None
    order = Order.create("o-1", "accepted", at=ev.T0)
    store.refeed_delivery(one)  # an operator changed it meanwhile: no longer 'pending' as read
    results = store.settle_deliveries(
        [
            SettledGroup(
                "o-1",
                (OrderChange(order, None, 0, "e-1"),),
                (Settlement(one, "waiting", "applied", "done", 0, None),),
            ),
            SettledGroup("o-2", (), (Settlement(two, "pending", "unknown", "no", 0, None),)),
        ]
    )
    assert [r.outcome for r in results] == [ChangeOutcome.LOST, ChangeOutcome.COMMITTED]
    assert store.order_ids() == []
    assert [status for _, status, _ in rows(store)] == ["pending", "unknown"]


def test_a_change_the_store_refuses_names_it_and_writes_nothing_of_its_order(
    store: Store,
) -> None:
    """An illegal history: REFUSED with the change's index; its group is not written."""
    (seq,) = store.accept_deliveries([incoming("e-1")])
    assert seq is not None
    legal = Order.create("o-1", at=ev.T0)
    illegal = Order.create("o-1", "accepted", at=ev.T0)
    illegal.history[0] = Step(None, OrderState.BLOCKED, OrderState.ACCEPTED, ev.T0)
    (result,) = store.settle_deliveries(
        [
            SettledGroup(
                "o-1",
                (OrderChange(legal, None, 0, None), OrderChange(illegal, legal, 1, "e-1")),
                (Settlement(seq, "pending", "applied", "done", 0, None),),
            )
        ]
    )
    assert (result.outcome, result.change) == (ChangeOutcome.REFUSED, 1)
    assert store.order_ids() == []
    assert rows(store) == [("e-1", "pending", None)]


def test_an_operator_lists_shows_refeeds_and_dismisses(store: Store) -> None:
    """List filters by status, order and type; refeed makes pending; dismiss sets aside."""
    inbox = Inbox(store, verified_upstream=True, clock=lambda: NOW)
    inbox.receive(
        [
            ev.raw(ev.charge_capture_and_cancel()[1]),  # waits: its order is unknown
            ev.raw(ev.card_order_accepted()[0]),
            b"{not json",
        ]
    )
    waiting, applied, invalid = store.list_deliveries()
    assert [r.status for r in (waiting, applied, invalid)] == [
        DeliveryStatus.WAITING,
        DeliveryStatus.APPLIED,
        DeliveryStatus.INVALID,
    ]
    assert store.list_deliveries(statuses=["waiting", "invalid"]) == [waiting, invalid]
    assert store.list_deliveries(order_id="1001") == [applied]
    assert store.list_deliveries(event_type="order.accepted") == [applied]
    assert store.list_deliveries(statuses=[]) == []
    assert store.list_deliveries(limit=1) == [waiting]
    assert store.delivery_counts() == {
        DeliveryStatus.WAITING: 1,
        DeliveryStatus.APPLIED: 1,
        DeliveryStatus.INVALID: 1,
    }
    fed = store.refeed_delivery(waiting.seq)
    assert (fed.status, fed.attempts, fed.due_at) == (DeliveryStatus.PENDING, 0, None)
    assert "fed again by an operator (it was waiting" in (fed.reason or "")
    dismissed = store.dismiss_delivery(invalid.seq)
    assert dismissed.status is DeliveryStatus.DISMISSED
    with pytest.raises(InvalidInput, match="settled for good, nothing to dismiss"):
        store.dismiss_delivery(applied.seq)
    with pytest.raises(UnknownDelivery, match="Unknown delivery 99"):
        store.get_delivery(99)
    assert Reconciler(store, clock=lambda: NOW).run_once() == 1


@st.composite
def hostile_rows(draw: st.DrawFn) -> Any:
    """An Incoming with hostile fields, or something else altogether."""
    if draw(st.booleans()):
        return draw(VALUES)
    fields: list[Any] = [draw(VALUES | st.text(max_size=5)) for _ in range(8)]
    return [Incoming(*fields)]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    call=st.sampled_from(["accept", "list", "get", "refeed", "dismiss", "claim", "settle"]),
    value=hostile_rows(),
    other=VALUES,
)
def test_hostile_values_raise_typed_errors_and_change_nothing(
    store: Store, call: str, value: Any, other: Any
) -> None:
    """Any value to the inbox's store calls: a result or a typed error, nothing else changed."""
    before = rows(store)
    calls: dict[str, Callable[[], object]] = {
        "accept": lambda: store.accept_deliveries(value, other),
        "list": lambda: store.list_deliveries(statuses=value, order_id=other, limit=other),
        "get": lambda: store.get_delivery(other),
        "refeed": lambda: store.refeed_delivery(value),
        "dismiss": lambda: store.dismiss_delivery(value),
        "claim": lambda: store.claim_deliveries(limit=other, now=other, only=value),
        "settle": lambda: store.settle_deliveries(value),
    }
    with contextlib.suppress(InvalidInput, UnknownDelivery):
        calls[call]()
    if call != "accept":
        assert rows(store) == before


def test_accept_refuses_text_no_database_stores(store: Store) -> None:
    """A NUL or a lone surrogate in an Incoming's text is InvalidInput; nothing stored."""
    for poison in ("e-\x00", "e-\udc80"):
        with pytest.raises(InvalidInput, match=r"must not contain (NUL|lone surrogates)"):
            store.accept_deliveries([incoming("e-1", poison)])
    with pytest.raises(WrongType, match=r"Incoming\.body must be bytes"):
        store.accept_deliveries([incoming("e-1")._replace(body="text")])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="status must be pending or invalid"):
        store.accept_deliveries([incoming("e-1")._replace(status="applied")])
    assert rows(store) == []


@pytest.mark.parametrize("new_url", ["postgres"], indirect=True)
def test_postgres_claims_of_two_sessions_never_hold_one_order(new_url: UrlMaker) -> None:
    """Two app servers' reconcilers: an order one holds (advisory lock) the other skips."""
    url = new_url()
    with open_store(url) as one, open_store(url) as two:
        one.accept_deliveries([incoming("e-1", "o-1"), incoming("e-2", "o-2")])
        first = one.claim_deliveries(limit=1, now=NOW)
        second = two.claim_deliveries(limit=5, now=NOW)
        assert (first.orders, second.orders) == (("o-1",), ("o-2",))
        assert two.claim_deliveries(limit=5, now=NOW).orders == ()
        one.release_claim(first)
        assert two.claim_deliveries(limit=5, now=NOW).orders == ("o-1",)


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_a_claim_of_a_store_closed_mid_way_loses_nothing(new_url: UrlMaker) -> None:
    """A reconciler gone between claim and settle: its orders are claimable again, unsettled."""
    url = new_url()
    with open_store(url) as store:
        store.accept_deliveries([incoming("e-1")])
        store.claim_deliveries(now=NOW)  # never settled, never released: the process died
    with open_store(url) as store:
        claim = store.claim_deliveries(now=NOW)
        assert claim.orders == ("o-1",)
        assert [r.status for r in claim.deliveries] == [DeliveryStatus.PENDING]


def test_claim_and_settle_refuse_what_they_cannot_take(store: Store) -> None:
    """A limit out of range, a naive now, a settlement of the wrong shape: typed, early."""
    with pytest.raises(WrongType, match="limit must be an int from 1"):
        store.claim_deliveries(limit=0, now=NOW)
    with pytest.raises(WrongType, match="now must be a timezone-aware datetime"):
        store.claim_deliveries(now=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(WrongType, match="a list of delivery numbers"):
        store.claim_deliveries(now=NOW, only="1")  # type: ignore[arg-type]
    with pytest.raises(WrongType, match=r"Settlement\.status must be a delivery status"):
        store.settle_deliveries(
            [SettledGroup("o", (), (Settlement(1, "pending", "sideways", None, 0, None),))]
        )
    with pytest.raises(WrongType, match="a Claim"):
        store.release_claim(json.loads("{}"))


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_a_read_only_store_refuses_deliveries_one_or_many(new_url: UrlMaker) -> None:
    """A store opened read-only: StoreReadOnly for a delivery or a batch, nothing stored."""
    url = new_url()
    open_store(url).close()
    with open_store(url, read_only=True) as store:
        for batch in ([incoming("e-1")], [incoming("e-1"), incoming("e-2")]):
            with pytest.raises(StoreReadOnly, match="read-only"):
                store.accept_deliveries(batch)
        assert rows(store) == []


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_a_lock_held_too_long_answers_503_well_before_the_provider_gives_up(
    new_url: UrlMaker,
) -> None:
    """The request path waits accept_timeout for a lock at most: then StoreUnavailable, 503."""
    url = new_url()
    with open_store(url) as holder, open_store(url) as server:
        server.accept_timeout = 0.2  # type: ignore[attr-defined]
        inbox = Inbox(server, verified_upstream=True)
        with holder._transaction(write=True):  # type: ignore[attr-defined]
            # Another writer mid-transaction (PostgreSQL: storing the very same key).
            holder._insert_rows([incoming("evt-1001-accepted", "1001")])  # type: ignore[attr-defined]
            started = time.monotonic()
            with pytest.raises(StoreUnavailable) as refused:
                inbox.accept([ev.raw(ev.card_order_accepted()[0])])
            waited = time.monotonic() - started
        assert error_status(refused.value) == 503
        assert "0.2 s" in str(refused.value)  # the bound it waited, not the store's own
        assert waited < 5  # far below the store's own timeouts (30 s, 5 s)
        assert [r.event_id for r in server.list_deliveries()] == ["evt-1001-accepted"]


_GOOD = Settlement(1, "pending", "applied", "done", 0, None)
_UNSTORABLE = ["", "a\x00b", "\ud800", "é\udfff", 7, b"done"]


def _with(**fields: Any) -> Settlement:
    return _GOOD._replace(**fields)


@pytest.mark.parametrize(
    "settlement",
    [_with(reason=text) for text in _UNSTORABLE]
    + [_with(due_at=text) for text in _UNSTORABLE]
    + [_with(seq=seq) for seq in (0, -1, True, 2**63, 1.0, "1")]
    + [_with(attempts=n) for n in (-1, True, 2**63, 0.0, None)]
    + [_with(was=s) for s in ("sideways", "", None, b"pending")]
    + [_with(status=s) for s in ("sideways", "", None, 1)],
)
def test_settle_refuses_a_settlement_with_a_field_it_cannot_store(
    store: Store, settlement: Settlement
) -> None:
    """Each field of a Settlement no database stores (NUL, lone surrogate, wrong type): typed."""
    store.accept_deliveries([incoming("e-1")])
    before = rows(store)
    with pytest.raises(InvalidInput):
        store.settle_deliveries([SettledGroup("o-1", (), (settlement,))])
    assert rows(store) == before

"""An operator's pages on every store, at volume: true totals, pages complete and disjoint."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle import Item, Order
from order_lifecycle.actions import StoredAction
from order_lifecycle.exceptions import InvalidInput, NotFound, UnknownAction, UnknownDelivery
from order_lifecycle.store import Incoming, OrderChange, OrderSummary, Page, Store
from tests.hostile import VALUES

T = TypeVar("T")

T0 = datetime(2026, 4, 1, tzinfo=UTC)
TYPES = ("order.accepted", "order.fulfilled", "refund.complete")
VOLUME = 5_200


def inbox_rows(count: int = VOLUME) -> list[Incoming]:
    """Deliveries of 40 orders and 3 types, a minute apart; every 7th invalid, every 50th loose."""
    return [
        Incoming(
            f"evt-{n:05d}",
            TYPES[n % 3],
            None if n % 50 == 0 else f"o-{n % 40:02d}",
            None,
            (T0 + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "invalid" if n % 7 == 0 else "pending",
            "unreadable" if n % 7 == 0 else None,
            b"{}",
        )
        for n in range(count)
    ]


def every_page(read: Callable[[Any], Page[T]], size: int) -> tuple[list[T], set[int | None]]:
    """Every page ``read(after)`` gives, from the first: the rows in turn, and the totals seen."""
    rows: list[T] = []
    totals: set[int | None] = set()
    after = None
    while True:
        page = read(after)
        assert len(page) <= size
        rows += page.items
        totals.add(page.total)
        if page.next_after is None:
            return rows, totals
        assert len(page) == size  # only the last page is short
        after = page.next_after


@pytest.fixture
def filled(store: Store) -> Store:
    """The store with the inbox's volume accepted, in batches of 1,000."""
    rows = inbox_rows()
    for start in range(0, len(rows), 1_000):
        store.accept_deliveries(rows[start : start + 1_000])
    return store


DELIVERY_FILTERS: list[tuple[dict[str, Any], Callable[[int], bool]]] = [
    ({}, lambda _: True),
    ({"statuses": ["invalid"]}, lambda n: n % 7 == 0),
    ({"statuses": ["pending", "dismissed"]}, lambda n: n % 7 != 0),
    ({"order_id": "o-03"}, lambda n: n % 50 != 0 and n % 40 == 3),
    ({"event_type": "refund.complete"}, lambda n: n % 3 == 2),
    ({"since": T0 + timedelta(minutes=4_000)}, lambda n: n >= 4_000),
    (
        {"statuses": ["pending"], "event_type": "order.accepted", "since": T0 + timedelta(hours=9)},
        lambda n: n % 7 != 0 and n % 3 == 0 and n >= 540,
    ),
    ({"statuses": []}, lambda _: False),
]


@pytest.mark.parametrize(("filters", "expected"), DELIVERY_FILTERS)
def test_delivery_pages_are_complete_disjoint_and_counted(
    filled: Store, filters: dict[str, Any], expected: Callable[[int], bool]
) -> None:
    """Paging 5,200 deliveries by seq gives each match once, in order, with the true total."""
    wanted = [f"evt-{n:05d}" for n in range(VOLUME) if expected(n)]
    rows, totals = every_page(
        lambda after: filled.page_deliveries(**filters, after=after, limit=997), 997
    )
    assert [row.event_id for row in rows] == wanted
    assert [row.seq for row in rows] == sorted({row.seq for row in rows})
    assert totals == {len(wanted)}


def test_list_deliveries_is_the_first_page(filled: Store) -> None:
    """list_deliveries takes the page's filters and gives its first page's rows."""
    since = T0 + timedelta(minutes=100)
    page = filled.page_deliveries(statuses=["invalid"], since=since, limit=10)
    listed = filled.list_deliveries(statuses=["invalid"], since=since, limit=10)
    assert listed == list(page.items)
    assert page.next_after == page.items[-1].seq


def test_a_page_after_the_last_seq_is_empty_and_ends(filled: Store) -> None:
    """A page after the newest delivery is empty, still counts the total, and ends."""
    last = filled.page_deliveries(limit=1, after=VOLUME - 1)
    assert (len(last), last.next_after, last.total) == (1, None, VOLUME)
    beyond = filled.page_deliveries(after=10**9)
    assert (beyond.items, beyond.next_after, beyond.total) == ((), None, VOLUME)


def test_refeed_of_many_feeds_each_found_once(filled: Store) -> None:
    """refeed_deliveries makes every invalid delivery pending again, leaving unknown seqs out."""
    invalid = [row.seq for row in filled.list_deliveries(statuses=["invalid"], limit=10_000)]
    fed = filled.refeed_deliveries([*invalid, 10**9])
    assert fed == invalid
    assert filled.page_deliveries(statuses=["invalid"]).total == 0
    again = filled.get_delivery(invalid[0])
    assert (again.status, again.attempts) == ("pending", 0)
    assert again.reason == "fed again by an operator (it was invalid: unreadable)"
    with pytest.raises(UnknownDelivery):
        filled.refeed_delivery(10**9)


def shipped_orders(store: Store, batches: int = 5, per_batch: int = 200) -> list[str]:
    """Accepted orders of 6 physical items each, committed ``per_batch`` at a time; their ids."""
    ids = []
    for batch in range(batches):
        orders = [
            Order.create(
                f"o-{batch}-{n:03d}",
                "accepted",
                at=T0,
                items=[Item(f"i{k}", 1, physical=True) for k in range(6)],
            )
            for n in range(per_batch)
        ]
        store.commit_changes([OrderChange(order) for order in orders])
        ids += [order.id for order in orders]
    return ids


def test_action_pages_are_complete_disjoint_and_counted(store: Store) -> None:
    """6,000 actions (created in 5 commits: many at one moment) page oldest first, each once."""
    shipped_orders(store)
    claimed = {a.key for a in store.claim_actions(limit=777, lease=timedelta(hours=1))}
    every = store.list_actions(limit=10_000)
    assert len(every) == 6_000
    assert [(a.created_at, a.key) for a in every] == sorted((a.created_at, a.key) for a in every)
    assert {a.key for a in every if a.state == "claimed"} == claimed
    for filters, keep in (
        ({}, lambda _: True),
        ({"states": ["claimed"]}, lambda a: a.state == "claimed"),
        (
            {"states": ["pending"], "order_id": "o-2-017"},
            lambda a: a.state == "pending" and a.order_id == "o-2-017",
        ),
        ({"kinds": ["capture"]}, lambda _: False),
    ):
        wanted = [a.key for a in every if keep(a)]

        def actions(after: Any, f: dict[str, Any] = filters) -> Page[StoredAction]:
            return store.page_actions(**f, after=after, limit=499)

        rows, totals = every_page(actions, 499)
        assert [a.key for a in rows] == wanted
        assert totals == {len(wanted)}


def test_actions_since_a_moment(store: Store) -> None:
    """page_actions(since=) counts and lists only the actions created at or after it."""
    shipped_orders(store, batches=1, per_batch=3)
    moments = sorted(a.created_at for a in store.list_actions())
    assert store.page_actions(since=moments[0]).total == 18
    assert store.page_actions(since=moments[-1]).total == moments.count(moments[-1])
    assert store.page_actions(since=moments[-1] + timedelta(microseconds=1)).total == 0


def test_a_page_after_an_unknown_action_is_refused(store: Store) -> None:
    """Going on from an action key the outbox does not hold raises UnknownAction."""
    with pytest.raises(UnknownAction):
        store.page_actions(after="no-such-action")


def test_order_pages_by_state_are_complete_and_counted(store: Store) -> None:
    """5,100 orders in three states page by id, each once, with each state's true total."""
    states = ("pending_payment", "in_review", "accepted")
    orders = [Order.create(f"o-{n:05d}", states[n % 3], at=T0) for n in range(5_100)]
    for start in range(0, len(orders), 1_000):
        store.commit_changes([OrderChange(o) for o in orders[start : start + 1_000]])
    for wanted_states in (None, ["in_review"], ["accepted", "pending_payment"]):
        wanted = [o.id for o in orders if wanted_states is None or o.state in wanted_states]

        def orders_page(after: Any, s: list[str] | None = wanted_states) -> Page[OrderSummary]:
            return store.page_orders(states=s, after=after, limit=1_000)

        rows, totals = every_page(orders_page, 1_000)
        assert [o.id for o in rows] == wanted
        assert totals == {len(wanted)}
    (first,) = store.page_orders(limit=1).items
    assert (first.id, first.state, first.fraud_state, first.version) == (
        "o-00000",
        "pending_payment",
        None,
        1,
    )


PAGE_CALLS: Sequence[str] = ("page_deliveries", "page_actions", "page_orders", "refeed_deliveries")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    call=st.sampled_from(PAGE_CALLS),
    name=st.sampled_from(
        ["statuses", "states", "kinds", "order_id", "event_type", "since", "after", "limit"]
    ),
    value=VALUES,
)
def test_hostile_page_arguments_are_refused_typed_and_change_nothing(
    store: Store, call: str, name: str, value: Any
) -> None:
    """Any value for any filter, key or limit gives a page or a typed error; nothing changes."""
    if not store.list_deliveries():
        store.accept_deliveries(inbox_rows(20))
    before = store.list_deliveries(limit=100)
    method = getattr(store, call)
    try:
        if call == "refeed_deliveries":
            method([value])
        else:
            method(**{name: value})
    except (InvalidInput, NotFound):
        pass
    except TypeError as error:  # a keyword the call does not take, only
        if "unexpected keyword" not in str(error):
            raise
    if call != "refeed_deliveries":
        assert store.list_deliveries(limit=100) == before

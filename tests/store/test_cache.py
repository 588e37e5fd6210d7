"""The stores' order cache: its orders its own, moved on in place by the changes committed.

Whatever a caller does to an order it got (a read, a claim, a change it committed, the
order a reconciler worked on), the cache and every later reader see the order as stored.
"""

from __future__ import annotations

import contextlib
import gc
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from order_lifecycle import Inbox, Order, OrderLifecycleError, OrderState, Reconciler, fire
from order_lifecycle.lifecycle import Step
from order_lifecycle.store import MemoryStore, OrderChange, SQLiteStore, Store
from order_lifecycle.store._cache import OrderCache
from order_lifecycle.testing import charges, items, new_orders, order_events
from order_lifecycle.webhooks import SettledGroup
from tests import webhook_events as ev

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

Mutation = Callable[[Order], object]


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    """One change a careless caller makes to an order it holds: its steps, items, charges."""
    kind = draw(st.sampled_from(["fire", "append", "pop", "clear", "set", "reverse", "parts"]))
    if kind == "fire":
        event = draw(order_events())
        return lambda o: _quietly(fire, o, event, at=T0 + timedelta(days=9))
    if kind == "parts":
        new_items = tuple(draw(st.lists(items(), max_size=2, unique_by=lambda i: i.id)))
        new_charges = tuple(draw(st.lists(charges(), max_size=2, unique_by=lambda c: c.id)))
        return lambda o: _parts(o, new_items, new_charges)
    changes: dict[str, Mutation] = {
        "append": lambda o: o.history.append(o.history[-1]),
        "pop": lambda o: o.history.pop(),
        "clear": lambda o: o.history.clear(),
        "set": lambda o: o.history.__setitem__(0, o.history[-1]),
        "reverse": lambda o: o.history.reverse(),
    }
    return changes[kind]


def _quietly(change: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    with contextlib.suppress(OrderLifecycleError):
        change(*args, **kwargs)


def _parts(order: Order, new_items: tuple[Any, ...], new_charges: tuple[Any, ...]) -> None:
    object.__setattr__(order, "items", new_items)  # past the converters: any value at all
    object.__setattr__(order, "charges", new_charges)
    object.__setattr__(order, "state", OrderState.CANCELLED)


def _value(order: Order) -> tuple[Any, ...]:
    """An order as a value no later change of the order can reach."""
    return (order.state, order.items, order.charges, order.fraud_state, tuple(order.history))


def _mutate(held: Sequence[Order], changes: Sequence[Mutation]) -> None:
    for order in held:
        for change in changes:
            with contextlib.suppress(IndexError):  # a history cleared before
                change(order)


@contextlib.contextmanager
def _stores() -> Iterator[list[Store]]:
    with (
        tempfile.TemporaryDirectory(prefix="cache-") as folder,
        SQLiteStore(Path(folder) / "s.db") as sqlite,
    ):
        yield [MemoryStore(), sqlite]


def _recording(store: Store) -> list[Order]:
    """The orders of every change the store's reconciler settles, from now on."""
    seen: list[Order] = []
    settle = store.settle_deliveries

    def recorded(groups: Sequence[SettledGroup]) -> Any:
        seen.extend(change.order for group in groups for change in group.changes)
        return settle(groups)

    store.settle_deliveries = recorded  # type: ignore[method-assign]
    return seen


@settings(max_examples=60)  # a SQLite file an example: the suite's time budget
@given(order=new_orders(), changes=st.lists(mutations(), min_size=1, max_size=4))
def test_no_order_a_caller_holds_changes_the_stored_one(
    order: Order, changes: list[Mutation]
) -> None:
    """Changing any order a store gave or was given changes no later read of it."""
    with _stores() as stores:
        for store in stores:
            created = order.copy()
            store.create_order(created)
            got = [store.get_order(order.id), store.read_orders([order.id])[order.id][1]]
            version, base = store.read_orders([order.id])[order.id]
            work = base.copy()
            _quietly(fire, work, "cancel", at=T0 + timedelta(days=1))
            store.commit_changes([OrderChange(work, base, version)])
            kept: list[Order] = []
            store.update_order(order.id, kept.append)
            expected = _value(store.get_order(order.id))
            _mutate([created, *got, base, work, *kept], changes)
            assert _value(store.get_order(order.id)) == expected
            assert _value(store.read_orders([order.id])[order.id][1]) == expected


@settings(max_examples=60)  # a SQLite file an example: the suite's time budget
@given(changes=st.lists(mutations(), min_size=1, max_size=4))
def test_no_order_a_reconciler_claimed_or_made_changes_the_stored_one(
    changes: list[Mutation],
) -> None:
    """Changing the orders a claim gave, or a reconciler's changes made, changes no read."""
    reviewing, blocked = ev.review_then_blocked()
    with _stores() as stores:
        for store in stores:
            inbox = Inbox(store, verified_upstream=True)
            inbox.receive([ev.raw(reviewing)])
            made = _recording(store)
            inbox.accept([ev.raw(blocked)])
            claim = store.claim_deliveries(now=datetime.now(UTC))
            claimed = [order for _, order in claim.known.values()]
            store.release_claim(claim)
            Reconciler(store).run_once()
            order_id = claimed[0].id
            expected = _value(store.get_order(order_id))
            assert expected[0] is OrderState.BLOCKED
            assert made
            _mutate([*claimed, *made], changes)
            assert _value(store.get_order(order_id)) == expected
            assert _value(store.read_orders([order_id])[order_id][1]) == expected


def _reachable(roots: Sequence[object]) -> list[object]:
    """Every container and order reachable from ``roots`` (a step's parts are frozen)."""
    seen: dict[int, object] = {}
    todo = list(roots)
    while todo:
        item = todo.pop()
        if id(item) not in seen and isinstance(item, (dict, list, tuple, Order)):
            seen[id(item)] = item
            todo.extend(gc.get_referents(item))
    return list(seen.values())


def test_a_reconcilers_orders_are_never_the_stores_after_it_commits(tmp_path: Path) -> None:
    """No order a reconciler committed, nor its history, is reachable from the cache."""
    reviewing, blocked = ev.review_then_blocked()
    with SQLiteStore(tmp_path / "s.db") as store:
        inbox = Inbox(store, verified_upstream=True)
        inbox.receive([ev.raw(reviewing)])
        made = _recording(store)
        inbox.accept([ev.raw(blocked)])
        Reconciler(store).run_once()
        assert made
        cached = _reachable([store._orders_cache._entries])
        handed = _reachable([store.get_order(made[0].id)])
        for order in made:
            for held in (order, order.history):
                assert all(item is not held for item in cached)
                assert all(item is not held for item in handed)


def _row(version: int) -> tuple[Any, ...]:
    return (version, "o-1", "body")


def _cached(cache: OrderCache, order_id: str = "o-1") -> Order:
    return cache._entries[order_id][1]


def _long(cycles: int) -> Order:
    order = Order.create("o-1", OrderState.IN_REVIEW, at=T0)
    fire(order, "accept", at=T0)
    for n in range(cycles):
        fire(order, "dispute", at=T0 + timedelta(minutes=2 * n))
        fire(order, "resolve_dispute", at=T0 + timedelta(minutes=2 * n + 1))
    return order


def test_a_change_moves_the_cached_order_on_in_place() -> None:
    """A change of the cached order appends its steps to the cached history: no new list."""
    cache = OrderCache()
    cache.put("o-1", _row(1), _long(100))
    history = _cached(cache).history
    work = cache.get("o-1", _row(1))
    assert work is not None
    fire(work, "dispute", at=T0 + timedelta(days=1))
    cache.put("o-1", _row(2), work)
    assert _cached(cache).history is history
    assert cache.get("o-1", _row(2)) == work
    assert cache.get("o-1", _row(1)) is None


@given(
    steps=st.lists(st.sampled_from(["dispute", "resolve_dispute", "cancel"]), max_size=8),
    ways=st.lists(st.sampled_from(["copy", "own", "rewrite", "skip"]), min_size=8, max_size=8),
    changes=st.lists(mutations(), min_size=1, max_size=3),
    cycles=st.sampled_from([0, 40]),
)
def test_the_cache_holds_what_was_put_whatever_the_change(
    steps: list[str], ways: list[str], changes: list[Mutation], cycles: int
) -> None:
    """The cache answers the order last put, by value, however it was made and changed after."""
    cache = OrderCache()
    version, last = 1, _long(cycles)
    cache.put("o-1", _row(version), last)
    held = [last]
    for step, way in zip(steps, ways, strict=False):
        work = cache.get("o-1", _row(version)) if way == "copy" else last.copy()
        assert work is not None
        _quietly(fire, work, step, at=T0 + timedelta(days=1))
        if way == "rewrite" and len(work.history) > 1:
            work.history[-2] = Step(None, None, work.history[0].dest, T0)
        version += 2 if way == "skip" else 1
        cache.put("o-1", _row(version), work)
        last = work
        held.append(work)
        assert cache.get("o-1", _row(version)) == last
    expected = _value(last)
    _mutate(held, changes)
    got = cache.get("o-1", _row(version))
    assert got is not None
    assert _value(got) == expected

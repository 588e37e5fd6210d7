"""Differential: a real store and the memory reference, driven alike, must agree on everything.

Every operation runs on both stores; what it returns, or the error it raises (type and
message), must be the same, and after every step so must everything the stores hold.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from order_lifecycle import (
    Order,
    OrderEvent,
    cancel_charge,
    cancel_items,
    capture,
    fire,
    refund,
    return_items,
)
from order_lifecycle.orders import fulfil_items
from order_lifecycle.store import MemoryStore, Store, open_store
from order_lifecycle.testing import created_bodies, http_responses, new_orders

from .conftest import new_postgres_schema

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ORDER_IDS = st.sampled_from(["o-1", "o-2", "o-3"])
CHECKOUT_IDS = st.sampled_from(["chk-1", "chk-2"])
EVENT_IDS = st.none() | st.sampled_from(["evt-1", "evt-2", "evt-3"])
# Text a database cannot store: a NUL, or a lone surrogate (it has no UTF-8).
HOSTILE_IDS = st.builds(
    "{}{}{}".format,
    st.text(max_size=3),
    st.sampled_from(["\x00", "\ud800", "\udbff", "\udc00", "\udfff"]),
    st.text(max_size=3),
)


def outcome(call: Callable[[], object]) -> tuple[str, object]:
    """What a call came to: its result, or the type and message of what it raised."""
    try:
        return ("returned", call())
    except Exception as error:  # noqa: BLE001 (every error must agree, not only ours)
        return (type(error).__name__, str(error))


def open_units(order: Order) -> dict[str, int]:
    return {i.id: i.open_quantity for i in order.items if i.open_quantity}


def fail_after_editing(order: Order) -> None:
    order.items = ()
    raise RuntimeError("the change failed after editing the order")


def rewrite_history(order: Order) -> None:
    order.history.pop()


# Changes an app makes through update_order: the library's rule functions, with fixed
# times (each store runs the change itself), and a few that must commit nothing.
CHANGES: dict[str, Callable[[Order], object]] = {
    "accept": lambda order: fire(order, OrderEvent.ACCEPT, at=T),
    "fulfil all": lambda order: fulfil_items(order, open_units(order), at=T),
    "cancel all items": lambda order: cancel_items(order, open_units(order), at=T),
    "capture 1": lambda order: capture(order, order.charges[0].id, 1, at=T),
    "cancel charge": lambda order: cancel_charge(order, order.charges[-1].id, "0.50", at=T),
    "refund 1": lambda order: refund(order, 1),
    "return one": lambda order: return_items(order, {order.items[0].id: 1}, at=T),
    "nothing": lambda order: str(order.state),
    "fail after editing": fail_after_editing,
    "rewrite history": rewrite_history,
}


class StoresAgree(RuleBasedStateMachine):
    """The memory store and a real one, given the same operations."""

    make_real: Callable[[], Store] = MemoryStore

    def __init__(self) -> None:
        super().__init__()
        self.reference: Store = MemoryStore()
        self.real = type(self).make_real()

    def teardown(self) -> None:
        """Close the real store's connection."""
        self.real.close()

    def both(self, call: Callable[[Store], object]) -> None:
        """Run ``call`` on both stores; what they return or raise must be the same."""
        expected = outcome(lambda: call(self.reference))
        assert outcome(lambda: call(self.real)) == expected

    orders = Bundle("orders")

    @rule(target=orders, data=st.data(), order_id=ORDER_IDS, event_id=EVENT_IDS)
    def create(self, data: st.DataObject, order_id: str, event_id: str | None) -> str:
        """Store a new order (again, maybe: OrderExists)."""
        order = attrs.evolve(data.draw(new_orders()), id=order_id)
        self.both(lambda store: store.create_order(order, event_id=event_id))
        return order_id

    @rule(order_id=orders, change=st.sampled_from(sorted(CHANGES)), event_id=EVENT_IDS)
    def update(self, order_id: str, change: str, event_id: str | None) -> None:
        """Apply a change, as a webhook (with an event id) or an app's action (without)."""
        self.both(lambda store: store.update_order(order_id, CHANGES[change], event_id=event_id))

    @rule(order_id=orders, event=st.sampled_from(OrderEvent), event_id=EVENT_IDS)
    def fire_event(self, order_id: str, event: OrderEvent, event_id: str | None) -> None:
        """Fire any event, legal or not, as a webhook or an app's action."""
        self.both(
            lambda store: store.update_order(
                order_id,
                lambda order: fire(order, event, at=T, event_id=event_id),
                event_id=event_id,
            )
        )

    @rule(order_id=orders)
    def lose_a_race(self, order_id: str) -> None:
        """An update overtaken by another between its read and its write: StaleOrder."""

        def overtaken(store: Store) -> object:
            def change(order: Order) -> None:
                store.update_order(order_id, lambda order: fire(order, OrderEvent.DISPUTE, at=T))
                fire(order, OrderEvent.DISPUTE, at=T)

            return store.update_order(order_id, change)

        self.both(overtaken)

    checkouts = Bundle("checkouts")

    @rule(target=checkouts, checkout_id=CHECKOUT_IDS)
    def submit(self, checkout_id: str) -> str:
        """Claim a checkout for a submission."""
        self.both(lambda store: store.begin_submission(checkout_id, at=T))
        return checkout_id

    @rule(data=st.data(), checkout_id=checkouts)
    def respond(self, data: st.DataObject, checkout_id: str) -> None:
        """The provider answers (201 stores the order), or the body is garbled."""
        status, body = data.draw(
            http_responses(checkout_id) | st.tuples(st.just(201), st.just("Created"))
        )
        self.both(lambda store: store.record_response(checkout_id, status, body, at=T))

    @rule(checkout_id=checkouts)
    def no_response(self, checkout_id: str) -> None:
        """The answer is lost."""
        self.both(lambda store: store.record_no_response(checkout_id, at=T))

    @rule(data=st.data(), checkout_id=checkouts, found=st.booleans())
    def settle(self, data: st.DataObject, checkout_id: str, *, found: bool) -> None:
        """A lookup settles a doubt, with the order it found (stored too) or none."""
        order = None
        if found:
            body = data.draw(created_bodies(checkout_id))
            order = Order.create(f"found-{len(body) % 3}", at=T, checkout_id=checkout_id)
        self.both(lambda store: store.settle(checkout_id, order, at=T))

    @rule(order_id=HOSTILE_IDS, event_id=st.none() | HOSTILE_IDS)
    def hostile_ids(self, order_id: str, event_id: str | None) -> None:
        """Ids with NUL or lone surrogates: refused alike by every store, nothing written."""
        self.both(lambda store: store.create_order(Order.create(order_id), event_id=event_id))
        self.both(lambda store: store.get_order(order_id))
        self.both(lambda store: store.keep_delivery(b"raw", "invalid", event_id=event_id, at=T))
        self.both(lambda store: store.begin_submission(order_id, at=T))

    @rule(raw=st.binary(max_size=20), reason=st.text(min_size=1, max_size=8), event_id=EVENT_IDS)
    def keep(self, raw: bytes, reason: str, event_id: str | None) -> None:
        """Keep a delivery for an operator."""
        self.both(lambda store: store.keep_delivery(raw, reason, event_id=event_id, at=T))

    @invariant()
    def they_hold_the_same(self) -> None:
        """Orders, event ids, checkouts, kept deliveries and the check all agree."""
        for read in (
            lambda store: store.order_ids(),
            lambda store: store.checkout_ids(),
            lambda store: store.kept_deliveries(),
            lambda store: store.check(),
            *((lambda store, i=i: store.get_order(i)) for i in ORDER_IDS.elements),  # type: ignore[attr-defined]
            *((lambda store, i=i: store.applied_event_ids(i)) for i in ORDER_IDS.elements),  # type: ignore[attr-defined]
            *((lambda store, i=i: store.get_checkout(i)) for i in CHECKOUT_IDS.elements),  # type: ignore[attr-defined]
        ):
            self.both(read)


def run(make_real: Callable[[], Store], examples: int, *, shrink: bool = True) -> None:
    machine: Any = type("Agreeing", (StoresAgree,), {"make_real": staticmethod(make_real)})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            phases=list(Phase) if shrink else [Phase.explicit, Phase.generate],
        ),
    )


def test_sqlite_agrees_with_memory(tmp_path: Path) -> None:
    """A SQLite file store does exactly what the memory store does."""
    files = itertools.count()
    run(lambda: open_store(tmp_path / f"store-{next(files)}.db"), examples=40)


def test_postgres_agrees_with_memory(postgres_dsn: str) -> None:
    """A PostgreSQL store does exactly what the memory store does."""
    run(lambda: open_store(new_postgres_schema(postgres_dsn)), examples=25)


def test_the_comparison_catches_a_store_that_differs() -> None:
    """A store that loses event ids is caught: the differential check is not vacuous."""

    class Forgetful(MemoryStore):
        def applied_event_ids(self, order_id: str) -> frozenset[str]:
            return super().applied_event_ids(order_id) - {"evt-1"}

    # A directed sequence of the machine's own steps, not a search: no seed's luck involved.
    machine = type("Agreeing", (StoresAgree,), {"make_real": staticmethod(Forgetful)})()
    order = Order.create("o-1")
    machine.both(lambda store: store.create_order(order))
    machine.update("o-1", "accept", "evt-1")
    with pytest.raises(AssertionError):
        machine.they_hold_the_same()

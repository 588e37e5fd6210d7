from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from order_lifecycle import (
    Charge,
    ChargeState,
    Item,
    Order,
    OrderEvent,
    OrderLifecycleError,
    OrderState,
    allowed_events,
    cancel_charge,
    cancel_items,
    capture,
    fire,
    refund,
    return_items,
)
from order_lifecycle.exceptions import ReturnNotAllowed
from order_lifecycle.lifecycle import ORDER_SPEC
from order_lifecycle.orders import fulfil_items
from order_lifecycle.testing import assert_order_invariants, assert_state_implied

from .orders import T0, new_order, unchanged


def test_an_unreachable_state_refuses_the_operation() -> None:
    """When the new data would imply a state the table can't reach, nothing is committed.

    Only an order whose state already disagreed with its data gets there: this one was
    created complete while its charge is still open, so a partial return would imply
    ``fulfilled``, behind ``complete``.
    """
    items = (Item("shirt", 2, physical=True, fulfilled=2),)
    order = new_order(items=items)
    fire(order, OrderEvent.FULFIL, at=T0)
    order.charges = (attrs.evolve(order.charges[0], state=ChargeState.COMPLETE),)
    fire(order, OrderEvent.COMPLETE, at=T0)
    order.charges = (attrs.evolve(order.charges[0], state=ChargeState.CAPTURABLE),)
    with unchanged(order), pytest.raises(ReturnNotAllowed) as raised:
        return_items(order, {"shirt": 1})
    assert str(raised.value) == (
        "Can't return_items when in complete: its items and charges would then say fulfilled, "
        "which the order can't reach."
    )


# Property tests: random sequences of operations, refused ones included.

ITEM_IDS = ("i0", "i1", "i2")
CHARGE_IDS = ("c0", "c1")
REST = "rest"  # stands for "all that is left", so that sequences reach the later states
JUNK: list[object] = [0, -1, True, 1.5, "1"]


@st.composite
def orders(draw: st.DrawFn) -> Order:
    """A new order in an entry state (accepted most often): 1-3 items, up to two USD charges."""
    items = [
        Item(item_id, draw(st.integers(1, 4)), physical=draw(st.booleans()))
        for item_id in ITEM_IDS[: draw(st.integers(1, 3))]
    ]
    charges = [
        Charge(
            charge_id,
            draw(st.sampled_from([ChargeState.CAPTURABLE] * 3 + [ChargeState.PENDING])),
            draw(st.decimals(Decimal(1), Decimal(100), places=2)),
            "USD",
        )
        for charge_id in CHARGE_IDS[: draw(st.sampled_from([1, 2, 1, 0]))]
    ]
    state = draw(st.sampled_from([*ORDER_SPEC.entry_states, OrderState.ACCEPTED]))
    return Order.create("o", state, at=T0, items=items, charges=charges)


# Mostly sensible requests, so that sequences reach the later states; some bad ones.
units = st.one_of(
    st.sampled_from([REST, 1, 2, 3]), st.sampled_from([REST, 1]), st.sampled_from(JUNK)
)
amounts = st.one_of(
    st.just(REST),
    st.decimals(Decimal("0.01"), Decimal(120), places=2),
    st.just(REST),
    st.sampled_from([*JUNK, "NaN"]),
)
currencies = st.sampled_from([None, "USD", None, "EUR"])
# Any event, for the provider's events that are refused now; the data events among them must
# never pass when the state already is what the data implies. ``return`` is left out: it
# has no guard, so firing it by hand may leave the state ahead of the items (see
# assert_state_implied).
events = st.sampled_from([e for e in OrderEvent if e is not OrderEvent.RETURN])

# How often each operation is tried; cancelling the rest (which often ends the order) and
# bare provider events least.
OPERATIONS = (
    *("fulfil", "capture", "refund", "return_items", "provider_event") * 3,
    *("cancel_items", "cancel_charge", "fulfil_the_rest") * 2,
    "cancel_the_rest",
)


class Operations(RuleBasedStateMachine):
    """Fulfil, cancel, capture, refund, return and dispute an order at random."""

    order: Order

    frozen: tuple[tuple[Item, ...], tuple[Charge, ...]] | None = None

    @initialize(order=orders())
    def start(self, order: Order) -> None:
        """Begin with a new order."""
        self.order = order

    def attempt(self, operation: Callable[[], object]) -> None:
        """Run one operation; a refusal must leave the order exactly as it was."""
        before = copy.deepcopy(self.order)
        try:
            operation()
        except OrderLifecycleError:
            assert self.order == before

    def request(self, data: st.DataObject, left: Callable[[Item], int]) -> dict[str, object]:
        """Item id -> units, for some of the order's items (and now and then an unknown one)."""
        items = {item.id: item for item in self.order.items}
        ids = data.draw(st.lists(st.sampled_from([*items, *items, "nope"]), min_size=1, max_size=2))
        drawn = {item_id: data.draw(units) for item_id in ids}
        return {
            item_id: left(items[item_id]) if value == REST and item_id in items else value
            for item_id, value in drawn.items()
        }

    def charge_id(self, data: st.DataObject) -> str:
        """One of the order's charge ids, now and then an unknown one."""
        ids = [c.id for c in self.order.charges]
        return data.draw(st.sampled_from([*ids, *ids, "nope"]))

    def amount(self, data: st.DataObject, charge_id: str | None) -> object:
        """An amount, often all that is left to capture or cancel (or to refund)."""
        value = data.draw(amounts)
        if value != REST:
            return value
        charges = self.order.charges
        if charge_id is None:
            return sum((c.refundable for c in charges), Decimal(0))
        return next((c.open_amount for c in charges if c.id == charge_id), Decimal(1))

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """One operation, drawn with weights.

        One rule, so that hypothesis's swarm testing can't switch off, say, refunds for a
        whole sequence.
        """
        name = data.draw(st.sampled_from(OPERATIONS), label="operation")
        getattr(self, name)(data)

    def fulfil(self, data: st.DataObject) -> None:
        """Fulfil some units."""
        request = self.request(data, lambda item: item.open_quantity)
        self.attempt(lambda: fulfil_items(self.order, request, at=T0))  # type: ignore[arg-type]

    def cancel_items(self, data: st.DataObject) -> None:
        """Cancel some units."""
        request = self.request(data, lambda item: item.open_quantity)
        self.attempt(lambda: cancel_items(self.order, request, at=T0))  # type: ignore[arg-type]

    def fulfil_the_rest(self, _data: st.DataObject) -> None:
        """Fulfil every open unit (nothing open is a bad, empty request)."""
        rest = {i.id: i.open_quantity for i in self.order.items if i.open_quantity}
        self.attempt(lambda: fulfil_items(self.order, rest, at=T0))

    def cancel_the_rest(self, _data: st.DataObject) -> None:
        """Cancel every open unit: the whole order, when nothing was fulfilled."""
        rest = {i.id: i.open_quantity for i in self.order.items if i.open_quantity}
        self.attempt(lambda: cancel_items(self.order, rest, at=T0))

    def return_items(self, data: st.DataObject) -> None:
        """Return some units."""
        request = self.request(data, lambda item: item.returnable_quantity)
        self.attempt(lambda: return_items(self.order, request, at=T0))  # type: ignore[arg-type]

    def capture(self, data: st.DataObject) -> None:
        """Capture part of a charge."""
        charge_id, currency = self.charge_id(data), data.draw(currencies)
        value = self.amount(data, charge_id)
        self.attempt(lambda: capture(self.order, charge_id, value, currency=currency, at=T0))  # type: ignore[arg-type]

    def cancel_charge(self, data: st.DataObject) -> None:
        """Cancel part of a charge."""
        charge_id, currency = self.charge_id(data), data.draw(currencies)
        value = self.amount(data, charge_id)
        self.attempt(lambda: cancel_charge(self.order, charge_id, value, currency=currency, at=T0))  # type: ignore[arg-type]

    def refund(self, data: st.DataObject) -> None:
        """Refund part of what was captured."""
        currency = data.draw(currencies)
        value = self.amount(data, None)
        self.attempt(lambda: refund(self.order, value, currency=currency))  # type: ignore[arg-type]

    def provider_event(self, data: st.DataObject) -> None:
        """An event from the provider: mostly one allowed now, sometimes any (to be refused)."""
        legal = [e for e in allowed_events(self.order) if e is not OrderEvent.RETURN]
        event = data.draw(st.sampled_from(legal) | events if legal else events)
        self.attempt(lambda: fire(self.order, event, at=T0))

    @invariant()
    def never_more_than_ordered(self) -> None:
        """Fulfilled + cancelled never exceed ordered; returned never exceeds fulfilled."""
        for item in self.order.items:
            assert item.fulfilled + item.cancelled <= item.quantity
            assert item.returned <= item.fulfilled

    @invariant()
    def state_is_what_items_and_charges_imply(self) -> None:
        """The state is what the one rule says of the items and charges."""
        assert_state_implied(self.order)

    @invariant()
    def nothing_captured_or_shipped_before_acceptance(self) -> None:
        """Nothing is fulfilled or captured before the order was accepted."""
        if not any(step.dest is OrderState.ACCEPTED for step in self.order.history):
            assert not any(item.fulfilled for item in self.order.items)
            assert not any(charge.captured for charge in self.order.charges)

    @invariant()
    def nothing_moves_during_a_dispute(self) -> None:
        """No fulfilment, cancellation, capture, refund or return while a dispute is open."""
        if self.order.state is not OrderState.DISPUTE:
            self.frozen = None
        elif self.frozen is None:
            self.frozen = (self.order.items, self.order.charges)
        else:
            assert (self.order.items, self.order.charges) == self.frozen

    @invariant()
    def refunded_never_exceeds_captured(self) -> None:
        """Refunded never exceeds captured; captured + cancelled never exceed authorized."""
        for charge in self.order.charges:
            assert charge.refunded <= charge.captured
            assert charge.captured + charge.cancelled <= charge.amount

    @invariant()
    def a_charge_with_nothing_open_is_settled(self) -> None:
        """Once nothing is left open, a charge is complete (something captured) or cancelled."""
        for charge in self.order.charges:
            if not charge.open_amount:
                settled = ChargeState.COMPLETE if charge.captured else ChargeState.CANCELLED
                assert charge.state is settled

    @invariant()
    def every_item_cancelled_cancels_the_order(self) -> None:
        """Every unit cancelled: the order is cancelled, and so is every charge."""
        if all(i.cancelled == i.quantity for i in self.order.items):
            assert self.order.state is OrderState.CANCELLED
            assert all(c.state is ChargeState.CANCELLED for c in self.order.charges)

    @invariant()
    def keeps_the_lifecycle_promises(self) -> None:
        """Every invariant of order_lifecycle.testing holds too."""
        assert_order_invariants(self.order)


TestOperations = Operations.TestCase
TestOperations.__doc__ = "Random operation sequences keep every invariant; refusals change nothing."
# 200 sequences of 30 steps: measured to reach every state, and to catch each of a set of
# deliberately planted rule-breaking bugs, in about 4 s (the CI profile's 300 x 50 takes
# ~10 s, mostly in hypothesis's own drawing).
TestOperations.settings = settings(
    settings.default, max_examples=min(settings().max_examples, 200), stateful_step_count=30
)

"""Stateful property tests: random legal and illegal events against orders and checkouts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from order_lifecycle import (
    ChargeState,
    Checkout,
    CheckoutEvent,
    Order,
    OrderEvent,
    TransitionNotAllowed,
    allowed_events,
    can_fire,
    explain,
    fire,
)
from order_lifecycle.exceptions import UnknownEvent
from order_lifecycle.lifecycle import CHECKOUT_SPEC, ORDER_SPEC, MachineSpec
from order_lifecycle.testing import (
    assert_checkout_invariants,
    assert_order_invariants,
    checkout_events,
    checkouts,
    new_orders,
    order_events,
)

from .provider_data import authorize_charges, close_units, settle_charge

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_EVENT_NAMES = {str(e) for e in OrderEvent} | {str(e) for e in CheckoutEvent}


def fire_and_check(
    model: Order | Checkout, event: OrderEvent | CheckoutEvent, at: datetime
) -> None:
    """Fire ``event``; whatever happens must agree with can_fire, the table and explain."""
    spec: MachineSpec[Any, Any] = ORDER_SPEC if isinstance(model, Order) else CHECKOUT_SPEC
    before = copy.deepcopy(model)
    allowed = can_fire(model, event)
    assert (event in allowed_events(model)) == allowed
    if allowed:
        step = fire(model, event, at=at)
        rows = spec.transitions_from(before.state, event)
        assert any(row.dest is step.dest for row in rows), f"{step} is not a row of the table"
        assert model.history == [*before.history, step]
        return
    with pytest.raises(TransitionNotAllowed) as raised:
        fire(model, event, at=at)
    assert model == before, "a refused event changed the model"
    assert (raised.value.event, raised.value.state) == (event, before.state)
    explanation = explain(model, event)
    assert not explanation.allowed
    assert explanation.reason == raised.value.reason


class OrderLifecycle(RuleBasedStateMachine):
    """One order, hit by random events while the provider's data about it moves on."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0

    def tick(self) -> datetime:
        """The next minute: each step happens after the last."""
        self.now += timedelta(minutes=1)
        return self.now

    @initialize(order=new_orders())
    def created(self, order: Order) -> None:
        """The provider creates the order in an entry state."""
        self.order = order

    @rule(event=order_events())
    def event_arrives(self, event: OrderEvent) -> None:
        """Any event arrives, legal here or not."""
        fire_and_check(self.order, event, self.tick())

    @rule(name=st.text(max_size=20))
    def unknown_event_is_refused(self, name: str) -> None:
        """A name no machine knows is refused, and changes nothing."""
        assume(name not in _EVENT_NAMES)
        before = copy.deepcopy(self.order)
        try:
            fire(self.order, name, at=self.tick())
        except UnknownEvent:
            pass
        else:
            raise AssertionError(f"unknown event {name!r} was accepted")
        assert self.order == before

    @rule()
    def charges_authorized(self) -> None:
        """The provider authorizes the pending charges."""
        authorize_charges(self.order)

    @rule(
        index=st.integers(0, 3),
        state=st.sampled_from([ChargeState.COMPLETE, ChargeState.CANCELLED]),
    )
    def charge_settled(self, index: int, state: ChargeState) -> None:
        """The provider captures or cancels a charge."""
        settle_charge(self.order, index, state)

    @rule(index=st.integers(0, 3), count=st.integers(1, 5), fulfil=st.booleans())
    def units_closed(self, index: int, count: int, fulfil: bool) -> None:
        """Units of an item are fulfilled or cancelled."""
        close_units(self.order, index, count, fulfil=fulfil)

    @invariant()
    def keeps_its_promises(self) -> None:
        """After every step, every promise of the order lifecycle holds."""
        assert_order_invariants(self.order)


class CheckoutLifecycle(RuleBasedStateMachine):
    """Many checkouts, each hit by random submission outcomes and lookups."""

    opened_checkouts = Bundle("opened_checkouts")

    def __init__(self) -> None:
        super().__init__()
        self.all: list[Checkout] = []
        self.now = T0

    @rule(target=opened_checkouts, checkout=checkouts())
    def opened(self, checkout: Checkout) -> Checkout:
        """A shop opens a checkout."""
        self.all.append(checkout)
        return checkout

    @rule(checkout=opened_checkouts, event=checkout_events())
    def outcome_arrives(self, checkout: Checkout, event: CheckoutEvent) -> None:
        """A submission outcome or a lookup result arrives, legal here or not."""
        self.now += timedelta(seconds=1)
        fire_and_check(checkout, event, self.now)

    @invariant()
    def keeps_its_promises(self) -> None:
        """After every step, every checkout keeps its promises."""
        for checkout in self.all:
            assert_checkout_invariants(checkout)


TestOrderLifecycle = OrderLifecycle.TestCase
TestCheckoutLifecycle = CheckoutLifecycle.TestCase

"""order_lives and shuffled_deliveries: valid provider traffic, in order and not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Inbox, Order, OrderState, Reconciler
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.sandbox.shapes import LEGACY_VERSION, T0, VERSION
from order_lifecycle.store import MemoryStore
from order_lifecycle.testing import (
    TEST_SECRET,
    OrderLife,
    SignedDelivery,
    assert_order_invariants,
    order_lives,
    shuffled_deliveries,
    signed_delivery,
)
from order_lifecycle.webhooks import (
    SIGNATURE_HEADER,
    DeliveryStatus,
    verify_signature,
)


def received(deliveries: list[SignedDelivery] | tuple[SignedDelivery, ...]) -> MemoryStore:
    """A memory store that received ``deliveries`` in one batch, signatures checked."""
    store = MemoryStore()
    Inbox(store, secrets=[TEST_SECRET]).receive(deliveries)
    return store


def the_same(one: Order, other: Order) -> None:
    assert one.state is other.state
    assert one.fraud_state is other.fraud_state
    assert {c.id: c for c in one.charges} == {c.id: c for c in other.charges}
    assert {i.id: i for i in one.items} == {i.id: i for i in other.items}


@given(order_lives())
def test_every_life_applies_in_order(life: OrderLife) -> None:
    """Every delivery of a life, in order, applies; the order ends in the life's final state."""
    store = MemoryStore()
    results = Inbox(store, secrets=[TEST_SECRET]).receive(life.deliveries)
    assert [r.outcome for r in results] == [DeliveryStatus.APPLIED] * len(life.deliveries)
    order = store.get_order(life.order_id)
    assert order.state is life.final_state
    assert_order_invariants(order)


@given(order_lives(), st.booleans())
def test_every_life_applies_one_delivery_at_a_time(life: OrderLife, known: bool) -> None:
    """One delivery per batch, the order known from its 201 or not: every delivery applies."""
    store = MemoryStore()
    if known:
        store.create_order(life.as_created())
    inbox = Inbox(store, secrets=[TEST_SECRET])
    for delivery in life.deliveries:
        (result,) = inbox.receive([delivery])
        assert result.outcome is DeliveryStatus.APPLIED, result.reason
    assert store.get_order(life.order_id).state is life.final_state


@pytest.mark.parametrize("version", [VERSION, LEGACY_VERSION])
@given(data=st.data())
def test_both_api_generations(version: str, data: st.DataObject) -> None:
    """Each API generation has its shape: payment.charges[], or top-level charges[]."""
    life = data.draw(order_lives(versions=(version,)))
    assert life.version == version
    for event in life.events:
        assert event["digitalriverVersion"] == version
        obj = event["data"]["object"]
        if "orderId" in obj:
            continue  # a charge object: one shape in both
        assert ("payment" in obj) is (version == VERSION)
        assert "checkoutId" in obj or version == LEGACY_VERSION
        assert "charges" not in obj or version == LEGACY_VERSION


@given(order_lives(max_moves=6))
def test_deliveries_are_signed_as_the_provider_signs(life: OrderLife) -> None:
    """Each delivery carries its signature header, valid when it was received."""
    for delivery in life.deliveries:
        assert delivery.kind == "valid"
        assert delivery.headers[SIGNATURE_HEADER] == delivery.signature
        assert delivery.received_at is not None
        verify_signature(
            delivery.signature or "",
            delivery.body,
            [TEST_SECRET],
            delivery.received_at,
            timedelta(minutes=5),
        )


@given(order_lives(), st.data())
def test_shuffled_deliveries_end_in_the_same_state(life: OrderLife, data: st.DataObject) -> None:
    """Reordered and redelivered, a life's deliveries leave the order as in order."""
    in_order = received(life.deliveries).get_order(life.order_id)
    shuffled = data.draw(shuffled_deliveries(life))
    originals = {d.body for d in life.deliveries}
    assert {d.body for d in shuffled} == originals
    assert all(d.kind in {"valid", "redelivery"} for d in shuffled)
    store = received(shuffled)
    other = store.get_order(life.order_id)
    the_same(in_order, other)
    assert_order_invariants(other)


@given(shuffled_deliveries(OrderLife("o1", OrderState.ACCEPTED, VERSION, (), {})))
def test_shuffled_deliveries_of_an_empty_life_are_empty(deliveries: list[SignedDelivery]) -> None:
    """A life without deliveries shuffles to none."""
    assert deliveries == []


def test_signed_delivery_is_a_delivery_with_headers() -> None:
    """signed_delivery signs at the given time, received a second later."""
    delivery = signed_delivery(b"{}", at=T0)
    assert delivery.received_at == T0 + timedelta(seconds=1)
    assert delivery.headers == {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: delivery.signature,
    }
    assert SignedDelivery(b"{}").headers == {"Content-Type": "application/json"}
    assert delivery.payload() == {}


@pytest.mark.parametrize(
    "arguments",
    [{"order_id": ""}, {"max_moves": -1}, {"versions": ()}, {"versions": ("2019-01-01",)}],
)
def test_order_lives_refuses_bad_arguments(arguments: dict[str, object]) -> None:
    """A bad argument is an InvalidInput when the strategy is built."""
    with pytest.raises(InvalidInput, match="order_lives needs"):
        order_lives(**arguments)  # type: ignore[arg-type]


@given(order_lives(), st.data())
def test_shuffled_one_at_a_time_end_alike_once_the_waiting_are_tried_again(
    life: OrderLife, data: st.DataObject
) -> None:
    """One delivery per batch; the waiting ones tried again once due: the same order."""
    in_order = received(life.deliveries).get_order(life.order_id)
    store = MemoryStore()
    inbox = Inbox(store, secrets=[TEST_SECRET])
    for delivery in data.draw(shuffled_deliveries(life)):
        inbox.receive([delivery])
    later = Reconciler(store, clock=lambda: datetime.now(UTC) + timedelta(days=1))
    while later.run_once():
        pass
    the_same(in_order, store.get_order(life.order_id))

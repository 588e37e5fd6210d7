"""hostile_deliveries, hostile_bodies: traffic an inbox must refuse, and only with types."""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from order_lifecycle import Inbox
from order_lifecycle.exceptions import InvalidEvent, InvalidInput
from order_lifecycle.store import MemoryStore
from order_lifecycle.testing import (
    HOSTILE_KINDS,
    TEST_SECRET,
    OrderLife,
    SignedDelivery,
    hostile_bodies,
    hostile_deliveries,
    order_lives,
)
from order_lifecycle.webhooks import DeliveryStatus, parse_event

_UNREAD = {"forged": "signature", "stale": "signature", "oversized": "too_large"}
_STORED = {"malformed", "poison_id"}


@given(order_lives(max_moves=6), st.lists(hostile_deliveries(), min_size=1, max_size=4))
def test_hostile_deliveries_change_no_order(
    life: OrderLife, deliveries: list[SignedDelivery]
) -> None:
    """Every hostile delivery is invalid, with a reason, and leaves the store's orders alone."""
    store = MemoryStore()
    inbox = Inbox(store, secrets=[TEST_SECRET])
    inbox.receive(life.deliveries)
    before = {i: store.get_order(i) for i in store.order_ids()}
    applied = store.applied_event_ids(life.order_id)
    results = inbox.receive(deliveries)
    for delivery, result in zip(deliveries, results, strict=True):
        event(delivery.kind)
        assert result.reason
        if result.outcome is DeliveryStatus.DUPLICATE:  # signed, its key stored before
            assert delivery.kind in _STORED
            continue
        assert result.outcome is DeliveryStatus.INVALID, (delivery.kind, result.reason)
        if delivery.kind in _STORED:
            assert result.seq is not None
            assert store.get_delivery(result.seq).status is DeliveryStatus.INVALID
        else:
            assert (result.refusal, result.seq) == (_UNREAD[delivery.kind], None)
    assert {i: store.get_order(i) for i in store.order_ids()} == before
    assert store.applied_event_ids(life.order_id) == applied
    unread = Counter(_UNREAD[d.kind] for d in deliveries if d.kind in _UNREAD)
    assert inbox.refused == {"signature": unread["signature"], "too_large": unread["too_large"]}


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
@given(data=st.data())
def test_each_kind_is_drawn_and_refused(kind: str, data: st.DataObject) -> None:
    """Each kind on its own: labelled with its kind, and refused by the inbox."""
    delivery = data.draw(hostile_deliveries(kinds=(kind,)))
    assert delivery.kind == kind
    store = MemoryStore()
    (result,) = Inbox(store, secrets=[TEST_SECRET]).receive([delivery])
    assert result.outcome is DeliveryStatus.INVALID
    assert result.status_code == {"forged": 401, "stale": 401, "oversized": 413}.get(kind, 202)
    assert store.order_ids() == []


@given(hostile_deliveries(kinds=("malformed", "poison_id")))
def test_signed_hostile_bodies_fail_parsing_with_a_typed_error(delivery: SignedDelivery) -> None:
    """What passes the signature check still fails the parser, as InvalidEvent only."""
    with pytest.raises(InvalidEvent):
        parse_event(delivery.body)


@given(hostile_bodies())
def test_hostile_bodies_parse_or_fail_typed(body: bytes) -> None:
    """A poisoned valid event parses, or fails with InvalidEvent: nothing else."""
    with contextlib.suppress(InvalidEvent):
        parse_event(body)


def test_hostile_deliveries_refuse_unknown_kinds() -> None:
    """An unknown kind, or none, is an InvalidInput when the strategy is built."""
    with pytest.raises(InvalidInput, match="kinds must be some of"):
        hostile_deliveries(kinds=("forged", "rude"))
    with pytest.raises(InvalidInput, match="kinds must be some of"):
        hostile_deliveries(kinds=())

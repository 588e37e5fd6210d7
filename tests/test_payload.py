from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import InvalidInput, Item, OrderState
from order_lifecycle._json import Problem
from order_lifecycle.checkout._responses import read_response
from order_lifecycle.exceptions import InvalidResponse
from order_lifecycle.lifecycle import FraudState, ItemState
from order_lifecycle.provider._payload import (
    ItemSnapshot,
    OrderSnapshot,
    order_snapshot,
    read_charge,
    read_order,
)
from order_lifecycle.testing import HOSTILE_NUMBERS, HOSTILE_TEXT, POISON, items

T0 = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "fulfilled", "cancelled", "returned"),
    [
        (ItemState.CREATED, 1, 1, 0),
        (ItemState.PAID, 1, 1, 0),
        (ItemState.BLOCKED, 1, 1, 0),
        (ItemState.FULFILLED, 3, 1, 0),
        (ItemState.CANCELLED, 1, 3, 0),
        (ItemState.RETURNED, 3, 1, 3),
        (None, 1, 1, 0),
    ],
)
def test_an_item_state_closes_the_open_units(
    state: ItemState | None, fulfilled: int, cancelled: int, returned: int
) -> None:
    """fulfilled, cancelled and returned close every open unit; other states none."""
    local = Item("i", 4, physical=True, fulfilled=1, cancelled=1)
    item = ItemSnapshot(Item("i", 4, physical=None), state).onto(local)
    assert (item.fulfilled, item.cancelled, item.returned) == (fulfilled, cancelled, returned)
    assert item.physical is True


def _applied(snapshot: ItemSnapshot, local: Item) -> Item:
    """What a snapshot's item state and flags make of ``local``, by their definition."""
    open_units = local.open_quantity
    fulfilled, cancelled, returned = local.fulfilled, local.cancelled, local.returned
    if snapshot.state in {ItemState.FULFILLED, ItemState.RETURNED}:
        fulfilled += open_units
    if snapshot.state is ItemState.CANCELLED:
        cancelled += open_units
    if snapshot.state is ItemState.RETURNED:
        returned = fulfilled
    physical = local.physical if snapshot.item.physical is None else snapshot.item.physical
    sku = local.sku if snapshot.item.sku is None else snapshot.item.sku
    return Item(local.id, local.quantity, physical, fulfilled, cancelled, returned, sku)


_FLAGS = st.sampled_from([None, True, False])
_SKUS = st.sampled_from([None, "sku-1", "sku-2"])


@given(
    st.integers(1, 5).flatmap(
        lambda quantity: st.tuples(
            st.just(quantity), st.integers(0, quantity), st.integers(0, quantity)
        )
    ),
    _FLAGS,
    _SKUS,
    st.sampled_from([None, *ItemState]),
    _FLAGS,
    _SKUS,
)
def test_a_snapshot_onto_a_known_item_is_its_definition(  # noqa: PLR0917 (the two items' parts)
    units: tuple[int, int, int],
    physical: bool | None,
    sku: str | None,
    state: ItemState | None,
    said: bool | None,
    said_sku: str | None,
) -> None:
    """A snapshot onto a known item gives its definition; the item itself when nothing changes."""
    quantity, fulfilled, cancelled = units
    cancelled = min(cancelled, quantity - fulfilled)
    local = Item("i", quantity, physical, fulfilled, cancelled, 0, sku)
    snapshot = ItemSnapshot(Item("i", quantity, said, sku=said_sku), state)
    expected = _applied(snapshot, local)
    applied = snapshot.onto(local)
    assert applied == expected
    if expected == local:
        assert applied is local


class _OtherItem(Item):
    """An Item of another type: ``onto`` builds its result by ``Item(...)``, checked."""

    __slots__ = ()


@given(items(), st.sampled_from([None, *ItemState]), st.none() | items(), _SKUS, _FLAGS)
def test_a_snapshot_onto_an_item_is_what_the_checked_constructor_builds(
    said: Item, state: ItemState | None, local: Item | None, sku: str | None, flag: bool | None
) -> None:
    """ItemSnapshot.onto past Item's checks gives the item (or error) Item(...) gives."""
    if local is not None:  # some units closed already, some returned
        units = (local.quantity, min(1, local.quantity - 1), local.quantity > 1)
        local = Item(local.id, units[0], flag, units[1], int(units[2]), units[1], sku)
    other = _OtherItem(*attrs.astuple(said))
    try:
        expected = ItemSnapshot(other, state).onto(local)
    except InvalidInput as error:
        with pytest.raises(InvalidInput, match=re.escape(str(error))):
            ItemSnapshot(said, state).onto(local)
        return
    applied = ItemSnapshot(said, state).onto(local)
    assert attrs.astuple(applied) == attrs.astuple(expected)
    assert type(applied) is (Item if type(expected) is Item else type(said))


_ANY = st.one_of(
    st.none(), POISON, HOSTILE_TEXT, HOSTILE_NUMBERS, st.sampled_from([*ItemState, *OrderState])
)


def _same(made: object, expected: attrs.AttrsInstance) -> None:
    assert type(made) is type(expected)
    assert made == expected
    fields = [field.name for field in attrs.fields(type(expected))]
    assert all(getattr(made, f) is getattr(expected, f) for f in fields)


@given(st.lists(_ANY | st.just(()) | st.just({}), min_size=11, max_size=11))
def test_an_order_snapshot_built_by_its_slots_is_its_constructor_s(fields: list[object]) -> None:
    """An order snapshot built by its slots equals OrderSnapshot(...) of any values, hostile too."""
    _same(order_snapshot(*fields), OrderSnapshot(*fields))  # type: ignore[arg-type]


def test_a_new_item_and_a_changed_quantity() -> None:
    """With no local item the snapshot's is taken; another quantity is refused."""
    snapshot = ItemSnapshot(Item("i", 2, physical=False), ItemState.FULFILLED)
    assert snapshot.onto(None) == Item("i", 2, physical=False, fulfilled=2)
    with pytest.raises(InvalidInput, match="its quantity was 3, the snapshot says 2"):
        snapshot.onto(Item("i", 3, physical=None))


@pytest.mark.parametrize(
    ("item", "sku"),
    [
        ({"skuId": "sku-1", "productDetails": {"id": "prod-1"}}, "sku-1"),
        ({"productDetails": {"id": "prod-1"}}, "prod-1"),
        ({"sku": {"id": "legacy-1"}}, "legacy-1"),
        ({"skuId": 5, "productDetails": {"id": ["x"]}}, None),
        ({"skuId": "", "productDetails": "x"}, None),
        ({}, None),
    ],
)
def test_an_item_carries_its_sku_never_refused_for_it(
    item: dict[str, Any], sku: str | None
) -> None:
    """skuId, else the product's id, is the item's sku; junk there is as good as absent."""
    snapshot = read_order(
        {"id": "o", "state": "accepted", "items": [{"id": "i", "quantity": 1, **item}]}, ""
    )
    assert snapshot.items is not None
    (read,) = snapshot.items
    assert read.item.sku == sku
    known = Item("i", 1, physical=None, sku="sku-known")
    assert ItemSnapshot(Item("i", 1, physical=None), None).onto(known).sku == "sku-known"


def test_charge_amounts_add_up_what_did_not_fail() -> None:
    """Captures, cancels and refunds count unless failed; pending ones count."""
    charge = read_charge(
        {
            "id": "c",
            "state": "processing",
            "amount": Decimal("12.36"),
            "captures": [
                {"amount": Decimal("12.36"), "state": "pending"},
                {"amount": 3, "state": "failed"},
            ],
            "refunds": [{"amount": Decimal("5.38"), "state": "complete"}],
        },
        "charge",
    )
    assert (charge.captured, charge.cancelled, charge.refunded) == (
        Decimal("12.36"),
        Decimal(0),
        Decimal("5.38"),
    )


def test_problems_name_their_field() -> None:
    """A problem carries the JSON path of the field, and a message naming it."""
    with pytest.raises(Problem) as raised:
        read_order({"id": "o", "state": "accepted", "items": [{"id": "i", "quantity": 0}]}, "x")
    assert raised.value.field == "x.items[0]"
    assert raised.value.message.startswith("x.items[0]: item 'i': quantity must be 1 or more")
    with pytest.raises(Problem, match="the body must be a JSON object, not a string") as raised:
        read_order("o", "")
    assert raised.value.field == ""


def test_the_reported_fraud_state() -> None:
    """The fraudState as sent; when absent, the latest fraudStateTransitions entry; else None."""
    base = OrderSnapshot("o", OrderState.ACCEPTED)
    assert base.reported_fraud_state is None
    later = datetime(2026, 4, 2, tzinfo=UTC)
    mapped = OrderSnapshot(
        "o",
        OrderState.ACCEPTED,
        fraud_state_transitions={FraudState.REVIEW_OPENED: T0, FraudState.PASSED: later},
    )
    assert mapped.reported_fraud_state is FraudState.PASSED
    stated = OrderSnapshot(
        "o",
        OrderState.ACCEPTED,
        FraudState.BLOCKED,
        fraud_state_transitions={FraudState.PASSED: T0},
    )
    assert stated.reported_fraud_state is FraudState.BLOCKED


def test_unknown_map_keys_are_skipped() -> None:
    """The stateTransitions keys the provider may add later are skipped, not refused."""
    snapshot = read_order(
        {
            "id": "o",
            "state": "accepted",
            "stateTransitions": {
                "accepted": "2026-04-01T00:00:00Z",
                "archived": "2026-04-02T00:00:00Z",
            },
        },
        "",
    )
    assert snapshot.state_transitions == {OrderState.ACCEPTED: T0}
    assert (snapshot.items, snapshot.charges) == (None, None)


class CountedId(str):
    """An id that counts how often it is compared for equality, across all instances."""

    __slots__ = ()
    comparisons = 0

    def __eq__(self, other: object) -> bool:
        """Equal as the strings are; counted."""
        CountedId.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


@pytest.mark.parametrize("count", [100, 1000])
def test_duplicate_ids_are_found_in_linear_work(count: int) -> None:
    """Finding a repeated item id compares ids O(n) times, not O(n^2) (1000 items: < 2000)."""
    items = [{"id": CountedId(f"item-{n}"), "quantity": 1} for n in range(count)]
    items[-1]["id"] = CountedId("item-0")
    CountedId.comparisons = 0
    with pytest.raises(Problem, match="duplicate item ids 'item-0'") as raised:
        read_order({"id": "o", "state": "accepted", "items": items}, "")
    assert raised.value.field == "items"
    assert CountedId.comparisons <= 2 * count


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda body: body.update(id="o\x00"), "id: the string holds a NUL"),
        (lambda body: body["items"][0].update(id="\ud800"), "items[0].id: the string holds a lone"),
        (lambda body: body["items"][0].update(id="i" * 256), "items[0].id: the item id is longer"),
        (lambda body: body["payment"]["charges"][0].update(id=""), "charges[0].id: the charge id"),
        (
            lambda body: body["payment"]["charges"][0].update(amount="HUGE"),
            "charges[0].amount: must be less than 10^18",
        ),
    ],
)
def test_a_201_with_poison_ids_is_an_invalid_response(
    change: Callable[[dict[str, Any]], None], field: str
) -> None:
    """The 201 of POST /orders shares the reader: its poison ids are InvalidResponse."""
    body: dict[str, Any] = {
        "id": "o1",
        "state": "accepted",
        "items": [{"id": "i1", "quantity": 1}],
        "payment": {"charges": [{"id": "c1", "state": "capturable", "amount": 5}]},
    }
    change(body)
    raw = json.dumps(body).replace('"HUGE"', "9e999999")
    with pytest.raises(InvalidResponse) as raised:
        read_response("chk-1", 201, raw, T0)
    assert field in str(raised.value)

"""Reading the provider's JSON: order objects, their items and charges, and charge objects.

One reader for every place an order object arrives: the body of a ``POST /orders`` 201
(``_responses``) and the ``data.object`` of a webhook event (``_events``). A problem raises
:class:`Problem`, naming the field by its JSON path (``items[1].quantity``); each caller
turns it into its own error. Amounts are ``Decimal`` straight from the JSON text, never
through ``float``. Values the models check (quantities, states, currencies) are checked by
building the models, so the rules live in one place; what only a hostile body sends is
refused here (and in ``order_lifecycle._json``, the bottom layer), before it costs
anything: ids that are not plain text, amounts of :data:`AMOUNT_LIMIT` or more, lists
longer than their caps. Every check is linear in the size of the body.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar, cast

import attrs

from order_lifecycle._json import (
    Problem,
    as_list,
    as_object,
    fail,
    field_path,
    kind,
    must,
    optional_id,
    optional_str,
    optional_time,
    read_time,
    required_id,
)
from order_lifecycle.exceptions import InvalidInput, UnknownState
from order_lifecycle.lifecycle import FraudState, ItemState, OrderState, coerce
from order_lifecycle.models import Charge, Item, currency_code

__all__ = [
    "AMOUNT_LIMIT",
    "MAX_CHARGES",
    "MAX_ITEMS",
    "MAX_OPERATIONS",
    "ChargeSnapshot",
    "ItemSnapshot",
    "OrderSnapshot",
    "hint_time",
    "members",
    "read_charge",
    "read_charge_object",
    "read_order",
]

V = TypeVar("V", bound=StrEnum)

# Captures, cancels and refunds of a charge count towards its amounts unless they failed:
# the provider's own availableToRefundAmount subtracts pending refunds too.
_FAILED = "failed"

AMOUNT_LIMIT = Decimal(10) ** 18
"""Every amount is below this: no real one is near it, and sums of amounts below it stay
far from ``Decimal``'s overflow (``9e999999 + 9e999999`` raises ``decimal.Overflow``)."""
MAX_ITEMS = 1000
"""The most ``items[]`` an order object may have."""
MAX_CHARGES = 100
"""The most charges an order object may have."""
MAX_OPERATIONS = 1000
"""The most entries each of a charge's ``captures[]``, ``cancels[]``, ``refunds[]`` may have."""


def _time_map(data: Mapping[str, Any], key: str, prefix: str, enum: type[V]) -> dict[V, datetime]:
    """A ``stateTransitions``-like map of state to time.

    Keys the enum does not know are skipped with their values (the maps are informational,
    and a message never names a key the provider did not define); values must be times, or
    null: the provider's schema makes every entry nullable, and a null one is a state not
    entered.
    """
    value = data.get(key)
    if value is None:
        return {}
    field = field_path(prefix, key)
    known = members(enum)
    times: dict[V, datetime] = {}
    for name, text in as_object(value, field).items():
        member = known.get(name)
        if member is None or text is None:
            continue
        if not isinstance(text, str):
            must(f"{field}.{name}", f"must be a string, not {kind(text)}")
        times[member] = read_time(text, f"{field}.{name}")
    return times


@cache
def members(enum: type[V]) -> Mapping[str, V]:
    """The members of ``enum`` by their string values, found once per enum."""
    return {str(m): m for m in enum}


# The item states that close units (:meth:`ItemSnapshot.onto`); the others change none.
_CLOSING = frozenset({ItemState.FULFILLED, ItemState.CANCELLED, ItemState.RETURNED})


@attrs.frozen
class ItemSnapshot:
    """A line item as an order object shows it: the item, and its provider ``state``."""

    item: Item
    state: ItemState | None = None

    @property
    def id(self) -> str:
        """The item's id."""
        return self.item.id

    def onto(self, local: Item | None) -> Item:
        """The item as it is once this snapshot is applied to what is known of it.

        Units only ever close: ``fulfilled`` fulfils, ``cancelled`` cancels, and
        ``returned`` fulfils then returns every unit still open; other states change no
        unit. A ``physical`` flag (or SKU) the snapshot leaves unsaid keeps the known one.

        Raises:
            InvalidInput: the snapshot gives the item another quantity than ``local``'s.

        """
        item = self.item
        if local is not None and local.quantity != item.quantity:
            raise InvalidInput(
                f"item {self.id!r}: its quantity was {local.quantity}, the snapshot says "
                f"{item.quantity}."
            )
        if (
            local is not None
            and self.state not in _CLOSING
            and (item.physical is None or item.physical == local.physical)
            and (item.sku is None or item.sku == local.sku)
        ):
            return local  # the common case: no unit closes, no flag changes (as below)
        base = item if local is None else local
        physical = base.physical if self.item.physical is None else self.item.physical
        sku = base.sku if self.item.sku is None else self.item.sku
        fulfilled, cancelled, returned = base.fulfilled, base.cancelled, base.returned
        if self.state is ItemState.FULFILLED:
            fulfilled += base.open_quantity
        elif self.state is ItemState.CANCELLED:
            cancelled += base.open_quantity
        elif self.state is ItemState.RETURNED:
            fulfilled += base.open_quantity
            returned = fulfilled
        if (physical, fulfilled, cancelled, returned, sku) == (
            base.physical,
            base.fulfilled,
            base.cancelled,
            base.returned,
            base.sku,
        ):
            return base  # nothing changes: the item as it is (values are frozen)
        if type(base) is not Item or type(item) is not Item:  # a subclass: its own checks
            return Item(base.id, base.quantity, physical, fulfilled, cancelled, returned, sku)
        # Set by the slots' descriptors, past Item's checks: each value is a checked item's,
        # and units closed as above keep its rules (fulfilled + cancelled <= quantity, ...).
        made = object.__new__(Item)
        set_id, set_quantity, set_physical, set_fulfilled, set_cancelled, set_returned, set_sku = (
            _ITEM_SLOTS
        )
        set_id(made, base.id)
        set_quantity(made, base.quantity)
        set_physical(made, physical)
        set_fulfilled(made, fulfilled)
        set_cancelled(made, cancelled)
        set_returned(made, returned)
        set_sku(made, sku)
        return made


def slots(cls: type) -> tuple[Any, ...]:
    """The ``__set__`` of each field's slot, in the order attrs declares them."""
    return tuple(cls.__dict__[field.name].__set__ for field in attrs.fields(cls))


_ITEM_SLOTS = slots(Item)


@attrs.frozen
class OrderSnapshot:
    """An order object as the provider sent it: its state, fraud state, items and charges.

    ``items`` and ``charges`` are ``None`` when the object does not show them (an order
    object in ``pending_payment`` may have no ``payment.charges``). The two maps are the
    provider's ``stateTransitions`` and ``fraudStateTransitions``: the first entry into
    each state, which cannot tell re-entries apart.
    """

    id: str
    state: OrderState
    fraud_state: FraudState | None = None
    checkout_id: str | None = None
    currency: str | None = None
    created_time: datetime | None = None
    items: tuple[ItemSnapshot, ...] | None = None
    charges: tuple[Charge, ...] | None = None
    state_transitions: Mapping[OrderState, datetime] = attrs.field(factory=dict, hash=False)
    fraud_state_transitions: Mapping[FraudState, datetime] = attrs.field(factory=dict, hash=False)
    updated_time: datetime | None = None
    """``updatedTime``, when it is a time (a hint that dates a fetched body, never refused)."""

    @property
    def reported_fraud_state(self) -> FraudState | None:
        """``fraudState``; when the object leaves it out, the latest ``fraudStateTransitions``.

        The provider omits ``fraudState`` from some order objects (``complete``, refunds)
        whose map still says the review passed.
        """
        if self.fraud_state is not None or not self.fraud_state_transitions:
            return self.fraud_state
        return max(self.fraud_state_transitions.items(), key=lambda entry: entry[1])[0]


@attrs.frozen
class ChargeSnapshot:
    """A charge object (``order.charge.*`` events): the charge, and the order it belongs to."""

    order_id: str
    charge: Charge


_ORDER_SNAPSHOT_SLOTS = slots(OrderSnapshot)


def order_snapshot(  # noqa: PLR0913, PLR0917 (an order snapshot's fields, as it takes them)
    order_id: str,
    state: OrderState,
    fraud_state: FraudState | None,
    checkout_id: str | None,
    currency: str | None,
    created_time: datetime | None,
    items: tuple[ItemSnapshot, ...] | None,
    charges: tuple[Charge, ...] | None,
    state_transitions: Mapping[OrderState, datetime],
    fraud_state_transitions: Mapping[FraudState, datetime],
    updated_time: datetime | None,
) -> OrderSnapshot:
    """``OrderSnapshot(...)`` of every field, its slots set directly (it checks nothing)."""
    made = object.__new__(OrderSnapshot)
    # Written out, not a loop: every order event a reconciler reads comes here.
    (
        set_id,
        set_state,
        set_fraud_state,
        set_checkout_id,
        set_currency,
        set_created_time,
        set_items,
        set_charges,
        set_state_transitions,
        set_fraud_state_transitions,
        set_updated_time,
    ) = _ORDER_SNAPSHOT_SLOTS
    set_id(made, order_id)
    set_state(made, state)
    set_fraud_state(made, fraud_state)
    set_checkout_id(made, checkout_id)
    set_currency(made, currency)
    set_created_time(made, created_time)
    set_items(made, items)
    set_charges(made, charges)
    set_state_transitions(made, state_transitions)
    set_fraud_state_transitions(made, fraud_state_transitions)
    set_updated_time(made, updated_time)
    return made


def read_order(data: object, prefix: str) -> OrderSnapshot:
    """The order object at ``prefix`` (``""`` for a response body).

    Raises:
        Problem: not the provider's order shape; names the field.

    """
    body = as_object(data, prefix, "the body" if not prefix else None)
    order_id = required_id(body, "id", prefix, "the order id")
    state = optional_str(body, "state", prefix)
    if state is None:
        fail(field_path(prefix, "state"), "the order has no state")
    order_state = members(OrderState).get(state)
    if order_state is None:
        fail(field_path(prefix, "state"), f"unknown order state {state!r}")
    currency = optional_str(body, "currency", prefix)
    try:
        code = currency_code(currency)
    except InvalidInput as error:
        fail(field_path(prefix, "currency"), str(error).rstrip("."))
    return OrderSnapshot(
        id=order_id,
        state=order_state,
        fraud_state=_fraud_state(body, prefix),
        checkout_id=optional_id(body, "checkoutId", prefix, "the checkout id"),
        currency=code,
        created_time=optional_time(body, "createdTime", prefix),
        items=_items(body.get("items"), field_path(prefix, "items")),
        charges=_order_charges(body, prefix),
        state_transitions=_time_map(body, "stateTransitions", prefix, OrderState),
        fraud_state_transitions=_time_map(body, "fraudStateTransitions", prefix, FraudState),
        updated_time=hint_time(body.get("updatedTime")),
    )


def hint_time(value: object) -> datetime | None:
    """``value`` as a time if it is one; ``None`` otherwise (a hint is never refused)."""
    if not isinstance(value, str):
        return None
    try:
        return read_time(value, "")
    except Problem:
        return None


def read_charge_object(data: object, prefix: str) -> ChargeSnapshot:
    """The charge object at ``prefix``, with the ``orderId`` it belongs to."""
    body = as_object(data, prefix)
    order_id = required_id(body, "orderId", prefix, "the order id")
    return ChargeSnapshot(order_id, read_charge(body, prefix))


def _fraud_state(body: Mapping[str, Any], prefix: str) -> FraudState | None:
    value = optional_str(body, "fraudState", prefix)
    if value is None:
        return None
    try:
        return coerce(FraudState, value, "fraud", UnknownState)
    except InvalidInput as error:
        fail(field_path(prefix, "fraudState"), str(error).rstrip("."))


def _capped(data: object, field: str, limit: int, what: str) -> list[Any]:
    """``data`` as a JSON array of at most ``limit`` entries."""
    entries = as_list(data, field)
    if len(entries) > limit:
        fail(field, f"more than {limit} {what} ({len(entries)})")
    return entries


def _items(data: object, field: str) -> tuple[ItemSnapshot, ...] | None:
    if data is None:
        return None
    entries = _capped(data, field, MAX_ITEMS, "items")
    items = tuple(_item(entry, f"{field}[{index}]") for index, entry in enumerate(entries))
    _unique([i.id for i in items], field, "item")
    return items


def _item(data: object, path: str) -> ItemSnapshot:
    item = as_object(data, path)
    state = optional_str(item, "state", path)
    item_state = None if state is None else members(ItemState).get(state)
    if state is not None and item_state is None:
        fail(f"{path}.state", f"unknown item state {state!r}")
    item_id = required_id(item, "id", path, "the item id")
    try:
        built = Item(
            id=item_id,
            quantity=_raw(item, "quantity"),
            physical=_physical(item, path),
            sku=_sku(item),
        )
    except InvalidInput as error:
        fail(path, str(error).rstrip("."))
    return ItemSnapshot(built, item_state)


def _sku(item: Mapping[str, Any]) -> str | None:
    """``skuId``, else the expanded product's (or older ``sku``'s) ``id``; a hint, never refused.

    Only a shop's classifier reads it, so a value that is not a non-empty string is as
    good as absent: a delivery is not refused for it.
    """
    found = item.get("skuId")
    if not isinstance(found, str) or not found:
        for key in ("productDetails", "sku"):
            details = item.get(key)
            if isinstance(details, dict) and isinstance(details.get("id"), str) and details["id"]:
                return str(details["id"])
        return None
    return found


def _physical(item: Mapping[str, Any], path: str) -> bool | None:
    """``productDetails.physical`` (``sku.physical`` in older API versions), or ``None``.

    Never guessed: an object that does not expand its products (the provider's own 201
    example) leaves it unknown, and the fulfilment plan sets such items aside.
    """
    for key in ("productDetails", "sku"):
        details = item.get(key)
        if isinstance(details, dict) and "physical" in details:
            flag = details["physical"]
            if not isinstance(flag, bool):
                fail(path, f"{key}.physical must be true, false or absent, not {flag!r}")
            return flag
    return None


def _order_charges(body: Mapping[str, Any], prefix: str) -> tuple[Charge, ...] | None:
    """``payment.charges[]``, or the top-level ``charges[]`` of API version 2020-01-07.

    An object with both is taken only when they say the same.
    """
    field = field_path(prefix, "payment")
    payment = None if body.get("payment") is None else as_object(body["payment"], field)
    nested = None if payment is None else _charges(payment.get("charges"), f"{field}.charges")
    top = _charges(body.get("charges"), field_path(prefix, "charges"))
    if nested is not None and top is not None and nested != top:
        fail(field_path(prefix, "charges"), "differs from payment.charges; which one holds?")
    return nested if nested is not None else top


def _charges(data: object, path: str) -> tuple[Charge, ...] | None:
    if data is None:
        return None
    entries = _capped(data, path, MAX_CHARGES, "charges")
    charges = tuple(read_charge(entry, f"{path}[{index}]") for index, entry in enumerate(entries))
    _unique([c.id for c in charges], path, "charge")
    return charges


def read_charge(data: object, path: str) -> Charge:
    """A charge: its state, amount and currency, and what was captured, cancelled, refunded.

    Each of ``captures[]``, ``cancels[]`` and ``refunds[]`` counts unless it failed.
    """
    charge = as_object(data, path)
    charge_id = required_id(charge, "id", path, "the charge id")
    amount = charge.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)):
        fail(f"{path}.amount", f"must be a number, not {kind(amount)}")
    _bounded(amount, f"{path}.amount")
    try:
        return Charge(
            id=charge_id,
            state=cast("str", charge.get("state")),  # the model checks it, as any value
            amount=amount,
            currency=charge.get("currency"),
            captured=_total(charge, "captures", path),
            cancelled=_total(charge, "cancels", path),
            refunded=_total(charge, "refunds", path),
        )
    except InvalidInput as error:
        fail(path, str(error).rstrip("."))


def _total(charge: Mapping[str, Any], key: str, path: str) -> Decimal:
    field = f"{path}.{key}"
    entries = charge.get(key)
    if entries is None:
        return Decimal(0)
    total = Decimal(0)
    for index, entry in enumerate(_capped(entries, field, MAX_OPERATIONS, key)):
        operation = as_object(entry, f"{field}[{index}]")
        amount = operation.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)) or amount < 0:
            fail(f"{field}[{index}].amount", f"must be a number, 0 or more, not {amount!r}")
        _bounded(amount, f"{field}[{index}].amount")
        if optional_str(operation, "state", f"{field}[{index}]") != _FAILED:
            total += amount
    return total


def _bounded(amount: int | Decimal, field: str) -> None:
    """Refuse an amount of :data:`AMOUNT_LIMIT` or more (either sign), before any arithmetic."""
    # Comparisons only: abs() or negation would round, and overflow, past Decimal's Emax.
    if not -AMOUNT_LIMIT < amount < AMOUNT_LIMIT:
        fail(field, f"must be less than 10^18 in size, not {amount}")


def _raw(data: Mapping[str, Any], key: str) -> Any:  # noqa: ANN401 (checked by the model)
    """``data[key]`` or ``None``, for a model's constructor to check."""
    return data.get(key)


def _unique(ids: list[str], field: str, what: str) -> None:
    """Refuse repeated ids, in one counting pass (a ``list.count`` per id was quadratic)."""
    if len(set(ids)) == len(ids):
        return  # the common case, without counting
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        fail(field, f"duplicate {what} ids {', '.join(map(repr, repeated))}")

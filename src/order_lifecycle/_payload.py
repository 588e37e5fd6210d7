"""Reading the provider's JSON: order objects, their items and charges, and charge objects.

One reader for every place an order object arrives: the body of a ``POST /orders`` 201
(``_responses``) and the ``data.object`` of a webhook event (``_events``). A problem raises
:class:`Problem`, naming the field by its JSON path (``items[1].quantity``); each caller
turns it into its own error. Amounts are ``Decimal`` straight from the JSON text, never
through ``float``. Values the models check (ids, quantities, states, amounts) are checked
by building the models, so the rules live in one place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, NoReturn, TypeVar

import attrs

from ._machine import coerce
from ._models import Charge, Item, currency_code
from ._vocabulary import FraudState, ItemState, OrderState
from .exceptions import InvalidInput, UnknownState

__all__ = [
    "ChargeSnapshot",
    "ItemSnapshot",
    "OrderSnapshot",
    "Problem",
    "as_list",
    "as_object",
    "fail",
    "field_path",
    "kind",
    "loads",
    "optional_str",
    "optional_time",
    "read_charge",
    "read_charge_object",
    "read_order",
]

V = TypeVar("V", bound=StrEnum)

# Captures, cancels and refunds of a charge count towards its amounts unless they failed:
# the provider's own availableToRefundAmount subtracts pending refunds too.
_FAILED = "failed"


class Problem(Exception):
    """What is wrong with a JSON payload, and where.

    ``field`` is a JSON path (``""`` for the whole body); ``message`` a phrase that names it.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


def fail(field: str, detail: str) -> NoReturn:
    """Raise the :class:`Problem` of ``field``: ``"<field>: <detail>"``."""
    raise Problem(field, f"{field}: {detail}" if field else detail)


def _must(field: str, rest: str, label: str | None = None) -> NoReturn:
    """Raise ``"<field> must ..."``; ``label`` names a field without a path (the body)."""
    raise Problem(field, f"{label or field} {rest}")


def field_path(prefix: str, key: str) -> str:
    """The JSON path of ``key`` inside the object at ``prefix`` (``""`` for the top)."""
    return f"{prefix}.{key}" if prefix else key


def _reject_constant(name: str) -> NoReturn:
    fail("", f"the body is not JSON: {name} is not a JSON number")


def loads(raw: str | bytes | bytearray) -> object:
    """The JSON value of ``raw``; numbers with a fraction or exponent as ``Decimal``.

    Raises:
        Problem: not JSON (not UTF-8, not well-formed, ``NaN``, nested too deeply).

    """
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        fail("", f"the body is not JSON ({reason})")


def kind(value: object) -> str:
    """What a JSON value is, for a message: ``an object``, ``a string``, ``null``..."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def as_object(value: object, field: str, label: str | None = None) -> Mapping[str, Any]:
    """``value`` if it is a JSON object; ``label`` names the whole body (``field`` ``""``)."""
    if not isinstance(value, dict):
        _must(field, f"must be a JSON object, not {kind(value)}", label)
    return value


def as_list(value: object, field: str) -> list[Any]:
    """``value`` if it is a JSON array."""
    if not isinstance(value, list):
        _must(field, f"must be a JSON array, not {kind(value)}")
    return value


def optional_str(data: Mapping[str, Any], key: str, prefix: str) -> str | None:
    """``data[key]`` if it is a string, ``None`` if absent or null."""
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        _must(field_path(prefix, key), f"must be a string, not {kind(value)}")
    return value


def required_str(data: Mapping[str, Any], key: str, prefix: str, what: str) -> str:
    """``data[key]`` if it is a non-empty string; ``what`` names it in the message."""
    value = optional_str(data, key, prefix)
    if not value:
        fail(field_path(prefix, key), f"{what} is missing")
    return value


def optional_time(data: Mapping[str, Any], key: str, prefix: str) -> datetime | None:
    """``data[key]`` as an aware datetime (ISO 8601 with an offset, ``Z`` for UTC)."""
    text = optional_str(data, key, prefix)
    return None if text is None else _time(text, field_path(prefix, key))


def _time(text: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(field, f"{text!r} is not an ISO 8601 time")
    if moment.tzinfo is None:
        fail(field, f"{text!r} has no UTC offset (the provider writes times like ...Z)")
    return moment


def _time_map(data: Mapping[str, Any], key: str, prefix: str, enum: type[V]) -> dict[V, datetime]:
    """A ``stateTransitions``-like map of state to time.

    Keys the enum does not know are skipped (the maps are informational); values must be
    times.
    """
    field = field_path(prefix, key)
    value = data.get(key)
    if value is None:
        return {}
    times: dict[V, datetime] = {}
    for name, text in as_object(value, field).items():
        if not isinstance(text, str):
            _must(f"{field}.{name}", f"must be a string, not {kind(text)}")
        moment = _time(text, f"{field}.{name}")
        if name in {str(m) for m in enum}:
            times[enum(name)] = moment
    return times


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
        unit. A ``physical`` flag the snapshot leaves unsaid keeps the known one.

        Raises:
            InvalidInput: the snapshot gives the item another quantity than ``local``'s.

        """
        if local is not None and local.quantity != self.item.quantity:
            raise InvalidInput(
                f"item {self.id!r}: its quantity was {local.quantity}, the snapshot says "
                f"{self.item.quantity}."
            )
        base = self.item if local is None else local
        physical = base.physical if self.item.physical is None else self.item.physical
        base = attrs.evolve(base, physical=physical)
        if self.state is ItemState.FULFILLED:
            return attrs.evolve(base, fulfilled=base.fulfilled + base.open_quantity)
        if self.state is ItemState.CANCELLED:
            return attrs.evolve(base, cancelled=base.cancelled + base.open_quantity)
        if self.state is ItemState.RETURNED:
            fulfilled = base.fulfilled + base.open_quantity
            return attrs.evolve(base, fulfilled=fulfilled, returned=fulfilled)
        return base


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


def read_order(data: object, prefix: str) -> OrderSnapshot:
    """The order object at ``prefix`` (``""`` for a response body).

    Raises:
        Problem: not the provider's order shape; names the field.

    """
    body = as_object(data, prefix, "the body" if not prefix else None)
    order_id = required_str(body, "id", prefix, "the order id")
    state = optional_str(body, "state", prefix)
    if state is None:
        fail(field_path(prefix, "state"), "the order has no state")
    if state not in {str(s) for s in OrderState}:
        fail(field_path(prefix, "state"), f"unknown order state {state!r}")
    currency = optional_str(body, "currency", prefix)
    try:
        code = currency_code(currency)
    except InvalidInput as error:
        fail(field_path(prefix, "currency"), str(error).rstrip("."))
    return OrderSnapshot(
        id=order_id,
        state=OrderState(state),
        fraud_state=_fraud_state(body, prefix),
        checkout_id=optional_str(body, "checkoutId", prefix),
        currency=code,
        created_time=optional_time(body, "createdTime", prefix),
        items=_items(body.get("items"), field_path(prefix, "items")),
        charges=_payment_charges(body.get("payment"), field_path(prefix, "payment")),
        state_transitions=_time_map(body, "stateTransitions", prefix, OrderState),
        fraud_state_transitions=_time_map(body, "fraudStateTransitions", prefix, FraudState),
    )


def read_charge_object(data: object, prefix: str) -> ChargeSnapshot:
    """The charge object at ``prefix``, with the ``orderId`` it belongs to."""
    body = as_object(data, prefix)
    order_id = required_str(body, "orderId", prefix, "the order id")
    return ChargeSnapshot(order_id, read_charge(body, prefix))


def _fraud_state(body: Mapping[str, Any], prefix: str) -> FraudState | None:
    value = optional_str(body, "fraudState", prefix)
    if value is None:
        return None
    try:
        return coerce(FraudState, value, "fraud", UnknownState)
    except InvalidInput as error:
        fail(field_path(prefix, "fraudState"), str(error).rstrip("."))


def _items(data: object, field: str) -> tuple[ItemSnapshot, ...] | None:
    if data is None:
        return None
    items = tuple(
        _item(entry, f"{field}[{index}]") for index, entry in enumerate(as_list(data, field))
    )
    _unique([i.id for i in items], field, "item")
    return items


def _item(data: object, path: str) -> ItemSnapshot:
    item = as_object(data, path)
    state = optional_str(item, "state", path)
    if state is not None and state not in {str(s) for s in ItemState}:
        fail(f"{path}.state", f"unknown item state {state!r}")
    try:
        built = Item(
            id=_raw(item, "id"), quantity=_raw(item, "quantity"), physical=_physical(item, path)
        )
    except InvalidInput as error:
        fail(path, str(error).rstrip("."))
    return ItemSnapshot(built, None if state is None else ItemState(state))


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


def _payment_charges(data: object, field: str) -> tuple[Charge, ...] | None:
    if data is None:
        return None
    payment = as_object(data, field)
    if payment.get("charges") is None:
        return None
    path = f"{field}.charges"
    charges = tuple(
        read_charge(entry, f"{path}[{index}]")
        for index, entry in enumerate(as_list(payment["charges"], path))
    )
    _unique([c.id for c in charges], path, "charge")
    return charges


def read_charge(data: object, path: str) -> Charge:
    """A charge: its state, amount and currency, and what was captured, cancelled, refunded.

    Each of ``captures[]``, ``cancels[]`` and ``refunds[]`` counts unless it failed.
    """
    charge = as_object(data, path)
    amount = charge.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)):
        fail(f"{path}.amount", f"must be a number, not {kind(amount)}")
    try:
        return Charge(
            id=_raw(charge, "id"),
            state=charge.get("state"),
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
    for index, entry in enumerate(as_list(entries, field)):
        operation = as_object(entry, f"{field}[{index}]")
        amount = operation.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)) or amount < 0:
            fail(f"{field}[{index}].amount", f"must be a number, 0 or more, not {amount!r}")
        if optional_str(operation, "state", f"{field}[{index}]") != _FAILED:
            total += amount
    return total


def _raw(data: Mapping[str, Any], key: str) -> Any:  # noqa: ANN401 (checked by the model)
    """``data[key]`` or ``None``, for a model's constructor to check."""
    return data.get(key)


def _unique(ids: list[str], field: str, what: str) -> None:
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        fail(field, f"duplicate {what} ids {', '.join(map(repr, repeated))}")

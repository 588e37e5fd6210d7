"""The provider's JSON read by a typed decoder: only what a decision uses, in one pass.

The checked readers (``_json``, ``_payload``) parse a whole body with the standard
library, every number as ``int`` or ``Decimal``, then read the fields they need, naming
what is wrong. Most bodies are right, and most of a body is what no decision reads
(addresses, taxes, products' names): so a body is first read here by msgspec, into
:class:`msgspec.Struct` types that declare only the fields the readers use. msgspec
checks the JSON's syntax everywhere, skips what is not declared (numbers included: a
``totalAmount`` is never parsed), and builds the declared fields in one pass in C. Money
is kept as its JSON text (:class:`msgspec.Raw`) and read exactly, as the checked reader
reads it (``int``, or ``Decimal`` of the literal), and only where it is used.

This reader accepts a body only when every rule of the checked one plainly passes, and
then gives the very values it gives (the same snapshots); anything else (a decoding error,
a value of another type, a rule that fails, an encoding other than UTF-8) answers
``None``, and the caller reads the body again with the checked reader, which names what
is wrong. So a malformed body still gets its one message, and the limits (depth, ids,
amounts, list lengths) stay as they are. One difference, on purpose: numbers the
readers do not use are not read, so an integer of 5,000 digits in a field no decision
reads no longer refuses the body.

What an order's deliveries repeat (amounts by their text, currency codes, item snapshots
by their entries) is read once and kept, a bounded few thousand of short texts: values
are immutable, so one object serves every reader. A plain charge is built past the
model's converters (:func:`_reported`, held to ``Charge(...)`` by a differential test).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar, cast

import attrs
import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from order_lifecycle._json import MAX_ID_LENGTH, Problem, check_text_depth, loads, read_time
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import ChargeState, FraudState, ItemState, OrderState
from order_lifecycle.models import Charge, Item, currency_code

from ._payload import (
    AMOUNT_LIMIT,
    MAX_CHARGES,
    MAX_ITEMS,
    MAX_OPERATIONS,
    ChargeSnapshot,
    ItemSnapshot,
    OrderSnapshot,
    hint_time,
    members,
    order_snapshot,
    slots,
)

__all__ = [
    "Keys",
    "TypedEnvelope",
    "TypedEvent",
    "typed_envelope",
    "typed_event",
    "typed_keys",
    "typed_order",
]

E = TypeVar("E", OrderState, FraudState)

_FAILED = "failed"


_ABSENT = Raw()  # a Raw field's value when the key is absent (``null`` is ``b"null"``)


class _Operation(Struct, gc=False):
    amount: Raw = _ABSENT
    state: str | None = None


class _Details(Struct, gc=False, frozen=True):
    id: Any = None  # a hint: anything but a non-empty str is as good as absent
    physical: bool | UnsetType | None = UNSET


class _Item(Struct, gc=False, frozen=True):  # hashable: items are looked up
    id: str | None = None
    quantity: int | None = None
    state: str | None = None
    skuId: Any = None  # noqa: N815 (the provider's name)
    productDetails: _Details | None = None  # noqa: N815 (the provider's name)
    sku: _Details | None = None


class _Charge(Struct, gc=False):
    id: str | None = None
    state: str | None = None
    amount: Raw = _ABSENT
    currency: str | None = None
    captures: list[_Operation] | None = None
    cancels: list[_Operation] | None = None
    refunds: list[_Operation] | None = None


class _Payment(Struct, gc=False):
    charges: list[_Charge] | None = None


class _Object(Struct, gc=False):
    """An order, a charge, or another object: the fields of all three, and the keys that tell."""

    id: Any = None
    state: str | UnsetType | None = UNSET
    orderId: str | UnsetType | None = UNSET  # noqa: N815 (the provider's name)
    planId: Raw = _ABSENT  # noqa: N815 (the provider's name)
    fraudState: str | None = None  # noqa: N815 (the provider's name)
    checkoutId: str | UnsetType | None = UNSET  # noqa: N815 (the provider's name)
    currency: str | None = None
    createdTime: str | None = None  # noqa: N815 (the provider's name)
    updatedTime: Any = None  # noqa: N815 (the provider's name)
    items: list[_Item] | UnsetType | None = UNSET
    payment: _Payment | UnsetType | None = UNSET
    charges: list[_Charge] | UnsetType | None = UNSET
    stateTransitions: dict[str, str | None] | None = None  # noqa: N815 (the provider's name)
    fraudStateTransitions: dict[str, str | None] | None = None  # noqa: N815 (the provider's name)
    # A charge object's own fields.
    amount: Raw = _ABSENT
    captured: Raw = _ABSENT
    sourceId: Raw = _ABSENT  # noqa: N815 (the provider's name)
    captures: list[_Operation] | None = None
    cancels: list[_Operation] | None = None
    refunds: list[_Operation] | None = None


class _Data(Struct, gc=False):
    object: _Object | None = None
    previousAttributes: Raw = _ABSENT  # noqa: N815 (the provider's name)


class _Envelope(Struct, gc=False):
    id: str | None = None
    type: str | None = None
    createdTime: str | None = None  # noqa: N815 (the provider's name)
    data: _Data | None = None


class _NotPlainError(Exception):
    """The body is not plainly valid here: the checked reader reads it (and says why)."""


class _KeysOfObject(Struct, gc=False):
    """The envelope's view of ``data.object``: its ids, and which keys tell its shape."""

    id: str | None = None
    orderId: str | UnsetType | None = UNSET  # noqa: N815 (the provider's name)
    state: Raw = _ABSENT
    planId: Raw = _ABSENT  # noqa: N815 (the provider's name)
    payment: Raw = _ABSENT
    checkoutId: Raw = _ABSENT  # noqa: N815 (the provider's name)
    items: Raw = _ABSENT
    charges: Raw = _ABSENT
    captured: Raw = _ABSENT
    sourceId: Raw = _ABSENT  # noqa: N815 (the provider's name)


class _KeysOfData(Struct, gc=False):
    object: _KeysOfObject | None = None


class _Keys(Struct, gc=False):
    id: str | None = None
    type: str | None = None
    createdTime: str | None = None  # noqa: N815 (the provider's name)
    data: _KeysOfData | None = None


_EVENT = msgspec.json.Decoder(_Envelope)
_KEYS = msgspec.json.Decoder(_Keys)
# What sends a body to the checked reader: anything this one does not plainly take (a
# model's InvalidInput, a ValueError of int() or a UnicodeError, an ArithmeticError of
# Decimal(), msgspec's own errors, nesting past its stack).
_REREAD = (
    _NotPlainError,
    Problem,
    InvalidInput,
    ValueError,
    ArithmeticError,
    msgspec.DecodeError,
    RecursionError,
)
_ORDER = msgspec.json.Decoder(_Object)
# The states by their text, looked up here once: ``members`` is a cached call, and a body
# reads five to eight of them.
_ORDER_STATES = members(OrderState)
_FRAUD_STATES = members(FraudState)
_ITEM_STATES = members(ItemState)
_CHARGE_STATES = members(ChargeState)


TypedEvent = tuple[str, str, datetime, OrderSnapshot | ChargeSnapshot, Mapping[str, Any]]
"""An event's id, type, ``createdTime``, its object's snapshot and ``previousAttributes``."""


def _decoded(decoder: msgspec.json.Decoder[Any], raw: object, *, depth: bool = True) -> Any:  # noqa: ANN401 (the decoder's type)
    """``raw`` decoded, if it is UTF-8 JSON (of a depth the checked reader takes)."""
    _plain_text(raw)
    if depth:
        check_text_depth(raw)  # type: ignore[arg-type]  # bytes: _plain_text said so
    return decoder.decode(raw)  # type: ignore[arg-type]


def _plain_text(raw: object) -> None:
    """Refuse what the checked reader reads otherwise: other types than bytes, bad UTF-8."""
    if type(raw) is not bytes:
        raise _NotPlainError
    if not raw.isascii():
        raw.decode("utf-8", "surrogatepass")  # the checked reader's bytes: UnicodeError else


TypedEnvelope = tuple[str, str | None, str | None, str | None]
"""An event's id, and its type, order id and ``createdTime`` as sent (``None`` when not text)."""


def typed_envelope(raw: object) -> TypedEnvelope | None:
    """The envelope's id, type, order id and ``createdTime``, if plainly readable; else ``None``.

    As the request path reads them: the order id is an order object's ``id`` (by the
    object's shape) or another object's ``orderId``.
    """
    try:
        keys: _Keys = _decoded(_KEYS, raw, depth=False)
        event_id = _id(keys.id)
    except _REREAD:
        return None
    order_id = None
    obj = keys.data.object if keys.data is not None else None
    if obj is not None:
        if obj.orderId is not UNSET:
            order_id = obj.orderId
        elif (
            not len(obj.planId)
            and len(obj.state)
            and (len(obj.payment) or len(obj.checkoutId) or len(obj.items) or len(obj.charges))
        ):
            order_id = obj.id
    return event_id, keys.type, order_id, keys.createdTime


class Keys(NamedTuple):
    """What decides a stale or duplicate delivery, read without building its snapshot.

    The event's id, type and ``createdTime``; its object's kind (``order`` or ``charge``,
    by the shapes :func:`typed_event` reads), order id, and the order's ``state`` or the
    charge's id. ``decoded`` is the body as the typed decoder read it, when it read it
    whole: :func:`typed_event` builds the event from it, without decoding the body again.
    """

    id: str
    type: str
    created_time: datetime
    kind: str
    order_id: str
    state: OrderState | None
    charge_id: str | None
    decoded: object = None


def typed_keys(raw: object) -> Keys | None:
    """The :class:`Keys` of an order or charge event, if plainly readable; else ``None``.

    The body is decoded whole (the event's fields, skipping the rest), so that the event,
    when it is needed, is built from it; a body the whole decoder does not take has its
    keys read by the envelope's decoder (``decoded`` is then ``None``).
    """
    try:
        envelope: _Envelope = _decoded(_EVENT, raw, depth=False)
    except _REREAD:
        return _keys_alone(raw)
    try:
        data = envelope.data
        obj = data.object if data is not None else None
        if obj is None or envelope.createdTime is None:
            return None
        event = (
            _id(envelope.id),
            _id(envelope.type),
            read_time(envelope.createdTime, "createdTime"),
        )
        return _keys_of_object(event, obj, envelope)
    except _REREAD:
        return None


def _keys_of_object(
    event: tuple[str, str, datetime], obj: _Object, decoded: _Envelope
) -> Keys | None:
    """The keys by the object's shape, as :func:`_object` tells an order from a charge."""
    if obj.orderId is UNSET and not len(obj.planId) and obj.state is not UNSET:
        if (
            obj.payment is UNSET
            and obj.checkoutId is UNSET
            and obj.items is UNSET
            and obj.charges is UNSET
        ):
            return None
        state = _ORDER_STATES.get(obj.state) if type(obj.state) is str else None
        return None if state is None else Keys(*event, "order", _id(obj.id), state, None, decoded)
    if obj.orderId is not UNSET and (len(obj.captured) or len(obj.sourceId)):
        return Keys(*event, "charge", _id(obj.orderId), None, _id(obj.id), decoded)
    return None


def _keys_alone(raw: object) -> Keys | None:
    """The keys read by the envelope's decoder, for a body the whole decoder does not take."""
    try:
        keys: _Keys = _decoded(_KEYS, raw, depth=False)
        obj = keys.data.object if keys.data is not None else None
        if obj is None or keys.createdTime is None:
            return None
        event = (_id(keys.id), _id(keys.type), read_time(keys.createdTime, "createdTime"))
        return _keys_of(event, obj)
    except _REREAD:
        return None


def _keys_of(event: tuple[str, str, datetime], obj: _KeysOfObject) -> Keys | None:
    parts = (obj.payment, obj.checkoutId, obj.items, obj.charges)
    if obj.orderId is UNSET and not len(obj.planId) and len(obj.state):
        if not any(len(part) for part in parts):
            return None
        text = msgspec.json.decode(obj.state)
        state = _ORDER_STATES.get(text) if isinstance(text, str) else None
        return None if state is None else Keys(*event, "order", _id(obj.id), state, None)
    if obj.orderId is not UNSET and (len(obj.captured) or len(obj.sourceId)):
        return Keys(*event, "charge", _id(obj.orderId), None, _id(obj.id))
    return None


def typed_event(raw: object, keys: Keys | None = None) -> TypedEvent | None:
    """The event in ``raw`` if it is plainly a valid order or charge event; else ``None``.

    ``None`` also for an event whose object is neither (the checked reader reads those).
    ``keys``: the body's :func:`typed_keys`, whose decoded body is read, not decoded again.
    """
    try:
        if keys is not None and keys.decoded is not None:  # its envelope read already
            # The keys' decoder took ``raw`` as UTF-8 bytes (else no ``decoded``): its depth left.
            check_text_depth(raw)  # type: ignore[arg-type]  # bytes: _plain_text said so
            envelope: _Envelope = keys.decoded  # type: ignore[assignment]  # typed_keys's
            head = (keys.id, keys.type, keys.created_time)
        else:
            envelope = _decoded(_EVENT, raw)
            if envelope.createdTime is None:
                return None
            created = read_time(envelope.createdTime, "createdTime")
            head = (_id(envelope.id), _id(envelope.type), created)
        data = envelope.data
        if data is None or data.object is None:
            return None
        snapshot = _object(data.object)
        previous: Mapping[str, Any] = {}
        if len(data.previousAttributes) and bytes(data.previousAttributes) != b"null":
            loaded = loads(bytes(data.previousAttributes))
            if type(loaded) is not dict:
                return None
            previous = loaded
    except _REREAD:
        return None
    return (*head, snapshot, previous)


def typed_order(raw: object) -> OrderSnapshot | None:
    """The order ``raw`` holds (a ``GET /orders/{id}`` body) if plainly valid; else ``None``."""
    try:
        body: _Object = _decoded(_ORDER, raw)
        if body.state is UNSET:
            return None
        return _order(body)
    except _REREAD:
        return None


def _id(value: object) -> str:
    """An id as ``required_id`` takes it in the common case (plain ASCII); else not plain."""
    if (
        type(value) is str
        and 0 < len(value) <= MAX_ID_LENGTH
        and value.isascii()
        and "\x00" not in value
    ):
        return value
    raise _NotPlainError


def _optional_id(value: object) -> str | None:
    return None if value is None else _id(value)


def _object(body: _Object) -> OrderSnapshot | ChargeSnapshot:
    """The object as ``_read_object`` reads it: by its shape, an order or a charge."""
    parts = (body.payment, body.checkoutId, body.items, body.charges)
    if (
        body.orderId is UNSET
        and not len(body.planId)
        and body.state is not UNSET
        and any(part is not UNSET for part in parts)
    ):
        return _order(body)
    if body.orderId is not UNSET and (len(body.captured) or len(body.sourceId)):
        return ChargeSnapshot(_id(body.orderId), _charge(body))
    raise _NotPlainError  # another object (a refund, a file): the checked reader's


def _order(body: _Object) -> OrderSnapshot:
    order_state = _ORDER_STATES.get(body.state)  # type: ignore[arg-type]
    if order_state is None:
        raise _NotPlainError
    return order_snapshot(
        _id(body.id),
        order_state,
        None if body.fraudState is None else FraudState(body.fraudState),
        None if body.checkoutId is UNSET else _optional_id(body.checkoutId),
        _currency(body.currency),
        None if body.createdTime is None else read_time(body.createdTime, ""),
        _items(body.items),
        _order_charges(body),
        _times(body.stateTransitions, _ORDER_STATES),
        _times(body.fraudStateTransitions, _FRAUD_STATES),
        hint_time(body.updatedTime),
    )


def _times(value: dict[str, str | None] | None, known: Mapping[str, E]) -> dict[E, datetime]:
    if not value:
        return {}
    times: dict[E, datetime] = {}
    for name, text in value.items():
        member = known.get(name)
        if member is not None and text is not None:
            times[member] = read_time(text, "")
    return times


def _items(value: list[_Item] | UnsetType | None) -> tuple[ItemSnapshot, ...] | None:
    if value is None or value is UNSET:
        return None
    if len(value) > MAX_ITEMS:
        raise _NotPlainError
    items = [_item(entry) for entry in value]
    if len({i.item.id for i in items}) != len(items):
        raise _NotPlainError
    return tuple(items)


def _item(entry: _Item) -> ItemSnapshot:
    """The item snapshot of ``entry``, looked up if an equal entry was read lately.

    An order's deliveries repeat its items, mostly unchanged; equal entries read alike (a
    field typed ``Any`` is read only when it is a ``str``, and only a ``str`` equals one).
    """
    try:
        known = _ITEMS.get(entry)
    except TypeError:  # a list or an object where a str is read: not hashable, read anew
        return _read_item(entry)
    if known is None:
        known = _read_item(entry)  # its id and state short, if read
        if (
            _short(entry.skuId)
            and _short_details(entry.productDetails)
            and _short_details(entry.sku)
        ):
            if len(_ITEMS) >= _KEPT:
                _ITEMS.clear()
            _ITEMS[entry] = known  # both frozen: one snapshot for every reader is safe
    return known


def _short(value: object) -> bool:
    """Whether a value typed ``Any`` is ``None`` or a short str: small enough to keep."""
    return value is None or (type(value) is str and len(value) <= _SHORT)


def _short_details(details: _Details | None) -> bool:
    return details is None or _short(details.id)


def _read_item(entry: _Item) -> ItemSnapshot:
    state = None
    if entry.state is not None:
        state = _ITEM_STATES.get(entry.state)
        if state is None:
            raise _NotPlainError
    item = Item.ordered(_id(entry.id), entry.quantity, _physical(entry), _sku(entry))  # type: ignore[arg-type]
    return ItemSnapshot(item, state)


def _physical(item: _Item) -> bool | None:
    for details in (item.productDetails, item.sku):
        if details is not None and details.physical is not UNSET:
            if details.physical is None:
                raise _NotPlainError
            return details.physical
    return None


def _sku(item: _Item) -> str | None:
    found = item.skuId
    if isinstance(found, str) and found:
        return found
    for details in (item.productDetails, item.sku):
        if details is not None and isinstance(details.id, str) and details.id:
            return details.id
    return None


def _order_charges(body: _Object) -> tuple[Charge, ...] | None:
    nested = None
    if body.payment is not UNSET and body.payment is not None:
        nested = _charges(body.payment.charges)
    top = None if body.charges is UNSET else _charges(body.charges)
    if nested is not None and top is not None and nested != top:
        raise _NotPlainError
    return nested if nested is not None else top


def _charges(value: list[_Charge] | None) -> tuple[Charge, ...] | None:
    if value is None:
        return None
    if len(value) > MAX_CHARGES:
        raise _NotPlainError
    charges = tuple(_charge(entry) for entry in value)
    if len({c.id for c in charges}) != len(charges):
        raise _NotPlainError
    return charges


def _charge(body: _Charge | _Object) -> Charge:
    charge_id = _id(body.id)
    # The member and Decimals the model converts to, handed over: its converters keep them.
    # An unknown state as sent: the model refuses it, as the checked reader.
    state = _CHARGE_STATES.get(body.state, body.state)  # type: ignore[arg-type]
    amount = _amount(body.amount)
    captured, cancelled, refunded = (
        _total(body.captures),
        _total(body.cancels),
        _total(body.refunds),
    )
    made = _reported(charge_id, state, amount, body.currency, captured, cancelled, refunded)
    if made is None:  # anything unusual: the model's own checks, and its error
        made = Charge(charge_id, state, amount, body.currency, captured, cancelled, refunded)
    return made


# A charge's fields set one by one, in the order attrs declares them.
_CHARGE_FIELDS = slots(Charge)


def _reported(  # noqa: PLR0913, PLR0917 (a charge's fields, as Charge takes them)
    charge_id: str,
    state: object,
    amount: Decimal,
    currency: str | None,
    captured: Decimal,
    cancelled: Decimal,
    refunded: Decimal,
) -> Charge | None:
    """``Charge(...)`` of values this reader made, when plainly valid; else ``None``.

    What the model's converters and checks do, for the values it is handed here (an id
    ``_id`` took, a Decimal ``_amount`` bounded, totals of ``_total``): a state member, an
    amount above 0, totals that are the shared zero or above 0, within the amount, and
    equal amounts spelled alike shared. Anything else is the model's (``None``).
    """
    if (
        type(charge_id) is not str
        or not charge_id
        or type(state) is not ChargeState
        or type(amount) is not Decimal
        or not amount.is_finite()
        or not amount > _NO_MONEY
        or not (captured is _NO_MONEY or _positive(captured))
        or not (cancelled is _NO_MONEY or _positive(cancelled))
        or not (refunded is _NO_MONEY or _positive(refunded))
    ):
        return None
    code = _currency(currency)  # before the sums, as the model converts it first
    if cancelled is _NO_MONEY:
        if captured > amount:
            return None
    elif captured + cancelled > amount:
        return None
    if refunded is not _NO_MONEY and refunded > captured:
        return None
    # As the model shares equal amounts spelled alike (equal, and the same exponent).
    if captured is not _NO_MONEY and captured == amount and not captured.compare_total(amount):
        captured = amount
    if cancelled is not _NO_MONEY and cancelled == amount and not cancelled.compare_total(amount):
        cancelled = amount
    if refunded is not _NO_MONEY and refunded == captured and not refunded.compare_total(captured):
        refunded = captured
    made = object.__new__(Charge)
    # Written out, not a loop: every charge a delivery reports comes here.
    (
        set_id,
        set_state,
        set_amount,
        set_currency,
        set_captured,
        set_cancelled,
        set_refunded,
        set_as_of,
    ) = _CHARGE_FIELDS
    set_id(made, charge_id)
    set_state(made, state)
    set_amount(made, amount)
    set_currency(made, code)
    set_captured(made, captured)
    set_cancelled(made, cancelled)
    set_refunded(made, refunded)
    set_as_of(made, None)
    return made


def _amount(raw: Raw) -> Decimal:
    """A JSON number as the checked reader reads it (``int``, or ``Decimal`` of it), bounded.

    As the ``Decimal`` the model converts it to: ``-0`` is ``0``, as the checked reader's int.
    """
    text = bytes(raw)
    known = _AMOUNTS.get(text)
    if known is not None:
        return known  # read before: an order's deliveries repeat its amounts
    if text[:1] not in _NUMBER_STARTS:
        raise _NotPlainError  # a string, true, false: the checked reader refuses it
    amount = Decimal(text.decode()) if _FRACTION.intersection(text) else Decimal(int(text))
    if not -AMOUNT_LIMIT < amount < AMOUNT_LIMIT:
        raise _NotPlainError
    if len(text) <= _SHORT:  # a hostile body's long texts are never kept
        if len(_AMOUNTS) >= _KEPT:
            _AMOUNTS.clear()
        _AMOUNTS[text] = amount  # Decimals are immutable: one object for every reader is safe
    return amount


def _positive(value: object) -> bool:
    """Whether ``value`` is a finite ``Decimal`` above 0 (the model converts no other)."""
    return type(value) is Decimal and value.is_finite() and value > _NO_MONEY


def _currency(text: str | None) -> str | None:
    """:func:`currency_code` of ``text``, which an order's every body repeats, looked up."""
    code = _CURRENCIES.get(text)  # type: ignore[arg-type]  # None: never a key
    if code is None:
        code = currency_code(text)
        if code is not None:
            if len(_CURRENCIES) >= _KEPT:
                _CURRENCIES.clear()
            _CURRENCIES[text] = code  # type: ignore[index]  # a code: text was a str
    return code


# What was read lately, by what it was read from (only what was read without a problem),
# ``_KEPT`` of each at most, of texts no longer than ids: a few MB at worst.
_CURRENCIES: dict[str, str] = {}  # a currency code by its text (three letters)
_AMOUNTS: dict[bytes, Decimal] = {}  # an amount by its JSON text
_ITEMS: dict[_Item, ItemSnapshot] = {}  # an item snapshot by its entry
_KEPT = 4096
_SHORT = MAX_ID_LENGTH


# The checked reader's total of no operation, Decimal(0): the very zero every Charge shares
# (its fields' default), so that the model keeps it as it is, unconverted.
_NO_MONEY = cast("Decimal", attrs.fields(Charge).captured.default)

_NUMBER_STARTS = frozenset(bytes([c]) for c in b"-0123456789")
_FRACTION = frozenset(b".eE")


def _total(entries: list[_Operation] | None) -> Decimal:
    if not entries:
        return _NO_MONEY
    total = _NO_MONEY
    if len(entries) > MAX_OPERATIONS:
        raise _NotPlainError
    for entry in entries:
        amount = _amount(entry.amount)
        if amount < 0:
            raise _NotPlainError
        if entry.state != _FAILED:
            total += amount
    return total

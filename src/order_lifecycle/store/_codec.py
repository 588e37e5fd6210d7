"""Models to plain data and back, generically over their attrs fields.

:func:`encode` walks ``attrs.fields`` and gives JSON-ready data: ``Decimal`` as its string
(exact), enums by value, aware datetimes as ISO 8601 (offset kept), ``bytes`` as
``{"$bytes": base64}``, tuples and lists as lists, attrs values as dicts of their fields (a
:class:`Step`, no attrs class, as a dict of its six :data:`STEP_FIELDS`).
:func:`decode` reverses it from the field's annotation, and builds each value through its
class, so the models' own validation checks what comes back. A field added to a model
needs no change here: a stored record without it takes the field's default.

:func:`split` and :func:`join` cut a record into what the stores keep apart: a few columns
of their own (id, state...), the history as rows, and every other field as one JSON body.
"""

from __future__ import annotations

import base64
import functools
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

import attrs

from order_lifecycle.exceptions import OrderLifecycleError, StoreCorrupt
from order_lifecycle.lifecycle import STEP_FIELDS, Step
from order_lifecycle.models import Charge, Checkout, Item, Order, SnapshotMark, SubmissionAttempt

__all__ = [
    "CHECKOUT",
    "ORDER",
    "STEP_FIELDS",
    "Kind",
    "decode",
    "encode",
    "join",
    "read_steps",
    "split",
    "split_head",
    "step_data",
    "step_rows",
    "stored_bytes",
    "stored_text",
    "stored_time",
]

_BYTES = "$bytes"

_FROZEN = frozenset({Item, Charge, SnapshotMark, Step, SubmissionAttempt})
"""Frozen model classes, whose encoded data :func:`encode` remembers (callers never change it)."""

# id -> (the value, its data); the value is held, so its id is not reused while cached.
_ENCODED: dict[int, tuple[object, Any]] = {}
_ENCODED_SIZE = 20_000


def encode(value: object) -> Any:  # noqa: ANN401 (JSON-ready data of any shape, by kind)
    """``value`` as JSON-ready data (dicts, lists, str, int, bool, None).

    Raises:
        TypeError: a value of a type the codec does not know (a bug in a model, not data).

    """
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        encoder = _encoder(type(value), value)
    return encoder(value)


Encoder = Callable[[Any], Any]

# Encoders are chosen once per class: encoding an order walks plain closures, not a chain
# of isinstance tests per value.
_ENCODERS: dict[type[Any], Encoder] = {}


def _encode_same(value: object) -> object:
    return value


def _encode_enum(value: Enum) -> object:
    return value.value


def _encode_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise TypeError(f"the codec stores aware datetimes only, got {value!r}")
    return value.isoformat()


def _encode_bytes(value: bytes) -> dict[str, str]:
    return {_BYTES: base64.b64encode(value).decode("ascii")}


def _encode_sequence(value: Sequence[object]) -> list[Any]:
    return [encode(item) for item in value]


def _encoder(kind: type[Any], value: object) -> Encoder:
    """The encoder of ``kind``'s values, remembered; :class:`TypeError` if there is none."""
    found: Encoder
    if issubclass(kind, Enum):
        found = _encode_enum
    elif value is None or issubclass(kind, (bool, int, str)):
        found = _encode_same
    elif issubclass(kind, Decimal):
        found = str
    elif issubclass(kind, datetime):
        found = _encode_datetime
    elif issubclass(kind, bytes):
        found = _encode_bytes
    elif issubclass(kind, (tuple, list)):
        found = _encode_sequence
    elif kind in _FROZEN:
        found = _frozen_encoder(kind)
    elif attrs.has(kind):
        found = _attrs_encoder(kind)
    else:
        raise TypeError(f"the codec cannot store {kind.__name__} {value!r}")
    _ENCODERS[kind] = found
    return found


def _attrs_encoder(kind: type[Any]) -> Encoder:
    names = tuple(f.name for f in _init_fields(kind))

    def encode_fields(value: object) -> dict[str, Any]:
        return {name: encode(getattr(value, name)) for name in names}

    return encode_fields


def _encode_step(step: Step[Any, Any]) -> dict[str, Any]:
    """A step's data, as the generic encoder gives it: its parts are known, so not dispatched."""
    event, source = step.event, step.source
    return {
        "event": None if event is None else str(event),  # a StrEnum's str is its value
        "source": None if source is None else str(source),
        "dest": str(step.dest),
        "at": step.at.isoformat(),
        "event_id": step.event_id,
        "implied": step.implied,
    }


def _frozen_encoder(kind: type[Any]) -> Encoder:
    """A frozen value's data; remembered by identity, as it encodes the same every time.

    Items, charges and steps are carried from one version of an order to the next, so an
    update encodes mostly values encoded before.
    """
    encode_fields: Encoder = _encode_step if kind is Step else _attrs_encoder(kind)

    def encode_frozen(value: object) -> Any:  # noqa: ANN401 (JSON-ready data)
        return _by_identity(_ENCODED, value, encode_fields)

    return encode_frozen


def decode(kind: Any, data: object) -> Any:  # noqa: ANN401 (the annotation says what)
    """The value of type ``kind`` that :func:`encode` turned into ``data``.

    ``kind`` is an annotation: a class, ``X | None``, ``tuple[X, ...]``, or a generic
    attrs class with its arguments (``Step[OrderState, OrderEvent]``).

    Raises:
        StoreCorrupt: ``data`` does not fit ``kind``, or the model refuses the value.

    """
    try:
        return _decoder(kind)(data)
    except (_Mismatch, OrderLifecycleError, ValueError, TypeError) as error:
        raise StoreCorrupt(f"a stored {_name(kind)} cannot be read back: {error}") from error


class _Mismatch(Exception):
    """``data`` is not the shape its annotation asks for."""


Decoder = Callable[[Any], Any]
TypeVars = tuple[tuple[Any, Any], ...]

# Decoders are compiled once per annotation (and bindings of its type variables): reading
# an order back walks plain closures, not annotations.
_DECODERS: dict[tuple[Any, TypeVars], Decoder] = {}


def _decoder(kind: Any, typevars: TypeVars = ()) -> Decoder:  # noqa: ANN401 (an annotation)
    key = (kind, typevars)
    decoder = _DECODERS.get(key)
    if decoder is None:
        decoder = _DECODERS[key] = _compile(kind, dict(typevars))
    return decoder


def _compile(kind: Any, typevars: dict[Any, Any]) -> Decoder:  # noqa: ANN401, PLR0911
    if isinstance(kind, TypeVar):
        return _decoder(typevars[kind])
    origin = typing.get_origin(kind)
    bound = tuple(typevars.items())
    if origin in {typing.Union, types.UnionType}:
        members = [_decoder(m, bound) for m in typing.get_args(kind) if m is not type(None)]
        return functools.partial(
            _decode_union, members, optional=type(None) in typing.get_args(kind)
        )
    if origin in {tuple, list}:
        return functools.partial(
            _decode_sequence, _decoder(typing.get_args(kind)[0], bound), origin
        )
    if origin is not None and (attrs.has(origin) or origin is Step):
        params = getattr(origin, "__parameters__", ())
        return _compile_attrs(
            origin, typevars | dict(zip(params, typing.get_args(kind), strict=True))
        )
    if kind is Step or (isinstance(kind, type) and attrs.has(kind)):
        return _compile_attrs(kind, typevars)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind
    scalar = _SCALARS.get(kind)
    if scalar is None:
        raise TypeError(f"the codec cannot read a {kind!r}")
    return scalar


def _decode_union(members: Sequence[Decoder], data: object, *, optional: bool) -> Any:  # noqa: ANN401
    if data is None and optional:
        return None
    problems = []
    for member in members:
        try:
            return member(data)
        except (_Mismatch, ValueError) as problem:
            problems.append(str(problem))
    raise _Mismatch("; ".join(problems) or f"expected null, got {data!r}")


def _decode_sequence(element: Decoder, container: type[Any], data: object) -> Any:  # noqa: ANN401
    if not isinstance(data, list):
        raise _Mismatch(f"expected a list, got {data!r}")
    return container(element(item) for item in data)


def _compile_attrs(cls: type[Any], typevars: dict[Any, Any]) -> Decoder:
    """A decoder of ``cls`` (an attrs class, or :class:`Step`) from the data of its fields."""
    bound = tuple(typevars.items())
    hints = _hints(cls)
    fields = [(name, alias, _decoder(hints[name], bound)) for name, alias in _aliases(cls)]
    names = frozenset(name for name, _, _ in fields)

    def decode_attrs(data: object) -> Any:  # noqa: ANN401
        if cls is Step and type(data) is Step:
            return data  # read by read_steps: the history's steps come built
        if not isinstance(data, dict):
            raise _Mismatch(f"expected the fields of {cls.__name__}, got {data!r}")
        if not names.issuperset(data):
            unknown = ", ".join(sorted(set(data) - names))
            raise _Mismatch(f"{cls.__name__} has no field {unknown}")
        return cls(**{alias: decode(data[name]) for name, alias, decode in fields if name in data})

    return decode_attrs


def _exactly(kind: type[Any]) -> Decoder:
    def decode(data: object) -> Any:  # noqa: ANN401
        if type(data) is not kind:
            raise _Mismatch(f"expected {kind.__name__}, got {data!r}")
        return data

    return decode


def _none(data: object) -> None:
    if data is not None:
        raise _Mismatch(f"expected null, got {data!r}")


def _decimal(data: object) -> Decimal:
    if not isinstance(data, str):
        raise _Mismatch(f"expected a decimal string, got {data!r}")
    try:
        return Decimal(data)
    except InvalidOperation:
        raise _Mismatch(f"not a decimal: {data!r}") from None


def _datetime(data: object) -> datetime:
    if not isinstance(data, str):
        raise _Mismatch(f"expected an ISO 8601 time, got {data!r}")
    return datetime.fromisoformat(data)


def _bytes(data: object) -> bytes:
    if not isinstance(data, dict) or set(data) != {_BYTES}:
        raise _Mismatch(f"expected {{{_BYTES!r}: base64}}, got {data!r}")
    return base64.b64decode(data[_BYTES], validate=True)


_SCALARS: dict[Any, Decoder] = {
    bool: _exactly(bool),
    int: _exactly(int),
    str: _exactly(str),
    type(None): _none,
    Decimal: _decimal,
    datetime: _datetime,
    bytes: _bytes,
}


def _aliases(cls: type[Any]) -> tuple[tuple[str, str], ...]:
    """Each field's name and the name its constructor takes it by."""
    if cls is Step:
        return tuple((name, name) for name in STEP_FIELDS)
    return tuple((f.name, f.alias or f.name) for f in _init_fields(cls))


def _init_fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = tuple(f for f in attrs.fields(cls) if f.init)
    return fields


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        # A step's fields are its constructor's parameters (its attributes are properties).
        hints = _HINTS[cls] = typing.get_type_hints(cls.__init__ if cls is Step else cls)
    return hints


# Per-class caches: fields and resolved annotations never change at run time.
_FIELDS: dict[type[Any], tuple[attrs.Attribute[Any], ...]] = {}
_HINTS: dict[type[Any], dict[str, Any]] = {}


def _name(kind: Any) -> str:  # noqa: ANN401
    origin = typing.get_origin(kind) or kind
    return getattr(origin, "__name__", str(kind))


@attrs.frozen
class Kind:
    """How one kind of record is laid out: its columns apart from the JSON body."""

    model: type[Order | Checkout]
    columns: tuple[str, ...]

    @property
    def step_type(self) -> Any:  # noqa: ANN401 (an annotation)
        """The annotation of one history step, ``Step[OrderState, OrderEvent]`` for orders."""
        return typing.get_args(_hints(self.model)["history"])[0]


ORDER = Kind(Order, ("state", "fraud_state", "checkout_id"))
CHECKOUT = Kind(Checkout, ("state", "order_id"))


# --- an order's own encoders -------------------------------------------------------------------
# Every write of an order encodes its head (columns and JSON body): written per class as
# JSON text, its fields named once, the keys in sorted order (the text
# json.dumps(sort_keys=True) of the generic encoding gives, byte for byte, without building
# its data nor walking it). A test holds them to the generic encoder, so a field added to a
# model cannot be left out unnoticed. Each value of an exact str, int or bool, or None, is
# spelled here as json.dumps spells it; any other by ``_DUMPS`` itself.
_ASCII = json.encoder.encode_basestring_ascii  # a str quoted as json.dumps writes it
_DUMPS = json.JSONEncoder(separators=(",", ":")).encode


def _str(value: object) -> str:
    return _ASCII(value) if type(value) is str else _DUMPS(value)


def _int(value: object) -> str:
    return int.__repr__(value) if type(value) is int else _DUMPS(value)


def _mark_text(mark: SnapshotMark | None) -> str:
    if mark is None:
        return "null"
    return f'{{"at":{_str(mark.at.isoformat())},"event_id":{_str(mark.event_id)}}}'


def _item_text(item: Item) -> str:
    physical, sku = item.physical, item.sku
    return (
        f'{{"cancelled":{_int(item.cancelled)},"fulfilled":{_int(item.fulfilled)},'
        f'"id":{_str(item.id)},'
        f'"physical":{"null" if physical is None else _DUMPS(physical)},'
        f'"quantity":{_int(item.quantity)},"returned":{_int(item.returned)},'
        f'"sku":{"null" if sku is None else _str(sku)}}}'
    )


def _charge_text(charge: Charge) -> str:
    currency = charge.currency
    return (
        f'{{"amount":{_str(str(charge.amount))},"as_of":{_mark_text(charge.as_of)},'
        f'"cancelled":{_str(str(charge.cancelled))},"captured":{_str(str(charge.captured))},'
        f'"currency":{"null" if currency is None else _str(currency)},'
        f'"id":{_str(charge.id)},"refunded":{_str(str(charge.refunded))},'
        f'"state":{_str(str(charge.state))}}}'
    )


# id -> (the item or charge, its JSON text), apart from encode's data.
_TEXTS: dict[int, tuple[object, Any]] = {}


def _remembered(value: object, build: Callable[[Any], Any]) -> Any:  # noqa: ANN401 (JSON text)
    """``build(value)`` for a frozen value, remembered by identity (as :func:`encode` does)."""
    return _by_identity(_TEXTS, value, build)


def _by_identity(
    cache: dict[int, tuple[object, Any]], value: object, build: Callable[[Any], Any]
) -> Any:  # noqa: ANN401 (JSON data)
    """``build(value)``, kept in ``cache`` by the value's identity; emptied when full.

    The value is kept with its data, so a new object at a freed one's address is never
    taken for it.
    """
    known = cache.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    data = build(value)
    if len(cache) >= _ENCODED_SIZE:
        cache.clear()
    cache[id(value)] = (value, data)
    return data


def _order_head(order: Order) -> tuple[dict[str, Any], str]:
    """An order's columns and JSON body, as :func:`split_head` gives them."""
    fraud = order.fraud_state
    columns = {
        "id": order.id,
        "state": order.state.value,
        "fraud_state": None if fraud is None else fraud.value,
        "checkout_id": order.checkout_id,
    }
    charges = ",".join([_remembered(c, _charge_text) for c in order.charges])
    items = ",".join([_remembered(i, _item_text) for i in order.items])
    currency = order.currency
    body = (
        f'{{"as_of":{_mark_text(order.as_of)},"charges":[{charges}],'
        f'"currency":{"null" if currency is None else _str(currency)},"items":[{items}]}}'
    )
    return columns, body


def split(kind: Kind, record: Order | Checkout) -> tuple[dict[str, Any], str, list[list[Any]]]:
    """``record`` as (its columns by name, its other fields as JSON text, its history rows).

    History rows hold the :data:`STEP_FIELDS` in order; the record's id is a column.
    """
    if kind is ORDER and type(record) is Order:
        columns, body = _order_head(record)
        return columns, body, step_rows(record.history)
    data = encode(record)
    steps = data.pop("history")
    columns = {"id": data.pop("id")} | {name: data.pop(name) for name in kind.columns}
    body = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return columns, body, [[step[name] for name in STEP_FIELDS] for step in steps]


def split_head(kind: Kind, record: Order | Checkout) -> tuple[dict[str, Any], str]:
    """``record``'s columns and JSON body, as :func:`split` gives them, history left out.

    What an update writes: the history's stored rows never change, so they are not encoded.
    """
    if kind is ORDER and type(record) is Order:
        return _order_head(record)
    data = {
        f.name: encode(getattr(record, f.name))
        for f in _init_fields(kind.model)
        if f.name != "history"
    }
    columns = {"id": data.pop("id")} | {name: data.pop(name) for name in kind.columns}
    return columns, json.dumps(data, sort_keys=True, separators=(",", ":"))


def step_rows(steps: Sequence[Step[Any, Any]]) -> list[list[Any]]:
    """History rows (the :data:`STEP_FIELDS` in order) of ``steps`` only."""
    return [
        [
            # str() of a StrEnum member is its value, at a quarter of ``.value``'s cost.
            None if (event := step.event) is None else str(event),
            None if (source := step.source) is None else str(source),
            str(step.dest),
            step.at.isoformat(),
            step.event_id,
            step.implied,
        ]
        for step in steps
    ]


def join(
    kind: Kind, columns: Mapping[str, Any], body: str, steps: Sequence[Sequence[Any]]
) -> Order | Checkout:
    """The record :func:`split` cut up, rebuilt and validated by its model.

    Raises:
        StoreCorrupt: the pieces do not make a valid record (the message names it).

    """
    try:
        data = json.loads(
            stored_text(body, f"the body of {kind.model.__name__} {columns.get('id')!r}")
        )
    except (ValueError, RecursionError) as error:
        raise StoreCorrupt(f"stored {kind.model.__name__} {columns.get('id')!r}: {error}") from None
    if not isinstance(data, dict):
        raise StoreCorrupt(f"stored {kind.model.__name__} {columns.get('id')!r}: body {data!r}")
    data.update(columns)
    try:
        data["history"] = read_steps(kind, steps)
        record: Order | Checkout = decode(kind.model, data)
    except StoreCorrupt as error:
        raise StoreCorrupt(f"stored {kind.model.__name__} {columns.get('id')!r}: {error}") from None
    return record


def stored_text(value: object, where: str, *, optional: bool = False) -> Any:  # noqa: ANN401
    """A text column's value as read back (``None`` too when ``optional``).

    ``where`` names the table, row and column, for the message.

    Raises:
        StoreCorrupt: the column holds something else (SQLite lets a column hold any type).

    """
    if isinstance(value, str) or (optional and value is None):
        return value
    raise StoreCorrupt(f"{where} holds {value!r}, not text: the store is damaged.")


def stored_bytes(value: object, where: str) -> bytes:
    """A binary column's value as read back; :class:`StoreCorrupt` if it is not bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise StoreCorrupt(f"{where} holds {value!r}, not bytes: the store is damaged.")


def stored_time(value: object, where: str) -> datetime:
    """A time column's value (ISO 8601 text with an offset) as read back, aware."""
    text = stored_text(value, where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise StoreCorrupt(f"{where} holds {text!r}, not a time with its offset: damaged.")
    return moment


def read_steps(kind: Kind, rows: Sequence[Sequence[Any]]) -> list[Step[Any, Any]]:
    """History rows read back as the steps :func:`decode` gives for their :func:`step_data`.

    A long-lived order has thousands of steps, each read whenever the order is not in a
    store's cache: a row plainly valid (its states and event members of the kind's enums,
    its time ISO 8601 text with an offset, its event id text or null) is built straight
    from the columns, at a fraction of the generic decoder's cost; any other row goes
    through :func:`decode`, which says what is wrong with it.

    Raises:
        StoreCorrupt: a row that is not a step of the kind's history.

    """
    read = _STEP_READERS.get(kind.step_type)
    if read is None:
        read = _STEP_READERS[kind.step_type] = _step_reader(kind.step_type)
    return [read(row) for row in rows]


_STEP_READERS: dict[Any, Callable[[Sequence[Any]], Step[Any, Any]]] = {}


def _step_reader(step_type: Any) -> Callable[[Sequence[Any]], Step[Any, Any]]:  # noqa: ANN401
    states, events = typing.get_args(step_type)
    state_of: dict[Any, Any] = {member.value: member for member in states}
    event_of: dict[Any, Any] = {member.value: member for member in events}
    event_of[None] = None  # a creation's
    moves: dict[tuple[Any, Any, Any, bool], tuple[Any, Any, Any]] = {}

    def generic(row: Sequence[Any]) -> Step[Any, Any]:
        step: Step[Any, Any] = decode(step_type, step_data(row))
        return step

    def plain(row: Sequence[Any]) -> Step[Any, Any] | None:
        """The step of a plainly valid row; ``None`` for any other."""
        if len(row) != len(STEP_FIELDS):
            return None
        event, source, dest, at, event_id, implied = row
        key = (event, source, dest, bool(implied))
        try:
            made = moves.get(key)
        except TypeError:  # a column no database gives back (unhashable)
            return None
        if made is None:
            parts = (
                event_of.get(event, _UNREAD),
                None if source is None else state_of.get(source, _UNREAD),
                state_of.get(dest, _UNREAD),
            )
            if _UNREAD in parts:  # only a member's own value (a str) finds it
                return None
            made = moves[key] = parts
        moment = _offset_time(at)
        if moment is None or (event_id is not None and type(event_id) is not str):
            return None
        return Step(*made, moment, event_id, key[3])

    def read(row: Sequence[Any]) -> Step[Any, Any]:
        return plain(row) or generic(row)

    return read


_UNREAD = object()  # a column value no member has: the generic decoder says why


def _offset_time(value: object) -> datetime | None:
    """``value`` as an aware time if it is ISO 8601 text with an offset; else ``None``."""
    if type(value) is not str:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def step_data(row: Sequence[Any]) -> dict[str, Any]:
    """A history row as the data of one step; a stored boolean may be an integer."""
    data = dict(zip(STEP_FIELDS, row, strict=True))
    data["implied"] = bool(data["implied"])
    return data

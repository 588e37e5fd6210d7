"""Models to plain data and back, generically over their attrs fields.

:func:`encode` walks ``attrs.fields`` and gives JSON-ready data: ``Decimal`` as its string
(exact), enums by value, aware datetimes as ISO 8601 (offset kept), ``bytes`` as
``{"$bytes": base64}``, tuples and lists as lists, attrs values as dicts of their fields.
:func:`decode` reverses it from the field's annotation, and builds each value through its
class, so the models' own validation checks what comes back. A field added to a model
needs no change here: a stored record without it takes the field's default.

:func:`split` and :func:`join` cut a record into what the stores keep apart: a few indexed
columns, the history as rows, and every other field as one JSON body.
"""

from __future__ import annotations

import base64
import json
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

import attrs

from order_lifecycle._machine import Step
from order_lifecycle._models import Checkout, Order
from order_lifecycle.exceptions import OrderLifecycleError, StoreCorrupt

__all__ = [
    "CHECKOUT",
    "ORDER",
    "STEP_FIELDS",
    "Kind",
    "decode",
    "encode",
    "encode_steps",
    "join",
    "split",
    "step_data",
]

R = TypeVar("R", Order, Checkout)

STEP_FIELDS: tuple[str, ...] = tuple(f.name for f in attrs.fields(Step))
"""A history row's columns, in order: the fields of :class:`Step`."""

_BYTES = "$bytes"


def encode(value: object) -> Any:  # noqa: ANN401, PLR0911 (JSON-ready data of any shape, by kind)
    """``value`` as JSON-ready data (dicts, lists, str, int, bool, None).

    Raises:
        TypeError: a value of a type the codec does not know (a bug in a model, not data).

    """
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"the codec stores aware datetimes only, got {value!r}")
        return value.isoformat()
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, (tuple, list)):
        return [encode(item) for item in value]
    if attrs.has(type(value)):
        return {f.name: encode(getattr(value, f.name)) for f in _init_fields(type(value))}
    raise TypeError(f"the codec cannot store {type(value).__name__} {value!r}")


def decode(kind: Any, data: object) -> Any:  # noqa: ANN401 (the annotation says what)
    """The value of type ``kind`` that :func:`encode` turned into ``data``.

    ``kind`` is an annotation: a class, ``X | None``, ``tuple[X, ...]``, or a generic
    attrs class with its arguments (``Step[OrderState, OrderEvent]``).

    Raises:
        StoreCorrupt: ``data`` does not fit ``kind``, or the model refuses the value.

    """
    try:
        return _decode(kind, data, {})
    except (_Mismatch, OrderLifecycleError, ValueError, TypeError) as error:
        raise StoreCorrupt(f"a stored {_name(kind)} cannot be read back: {error}") from error


class _Mismatch(Exception):
    """``data`` is not the shape its annotation asks for."""


def _decode(kind: Any, data: object, typevars: Mapping[Any, Any]) -> Any:  # noqa: ANN401, C901, PLR0911, PLR0912
    if isinstance(kind, TypeVar):
        return _decode(typevars[kind], data, typevars)
    origin = typing.get_origin(kind)
    if origin in {typing.Union, types.UnionType}:
        return _decode_union(typing.get_args(kind), data, typevars)
    if origin in {tuple, list}:
        if not isinstance(data, list):
            raise _Mismatch(f"expected a list, got {data!r}")
        element = typing.get_args(kind)[0]
        items = [_decode(element, item, typevars) for item in data]
        return tuple(items) if origin is tuple else items
    if origin is not None and attrs.has(origin):
        params = getattr(origin, "__parameters__", ())
        bound = dict(zip(params, typing.get_args(kind), strict=True))
        return _decode_attrs(origin, data, {**typevars, **bound})
    if kind is type(None):
        if data is not None:
            raise _Mismatch(f"expected null, got {data!r}")
        return None
    if isinstance(kind, type) and attrs.has(kind):
        return _decode_attrs(kind, data, typevars)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(data)
    if kind is bool or kind is int or kind is str:
        if type(data) is not kind:
            raise _Mismatch(f"expected {kind.__name__}, got {data!r}")
        return data
    if kind is Decimal:
        if not isinstance(data, str):
            raise _Mismatch(f"expected a decimal string, got {data!r}")
        try:
            return Decimal(data)
        except InvalidOperation:
            raise _Mismatch(f"not a decimal: {data!r}") from None
    if kind is datetime:
        if not isinstance(data, str):
            raise _Mismatch(f"expected an ISO 8601 time, got {data!r}")
        return datetime.fromisoformat(data)
    if kind is bytes:
        if not isinstance(data, dict) or set(data) != {_BYTES}:
            raise _Mismatch(f"expected {{{_BYTES!r}: base64}}, got {data!r}")
        return base64.b64decode(data[_BYTES], validate=True)
    raise TypeError(f"the codec cannot read a {kind!r}")


def _decode_union(members: Sequence[Any], data: object, typevars: Mapping[Any, Any]) -> Any:  # noqa: ANN401
    if data is None and type(None) in members:
        return None
    problems = []
    for member in members:
        if member is type(None):
            continue
        try:
            return _decode(member, data, typevars)
        except (_Mismatch, ValueError) as problem:
            problems.append(str(problem))
    raise _Mismatch("; ".join(problems))


def _decode_attrs(cls: type[Any], data: object, typevars: Mapping[Any, Any]) -> Any:  # noqa: ANN401
    if not isinstance(data, dict):
        raise _Mismatch(f"expected the fields of {cls.__name__}, got {data!r}")
    fields = _init_fields(cls)
    unknown = sorted(set(data) - {f.name for f in fields})
    if unknown:
        raise _Mismatch(f"{cls.__name__} has no field {', '.join(unknown)}")
    hints = _hints(cls)
    arguments = {
        (f.alias or f.name): _decode(hints[f.name], data[f.name], typevars)
        for f in fields
        if f.name in data
    }
    return cls(**arguments)


def _init_fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = tuple(f for f in attrs.fields(cls) if f.init)
    return fields


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
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


def split(kind: Kind, record: Order | Checkout) -> tuple[dict[str, Any], str, list[list[Any]]]:
    """``record`` as (its columns by name, its other fields as JSON text, its history rows).

    History rows hold the :data:`STEP_FIELDS` in order; the record's id is a column.
    """
    data = encode(record)
    steps = data.pop("history")
    columns = {"id": data.pop("id")} | {name: data.pop(name) for name in kind.columns}
    body = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return columns, body, [[step[name] for name in STEP_FIELDS] for step in steps]


def encode_steps(steps: Sequence[Step[Any, Any]]) -> list[list[Any]]:
    """History steps as rows of :data:`STEP_FIELDS`."""
    return [[encode(getattr(step, name)) for name in STEP_FIELDS] for step in steps]


def join(
    kind: Kind, columns: Mapping[str, Any], body: str, steps: Sequence[Sequence[Any]]
) -> Order | Checkout:
    """The record :func:`split` cut up, rebuilt and validated by its model.

    Raises:
        StoreCorrupt: the pieces do not make a valid record (the message names it).

    """
    try:
        data = json.loads(body)
    except ValueError as error:
        raise StoreCorrupt(f"stored {kind.model.__name__} {columns.get('id')!r}: {error}") from None
    if not isinstance(data, dict):
        raise StoreCorrupt(f"stored {kind.model.__name__} {columns.get('id')!r}: body {data!r}")
    data.update(columns)
    data["history"] = [step_data(row) for row in steps]
    try:
        record: Order | Checkout = decode(kind.model, data)
    except StoreCorrupt as error:
        raise StoreCorrupt(f"stored {kind.model.__name__} {columns.get('id')!r}: {error}") from None
    return record


def step_data(row: Sequence[Any]) -> dict[str, Any]:
    """A history row as the data of one step; a stored boolean may be an integer."""
    data = dict(zip(STEP_FIELDS, row, strict=True))
    data["implied"] = bool(data["implied"])
    return data

"""The checks every store makes before it writes: ids, text a database can store, histories.

Each store calls these before touching its database, so that data valid in one store is
valid in all, and a refused write changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from order_lifecycle.exceptions import InvalidInput, WrongType
from order_lifecycle.lifecycle import MachineSpec, Step, replay, shared_prefix
from order_lifecycle.models import Checkout, Order

__all__ = [
    "delivery_fields",
    "new_steps",
    "now",
    "plain_text",
    "require_id",
    "require_ids",
    "require_optional_id",
    "require_order",
    "require_storable",
    "require_text",
    "storable_text",
]


def now() -> datetime:
    """The current moment, aware."""
    return datetime.now(UTC)


def require_id(value: object, what: str) -> str:
    """``value`` if it is a non-empty str a database can store; else a typed error."""
    return storable_text(require_text(value, what), what)


def storable_text(value: str, what: str) -> str:
    """``value`` unless it holds a NUL (PostgreSQL cannot store it) or a lone surrogate.

    A lone surrogate has no UTF-8, so neither database can store it. Every store refuses
    both alike, before touching its database, so that data valid in one store is valid in all.
    """
    if "\x00" in value:
        raise InvalidInput(
            f"{what} must not contain NUL characters (databases cannot store them), got {value!r}."
        )
    if not value.isascii() and _SURROGATE.search(value):  # ASCII has no surrogate to find
        raise InvalidInput(
            f"{what} must not contain lone surrogates (they have no UTF-8), got {value!r}."
        )
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def require_storable(spec: MachineSpec[Any, Any], record: Order | Checkout) -> None:
    """Raise unless every step of ``record``'s history is legal and its columns storable.

    Raises:
        InvalidHistory: a step the table does not allow.
        InvalidInput: an id or event id with a NUL character.

    """
    replay(spec, record.history)
    _storable_columns(record, record.history)


def _storable_columns(record: Order | Checkout, steps: Sequence[Step[Any, Any]]) -> None:
    """Raise unless ``record``'s id columns and the event ids of ``steps`` are storable."""
    values = [step.event_id for step in steps]
    values += (record.id, getattr(record, "checkout_id", None), getattr(record, "order_id", None))
    try:  # the common case told at once: all text, ASCII without NUL, as the checks below pass
        joined = "".join([value for value in values if value is not None])
    except TypeError:  # not all text: the checks below say which
        joined = "\x00"
    if joined.isascii() and "\x00" not in joined:
        return
    kind = type(record).__name__
    storable_text(record.id, f"{kind}.id")
    for name in ("checkout_id", "order_id"):
        value = getattr(record, name, None)
        if value is not None:
            storable_text(value, f"{kind}.{name}")
    for step in steps:
        if step.event_id is not None:
            storable_text(step.event_id, f"{kind}.history[].event_id")


def plain_text(value: object) -> bool:
    """Whether ``value`` is a ``str`` of ASCII without NUL, which :func:`storable_text` passes.

    The common case of every id and text the stores check, told in one expression.
    """
    return type(value) is str and value.isascii() and "\x00" not in value


def require_text(value: object, what: str) -> str:
    """``value`` if it is a non-empty str."""
    if not isinstance(value, str) or not value:
        raise WrongType(what, "a non-empty str", value)
    return value


def require_ids(values: object, what: str) -> list[str]:
    """``values`` as a list of ids without repeats, each a non-empty str a database stores."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise WrongType(what, "a list of ids", values)
    return list(dict.fromkeys(require_id(value, f"{what}[]") for value in values))


def require_optional_id(value: object, what: str) -> str | None:
    """``value`` if it is ``None`` or a non-empty str."""
    if value is None or (plain_text(value) and value != ""):
        return value  # type: ignore[return-value]  # a str: plain_text said so
    return require_id(value, what)


def require_order(order: object) -> Order:
    """``order`` if it is an :class:`Order`."""
    if not isinstance(order, Order):
        raise WrongType("order", "an Order", order)
    return order


def delivery_fields(
    raw: object, reason: object, event_id: object, order_id: object, at: object
) -> tuple[bytes, str, str | None, str | None, datetime]:
    """The checked fields of a delivery to keep."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise WrongType("raw", "the delivery's bytes", raw)
    if at is not None and (not isinstance(at, datetime) or at.tzinfo is None):
        raise WrongType("at", "a timezone-aware datetime", at)
    return (
        bytes(raw),
        storable_text(require_text(reason, "reason"), "reason"),
        require_optional_id(event_id, "event_id"),
        require_optional_id(order_id, "order_id"),
        now() if at is None else at,
    )


def _named(spec: MachineSpec[Any, Any], record: Order | Checkout) -> str:
    """``record`` named in a refusal (built only when one is raised)."""
    return f"{spec.name} {record.id!r}"


def new_steps(
    spec: MachineSpec[Any, Any], stored: Order | Checkout, work: Order | Checkout
) -> list[Step[Any, Any]]:
    """The steps ``work`` appended to ``stored``'s history, checked.

    Raises:
        InvalidInput: the id changed, a stored step was changed or removed, or an
            appended step is not a row of ``spec`` from where the history stood.

    """
    if work.id != stored.id:
        raise InvalidInput(f"an update of {_named(spec, stored)} changed its id to {work.id!r}.")
    known = len(stored.history)
    # The steps a copy shares with its source are not compared again: a long history is
    # read past them only (a reconciler checks every change it commits).
    same = shared_prefix(work.history, stored.history)
    if work.history[same:known] != stored.history[same:]:
        raise InvalidInput(
            f"an update of {_named(spec, stored)} rewrote its stored history; append only."
        )
    appended: list[Step[Any, Any]] = list(work.history[known:])
    state: Any = stored.state
    for index, step in enumerate(appended, start=known):
        legal = (
            step.event is not None
            and step.source == state
            and any(row.dest == step.dest for row in spec.transitions_from(state, step.event))
        )
        if not legal:
            raise InvalidInput(
                f"an update of {_named(spec, stored)} appended step {index}, "
                f"{step.source} -{step.event}-> {step.dest}, "
                f"which the table does not allow from {state}."
            )
        state = step.dest
    if state != work.state:
        raise InvalidInput(
            f"an update left {_named(spec, stored)} in {work.state}, but its history in {state}."
        )
    _storable_columns(work, appended)
    return appended

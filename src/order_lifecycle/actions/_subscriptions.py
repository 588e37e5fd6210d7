"""The shop's own kinds of action: subscriptions to provider events, listeners to transitions.

The order table declares what every shop must do; a shop adds its own kinds on its
:class:`~order_lifecycle.actions.ActionPolicy`, each a name its worker's handlers use:

- a **subscription** names provider event types (exactly, or by a prefix ending in
  ``.*``: ``refund.*``): each delivery of one, once reconciled, becomes an action of that
  kind, written with the delivery's status (``EventReceived``);
- a **listener** (:func:`on`) names transitions of the order table (into a state, by an
  event, out of a state, or any): each one committed becomes an action of that kind,
  written with the change (``Transitioned``), as python-statemachine's observers or
  django-fsm's ``post_transition`` are called, but at least once and after the commit.

Both are checked when the policy is built: a pattern that matches no type the provider
documents about an order, a state or event the table does not define, a name that is a
table kind or is taken twice, each is an error that names what is known.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from order_lifecycle._text import safe_text
from order_lifecycle.exceptions import InvalidInput, UnknownEvent, UnknownState, WrongType
from order_lifecycle.lifecycle import PROVIDER_EVENT_TYPES, ActionKind, OrderEvent, OrderState, Step

__all__ = ["Listener", "Subscriptions", "check_kind_name", "on"]

E = TypeVar("E", bound=StrEnum)

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}\Z")
_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?\Z")
_MAX_PATTERNS = 100
_TABLE_KINDS = frozenset(ActionKind)


def check_kind_name(name: object, what: str) -> str:
    """``name`` if it can name a shop's kind of action: lower-case, ``_``, not a table kind.

    Raises:
        InvalidInput: not such a name (:class:`WrongType` when not a str).

    """
    if type(name) is not str:
        raise WrongType(what, "a name of lower-case letters, digits and _", name)
    if not _NAME.match(name):
        raise InvalidInput(
            f"{what} {safe_text(name, 80)!r} cannot name a kind of action: use lower-case "
            "letters, digits and _ (a letter first, at most 63 characters)."
        )
    if name in _TABLE_KINDS:
        raise InvalidInput(
            f"{what} {name!r} is a kind of the order table already: give the shop's kind "
            f"another name (the table's are {', '.join(sorted(_TABLE_KINDS))})."
        )
    return name


def _known_types() -> str:
    """The documented types, grouped by their first word, for an error message."""
    groups: dict[str, list[str]] = {}
    for name in sorted(PROVIDER_EVENT_TYPES):
        groups.setdefault(name.partition(".")[0], []).append(name)
    return "; ".join(", ".join(names) for names in groups.values())


def _matches(pattern: str) -> frozenset[str]:
    """The documented types ``pattern`` names: itself, or those under its prefix."""
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return frozenset(t for t in PROVIDER_EVENT_TYPES if t.startswith(prefix))
    return frozenset({pattern}) & PROVIDER_EVENT_TYPES


def _patterns(value: object, what: str) -> tuple[str, ...]:
    """``value`` (a pattern, or several) checked: each names a documented type."""
    if isinstance(value, str):
        value = (value,)
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise WrongType(what, "an event type pattern, or a list of them", value)
    found: list[str] = []
    for pattern in value:
        if len(found) >= _MAX_PATTERNS:
            raise InvalidInput(f"{what} names more than {_MAX_PATTERNS} patterns.")
        if type(pattern) is not str:
            raise WrongType(f"{what}[]", "an event type or a prefix ending in .*", pattern)
        if not _PATTERN.match(pattern) or not _matches(pattern):
            raise InvalidInput(
                f"{what}: {safe_text(pattern, 80)!r} matches no event type the provider "
                "documents about an order (name one exactly, or a prefix ending in .*, as "
                f"refund.*): {_known_types()}."
            )
        found.append(pattern)
    if not found:
        raise InvalidInput(f"{what} names no event type.")
    return tuple(dict.fromkeys(found))


def shop_pairs(value: object, name: str, expected: str) -> list[tuple[Any, Any]]:
    """The pairs of the mapping the shop gave as ``name``, read once.

    Raises:
        WrongType: not a mapping (``expected`` says what is).
        InvalidInput: its ``items()`` raised (the shop's own mapping may).

    """
    if not isinstance(value, Mapping):
        raise WrongType(name, expected, value)
    try:
        return list(value.items())
    except Exception as error:  # noqa: BLE001 (the shop's mapping: items() may fail)
        raise InvalidInput(f"{name} cannot be read: {safe_text(error)}") from None


@attrs.frozen(repr=False)
class Subscriptions:
    """The shop's subscriptions: for each of its kinds, the event type patterns it takes.

    Built from a mapping of names to a pattern or a list of them
    (``{"refunds": "refund.*", "documents": ["order.invoice.created", ...]}``).

    Raises (at construction):
        InvalidInput: a name that cannot name a kind (or is a table kind), a pattern that
            matches no documented type (the message lists them), no pattern.

    """

    patterns: Mapping[str, tuple[str, ...]]
    _by_type: Mapping[str, tuple[str, ...]] = attrs.field(init=False, repr=False)

    @classmethod
    def of(cls, value: object) -> Subscriptions:
        """``value`` checked: ``None`` (none), a mapping of names to patterns, or one already."""
        if value is None:
            return cls(MappingProxyType({}))
        if isinstance(value, Subscriptions):
            return value
        pairs = shop_pairs(value, "subscribe", "a mapping of kind names to event type patterns")
        checked = {
            check_kind_name(name, "subscribe's name"): _patterns(patterns, f"subscribe[{name!r}]")
            for name, patterns in pairs
        }
        return cls(MappingProxyType(checked))

    def __attrs_post_init__(self) -> None:
        by_type: dict[str, list[str]] = {}
        for kind, patterns in self.patterns.items():
            for pattern in patterns:
                for event_type in _matches(pattern):
                    kinds = by_type.setdefault(event_type, [])
                    if kind not in kinds:
                        kinds.append(kind)
        object.__setattr__(
            self, "_by_type", MappingProxyType({t: tuple(k) for t, k in by_type.items()})
        )

    def __repr__(self) -> str:
        return f"<Subscriptions({', '.join(self.patterns)})>"

    def kinds_for(self, event_type: str) -> tuple[str, ...]:
        """The kinds subscribed to ``event_type`` (none: ``()``)."""
        return self._by_type.get(event_type, ())


def _names(
    value: object, enum: type[E], unknown: type[UnknownState | UnknownEvent]
) -> tuple[E, ...]:
    """``value`` (a name, several, or ``None``: any) as members of ``enum``."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = (value,)
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise WrongType(
            f"on's {unknown.kind}", f"an order {unknown.kind}, or a list of them", value
        )
    found: list[E] = []
    for name in value:
        if len(found) >= len(enum) or type(name) not in {str, enum}:
            raise WrongType(f"on's {unknown.kind}", f"an order {unknown.kind} name", name)
        if name not in set(enum):
            raise unknown("order", safe_text(name, 80), [m.value for m in enum])
        found.append(enum(name))
    if not found:
        raise InvalidInput(f"on's {unknown.kind} names none: leave it out to mean any.")
    return tuple(dict.fromkeys(found))


@attrs.frozen
class Listener:
    """Which committed transitions of the order table a listener hears (see :func:`on`).

    Empty fields mean any: ``Listener()`` hears every transition, the order's creation too.
    """

    state: tuple[OrderState, ...] = ()
    event: tuple[OrderEvent, ...] = ()
    source: tuple[OrderState, ...] = ()

    def hears(self, step: Step[OrderState, OrderEvent]) -> bool:
        """Whether the step (entering ``state``, by ``event``, out of ``source``) is one."""
        return (
            (not self.state or step.dest in self.state)
            and (not self.event or step.event in self.event)
            and (not self.source or step.source in self.source)
        )


def on(
    state: str | Iterable[str] | None = None,
    *,
    event: str | Iterable[str] | None = None,
    source: str | Iterable[str] | None = None,
) -> Listener:
    """A listener of the order's transitions into ``state``, by ``event``, out of ``source``.

    Each is a name of the order table (or several; leave it out to mean any):
    ``on("accepted")`` hears every entry into ``accepted`` (the order created accepted,
    too), ``on(event="dispute")`` every dispute, ``on()`` every transition.

    Raises:
        UnknownState: a state the order table does not define (the message names them).
        UnknownEvent: an event it does not define.
        WrongType: a value that is not a name or a list of names.

    """
    return Listener(
        _names(state, OrderState, UnknownState),
        _names(event, OrderEvent, UnknownEvent),
        _names(source, OrderState, UnknownState),
    )

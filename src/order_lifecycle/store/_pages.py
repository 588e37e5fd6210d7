"""An operator's listings: one page at a time, by key (never by offset), with the true total.

A listing of deliveries, actions or orders is a :class:`Page`: at most ``limit`` rows after
a key (the last row the page before showed: a delivery's ``seq``, an action's ``key``, an
order's ``id``), oldest first, and how many rows match the filters in all. Pages are cut
by key, not by offset: a page costs what it shows however deep into the listing it is,
and rows added meanwhile never shift a row onto two pages or off every page. The total
and the rows are read in one transaction, so they agree.

The filters each store turns into its query are checked here, once, into small values
(:class:`DeliveryFilter`, :class:`ActionFilter`, :class:`OrderFilter`); the memory store
pages plain lists with :func:`page_of`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Generic, TypeVar

import attrs

from order_lifecycle.actions import ActionState, StoredAction
from order_lifecycle.exceptions import InvalidInput, WrongType
from order_lifecycle.lifecycle import ActionKind, OrderState
from order_lifecycle.webhooks import DeliveryStatus, StoredDelivery

from ._inbox import check_seq, check_statuses
from ._outbox import check_key, check_kinds, check_moment, check_states

__all__ = [
    "ActionFilter",
    "DeliveryFilter",
    "OrderFilter",
    "OrderSummary",
    "Page",
    "check_after_key",
    "check_after_seq",
    "check_order_states",
    "page_of",
]

T = TypeVar("T")
K = TypeVar("K", int, str)


@attrs.frozen
class Page(Generic[T]):
    """One page of a listing: its rows, how many match in all, and the key to go on from.

    ``next_after`` is what to pass as ``after`` for the next page (the last row's key), or
    ``None`` when this page ends the listing. ``total`` counts every matching row, on this
    page or not (``None`` when the caller did not ask for it).
    """

    items: tuple[T, ...]
    total: int | None
    next_after: int | str | None

    def __len__(self) -> int:
        return len(self.items)


@attrs.frozen
class OrderSummary:
    """An order as a listing shows it: its columns, without items, charges or history."""

    id: str
    state: OrderState
    fraud_state: str | None
    checkout_id: str | None
    version: int


@attrs.frozen
class DeliveryFilter:
    """Which deliveries a listing shows: each filter given must hold (``None``: any)."""

    statuses: tuple[DeliveryStatus, ...] | None = None
    order_id: str | None = None
    event_type: str | None = None
    since: datetime | None = None

    @classmethod
    def checked(
        cls,
        statuses: Iterable[str] | None,
        order_id: str | None,
        event_type: str | None,
        since: datetime | None,
    ) -> DeliveryFilter:
        """The filter, each part checked (``InvalidInput`` for what no delivery can have)."""
        return cls(
            check_statuses(statuses),
            _optional_key(order_id, "order_id"),
            _optional_key(event_type, "event_type"),
            None if since is None else check_moment(since, "since"),
        )

    def __call__(self, row: StoredDelivery) -> bool:
        """Whether ``row`` passes the filter."""
        return (
            (self.statuses is None or row.status in self.statuses)
            and (self.order_id is None or row.order_id == self.order_id)
            and (self.event_type is None or row.event_type == self.event_type)
            and (self.since is None or row.received_at >= self.since)
        )


@attrs.frozen
class ActionFilter:
    """Which actions a listing shows: each filter given must hold (``None``: any)."""

    states: tuple[ActionState, ...] | None = None
    kinds: tuple[ActionKind | str, ...] | None = None
    order_id: str | None = None
    since: datetime | None = None

    @classmethod
    def checked(
        cls,
        states: Iterable[str] | None,
        kinds: Iterable[str] | None,
        order_id: str | None,
        since: datetime | None,
        declared: frozenset[str] = frozenset(),
    ) -> ActionFilter:
        """The filter, each part checked (``InvalidInput`` for what no action can have).

        ``declared``: the shop's own action kinds (its policy's subscriptions and listeners).
        """
        return cls(
            check_states(states),
            check_kinds(kinds, declared),
            _optional_key(order_id, "order_id"),
            None if since is None else check_moment(since, "since"),
        )

    def __call__(self, action: StoredAction) -> bool:
        """Whether ``action`` passes the filter."""
        return (
            (self.states is None or action.state in self.states)
            and (self.kinds is None or action.kind in self.kinds)
            and (self.order_id is None or action.order_id == self.order_id)
            and (self.since is None or action.created_at >= self.since)
        )


@attrs.frozen
class OrderFilter:
    """Which orders a listing shows: those in ``states`` (``None``: any state)."""

    states: tuple[OrderState, ...] | None = None

    @classmethod
    def checked(cls, states: Iterable[str] | None) -> OrderFilter:
        """The filter, checked (``InvalidInput`` for a state the order table has not)."""
        return cls(check_order_states(states))


def check_order_states(states: object) -> tuple[OrderState, ...] | None:
    """``states`` as order states (``None``: every state).

    Raises:
        InvalidInput: not a list of the order table's states.

    """
    if states is None:
        return None
    if isinstance(states, (str, bytes)) or not isinstance(states, Iterable):
        raise WrongType("states", "a list of order states", states)
    found = []
    for state in states:
        if not isinstance(state, str) or state not in set(OrderState):
            known = ", ".join(s.value for s in OrderState)
            raise InvalidInput(f"Unknown order state {state!r}: expected one of {known}.")
        found.append(OrderState(state))
    return tuple(dict.fromkeys(found))


def check_after_seq(after: object) -> int | None:
    """``after`` as a delivery number to go on from (``None``: from the first)."""
    return None if after is None else check_seq(after)


def check_after_key(after: object, what: str = "after") -> str | None:
    """``after`` as a key to go on from (``None``: from the first)."""
    return None if after is None else check_key(after, what)


def page_of(
    rows: Sequence[T], start: int, limit: int, key: Callable[[T], K], *, total: bool
) -> Page[T]:
    """The page of ``rows`` (every matching row, in listing order) from index ``start`` on.

    How the memory store pages: ``start`` is the index of the first row after the key the
    caller gave.
    """
    shown = tuple(rows[start : start + limit])
    more = start + limit < len(rows)
    return Page(shown, len(rows) if total else None, key(shown[-1]) if more and shown else None)


def _optional_key(value: object, what: str) -> str | None:
    return None if value is None else check_key(value, what)

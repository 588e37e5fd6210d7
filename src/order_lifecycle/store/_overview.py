"""What an operator (and a health check) reads first: the counts, the oldest waiting, a ping.

:meth:`Store.overview <order_lifecycle.store.Store.overview>` counts orders by state,
deliveries by status and actions by state, with the oldest of each status and state, in a
few aggregate queries over indexes (migration 6): its cost grows with the number of
states, not of rows scanned from the tables. :meth:`Store.ping
<order_lifecycle.store.Store.ping>` asks the database for its schema version within a
bound, and says how long the answer took.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from order_lifecycle.actions import ActionState
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import OrderState
from order_lifecycle.webhooks import OPEN_STATUSES, DeliveryStatus

from ._schema import SCHEMA_VERSION

__all__ = [
    "BACKLOG_STATES",
    "MAX_PING_SECONDS",
    "Overview",
    "Ping",
    "Tally",
    "check_timeout",
]

BACKLOG_STATES = frozenset(
    {ActionState.PENDING, ActionState.CLAIMED, ActionState.FAILED, ActionState.DEAD}
)
"""The action states an open-only overview counts: not yet done, nor cancelled."""

MAX_PING_SECONDS = 60.0
"""The longest a ping may be told to wait."""


@attrs.frozen
class Tally:
    """How many are in one status (or state), and when the oldest of them came.

    A delivery came when it was received; an action when the change that asked for it
    was committed.
    """

    count: int
    oldest: datetime | None = None

    def age(self, now: datetime) -> timedelta | None:
        """How long the oldest has been there at ``now`` (``None``: there is none)."""
        return None if self.oldest is None else max(now - self.oldest, timedelta(0))


@attrs.frozen
class Overview:
    """The store at a glance: orders by state, deliveries by status, actions by state.

    Statuses and states with none are left out. An open-only overview
    (``store.overview(open_only=True)``, what a health check reads) counts only the
    deliveries a reconciler may still change (pending, waiting, unknown order) and the
    actions not finished (pending, claimed, failed, dead), and no orders.
    """

    orders: Mapping[OrderState, int]
    deliveries: Mapping[DeliveryStatus, Tally]
    actions: Mapping[ActionState, Tally]

    def delivery_count(self, *statuses: str) -> int:
        """How many deliveries are in any of ``statuses`` (``DeliveryStatus`` values)."""
        return sum(t.count for s, t in self.deliveries.items() if s in statuses)

    def action_count(self, *states: str) -> int:
        """How many actions are in any of ``states`` (``ActionState`` values)."""
        return sum(t.count for s, t in self.actions.items() if s in states)


@attrs.frozen
class Ping:
    """The database answered: the schema version its tables are at, and how long it took.

    ``schema_version`` is ``None`` when the database holds no tables (they were dropped,
    or never made); :attr:`current` says whether this code can use them as they are.
    """

    schema_version: int | None
    seconds: float

    @property
    def current(self) -> bool:
        """Whether the tables are at the schema version this code reads and writes."""
        return self.schema_version == SCHEMA_VERSION


def check_timeout(timeout: object) -> float:
    """``timeout`` if it is a number of seconds above 0, up to :data:`MAX_PING_SECONDS`."""
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 < timeout <= MAX_PING_SECONDS
    ):
        raise InvalidInput(
            f"timeout must be a number of seconds above 0, up to {MAX_PING_SECONDS:g}, "
            f"got {timeout!r}."
        )
    return float(timeout)


OPEN_DELIVERIES = tuple(s for s in DeliveryStatus if s in OPEN_STATUSES)
"""The statuses an open-only overview counts, in the vocabulary's order."""

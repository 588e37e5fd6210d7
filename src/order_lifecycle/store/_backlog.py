"""A store's backlog: the open deliveries and actions, counted, with the oldest of each.

What an operator alerts on (a growing backlog, dead actions) and a readiness check reads:
read cheaply, the way the claims read (the inbox's pending rows: on SQLite from their
mark; its waiting ones by status; the outbox's ``(state, created_at)``), never a scan of
settled deliveries or finished actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from order_lifecycle.actions import ActionState
from order_lifecycle.webhooks import DeliveryStatus

from ._codec import stored_time
from ._outbox import unstamp

__all__ = ["BACKLOG_ACTIONS", "BACKLOG_DELIVERIES", "Backlog", "SQLBacklog", "Waiting"]

BACKLOG_DELIVERIES = (DeliveryStatus.PENDING, DeliveryStatus.WAITING)
"""The delivery statuses a backlog counts: stored, not yet applied."""
BACKLOG_ACTIONS = (ActionState.PENDING, ActionState.CLAIMED, ActionState.FAILED, ActionState.DEAD)
"""The action states a backlog counts: not done, not cancelled."""


@attrs.frozen
class Waiting:
    """How many deliveries or actions are in one status, and since when the oldest waits.

    ``oldest`` is when the oldest was received (a delivery, the first stored of them) or
    created (an action); ``None`` when there are none.
    """

    count: int = 0
    oldest: datetime | None = None


def _deliveries(values: Mapping[DeliveryStatus, Waiting]) -> Mapping[DeliveryStatus, Waiting]:
    return {status: values.get(status, Waiting()) for status in BACKLOG_DELIVERIES}


def _actions(values: Mapping[ActionState, Waiting]) -> Mapping[ActionState, Waiting]:
    return {state: values.get(state, Waiting()) for state in BACKLOG_ACTIONS}


@attrs.frozen
class Backlog:
    """A store's open work: deliveries by status, actions by state, each a :class:`Waiting`.

    ``deliveries`` has an entry for each of ``pending`` and ``waiting``; ``actions`` for
    each of ``pending``, ``claimed``, ``failed`` and ``dead`` (a count of 0 when none).
    """

    deliveries: Mapping[DeliveryStatus, Waiting] = attrs.field(factory=dict, converter=_deliveries)
    actions: Mapping[ActionState, Waiting] = attrs.field(factory=dict, converter=_actions)


_ACTIONS = (
    "SELECT state, COUNT(*), MIN(created_at) FROM ol_actions "  # noqa: S608 (placeholders only)
    f"WHERE state IN ({', '.join('?' * len(BACKLOG_ACTIONS))}) GROUP BY state"
)


class SQLBacklog:
    """The backlog's queries, for a store over SQL (its ``_transaction`` and ``_query``)."""

    _transaction: Any
    _query: Any
    _tallies: Any  # SQLInbox's: each status's count and least seq

    def _backlog(self) -> Backlog:
        deliveries: dict[DeliveryStatus, Waiting] = {}
        with self._transaction(write=False):
            # Pending rows from SQLite's mark, waiting ones from the index of settled rows.
            for status, count, first in self._tallies([str(s) for s in BACKLOG_DELIVERIES]):
                ((received,),) = self._query(
                    "SELECT received_at FROM ol_inbox WHERE seq = ?", [first]
                )
                deliveries[DeliveryStatus(status)] = Waiting(
                    int(count), stored_time(received, "received_at")
                )
            rows = self._query(_ACTIONS, [str(state) for state in BACKLOG_ACTIONS])
        actions = {ActionState(state): Waiting(int(n), unstamp(at)) for state, n, at in rows}
        return Backlog(deliveries, actions)

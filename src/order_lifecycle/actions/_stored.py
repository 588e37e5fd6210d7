"""The outbox's values: an action as a store holds it, and where it stands.

The stores (``order_lifecycle.store``) keep these; the :class:`ActionWorker` hands them to
the shop's handlers. The rules that move an action between states are the stores'.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import attrs

from order_lifecycle.lifecycle._tables import ActionKind

from ._derive import Action

__all__ = ["ActionState", "StoredAction", "backoff"]


def backoff(tries: int) -> timedelta:
    """How long a failed action waits before it is due again: 2, 4, 8 s ... up to an hour."""
    return timedelta(seconds=min(3600, 2 ** max(1, min(tries, 12))))


class ActionState(StrEnum):
    """Where an action of the outbox stands."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"


@attrs.frozen
class StoredAction:
    """An action as the outbox holds it: what to do, and where it stands.

    ``tries`` counts its claims; ``lease_until`` is when a claim lapses, ``retry_at``
    when a failed action is due again; ``last_error`` the last failure's message,
    ``result`` what the handler that completed it returned (JSON text), ``finished_at``
    when it was done or cancelled.
    """

    key: str
    order_id: str
    kind: ActionKind
    subject: str
    payload: dict[str, Any] = attrs.field(hash=False)
    state: ActionState
    tries: int
    created_at: datetime
    lease_until: datetime | None = None
    retry_at: datetime | None = None
    last_error: str | None = None
    result: str | None = None
    finished_at: datetime | None = None

    @classmethod
    def new(cls, action: Action, at: datetime) -> StoredAction:
        """A pending action, as a change creates it."""
        return cls(
            action.key, action.order_id, action.kind, action.subject, action.payload,
            ActionState.PENDING, 0, at,
        )  # fmt: skip

    def due(self, at: datetime) -> bool:
        """Whether a claim at ``at`` may take it."""
        return (
            self.state is ActionState.PENDING
            or (
                self.state is ActionState.FAILED
                and self.retry_at is not None
                and self.retry_at <= at
            )
            or self.lease_lapsed(at)
        )

    def lease_lapsed(self, at: datetime) -> bool:
        """Whether it is claimed under a lease that ended by ``at``."""
        return (
            self.state is ActionState.CLAIMED
            and self.lease_until is not None
            and self.lease_until <= at
        )

    def cancellable(self, at: datetime) -> bool:
        """Whether its reason going away cancels it (nobody holds it, it is not over)."""
        return self.state in {ActionState.PENDING, ActionState.FAILED} or self.lease_lapsed(at)

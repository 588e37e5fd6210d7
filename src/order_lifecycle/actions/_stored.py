"""The outbox's values: an action as a store holds it, where it stands, how a claim of it ended.

The stores (``order_lifecycle.store``) keep these; the :class:`ActionWorker` hands them to
the shop's handlers and reports each claim's end (:class:`Completed`, :class:`Failed`,
:class:`Released`). The rules that move an action between states are the stores'.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs

from order_lifecycle.lifecycle import OUTBOX_SPEC, ActionKind, ActionState, OrderState, OutboxEvent
from order_lifecycle.models import Order

from ._derive import Action
from ._requests import Request, request_of

__all__ = [
    "OPEN_STATES",
    "ActionState",
    "Completed",
    "Failed",
    "Outcome",
    "Released",
    "StoredAction",
    "backoff",
]

OPEN_STATES = frozenset(OUTBOX_SPEC.sources(OutboxEvent.CANCEL))
"""The states in which an action's reason may still go away (the outbox table's ``cancel``
rows): a change may cancel it, or rewrite what it covers. The others are finished."""


def backoff(tries: int) -> timedelta:
    """How long a failed action waits before it is due again: 2, 4, 8 s ... up to an hour."""
    return timedelta(seconds=min(3600, 2 ** max(1, min(tries, 12))))


@attrs.frozen
class StoredAction:
    """An action as the outbox holds it: what to do, and where it stands.

    ``tries`` counts its claims; ``lease_until`` is when a claim lapses, ``retry_at``
    when a failed action is due again; ``last_error`` the last failure's message,
    ``result`` what the handler that completed it returned (JSON text), or, for a
    cancelled action, why its reason went away (``{"cancelled": "..."}``, see
    :attr:`cancel_reason`); ``finished_at`` when it was done or cancelled. ``held_by`` is
    the state of its order that holds it (the provider refuses the act there, a
    ``dispute``): no claim takes it until the order leaves that state.

    ``kind`` is a kind of the order table, or one of the shop's (a subscription's, a
    listener's: a plain ``str``). :attr:`request` reads the payload as the typed value of
    its kind. :attr:`order` is the order the action acts on, as a worker running it reads
    it (``None`` elsewhere: the worker gives each claimed action its batch's reader,
    ``orders``).
    """

    key: str
    order_id: str
    kind: ActionKind | str
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
    held_by: OrderState | None = None
    _orders: Callable[[str], Order | None] | None = attrs.field(
        default=None, eq=False, repr=False, kw_only=True
    )

    @property
    def order(self) -> Order | None:
        """The order the action acts on, read when a handler first asks, once per batch.

        The worker running the action reads the orders of its whole batch at the first
        ask (one read), each an independent copy; ``None`` outside a worker's run.

        Raises:
            StoreError: the store failed to read them (the handler's action fails, and is
                retried).

        """
        return None if self._orders is None else self._orders(self.order_id)

    @property
    def request(self) -> Request:
        """The payload read as its kind's typed request (``ShipRequest``, ``EventReceived``...).

        Raises:
            InvalidInput: the payload is not its kind's (a field missing or of a wrong type).

        """
        return request_of(self.kind, self.order_id, self.subject, self.payload)

    @classmethod
    def new(cls, action: Action, at: datetime) -> StoredAction:
        """A pending action, as a change creates it."""
        return cls(
            action.key, action.order_id, action.kind, action.subject, action.payload,
            ActionState.PENDING, 0, at,
        )  # fmt: skip

    @property
    def cancel_reason(self) -> str | None:
        """Why a cancelled action's reason went away, as its cancellation recorded it."""
        if self.state is not ActionState.CANCELLED or self.result is None:
            return None
        try:
            why = json.loads(self.result).get("cancelled")
        except (ValueError, AttributeError):
            return None
        return why if isinstance(why, str) else None

    @property
    def finished(self) -> bool:
        """Whether it is over: done, or cancelled (then no claim runs it again)."""
        return self.state not in OPEN_STATES

    def claimed_by(self, claim: int | None) -> bool:
        """Whether the claim that counted ``claim`` tries (any claim, for ``None``) holds it.

        ``tries`` counts claims, so it names each claim: a claim that lapsed and was
        taken again has a smaller count than the action's, and its heartbeat, completion
        or failure must not touch the newer claim's state. An action cancelled while
        claimed is still its claim's to complete (the handler ran: it is done) or end.
        """
        if claim is not None and self.tries != claim:
            return False
        return self.state is ActionState.CLAIMED or self.cancelled_under_claim

    @property
    def cancelled_under_claim(self) -> bool:
        """Whether it was cancelled while a claim held it, and that claim has not ended."""
        return self.state is ActionState.CANCELLED and self.lease_until is not None


@attrs.frozen
class Completed:
    """A claim's handler succeeded: the action is ``done``, its ``result`` (JSON) kept."""

    key: str
    claim: int | None
    result: object = None


@attrs.frozen
class Failed:
    """A claim's handler failed: the action is ``failed`` until ``retry_at`` (or ``dead``)."""

    key: str
    claim: int | None
    error: object
    retry_at: datetime | None = None


@attrs.frozen
class Released:
    """A claim given back unrun (its worker stopped first): pending again, as if never claimed."""

    key: str
    claim: int


Outcome = Completed | Failed | Released
"""How one claim of an action ended, as a worker reports it (``finish_actions``)."""

"""The outbox: actions written with the state change that created them, handed out on lease.

Every store keeps the actions :func:`~order_lifecycle.actions.derive_actions` finds in a
change in the same transaction as the change (a webhook batch, an order created, a 201,
an update), keyed by :func:`~order_lifecycle.actions.action_key`: an action already there
is not written again, and the pending actions a change cancels are marked ``cancelled``
with it. A worker then claims due actions with a lease, and completes or fails each:

- ``pending`` → ``claimed`` (a claim; ``tries`` counts claims) → ``done`` (completed);
- ``claimed`` → ``failed`` (an error kept, due again at ``retry_at``, with backoff), or
  ``dead`` once ``tries`` reaches :data:`MAX_TRIES` (an operator's :meth:`retry_action`
  makes it pending again);
- a lease that expires makes the action claimable again: at least once, never lost;
  one that expires after ``max_tries`` claims makes it ``dead`` (its worker died each time);
- ``pending`` / ``failed`` / an expired ``claimed`` → ``cancelled`` when its reason went away;
- ``done`` and ``cancelled`` actions record ``finished_at``; pruning deletes those that
  finished before a moment (never the others: a dead one waits for an operator).

This module holds the values, the checks every store runs before touching its data, and
the rules each state change follows, which the memory store runs as they are and the
database stores as conditional statements.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import attrs

from order_lifecycle.actions import ActionState, Derived, StoredAction
from order_lifecycle.actions._stored import backoff
from order_lifecycle.exceptions import InvalidInput, UnknownAction, WrongType
from order_lifecycle.lifecycle._tables import ActionKind

# Ids a database cannot store (the same rule as ``_base.storable_text``, which imports this).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

__all__ = [
    "MAX_TRIES",
    "ActionState",
    "MemoryOutbox",
    "StoredAction",
    "abandoned",
    "backoff",
    "check_claim",
    "check_error",
    "check_key",
    "check_kinds",
    "check_lease",
    "check_limit",
    "check_moment",
    "check_result",
    "check_retry_at",
    "check_states",
    "encode_json",
    "stamp",
]

MAX_TRIES = 8
"""Claims of one action before a failure makes it ``dead`` (a store's ``max_tries``)."""

_FINISHED = frozenset({ActionState.DONE, ActionState.CANCELLED})
_MAX_LEASE = timedelta(days=1)
_MAX_LIMIT = 10_000
_MAX_ERROR = 4_000


def stamp(moment: datetime) -> str:
    """A moment as fixed-width UTC text, so that the databases compare moments as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unstamp(text: str) -> datetime:
    """The moment :func:`stamp` wrote."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def check_kinds(kinds: object) -> tuple[ActionKind, ...] | None:
    """``kinds`` as action kinds (``None``: every kind).

    Raises:
        InvalidInput: not a list of the order table's action kinds.

    """
    if kinds is None:
        return None
    if isinstance(kinds, (str, bytes)) or not isinstance(kinds, Iterable):
        raise WrongType("kinds", "a list of action kinds", kinds)
    return tuple(dict.fromkeys(_kind(kind) for kind in kinds))


def _kind(kind: object) -> ActionKind:
    if not isinstance(kind, str):
        raise WrongType("kinds[]", "an action kind", kind)
    try:
        return ActionKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in ActionKind)
        raise InvalidInput(f"Unknown action kind {kind!r}: expected one of {known}.") from None


def check_states(states: object) -> tuple[ActionState, ...] | None:
    """``states`` as outbox states (``None``: every state)."""
    if states is None:
        return None
    if isinstance(states, (str, bytes)) or not isinstance(states, Iterable):
        raise WrongType("states", "a list of action states", states)
    found = []
    for state in states:
        if not isinstance(state, str) or state not in set(ActionState):
            known = ", ".join(s.value for s in ActionState)
            raise InvalidInput(f"Unknown action state {state!r}: expected one of {known}.")
        found.append(ActionState(state))
    return tuple(dict.fromkeys(found))


def check_limit(limit: object, what: str = "limit") -> int:
    """``limit`` if it is an int from 1 to 10,000."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= _MAX_LIMIT:
        raise WrongType(what, f"an int from 1 to {_MAX_LIMIT:,}", limit)
    return limit


def check_lease(lease: object) -> timedelta:
    """``lease`` if it is a duration above zero, up to a day."""
    if not isinstance(lease, timedelta) or not timedelta(0) < lease <= _MAX_LEASE:
        raise WrongType("lease", "a timedelta above 0, up to a day", lease)
    return lease


def check_moment(moment: object, what: str) -> datetime:
    """``moment`` if it is an aware datetime."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise WrongType(what, "a timezone-aware datetime", moment)
    return moment


def check_retry_at(retry_at: object) -> datetime | None:
    """``retry_at`` if it is ``None`` or an aware datetime."""
    if retry_at is not None and (not isinstance(retry_at, datetime) or retry_at.tzinfo is None):
        raise WrongType("retry_at", "a timezone-aware datetime or None", retry_at)
    return retry_at


def abandoned(tries: int) -> str:
    """The error kept on an action whose every claim lapsed (its worker died each time)."""
    return (
        f"claimed {tries} times without finishing (each claim's lease lapsed: its worker "
        "was killed or stalled); dead, not claimed again"
    )


def check_claim(claim: object) -> int | None:
    """``claim`` (the ``tries`` of the action a claim returned) if it is ``None`` or an int."""
    if claim is not None and (isinstance(claim, bool) or not isinstance(claim, int) or claim < 0):
        raise WrongType("claim", "the tries of the claimed action (an int from 0) or None", claim)
    return claim


def held(found: StoredAction, claim: int | None) -> bool:
    """Whether ``found`` is still claimed, by the claim that counted ``claim`` tries if given.

    ``tries`` counts claims, so it names each claim: a claim that lapsed and was taken
    again has a smaller count than the action's, and its heartbeat, completion or
    failure must not touch the newer claim's state.
    """
    return found.state is ActionState.CLAIMED and (claim is None or found.tries == claim)


def check_error(error: object) -> str:
    """``error`` as storable text, cut to 4,000 characters (an exception: its repr)."""
    if isinstance(error, BaseException):
        error = f"{type(error).__name__}: {error}"
    if not isinstance(error, str):
        raise WrongType("error", "a str or an exception", error)
    # An operator reads it; a NUL or lone surrogate is shown escaped rather than refused.
    text = error[:_MAX_ERROR] or "(no message)"
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def check_result(result: object) -> str | None:
    """A handler's result as JSON text (``None`` stays ``None``).

    Raises:
        InvalidInput: not JSON (a NaN, an int too long to print, a set ...).

    """
    if result is None:
        return None
    return encode_json(result, "result")


def encode_json(value: object, what: str) -> str:
    """``value`` as JSON text any database stores (non-ASCII escaped)."""
    try:
        return json.dumps(value, ensure_ascii=True, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as error:
        raise InvalidInput(f"{what} must be plain JSON: {error}") from None


def check_key(key: object, what: str = "key") -> str:
    """``key`` if it is a non-empty str a database can store."""
    if not isinstance(key, str) or not key:
        raise WrongType(what, "a non-empty str", key)
    if _UNSTORABLE.search(key):
        raise InvalidInput(f"{what} must hold no NUL or lone surrogate, got {key!r}.")
    return key


class MemoryOutbox:
    """The outbox's rules on plain data: the memory store runs them under its lock.

    Every method expects its arguments checked and the caller to hold the store's lock.
    """

    def __init__(self) -> None:
        self.actions: dict[str, StoredAction] = {}

    def write(self, derived: Derived, at: datetime) -> None:
        """Add the actions a change created (unless known) and cancel those it cancelled."""
        if not derived:
            return
        for action in derived.created:
            self.actions.setdefault(action.key, StoredAction.new(action, at))
        for key in derived.cancelled:
            found = self.actions.get(key)
            if found is not None and found.cancellable(at):
                self.actions[key] = attrs.evolve(
                    found, state=ActionState.CANCELLED, lease_until=None, finished_at=at
                )

    def claim(
        self,
        kinds: tuple[ActionKind, ...] | None,
        limit: int,
        lease: timedelta,
        max_tries: int,
        at: datetime,
    ) -> list[StoredAction]:
        """Lease up to ``limit`` due actions, oldest first; lapsed ones tried out are dead."""
        due = [a for a in self.actions.values() if a.due(at) and (kinds is None or a.kind in kinds)]
        for action in [a for a in due if a.lease_lapsed(at) and a.tries >= max_tries]:
            self.actions[action.key] = attrs.evolve(
                action,
                state=ActionState.DEAD,
                lease_until=None,
                retry_at=None,
                last_error=abandoned(action.tries),
            )
            due.remove(action)
        due.sort(key=lambda a: (a.created_at, a.key))
        claimed = []
        for action in due[:limit]:
            taken = attrs.evolve(
                action, state=ActionState.CLAIMED, tries=action.tries + 1, lease_until=at + lease
            )
            self.actions[action.key] = taken
            claimed.append(taken)
        return claimed

    def get(self, key: str) -> StoredAction:
        """The action with this key."""
        found = self.actions.get(key)
        if found is None:
            raise UnknownAction(key)
        return found

    def extend(self, key: str, lease: timedelta, claim: int, at: datetime) -> StoredAction:
        """A heartbeat: the claim's lease runs until ``at + lease``, if it is still held."""
        found = self.get(key)
        if held(found, claim):
            found = attrs.evolve(found, lease_until=at + lease)
            self.actions[key] = found
        return found

    def complete(
        self, key: str, result: str | None, claim: int | None, at: datetime
    ) -> StoredAction:
        """Mark a claimed action done; any other stays as it is (a lapsed lease, retaken)."""
        found = self.get(key)
        if held(found, claim):
            found = attrs.evolve(
                found, state=ActionState.DONE, lease_until=None, result=result, finished_at=at
            )
            self.actions[key] = found
        return found

    def prune(self, done_before: datetime) -> int:
        """Delete the done and cancelled actions finished before ``done_before``; how many."""
        gone = [
            a.key
            for a in self.actions.values()
            if a.state in _FINISHED and a.finished_at is not None and a.finished_at < done_before
        ]
        for key in gone:
            del self.actions[key]
        return len(gone)

    def fail(  # noqa: PLR0913, PLR0917 (the checked arguments, then the moment)
        self,
        key: str,
        error: str,
        retry_at: datetime | None,
        max_tries: int,
        claim: int | None,
        at: datetime,
    ) -> StoredAction:
        """Record a failure of a claimed action: due again later, or dead after max_tries."""
        found = self.get(key)
        if not held(found, claim):
            return found
        dead = found.tries >= max_tries
        found = attrs.evolve(
            found,
            state=ActionState.DEAD if dead else ActionState.FAILED,
            lease_until=None,
            retry_at=None if dead else (retry_at or at + backoff(found.tries)),
            last_error=error,
        )
        self.actions[key] = found
        return found

    def retry(self, key: str) -> StoredAction:
        """An operator's retry: a dead or failed action pending again, its tries reset."""
        found = self.get(key)
        if found.state in {ActionState.DEAD, ActionState.FAILED}:
            found = attrs.evolve(
                found, state=ActionState.PENDING, tries=0, retry_at=None, lease_until=None
            )
            self.actions[key] = found
        return found

    def listed(
        self,
        states: tuple[ActionState, ...] | None,
        kinds: tuple[ActionKind, ...] | None,
        order_id: str | None,
        limit: int,
    ) -> list[StoredAction]:
        """The actions matching every filter given, oldest first."""
        found = [
            a
            for a in self.actions.values()
            if (states is None or a.state in states)
            and (kinds is None or a.kind in kinds)
            and (order_id is None or a.order_id == order_id)
        ]
        found.sort(key=lambda a: (a.created_at, a.key))
        return found[:limit]

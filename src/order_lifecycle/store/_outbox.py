"""The outbox: actions written with the state change that created them, handed out on lease.

Every store keeps the actions :func:`~order_lifecycle.actions.derive_actions` finds in a
change in the same transaction as the change (a webhook batch, an order created, a 201,
an update), keyed by :func:`~order_lifecycle.actions.action_key`: an action already there
is not written again, the payload fields a change rewrites (an item's open quantity) are
rewritten in an action not finished, and the actions a change cancels are marked
``cancelled`` with it, whatever open state they are in. A worker then claims due actions
with a lease, and completes, fails or releases each.

How an action moves is the outbox's table, :data:`~order_lifecycle.lifecycle.OUTBOX_SPEC`
(drawn in ``diagrams/outbox.*``): ``pending`` → ``claimed`` (a claim; ``tries`` counts
claims) → ``done``, ``failed`` (due again at ``retry_at``, with backoff) or ``dead`` once
``tries`` reaches :data:`MAX_TRIES`; a released claim is ``pending`` again; a lease that
lapses makes the action claimable again (at least once, never lost), or ``dead`` after
``max_tries`` claims; a cancelled action is still its live claim's to complete or end, and
never retried (:class:`~order_lifecycle.exceptions.ActionNotRetryable`); an operator's
``retry_action`` makes a failed or dead one ``pending``. This module binds the table's
guards to predicates (:data:`OUTBOX_GUARDS`) and gives each change's effect on an action's
columns (:func:`claimed`, :func:`ended`, :func:`cancelled`, ...), which the memory store
applies as they are and the database stores as conditional statements whose states are
the table's (``_outbox_sql``).

The provider settles a ``confirm_refund`` itself (:func:`refund_moves`): a
``refund.complete`` confirms it (``done``), a ``refund.failed`` rejects it (``dead``, its
error the provider's reason), each matched in the transaction that records the delivery:
the oldest ``confirm_refund`` of the order that no report settled yet, on the refund's
charge, for the amount the refund took from it. A report that finds none (the refund
reached the store before the order showed it) is kept as a ``confirm_refund`` of its own,
keyed by the refund, already settled; the order's ``confirm_refund`` made later for that
charge and amount is settled by it when it is written (the two are then paired).

Besides the table: a pending or failed action whose order is in a state holding its kind
(the order table's ``held_in``: a dispute holds ``ship``) is not claimed until the order
leaves it; ``done`` and ``cancelled`` actions record ``finished_at``, and pruning deletes
those that finished before a moment (never the others: a dead one waits for an operator).

Leases are judged by one clock, the store's: the database's on SQLite and PostgreSQL
(``_outbox_sql``), the memory store's own in memory, never a worker's. This module also
holds the checks every store runs before touching its data.
"""

from __future__ import annotations

import json
import json.encoder
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from order_lifecycle._text import safe_text
from order_lifecycle.actions import (
    OPEN_STATES,
    Action,
    ActionState,
    Completed,
    Derived,
    Failed,
    Outcome,
    RefundSettlement,
    Released,
    StoredAction,
    action_key,
    backoff,
)
from order_lifecycle.exceptions import (
    ActionNotRetryable,
    InvalidDefinition,
    InvalidInput,
    UnknownAction,
    WrongType,
)
from order_lifecycle.lifecycle import (
    ORDER_SPEC,
    OUTBOX_SPEC,
    ActionKind,
    OrderState,
    OutboxEvent,
    OutboxGuard,
    TransitionSpec,
)

# Ids a database cannot store (the same rule as ``_base.storable_text``, which imports this).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

__all__ = [
    "CLAIMABLE",
    "FINISHED",
    "HOLDS",
    "MAX_TRIES",
    "NOW",
    "OPEN_STATES",
    "OUTBOX_GUARDS",
    "RETRYABLE",
    "ActionState",
    "Later",
    "MemoryOutbox",
    "StoredAction",
    "abandoned",
    "backoff",
    "cancelled",
    "cancelled_result",
    "check_claim",
    "check_claims",
    "check_error",
    "check_key",
    "check_kinds",
    "check_lease",
    "check_limit",
    "check_moment",
    "check_outcomes",
    "check_result",
    "check_retry_at",
    "check_states",
    "claimed",
    "encode_json",
    "ended",
    "held_by",
    "not_retried",
    "refund_moves",
    "refund_orders",
    "retried",
    "row_for",
    "unstamp",
    "utc_now",
]

MAX_TRIES = 8
"""Claims of one action before a failure makes it ``dead`` (a store's ``max_tries``)."""

HOLDS: Mapping[ActionKind, frozenset[OrderState]] = {
    ActionKind(kind): states for kind, states in ORDER_SPEC.holds().items()
}
"""For each kind the order table holds somewhere, the order states holding it (``held_in``)."""

FINISHED = frozenset(ActionState) - OPEN_STATES
"""The states an action is over in (no change cancels or rewrites it): what pruning deletes."""
RETRYABLE = frozenset(OUTBOX_SPEC.sources(OutboxEvent.RETRY))
"""The states an operator's retry revives (the table's ``retry`` rows)."""
CLAIMABLE = frozenset(OUTBOX_SPEC.sources(OutboxEvent.CLAIM))
"""The states a claim may take an action from, when its row's guard holds."""
WAITING = CLAIMABLE - {
    row.dest for row in OUTBOX_SPEC.transitions if row.event is OutboxEvent.CLAIM
}
"""The states an action waits for a claim in (pending, failed): a reader sees what holds it."""
_MAX_LEASE = timedelta(days=1)
_MAX_LIMIT = 10_000
_MAX_CLAIM = 2**63 - 1  # a database's largest integer: no claim counts more tries
_MAX_ERROR = 4_000


def utc_now() -> datetime:
    """The memory store's clock: the machine's, aware, read under the store's lock."""
    return datetime.now(UTC)


def unstamp(text: str) -> datetime:
    """The moment :func:`stamp` (or a database's clock) wrote."""
    return datetime.fromisoformat(text)


def holding(kind: ActionKind | str, order_state: object) -> OrderState | None:
    """The order state holding actions of ``kind``, if the order is in one: no claim takes them."""
    states = HOLDS.get(kind) if isinstance(kind, ActionKind) else None
    if states is None or order_state not in states:
        return None
    return OrderState(str(order_state))


def held_by(kind: ActionKind | str, state: ActionState, order_state: object) -> OrderState | None:
    """The order state holding an action waiting for a claim (pending, failed), if any."""
    return holding(kind, order_state) if state in WAITING else None


def _lapsed(action: StoredAction, at: datetime | None) -> bool:
    """Its claim's lease ended by ``at`` (never, without a clock: the end of a claim)."""
    return at is not None and action.lease_until is not None and action.lease_until <= at


_Guard = Callable[[StoredAction, datetime | None, int], bool]

OUTBOX_GUARDS: Mapping[str, _Guard] = {
    OutboxGuard.RETRY_DUE: lambda a, at, _: (
        at is not None and a.retry_at is not None and a.retry_at <= at
    ),
    OutboxGuard.LAPSED: lambda a, at, max_tries: _lapsed(a, at) and a.tries < max_tries,
    OutboxGuard.LAPSED_TRIED_OUT: lambda a, at, max_tries: _lapsed(a, at) and a.tries >= max_tries,
    OutboxGuard.TRIES_LEFT: lambda a, _, max_tries: a.tries < max_tries,
    OutboxGuard.TRIED_OUT: lambda a, _, max_tries: a.tries >= max_tries,
    # Cancelled while a live claim held it: the cancellation kept that claim's lease.
    OutboxGuard.UNDER_CLAIM: lambda a, _at, _max: a.lease_until is not None,
}
"""The outbox table's guards as predicates on an action, the store's clock's moment (``None``
at the end of a claim, where no guard asks it) and the store's ``max_tries``."""

if set(OUTBOX_GUARDS) != {g.name for g in OUTBOX_SPEC.guards}:  # pragma: no cover (at import)
    raise InvalidDefinition("OUTBOX_GUARDS must bind exactly the outbox table's guards.")


def row_for(
    action: StoredAction,
    event: OutboxEvent,
    at: datetime | None = None,
    max_tries: int = MAX_TRIES,
) -> TransitionSpec[ActionState, OutboxEvent] | None:
    """The row of the outbox table ``event`` takes ``action`` along now; ``None`` if none.

    The first row from the action's state whose guard holds, as the order machine's
    ``row_for`` does; the memory store applies it, the database stores state it in SQL.
    """
    for row in OUTBOX_SPEC.transitions_from(action.state, event):
        if row.guard is None or OUTBOX_GUARDS[row.guard](action, at, max_tries):
            return row
    return None


def claimed(
    action: StoredAction,
    row: TransitionSpec[ActionState, OutboxEvent],
    at: datetime,
    lease: timedelta,
) -> StoredAction:
    """``action`` as a claim at ``at`` leaves it along ``row`` (:func:`row_for` its claim).

    A claim leases it (``tries`` counted, its lease running to ``at + lease``), or buries
    one whose lapsed claims spent its tries (``dead``, :func:`abandoned` its error).
    """
    if row.dest is ActionState.DEAD:
        return attrs.evolve(
            action,
            state=row.dest,
            lease_until=None,
            retry_at=None,
            last_error=abandoned(action.tries),
        )
    return attrs.evolve(action, state=row.dest, tries=action.tries + 1, lease_until=at + lease)


def cancelled(action: StoredAction, result: str, at: datetime) -> StoredAction | None:
    """``action`` cancelled at ``at`` (``result`` saying why); ``None`` when it is finished.

    A live claim keeps its lease: the claim may still complete or end it.
    """
    row = row_for(action, OutboxEvent.CANCEL, at)
    if row is None:
        return None
    live = action.state is ActionState.CLAIMED and not _lapsed(action, at)
    return attrs.evolve(
        action,
        state=row.dest,
        lease_until=action.lease_until if live else None,
        retry_at=None,
        result=result,
        finished_at=at,
    )


def retried(action: StoredAction) -> StoredAction:
    """An operator's retry of ``action``: pending again, its tries reset.

    Raises:
        ActionNotRetryable: the table has no retry from its state (cancelled: its reason
            went away), saying why.

    """
    row = row_for(action, OutboxEvent.RETRY)
    if row is None:
        raise _not_retried(action)
    return attrs.evolve(
        action, state=row.dest, tries=0, retry_at=None, lease_until=None, held_by=None
    )


def check_kinds(
    kinds: object, declared: frozenset[str] = frozenset()
) -> tuple[ActionKind | str, ...] | None:
    """``kinds`` as action kinds (``None``: every kind): the table's, or ``declared`` ones.

    Raises:
        InvalidInput: not a list of the order table's action kinds or the shop's
            (``declared``: its policy's subscriptions and listeners).

    """
    if kinds is None:
        return None
    if isinstance(kinds, (str, bytes)) or not isinstance(kinds, Iterable):
        raise WrongType("kinds", "a list of action kinds", kinds)
    return tuple(dict.fromkeys(_kind(kind, declared) for kind in kinds))


def _kind(kind: object, declared: frozenset[str]) -> ActionKind | str:
    if not isinstance(kind, str):
        raise WrongType("kinds[]", "an action kind", kind)
    if kind in declared:
        return kind
    try:
        return ActionKind(kind)
    except ValueError:
        known = ", ".join([*(k.value for k in ActionKind), *sorted(declared)])
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
    """``moment`` if it is an aware datetime of a year from 1 to 9999 in UTC.

    Raises:
        InvalidInput: not an aware datetime, or one the year 10000 (or 0) in UTC.

    """
    if not isinstance(moment, datetime):
        raise WrongType(what, "a timezone-aware datetime", moment)
    try:
        offset = moment.utcoffset()
        if offset is not None:
            moment.astimezone(UTC)
    except (OverflowError, ValueError, TypeError):  # its offset takes it past year 1 or 9999
        raise InvalidInput(
            f"{what} must be a moment from year 1 to 9999 in UTC, got {moment!r}."
        ) from None
    if offset is None:  # outside the try: WrongType is a TypeError too
        raise WrongType(what, "a timezone-aware datetime", moment)
    return moment


def check_retry_at(retry_at: object) -> datetime | None:
    """``retry_at`` if it is ``None`` or an aware datetime (see :func:`check_moment`)."""
    return None if retry_at is None else check_moment(retry_at, "retry_at")


def abandoned(tries: int) -> str:
    """The error kept on an action whose every claim lapsed (its worker died each time)."""
    return (
        f"claimed {tries} times without finishing (each claim's lease lapsed: its worker "
        "was killed or stalled); dead, not claimed again"
    )


def check_claim(claim: object) -> int | None:
    """``claim`` (the ``tries`` of the action a claim returned) if it is ``None`` or an int."""
    if claim is not None and (
        isinstance(claim, bool) or not isinstance(claim, int) or not 0 <= claim <= _MAX_CLAIM
    ):
        raise WrongType(
            "claim", "the tries of the claimed action (an int from 0 to 2**63-1) or None", claim
        )
    return claim


def check_claims(claims: object) -> list[tuple[str, int]]:
    """``claims`` (a mapping of action keys to the tries their claims counted) as pairs.

    Raises:
        InvalidInput: not such a mapping, more than 10,000 of them, a bad key or claim.

    """
    if not isinstance(claims, Mapping):
        raise WrongType("claims", "a mapping of action keys to claims (their tries)", claims)
    if len(claims) > _MAX_LIMIT:
        raise InvalidInput(f"claims holds {len(claims):,} actions: at most {_MAX_LIMIT:,}.")
    pairs = []
    for key, claim in claims.items():
        checked = check_claim(claim)
        if checked is None:
            raise WrongType("claims[]", "the tries of the claimed action (an int from 0)", claim)
        pairs.append((check_key(key), checked))
    return pairs


def check_error(error: object) -> str:
    """``error`` as storable text, cut to 4,000 characters (an exception: its type and text)."""
    if not isinstance(error, (str, BaseException)):
        raise WrongType("error", "a str or an exception", error)
    # An operator reads it; a NUL or lone surrogate is shown escaped rather than refused.
    return safe_text(error, _MAX_ERROR) or "(no message)"


def check_result(result: object) -> str | None:
    """A handler's result as JSON text (``None`` stays ``None``).

    Raises:
        InvalidInput: not JSON (a NaN, an int too long to print, a set ...).

    """
    if result is None:
        return None
    return encode_json(result, "result")


def check_outcomes(outcomes: object) -> list[Outcome]:
    """``outcomes`` (how claims ended), each checked, results as JSON text, errors as text.

    Raises:
        InvalidInput: not a list of ``Completed``, ``Failed`` or ``Released``, more than
            10,000 of them, or one with a bad key, claim, result, error or retry moment.

    """
    if isinstance(outcomes, (str, bytes)) or not isinstance(outcomes, Sequence):
        raise WrongType("outcomes", "a list of Completed, Failed or Released", outcomes)
    if len(outcomes) > _MAX_LIMIT:
        raise InvalidInput(f"outcomes holds {len(outcomes):,}: at most {_MAX_LIMIT:,}.")
    checked: list[Outcome] = []
    for outcome in outcomes:
        if isinstance(outcome, Completed):
            checked.append(
                Completed(
                    check_key(outcome.key),
                    check_claim(outcome.claim),
                    check_result(outcome.result),
                )
            )
        elif isinstance(outcome, Failed):
            checked.append(
                Failed(
                    check_key(outcome.key),
                    check_claim(outcome.claim),
                    check_error(outcome.error),
                    check_retry_at(outcome.retry_at),
                )
            )
        elif isinstance(outcome, Released):
            claim = check_claim(outcome.claim)
            if claim is None:
                raise WrongType("Released.claim", "the tries of the claimed action", None)
            checked.append(Released(check_key(outcome.key), claim))
        else:
            raise WrongType("outcomes[]", "a Completed, Failed or Released", outcome)
    return checked


# What json.dumps(value, ensure_ascii=True, allow_nan=False, sort_keys=True) writes, its
# encoder made once (json.dumps builds one a call when given options: most of its cost).
_ENCODE_JSON = json.JSONEncoder(ensure_ascii=True, allow_nan=False, sort_keys=True).encode


def encode_json(value: object, what: str) -> str:
    """``value`` as JSON text any database stores (non-ASCII escaped)."""
    try:
        return _ENCODE_JSON(value)
    except (TypeError, ValueError, RecursionError) as error:
        raise InvalidInput(f"{what} must be plain JSON: {error}") from None


def check_key(key: object, what: str = "key") -> str:
    """``key`` if it is a non-empty str a database can store."""
    if not isinstance(key, str) or not key:
        raise WrongType(what, "a non-empty str", key)
    if _UNSTORABLE.search(key):
        raise InvalidInput(f"{what} must hold no NUL or lone surrogate, got {key!r}.")
    return key


@attrs.frozen
class _Now:
    """A column set to the store's clock's moment (see :func:`ended`)."""


NOW = _Now()


@attrs.frozen
class Later:
    """A column set to the store's clock's moment plus ``seconds``."""

    seconds: float


Changes = dict[str, Any]
"""Columns of an action and their new values: plain values, :data:`NOW` or :class:`Later`."""


_ENDS: Mapping[type[Outcome], OutboxEvent] = {
    Completed: OutboxEvent.COMPLETE,
    Failed: OutboxEvent.FAIL,
    Released: OutboxEvent.RELEASE,
}


def ended(found: StoredAction, outcome: Outcome, max_tries: int) -> Changes | None:
    """What a claim's end changes in ``found``; ``None`` when the claim no longer holds it.

    ``outcome`` is checked (:func:`check_outcomes`: results are JSON text, errors text).
    The outbox table's row gives the state; the claim's lease ends with it, and each end
    keeps what it says: a completion its result, a failure its error (and when it is due
    again), a release gives back the try its claim counted.
    """
    if not found.claimed_by(outcome.claim):
        return None
    row = row_for(found, _ENDS[type(outcome)], None, max_tries)
    if row is None:  # pragma: no cover (a claim holding it has a row for each end)
        return None
    changes: Changes = {"lease_until": None}
    if row.dest is not found.state:
        changes["state"] = row.dest
    if isinstance(outcome, Completed):
        changes |= {"result": outcome.result, "finished_at": NOW}
    elif isinstance(outcome, Failed):
        changes["last_error"] = outcome.error
        if row.dest is ActionState.FAILED:
            changes["retry_at"] = outcome.retry_at or Later(_backoff_s(found.tries))
        elif row.dest is ActionState.DEAD:
            changes["retry_at"] = None
    elif row.dest is ActionState.PENDING:  # released unrun: as if never claimed
        changes |= {"tries": found.tries - 1, "retry_at": None}
    return changes


def _backoff_s(tries: int) -> float:
    return backoff(tries).total_seconds()


_ASCII_TEXT = json.encoder.encode_basestring_ascii  # what json.dumps writes for a str


def cancelled_result(derived: Derived, key: str) -> str:
    """What a cancelled action keeps as its result: why its reason went away (JSON).

    :func:`encode_json`'s text, byte for byte, written directly for a reason in words
    (a batch writes one per cancelled key: ``json.dumps`` cost most of writing them).
    """
    reason = derived.why(key)
    if type(reason) is str:
        return '{"cancelled": ' + _ASCII_TEXT(reason) + "}"
    return encode_json({"cancelled": reason}, "reason")


def not_retried(found: StoredAction) -> ActionNotRetryable | None:
    """Why an operator's retry of ``found`` is refused (``None``: the table retries it)."""
    return None if found.state in RETRYABLE else _not_retried(found)


def _not_retried(found: StoredAction) -> ActionNotRetryable:
    """The refusal of a retry: the outbox table's sentence for the action's state."""
    reason = OUTBOX_SPEC.state(found.state).refusal
    if found.cancel_reason:
        reason += f" (why: {found.cancel_reason})"
    if found.held_by is not None:
        reason += f" once its order leaves {found.held_by}"
    return ActionNotRetryable(found.key, str(found.state), reason)


def _settled_by(action: StoredAction) -> bool:
    """Whether a provider's report settled the ``confirm_refund`` already."""
    return "settled_by" in action.payload


def _awaiting(action: StoredAction) -> bool:
    """Whether it is a report kept for the order's ``confirm_refund`` not written yet."""
    return action.payload.get("awaiting") is True


def _matches(action: StoredAction, charge_id: str | None, amount: Decimal) -> bool:
    """Whether a report of ``amount`` on the charge settles this ``confirm_refund``."""
    payload = action.payload
    if "refund_id" in payload or _settled_by(action):
        return False  # a report's own, or settled already
    if action.state is ActionState.CANCELLED:
        return False
    if charge_id is not None and payload.get("charge_id") != charge_id:
        return False
    try:
        return Decimal(str(payload.get("amount"))) == amount
    except ArithmeticError:
        return False


def _settled(
    action: StoredAction, report: RefundSettlement, extra: dict[str, Any] | None = None
) -> Changes:
    """What the provider's report changes in ``action``: its state by the table, and its marks.

    A ``confirm_refund`` its worker completed already stays ``done``, only marked.
    """
    event = OutboxEvent.CONFIRM if report.confirmed else OutboxEvent.REJECT
    marked = {
        **action.payload,
        **(extra or {}),
        "settled_by": {
            "event_id": report.event_id,
            "type": report.event_type,
            "refund_id": report.refund_id,
        },
    }
    changes: Changes = {"payload": marked}
    row = row_for(action, event)
    if row is None:
        return changes
    changes |= {"state": row.dest, "lease_until": None, "retry_at": None}
    if row.dest is ActionState.DONE:
        changes |= {"result": encode_json({"settled": report.reason}, "result"), "finished_at": NOW}
    else:
        changes["last_error"] = check_error(f"{report.reason}: issue another refund")
    return changes


def refund_orders(derived: Derived) -> list[str]:
    """The orders whose ``confirm_refund`` actions a write may settle: reports, or new ones."""
    orders = [r.order_id for r in derived.settlements]
    orders += [a.order_id for a in derived.created if a.kind is ActionKind.CONFIRM_REFUND]
    return list(dict.fromkeys(orders))


def refund_moves(
    rows: Sequence[StoredAction], reports: Sequence[RefundSettlement], at: datetime
) -> tuple[list[Action], list[tuple[StoredAction, Changes]]]:
    """How the provider's refund reports settle an order's ``confirm_refund`` actions.

    ``rows`` are every ``confirm_refund`` of the order as the transaction sees them (those
    it just wrote too); ``reports`` the new ones, in turn. Answers the report actions
    to write (each pending, for a report that matched none) and the changes to make,
    each on the action as it is (a report action's: as written).
    """
    rows = sorted(rows, key=_oldest_first)
    current = {a.key: a for a in rows}
    moves: dict[str, Changes] = {}

    def apply(action: StoredAction, changes: Changes) -> None:
        moves[action.key] = moves.get(action.key, {}) | changes
        current[action.key] = attrs.evolve(action, **_at(changes, at))

    def match(charge_id: str | None, amount: Decimal) -> StoredAction | None:
        return next((a for a in current.values() if _matches(a, charge_id, amount)), None)

    # Reports kept before the order showed their refund settle its confirm_refund now.
    for kept in [a for a in rows if _awaiting(a)]:
        charge_id = kept.payload.get("charge_id")
        found = match(charge_id if isinstance(charge_id, str) else None, _amount(kept))
        report = _report_of(kept)
        if found is not None and report is not None:
            apply(found, _settled(found, report))
            apply(current[kept.key], {"payload": _paired(current[kept.key], found.key)})
    written: list[Action] = []
    for report in reports:
        found = match(report.charge_id, report.amount)
        if found is not None:
            apply(found, _settled(found, report))
            continue
        kept_action = _kept(report)
        if kept_action.key in current:
            continue  # this report was kept already
        written.append(kept_action)
        new = StoredAction.new(kept_action, at)
        current[new.key] = new
        apply(new, _settled(new, report, {"awaiting": True}))
    before = {a.key: a for a in rows} | {a.key: StoredAction.new(a, at) for a in written}
    return written, [(before[key], changes) for key, changes in moves.items()]


def _oldest_first(action: StoredAction) -> tuple[Decimal, str]:
    """The order refunds were made in: by their charge's refunds totalled after each.

    Those totals only grow; the kept reports (no total) come last, each by key. Not by
    ``created_at``: one store's clock may give two actions one moment that another's
    sets apart.
    """
    refunded = action.payload.get("refunded")
    try:
        total = Decimal(str(refunded)) if refunded is not None else _LAST
    except ArithmeticError:
        total = _LAST
    return (total if total.is_finite() else _LAST, action.key)


_LAST = Decimal("Infinity")


def _amount(action: StoredAction) -> Decimal:
    try:
        return Decimal(str(action.payload.get("amount")))
    except ArithmeticError:
        return Decimal(-1)  # matches no refund


def _report_of(kept: StoredAction) -> RefundSettlement | None:
    """The report a kept report action holds, to settle the order's ``confirm_refund``."""
    by = kept.payload.get("settled_by")
    if not isinstance(by, dict):
        return None
    charge_id = kept.payload.get("charge_id")
    return RefundSettlement(
        kept.order_id,
        str(by.get("event_id")),
        str(by.get("type")),
        str(by.get("refund_id")),
        charge_id if isinstance(charge_id, str) else None,
        _amount(kept),
        None,
        confirmed=by.get("type") == "refund.complete",
        failure_reason=kept.payload.get("failure_reason"),
    )


def _paired(kept: StoredAction, key: str) -> dict[str, Any]:
    """A kept report's payload once it settled the order's ``confirm_refund`` ``key``."""
    payload = {k: v for k, v in kept.payload.items() if k != "awaiting"}
    return payload | {"paired_with": key}


def _kept(report: RefundSettlement) -> Action:
    """The action keeping a report no ``confirm_refund`` of the order matched yet."""
    subject = f"refund {report.refund_id}" + (f" on {report.charge_id}" if report.charge_id else "")
    payload = {
        "charge_id": report.charge_id,
        "amount": str(report.amount),
        "refunded": None,
        "currency": report.currency,
        "refund_id": report.refund_id,
        "failure_reason": report.failure_reason,
    }
    kind = ActionKind.CONFIRM_REFUND
    return Action(
        action_key(report.order_id, kind, subject), report.order_id, kind, subject, payload
    )


class MemoryOutbox:
    """The outbox's rules on plain data: the memory store runs them under its lock.

    Every method expects its arguments checked and the caller to hold the store's lock;
    ``order_state`` gives an order's state (for holds).
    """

    def __init__(self, order_state: Callable[[str], object]) -> None:
        self.actions: dict[str, StoredAction] = {}
        self._order_state = order_state

    def _seen(self, action: StoredAction) -> StoredAction:
        """``action`` as a reader sees it: with the order state holding it, if any."""
        held = held_by(action.kind, action.state, self._order_state(action.order_id))
        return action if held is None else attrs.evolve(action, held_by=held)

    def write(self, derived: Derived, at: datetime) -> None:
        """Add what a change created (unless known), rewrite what it rewrote, cancel the rest.

        Then the refunds' reports settle the ``confirm_refund`` actions they match.
        """
        if not derived:
            return
        for action in derived.created:
            self.actions.setdefault(action.key, StoredAction.new(action, at))
        for action in derived.updated:
            found = self.actions.get(action.key)
            if found is not None and found.state in OPEN_STATES:
                self.actions[action.key] = attrs.evolve(
                    found, payload=found.payload | action.payload
                )
        for key in derived.cancelled:
            found = self.actions.get(key)
            after = None if found is None else cancelled(found, cancelled_result(derived, key), at)
            if after is not None:
                self.actions[key] = after
        for order_id in refund_orders(derived):
            rows = [
                a
                for a in self.actions.values()
                if a.order_id == order_id and a.kind is ActionKind.CONFIRM_REFUND
            ]
            reports = [r for r in derived.settlements if r.order_id == order_id]
            written, moves = refund_moves(rows, reports, at)
            for report in written:
                self.actions[report.key] = StoredAction.new(report, at)
            for moved, changes in moves:
                self.actions[moved.key] = attrs.evolve(moved, **_at(changes, at))

    def claim(
        self,
        kinds: tuple[ActionKind, ...] | None,
        limit: int,
        lease: timedelta,
        max_tries: int,
        at: datetime,
    ) -> list[StoredAction]:
        """Lease up to ``limit`` due actions not held, oldest first; lapsed ones tried out die."""
        due: list[tuple[StoredAction, TransitionSpec[ActionState, OutboxEvent]]] = []
        for action in list(self.actions.values()):
            if kinds is not None and action.kind not in kinds:
                continue
            row = row_for(action, OutboxEvent.CLAIM, at, max_tries)
            if row is None:
                continue
            if row.dest is not ActionState.CLAIMED:  # its lapsed claims spent its tries
                self.actions[action.key] = claimed(action, row, at, lease)
            elif holding(action.kind, self._order_state(action.order_id)) is None:
                due.append((action, row))
        due.sort(key=lambda pair: (pair[0].created_at, pair[0].key))
        taken = [claimed(action, row, at, lease) for action, row in due[:limit]]
        for after in taken:
            self.actions[after.key] = after
        return taken

    def get(self, key: str) -> StoredAction:
        """The action with this key, as a reader sees it."""
        found = self.actions.get(key)
        if found is None:
            raise UnknownAction(key)
        return self._seen(found)

    def extend(
        self, claims: list[tuple[str, int]], lease: timedelta, at: datetime
    ) -> dict[str, StoredAction]:
        """A heartbeat: each claim still held runs until ``at + lease``; the actions as they are."""
        now_: dict[str, StoredAction] = {}
        for key, claim in claims:
            found = self.actions.get(key)
            if found is None:
                continue
            if found.state is ActionState.CLAIMED and found.tries == claim:
                found = attrs.evolve(found, lease_until=at + lease)
                self.actions[key] = found
            now_[key] = self._seen(found)
        return now_

    def finish(
        self, outcomes: list[Outcome], max_tries: int, at: datetime
    ) -> dict[str, StoredAction]:
        """Record how claims ended (:func:`ended`); the actions as they now are."""
        now_: dict[str, StoredAction] = {}
        for outcome in outcomes:
            found = self.actions.get(outcome.key)
            if found is None:
                continue
            changes = ended(found, outcome, max_tries)
            if changes is not None:
                found = attrs.evolve(found, **_at(changes, at))
                self.actions[found.key] = found
            now_[found.key] = self._seen(found)
        return now_

    def prune(self, done_before: datetime) -> int:
        """Delete the done and cancelled actions finished before ``done_before``; how many."""
        gone = [
            a.key
            for a in self.actions.values()
            if a.state in FINISHED and a.finished_at is not None and a.finished_at < done_before
        ]
        for key in gone:
            del self.actions[key]
        return len(gone)

    def retry(self, key: str) -> StoredAction:
        """An operator's retry: a dead or failed action pending again, its tries reset.

        Raises:
            ActionNotRetryable: the table has no retry from its state (cancelled: its
                reason went away).

        """
        found = retried(self.get(key))
        self.actions[key] = found
        return self._seen(found)

    def listed(self, where: Callable[[StoredAction], bool]) -> list[StoredAction]:
        """The actions ``where`` passes, oldest first (by creation, then key), as stored."""
        found = [a for a in self.actions.values() if where(a)]
        found.sort(key=lambda a: (a.created_at, a.key))
        return found

    def seen(self, action: StoredAction) -> StoredAction:
        """``action`` as a reader sees it: with the order state holding it, if any."""
        return self._seen(action)


def _at(changes: Changes, at: datetime) -> Changes:
    """``changes`` with the clock's markers as moments of ``at``."""
    return {
        column: at
        if value is NOW
        else at + timedelta(seconds=value.seconds)
        if isinstance(value, Later)
        else value
        for column, value in changes.items()
    }

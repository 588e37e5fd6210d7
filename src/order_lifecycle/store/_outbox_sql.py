"""The outbox in SQL: the outbox table's rows as conditional statements, for both databases.

Every state a statement sets or expects is read off the outbox's table
(:data:`~order_lifecycle.lifecycle.OUTBOX_SPEC`): a claim's condition is its rows into
``claimed``, each row's guard written in SQL (:data:`SQL_GUARDS`); a cancellation expects the
states its rows leave; a retry, prune or payload rewrite the states the table gives them.

A claim is one statement: an ``UPDATE`` of the rows a sub-select finds due (and not held:
their order is in no state holding their kind), ``RETURNING`` them. On SQLite it runs in
a write transaction (``BEGIN IMMEDIATE``), so no other claim sees the rows between the
select and the update; on PostgreSQL the sub-select takes the rows ``FOR UPDATE SKIP
LOCKED``, so concurrent claims take different rows and never wait for each other. Every
other change of an action is conditional on the state it expects.

**One clock.** Every moment a lease or a retry is judged by (and every moment written) is
the database's, read in the statement itself, never a process's: PostgreSQL's
``clock_timestamp()``, and on SQLite its ``strftime('now')``, which reads the clock of the
machine the database file is on. SQLite is safe so: a database file is only ever shared
by processes of one machine (SQLite does not support network file systems), which all read
that one system clock, at the moment of the statement, whatever their own ``clock``
(a worker's, a test's) says. Moments are stored as :func:`~._outbox.stamp` text, which both
databases write in the same shape (``2026-03-01T12:00:00.123000Z``).
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from order_lifecycle._json import stamp
from order_lifecycle.actions import (
    Action,
    ActionState,
    Derived,
    Outcome,
    RefundSettlement,
    StoredAction,
)
from order_lifecycle.exceptions import InvalidDefinition, StoreCorrupt, UnknownAction
from order_lifecycle.lifecycle import (
    OUTBOX_SPEC,
    ActionKind,
    OutboxEvent,
    OutboxGuard,
    TransitionSpec,
)

from ._outbox import (
    FINISHED,
    HOLDS,
    NOW,
    OPEN_STATES,
    RETRYABLE,
    Changes,
    Later,
    abandoned,
    cancelled_result,
    encode_json,
    ended,
    held_by,
    not_retried,
    refund_moves,
    refund_orders,
    unstamp,
    utc_now,
)

__all__ = ["COLUMNS", "SQL_GUARDS", "SQLOutbox"]

Row = tuple[Any, ...]

COLUMNS_TEXT = (
    "key, order_id, kind, subject, payload, state, tries, "
    "lease_until, retry_at, last_error, result, created_at, finished_at"
)
COLUMNS = [c.strip() for c in COLUMNS_TEXT.split(",")]
"""The outbox table's columns, in the order its migration creates them."""

# Each action read with its order's state (to say what holds it).
_SELECT = (
    f"SELECT {', '.join(f'a.{c}' for c in COLUMNS)}, o.state "  # noqa: S608 (constants only)
    "FROM ol_actions a LEFT JOIN ol_orders o ON o.id = a.order_id"
)


def _lit(state: ActionState) -> str:
    """A state as a SQL literal (the table's own values: lower-case letters and ``_``)."""
    if not str(state).replace("_", "").isalpha():  # pragma: no cover (a broken vocabulary)
        raise InvalidDefinition(f"{state!r} cannot be written in SQL as it is.")
    return f"'{state}'"


def _in(states: Iterable[ActionState]) -> str:
    """States as a SQL list, sorted by name, each quoted (see :func:`_lit`)."""
    return f"({', '.join(_lit(s) for s in sorted(states))})"


def _rows(event: OutboxEvent) -> tuple[TransitionSpec[ActionState, OutboxEvent], ...]:
    return tuple(row for row in OUTBOX_SPEC.transitions if row.event is event)


def _dest(event: OutboxEvent) -> ActionState:
    """The one state ``event``'s unguarded rows lead to (a claim's: claimed)."""
    (dest,) = {row.dest for row in _rows(event) if row.guard is None}
    return dest


SQL_GUARDS: Mapping[str, str] = {
    OutboxGuard.RETRY_DUE: "a.retry_at <= {now}",
    OutboxGuard.LAPSED: "a.lease_until <= {now} AND a.tries < ?",
    OutboxGuard.LAPSED_TRIED_OUT: "a.lease_until <= {now} AND a.tries >= ?",
    OutboxGuard.TRIES_LEFT: "a.tries < ?",
    OutboxGuard.TRIED_OUT: "a.tries >= ?",
    OutboxGuard.UNDER_CLAIM: "a.lease_until IS NOT NULL",
}
"""The outbox table's guards in SQL, on an action ``a``: ``{now}`` is the database's clock,
each ``?`` the store's ``max_tries`` (as ``_outbox.OUTBOX_GUARDS`` judges them in Python)."""

if set(SQL_GUARDS) != {g.name for g in OUTBOX_SPEC.guards}:  # pragma: no cover (at import)
    raise InvalidDefinition("SQL_GUARDS must write exactly the outbox table's guards.")

_PENDING = _lit(OUTBOX_SPEC.initial)
_CLAIMED = _lit(_dest(OutboxEvent.CLAIM))
_CANCELLED = _lit(_dest(OutboxEvent.CANCEL))
_RETRIED = _lit(_dest(OutboxEvent.RETRY))
_OPEN = _in(OPEN_STATES)
_FINISHED = _in(FINISHED)
_RETRYABLE = _in(RETRYABLE)
# A claim's rows: those taking a due action (into claimed) and those burying one (dead).
_CLAIMS = tuple(r for r in _rows(OutboxEvent.CLAIM) if _lit(r.dest) == _CLAIMED)
_BURIALS = tuple(r for r in _rows(OutboxEvent.CLAIM) if _lit(r.dest) != _CLAIMED)


def _condition(
    rows: Iterable[TransitionSpec[ActionState, OutboxEvent]], now: str, max_tries: int
) -> tuple[str, list[object]]:
    """The rows' sources and guards as one SQL condition on ``a``, and its parameters."""
    cases: list[str] = []
    params: list[object] = []
    for row in rows:
        case = f"a.state = {_lit(row.source)}"
        if row.guard is not None:
            guard = SQL_GUARDS[row.guard]
            case += f" AND {guard.format(now=now)}"
            params += [max_tries] * guard.count("?")
        cases.append(f"({case})")
    return f"({' OR '.join(cases)})", params


def _holds() -> tuple[str, list[str]]:
    """The claim's condition that no state of the order holds the action, and its params."""
    if not HOLDS:
        return "", []
    cases = []
    params: list[str] = []
    for kind, states in sorted(HOLDS.items()):
        cases.append(f"(a.kind = ? AND o.state IN ({', '.join('?' * len(states))}))")
        params += [str(kind), *sorted(str(s) for s in states)]
    found = " OR ".join(cases)
    return (
        " AND NOT EXISTS (SELECT 1 FROM ol_orders o WHERE o.id = a.order_id "  # noqa: S608 (marks only)
        f"AND ({found}))"
    ), params


_NOT_HELD, _NOT_HELD_PARAMS = _holds()


def _born_cancelled(
    created: Sequence[Action], updated: Mapping[str, object], cancelled: Sequence[list[str]]
) -> dict[str, tuple[Action, str]]:
    """The actions one write creates and cancels (their payloads not rewritten), and why.

    Each key's first action and first cancellation: what the insert (``ON CONFLICT DO
    NOTHING``) and the cancellation (of open rows only) would write first, the rest
    changing nothing after them.
    """
    if not created or not cancelled:
        return {}
    first: dict[str, str] = {}
    for why, key in cancelled:
        first.setdefault(key, why)
    born: dict[str, tuple[Action, str]] = {}
    for action in created:
        key = action.key
        if key in first and key not in updated and key not in born:
            born[key] = (action, first[key])
    return born


class SQLOutbox:
    """The outbox half of :class:`~order_lifecycle.store._sql.SQLStore`."""

    _claim_lock = ""
    """What the claim's sub-select adds to lock the rows it takes (PostgreSQL's)."""
    _row_lock = ""
    """What a read of actions (``a``) about to change adds to lock them (PostgreSQL's)."""
    _now = "(strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')"
    """The database clock's moment, as :func:`~._outbox.stamp` writes it (SQLite's)."""
    _later = "(strftime('%Y-%m-%dT%H:%M:%f', 'now', printf('%+.3f seconds', ?)) || '000Z')"
    """The database clock's moment plus ``?`` seconds (SQLite's)."""

    @abstractmethod
    def _transaction(self, *, write: bool) -> AbstractContextManager[None]: ...

    @abstractmethod
    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...

    @abstractmethod
    def _write(self, sql: str, params: Sequence[object] = ()) -> int: ...

    @abstractmethod
    def _write_many(self, sql: str, rows: Sequence[Sequence[object]]) -> int: ...

    def _write_actions(self, derived: Sequence[Derived]) -> None:
        """Inside the change's transaction: add, rewrite and cancel what the changes derived.

        Then the refunds' reports settle the ``confirm_refund`` actions they match.
        """
        self._write_derived(derived, ())

    def _write_derived(self, derived: Sequence[Derived], unheld: Collection[str]) -> None:
        """:meth:`_write_actions`, no cancellation sent for ``unheld`` keys (no row holds them)."""
        if not any(derived):
            return  # most changes derive nothing: no statement
        created = [a for d in derived for a in d.created]
        updated = {a.key: a.payload for d in derived for a in d.updated}
        cancelled = [
            [cancelled_result(d, key), key]
            for d in derived
            for key in d.cancelled
            if key not in unheld
        ]
        born = _born_cancelled(created, updated, cancelled)
        if born:
            created = [a for a in created if a.key not in born]
            cancelled = [row for row in cancelled if row[1] not in born]
            self._insert_cancelled(born)
        self._insert_actions(created)
        if updated:
            self._rewrite_payloads(updated)
        if cancelled:
            self._write_many(
                f"UPDATE ol_actions SET state = {_CANCELLED}, finished_at = {self._now}, "  # noqa: S608 (our clock's SQL)
                f"retry_at = NULL, result = ?, lease_until = CASE WHEN state = {_CLAIMED} "
                f"AND lease_until > {self._now} THEN lease_until END "
                f"WHERE key = ? AND state IN {_OPEN}",
                cancelled,
            )
        orders = refund_orders(Derived(tuple(a for d in derived for a in d.created)))
        reports = [r for d in derived for r in d.settlements]
        orders = list(dict.fromkeys([*orders, *(r.order_id for r in reports)]))
        if orders:
            self._settle_refunds(orders, reports)

    def _insert_actions(self, actions: Sequence[Action]) -> None:
        """Inside the transaction: each action pending, unless its key is written already."""
        if actions:
            self._write_many(
                "INSERT INTO ol_actions (key, order_id, kind, subject, payload, state, tries, "  # noqa: S608 (our clock's SQL)
                f"created_at) VALUES (?, ?, ?, ?, ?, {_PENDING}, 0, {self._now}) "
                "ON CONFLICT (key) DO NOTHING",
                [
                    [a.key, a.order_id, str(a.kind), a.subject, encode_json(a.payload, "payload")]
                    for a in actions
                ],
            )

    def _insert_cancelled(self, born: Mapping[str, tuple[Action, str]]) -> None:
        """Inside the transaction: actions created and cancelled by one write, as cancelled.

        What inserting each pending and then cancelling it leaves, in one statement: a new
        row is cancelled at once; a row its key holds already is cancelled if open, as the
        cancellation would (its payload as it was: the insert would not have changed it).
        """
        self._write_many(
            "INSERT INTO ol_actions (key, order_id, kind, subject, payload, state, tries, "  # noqa: S608 (our clock's SQL)
            f"created_at, finished_at, result) VALUES (?, ?, ?, ?, ?, {_CANCELLED}, 0, "
            f"{self._now}, {self._now}, ?) ON CONFLICT (key) DO UPDATE SET "
            f"state = {_CANCELLED}, finished_at = {self._now}, retry_at = NULL, "
            "result = excluded.result, lease_until = CASE WHEN ol_actions.state = "
            f"{_CLAIMED} AND ol_actions.lease_until > {self._now} THEN ol_actions.lease_until "
            f"END WHERE ol_actions.state IN {_OPEN}",
            [
                [a.key, a.order_id, str(a.kind), a.subject, encode_json(a.payload, "payload"), why]
                for a, why in born.values()
            ],
        )

    def _settle_refunds(self, orders: Sequence[str], reports: Sequence[RefundSettlement]) -> None:
        """Inside the transaction: the reports settle the orders' ``confirm_refund`` actions."""
        rows: dict[str, list[StoredAction]] = {order_id: [] for order_id in orders}
        for chunk in range(0, len(orders), 500):
            some = orders[chunk : chunk + 500]
            found = self._query(
                f"SELECT {COLUMNS_TEXT} FROM ol_actions a WHERE a.kind = ? "  # noqa: S608 (marks only)
                f"AND a.order_id IN ({', '.join('?' * len(some))}){self._row_lock}",
                [str(ActionKind.CONFIRM_REFUND), *some],
            )
            for row in found:
                action = _action(row)
                rows[action.order_id].append(action)
        statements: dict[str, list[list[object]]] = {}
        for order_id, actions in rows.items():
            mine = [r for r in reports if r.order_id == order_id]
            written, moves = refund_moves(actions, mine, utc_now())
            self._insert_actions(written)
            for action, changes in moves:
                sql, params = self._change(
                    action,
                    {k: encode_json(v, k) if k == "payload" else v for k, v in changes.items()},
                )
                statements.setdefault(sql, []).append(params)
        for sql, params_list in statements.items():
            self._write_many(sql, params_list)

    def _rewrite_payloads(self, updated: dict[str, dict[str, Any]]) -> None:
        """Inside the change's transaction: the payload fields given, in actions not finished."""
        keys = list(updated)
        rows = self._query(
            "SELECT a.key, a.payload FROM ol_actions a "  # noqa: S608 (marks only)
            f"WHERE a.key IN ({', '.join('?' * len(keys))}) "
            f"AND a.state IN {_OPEN}{self._row_lock}",
            keys,
        )
        rewritten = []
        for key, payload in rows:
            merged = _payload(key, payload) | updated[key]
            rewritten.append([encode_json(merged, "payload"), key])
        if rewritten:
            self._write_many(
                f"UPDATE ol_actions SET payload = ? WHERE key = ? AND state IN {_OPEN}",  # noqa: S608 (constants only)
                rewritten,
            )

    def _claim_actions(
        self, kinds: tuple[ActionKind, ...] | None, limit: int, lease: timedelta, max_tries: int
    ) -> list[StoredAction]:
        due, due_params = _condition(_CLAIMS, self._now, max_tries)
        of_kinds: list[str] = []
        if kinds is not None:
            if not kinds:
                return []
            due += f" AND a.kind IN ({', '.join('?' * len(kinds))})"
            of_kinds = [str(kind) for kind in kinds]
        sql = (
            f"UPDATE ol_actions SET state = {_CLAIMED}, tries = tries + 1, "  # noqa: S608 (marks, our clock's SQL)
            f"lease_until = {self._later} WHERE key IN "
            f"(SELECT a.key FROM ol_actions a WHERE {due}{_NOT_HELD} "
            f"ORDER BY a.created_at, a.key LIMIT ?{self._claim_lock}) RETURNING {COLUMNS_TEXT}"
        )
        params = [lease.total_seconds(), *due_params, *of_kinds, *_NOT_HELD_PARAMS, limit]
        with self._transaction(write=True):
            self._bury_abandoned(kinds, of_kinds, max_tries)
            rows = self._query(sql, params)
        return sorted((_action(row) for row in rows), key=lambda a: (a.created_at, a.key))

    def _bury_abandoned(
        self, kinds: tuple[ActionKind, ...] | None, of_kinds: list[str], max_tries: int
    ) -> None:
        """Inside the claim's transaction: lapsed claims tried ``max_tries`` times are dead."""
        kind_filter = "" if kinds is None else f" AND a.kind IN ({', '.join('?' * len(kinds))})"
        for burial in _BURIALS:
            found, params = _condition([burial], self._now, max_tries)
            rows = self._query(
                f"SELECT a.key, a.tries FROM ol_actions a WHERE {found}{kind_filter}",  # noqa: S608 (marks only)
                [*params, *of_kinds],
            )
            if rows:
                self._write_many(
                    f"UPDATE ol_actions SET state = {_lit(burial.dest)}, lease_until = NULL, "  # noqa: S608 (the table's states)
                    "retry_at = NULL, last_error = ? "
                    f"WHERE key = ? AND state = {_lit(burial.source)} AND tries = ?",
                    [[abandoned(tries), key, tries] for key, tries in rows],
                )

    def _read(self, keys: Sequence[str], *, lock: bool = False) -> dict[str, StoredAction]:
        """Inside a transaction: the actions with these keys (those there are), locked if asked."""
        found: dict[str, StoredAction] = {}
        locked = self._row_lock if lock else ""
        for start in range(0, len(keys), 500):  # within every database's parameter limit
            chunk = keys[start : start + 500]
            rows = self._query(
                f"{_SELECT} WHERE a.key IN ({', '.join('?' * len(chunk))}){locked}", chunk
            )
            found.update((row[0], _action(row)) for row in rows)
        return found

    def _one(self, key: str, *, lock: bool = False) -> StoredAction:
        """Inside a transaction: the action with this key."""
        found = self._read([key], lock=lock).get(key)
        if found is None:
            raise UnknownAction(key)
        return found

    def _extend_leases(
        self, claims: list[tuple[str, int]], lease: timedelta
    ) -> dict[str, StoredAction]:
        with self._transaction(write=True):
            self._write_many(
                f"UPDATE ol_actions SET lease_until = {self._later} "  # noqa: S608 (our clock's SQL)
                f"WHERE key = ? AND state = {_CLAIMED} AND tries = ?",
                [[lease.total_seconds(), key, claim] for key, claim in claims],
            )
            return self._read([key for key, _ in claims])

    def _finish_actions(self, outcomes: list[Outcome], max_tries: int) -> dict[str, StoredAction]:
        with self._transaction(write=True):
            found = self._read([outcome.key for outcome in outcomes], lock=True)
            statements: dict[str, list[list[object]]] = {}
            for outcome in outcomes:
                action = found.get(outcome.key)
                changes = None if action is None else ended(action, outcome, max_tries)
                if action is not None and changes is not None:
                    sql, params = self._change(action, changes)
                    statements.setdefault(sql, []).append(params)
            for sql, rows in statements.items():  # alike changes (completions) in one run
                self._write_many(sql, rows)
            if statements:
                found.update(self._read([key for key, a in found.items() if a is not None]))
        return found

    def _change(self, action: StoredAction, changes: Changes) -> tuple[str, list[object]]:
        """The statement setting ``changes`` where ``action`` is still as it was read."""
        columns: list[str] = []
        params: list[object] = []
        for column, value in changes.items():
            if value is NOW:
                columns.append(f"{column} = {self._now}")
            elif isinstance(value, Later):
                columns.append(f"{column} = {self._later}")
                params.append(value.seconds)
            else:
                columns.append(f"{column} = ?")
                params.append(stamp(value) if isinstance(value, datetime) else value)
        sql = (
            f"UPDATE ol_actions SET {', '.join(columns)} "  # noqa: S608 (column names are ours)
            "WHERE key = ? AND state = ? AND tries = ?"
        )
        return sql, [*params, action.key, str(action.state), action.tries]

    def _retry_action(self, key: str) -> StoredAction:
        with self._transaction(write=True):
            found = self._one(key, lock=True)
            refused = not_retried(found)
            if refused is not None:
                raise refused
            self._write(
                f"UPDATE ol_actions SET state = {_RETRIED}, tries = 0, retry_at = NULL, "  # noqa: S608 (the table's states)
                f"lease_until = NULL WHERE key = ? AND state IN {_RETRYABLE}",
                [key],
            )
            return self._one(key)

    def _prune_actions(self, done_before: datetime) -> int:
        with self._transaction(write=True):
            return self._write(
                f"DELETE FROM ol_actions WHERE state IN {_FINISHED} AND finished_at < ?",  # noqa: S608 (the table's states)
                [stamp(done_before)],
            )


def _payload(key: str, text: str) -> dict[str, Any]:
    """A stored payload, read back; :class:`StoreCorrupt` when it cannot be."""
    try:
        decoded = json.loads(text)
    except (TypeError, ValueError) as problem:
        raise StoreCorrupt(f"ol_actions row {key!r} cannot be read back: {problem}") from None
    if not isinstance(decoded, dict):
        raise StoreCorrupt(f"ol_actions row {key!r} cannot be read back: its payload is no object")
    return decoded


def _kind(kind: object) -> ActionKind | str:
    """A stored kind: the table's, or a shop's (a name, checked when it was written)."""
    if not isinstance(kind, str) or not kind:
        raise TypeError("a kind")
    return ActionKind(kind) if kind in _TABLE_KINDS else kind


_TABLE_KINDS = frozenset(ActionKind)


def _action(row: Row) -> StoredAction:
    """An outbox row (and its order's state, when read with it); :class:`StoreCorrupt` if bad."""
    (
        key,
        order_id,
        kind,
        subject,
        payload,
        state,
        tries,
        lease,
        retry,
        error,
        result,
        created,
        done,
    ) = row[:13]
    try:
        if not isinstance(tries, int):
            raise TypeError("a count")  # noqa: TRY301 (reported below)
        kind, state = _kind(kind), ActionState(state)
        return StoredAction(
            key,
            order_id,
            kind,
            subject,
            _payload(key, payload),
            state,
            tries,
            unstamp(created),
            None if lease is None else unstamp(lease),
            None if retry is None else unstamp(retry),
            error,
            result,
            None if done is None else unstamp(done),
            held_by(kind, state, row[13]) if len(row) > 13 else None,
        )
    except (TypeError, ValueError) as problem:
        raise StoreCorrupt(f"ol_actions row {key!r} cannot be read back: {problem}") from None

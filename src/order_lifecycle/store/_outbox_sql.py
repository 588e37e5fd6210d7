"""The outbox in SQL: the rules of ``_outbox`` as conditional statements, for both databases.

A claim is one statement: an ``UPDATE`` of the rows a sub-select finds due, ``RETURNING``
them. On SQLite it runs in a write transaction (``BEGIN IMMEDIATE``), so no other claim
sees the rows between the select and the update; on PostgreSQL the sub-select takes the
rows ``FOR UPDATE SKIP LOCKED``, so concurrent claims take different rows and never wait
for each other. Every other change of an action is conditional on the state it expects.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from order_lifecycle.actions import Derived
from order_lifecycle.exceptions import StoreCorrupt, UnknownAction
from order_lifecycle.lifecycle._tables import ActionKind

from ._outbox import (
    ActionState,
    StoredAction,
    abandoned,
    backoff,
    encode_json,
    held,
    stamp,
    unstamp,
)
from ._require import now

__all__ = ["COLUMNS", "SQLOutbox"]

Row = tuple[Any, ...]

COLUMNS_TEXT = (
    "key, order_id, kind, subject, payload, state, tries, "
    "lease_until, retry_at, last_error, result, created_at, finished_at"
)
COLUMNS = [c.strip() for c in COLUMNS_TEXT.split(",")]
"""The outbox table's columns, in the order its migration creates them."""

_INSERT = (
    "INSERT INTO ol_actions (key, order_id, kind, subject, payload, state, tries, created_at) "
    "VALUES (?, ?, ?, ?, ?, 'pending', 0, ?) ON CONFLICT (key) DO NOTHING"
)
_CANCEL = (
    "UPDATE ol_actions SET state = 'cancelled', lease_until = NULL, finished_at = ? WHERE key = ? "
    "AND (state IN ('pending', 'failed') OR (state = 'claimed' AND lease_until <= ?))"
)
_DUE = (
    "(state = 'pending' OR (state = 'failed' AND retry_at <= ?) "
    "OR (state = 'claimed' AND lease_until <= ?))"
)


class SQLOutbox:
    """The outbox half of :class:`~order_lifecycle.store._sql.SQLStore`."""

    _claim_lock = ""
    """What the claim's sub-select adds to lock the rows it takes (PostgreSQL's)."""

    @abstractmethod
    def _transaction(self, *, write: bool) -> AbstractContextManager[None]: ...

    @abstractmethod
    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...

    @abstractmethod
    def _write(self, sql: str, params: Sequence[object] = ()) -> int: ...

    @abstractmethod
    def _write_many(self, sql: str, rows: Sequence[Sequence[object]]) -> int: ...

    def _write_actions(self, derived: Sequence[Derived]) -> None:
        """Inside the change's transaction: add the actions created, cancel those cancelled."""
        if not any(derived):
            return  # most changes derive nothing: no statement, not even the clock read
        at = stamp(now())  # once: every row of the batch is written at the same moment
        created = [
            [a.key, a.order_id, str(a.kind), a.subject, encode_json(a.payload, "payload"), at]
            for d in derived
            for a in d.created
        ]
        cancelled = [[at, key, at] for d in derived for key in d.cancelled]
        if created:
            self._write_many(_INSERT, created)
        if cancelled:
            self._write_many(_CANCEL, cancelled)

    def _claim_actions(
        self, kinds: tuple[ActionKind, ...] | None, limit: int, lease: timedelta, max_tries: int
    ) -> list[StoredAction]:
        at = now()
        where, params = _DUE, [stamp(at), stamp(at)]
        of_kinds: list[str] = []
        if kinds is not None:
            if not kinds:
                return []
            where += f" AND kind IN ({', '.join('?' * len(kinds))})"
            of_kinds = [str(kind) for kind in kinds]
        sql = (
            "UPDATE ol_actions SET state = 'claimed', tries = tries + 1, lease_until = ? "  # noqa: S608 (marks only)
            f"WHERE key IN (SELECT key FROM ol_actions WHERE {where} "
            f"ORDER BY created_at, key LIMIT ?{self._claim_lock}) RETURNING {COLUMNS_TEXT}"
        )
        with self._transaction(write=True):
            self._bury_abandoned(kinds, of_kinds, max_tries, at)
            rows = self._query(sql, [stamp(at + lease), *params, *of_kinds, limit])
        return sorted((_action(row) for row in rows), key=lambda a: (a.created_at, a.key))

    def _bury_abandoned(
        self,
        kinds: tuple[ActionKind, ...] | None,
        of_kinds: list[str],
        max_tries: int,
        at: datetime,
    ) -> None:
        """Inside the claim's transaction: lapsed claims tried ``max_tries`` times are dead."""
        kind_filter = "" if kinds is None else f" AND kind IN ({', '.join('?' * len(kinds))})"
        rows = self._query(
            "SELECT key, tries FROM ol_actions WHERE state = 'claimed' "  # noqa: S608 (marks only)
            f"AND lease_until <= ? AND tries >= ?{kind_filter}",
            [stamp(at), max_tries, *of_kinds],
        )
        if rows:
            self._write_many(
                "UPDATE ol_actions SET state = 'dead', lease_until = NULL, retry_at = NULL, "
                "last_error = ? WHERE key = ? AND state = 'claimed' AND tries = ?",
                [[abandoned(tries), key, tries] for key, tries in rows],
            )

    def _one(self, key: str) -> StoredAction:
        """Inside a transaction: the action with this key."""
        rows = self._query(f"SELECT {COLUMNS_TEXT} FROM ol_actions WHERE key = ?", [key])  # noqa: S608
        if not rows:
            raise UnknownAction(key)
        return _action(rows[0])

    def _extend_lease(self, key: str, lease: timedelta, claim: int) -> StoredAction:
        with self._transaction(write=True):
            self._write(
                "UPDATE ol_actions SET lease_until = ? "
                "WHERE key = ? AND state = 'claimed' AND tries = ?",
                [stamp(now() + lease), key, claim],
            )
            return self._one(key)

    def _complete_action(self, key: str, result: str | None, claim: int | None) -> StoredAction:
        with self._transaction(write=True):
            mine, params = ("", []) if claim is None else (" AND tries = ?", [claim])
            self._write(
                "UPDATE ol_actions SET state = 'done', lease_until = NULL, result = ?, "  # noqa: S608 (marks only)
                f"finished_at = ? WHERE key = ? AND state = 'claimed'{mine}",
                [result, stamp(now()), key, *params],
            )
            return self._one(key)

    def _fail_action(
        self, key: str, error: str, retry_at: datetime | None, max_tries: int, claim: int | None
    ) -> StoredAction:
        with self._transaction(write=True):
            found = self._one(key)
            if not held(found, claim):
                return found
            dead = found.tries >= max_tries
            due = None if dead else stamp(retry_at or now() + backoff(found.tries))
            self._write(
                "UPDATE ol_actions SET state = ?, retry_at = ?, last_error = ?, "
                "lease_until = NULL WHERE key = ? AND state = 'claimed' AND tries = ?",
                [ActionState.DEAD if dead else ActionState.FAILED, due, error, key, found.tries],
            )
            return self._one(key)

    def _retry_action(self, key: str) -> StoredAction:
        with self._transaction(write=True):
            self._write(
                "UPDATE ol_actions SET state = 'pending', tries = 0, retry_at = NULL, "
                "lease_until = NULL WHERE key = ? AND state IN ('dead', 'failed')",
                [key],
            )
            return self._one(key)

    def _prune_actions(self, done_before: datetime) -> int:
        with self._transaction(write=True):
            return self._write(
                "DELETE FROM ol_actions WHERE state IN ('done', 'cancelled') AND finished_at < ?",
                [stamp(done_before)],
            )

    def _list_actions(
        self,
        states: tuple[ActionState, ...] | None,
        kinds: tuple[ActionKind, ...] | None,
        order_id: str | None,
        limit: int,
    ) -> list[StoredAction]:
        where, params = ["1 = 1"], []
        for column, values in (("state", states), ("kind", kinds)):
            if values is not None:
                where.append(f"{column} IN ({', '.join('?' * len(values)) or 'NULL'})")
                params += [str(v) for v in values]
        if order_id is not None:
            where.append("order_id = ?")
            params.append(order_id)
        sql = (
            f"SELECT {COLUMNS_TEXT} FROM ol_actions WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY created_at, key LIMIT ?"
        )
        with self._transaction(write=False):
            rows = self._query(sql, [*params, limit])
        return [_action(row) for row in rows]


def _action(row: Row) -> StoredAction:
    """An outbox row, read back; :class:`StoreCorrupt` when it cannot be."""
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
    ) = row
    try:
        decoded = json.loads(payload)
        if not isinstance(decoded, dict) or not isinstance(tries, int):
            raise TypeError("a JSON object and a count")  # noqa: TRY301 (reported below)
        return StoredAction(
            key,
            order_id,
            ActionKind(kind),
            subject,
            decoded,
            ActionState(state),
            tries,
            unstamp(created),
            None if lease is None else unstamp(lease),
            None if retry is None else unstamp(retry),
            error,
            result,
            None if done is None else unstamp(done),
        )
    except (TypeError, ValueError) as problem:
        raise StoreCorrupt(f"ol_actions row {key!r} cannot be read back: {problem}") from None

r"""The inbox in SQL: the request path's one ``INSERT``, claims, settlements, an operator's reads.

The request path is one transaction per batch whose lock waits are bounded
(:meth:`SQLInbox._accepting`): one ``INSERT ... ON CONFLICT (<the key>) DO NOTHING`` per
delivery (PostgreSQL: pipelined, one round trip), answering each new row's ``seq``. The
key is the delivery's order and event id (:data:`ORDER_KEY` and ``event_id``, the one
unique index ``ol_inbox_by_key``), which also finds an order's rows.

A claim is one read: the due rows (pending by ``seq``, waiting by ``due_at``, from their
partial indexes), the orders they name that no other claim holds (PostgreSQL: advisory
locks taken with ``pg_try_advisory_lock``, which never waits, so reconcilers never wait for
each other nor deadlock; held by the session until released), those orders' open rows,
the stored orders and the applied event ids. A settlement is one write transaction: the
orders' changes as a batch writes them (``_commit_at_once``), and each delivery's status
``UPDATE``\ d where it still has the status claimed; a short count (another writer came
first) rolls it back and writes again order by order, each under a savepoint, so that an
order lost or refused costs only itself.

Which rows are pending is a dialect's condition (:attr:`SQLInbox._pending`). PostgreSQL's
is the status, read from ``ol_inbox_by_status``. SQLite's pending rows are those at or
above a low-water mark with no settled status (schema version 9): a range of rowids, read
in ``seq`` order. Each settlement moves the mark up (:data:`ADVANCE_MARK`), triggers move
it down. Every other read by status names ``status <> 'pending'`` beside its statuses
(:data:`SETTLED`).

Where the statuses are is the other difference. PostgreSQL's are columns of ``ol_inbox``.
SQLite's rows of ``ol_inbox`` are written once (schema version 10): each delivery's status
is a small row of ``ol_inbox_status`` by ``seq``, none while it is pending as stored, so a
settlement writes a few small pages where it rewrote each delivery's page, body and all.
Its reads join the two (:attr:`SQLInbox._joined`, a missing row read as pending) and read
settled rows by status from ``ol_inbox_status`` alone (:attr:`SQLInbox._settled_rows`);
its writes of statuses are statements of their own (:data:`SETTLE_PENDING`,
:data:`SETTLE_STATUS`, :data:`REFEED_STATUS`, :data:`DISMISS_STATUS`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from order_lifecycle._json import stamp
from order_lifecycle.actions import Derived
from order_lifecycle.exceptions import UnknownDelivery
from order_lifecycle.webhooks import (
    ChangeOutcome,
    ChangeResult,
    Claim,
    DeliveryStatus,
    GroupResult,
    Incoming,
    OrderChange,
    SettledGroup,
    Settlement,
    StoredDelivery,
)

from ._batch import CheckedKeep
from ._inbox import (
    GROUP_COMMITTED,
    STATUSES,
    ClaimedOrders,
    dismissible,
    refed,
    stored_delivery,
)
from ._schema import PENDING_MARK

__all__ = [
    "ADVANCE_MARK",
    "DISMISS_STATUS",
    "FIRSTS",
    "INBOX_COLUMNS",
    "INSERT_BODY",
    "INSERT_DELIVERY",
    "INSERT_ROW",
    "JOINED_COLUMNS",
    "MARKED_PENDING",
    "ORDER_KEY",
    "PENDING",
    "REFEED_STATUS",
    "SETTLED",
    "SETTLE_FIRST",
    "SETTLE_FIRSTS",
    "SETTLE_PENDING",
    "SETTLE_STATUS",
    "SQLInbox",
]

Row = tuple[Any, ...]

INBOX_COLUMNS = (
    "seq",
    "event_id",
    "event_type",
    "order_id",
    "created_time",
    "received_at",
    "status",
    "reason",
    "attempts",
    "due_at",
    "body",
)
"""The inbox's columns as a read gives them (PostgreSQL's table's, in its order)."""
_NO_STATUS_ROW = {"status": "COALESCE(status, 'pending')", "attempts": "COALESCE(attempts, 0)"}
JOINED_COLUMNS = ", ".join(_NO_STATUS_ROW.get(column, column) for column in INBOX_COLUMNS)
"""The same read from SQLite's ``ol_inbox`` joined to ``ol_inbox_status`` (no row: pending)."""

ORDER_KEY = "COALESCE(order_id, '')"
"""The order part of the inbox's key, as ``ol_inbox_by_key`` indexes it (no order: ``''``).

A read of an order's rows compares it, not ``order_id``: so both databases read them from
that index. An order id is never empty (``check_incoming``), so ``''`` is no order's.
"""

PENDING = "status = 'pending'"
"""The pending rows, by their status (PostgreSQL: read from ``ol_inbox_by_status``)."""
SETTLED = "status <> 'pending'"
"""What every read of rows by another status names (SQLite's pending rows may have a status row)."""
_MARK = f"COALESCE((SELECT value FROM ol_counters WHERE name = '{PENDING_MARK}'), 0)"  # noqa: S608 (constants)
_UNSETTLED = (
    "NOT EXISTS (SELECT 1 FROM ol_inbox_status s "
    "WHERE s.seq = ol_inbox.seq AND s.status <> 'pending')"
)
MARKED_PENDING = f"seq >= {_MARK} AND {_UNSETTLED}"
"""SQLite's pending rows: a range of rowids from the mark, read in ``seq`` order.

Pending: no row in ``ol_inbox_status``, or a ``pending`` one (an operator fed it again),
each looked up by ``seq``. No mark (its row deleted by a shop's SQL): from the first row,
slower and still right.
"""
ADVANCE_MARK = (
    "UPDATE ol_counters SET value = COALESCE("  # noqa: S608 (constant names)
    f"(SELECT seq FROM ol_inbox WHERE seq >= ol_counters.value AND {_UNSETTLED} "
    "ORDER BY seq LIMIT 1), (SELECT COALESCE(MAX(seq), 0) + 1 FROM ol_inbox)) "
    f"WHERE name = '{PENDING_MARK}'"
)
"""SQLite's mark moved up to the lowest pending row at or above it (none: past every row).

Run in each settlement's transaction. Safe because SQLite's writers take turns and a
row's ``seq`` is given inside its write transaction: rows commit in ``seq`` order, so a
row stored after this transaction is numbered above every row it sees.
"""

INSERT_DELIVERY = (
    "INSERT INTO ol_inbox "  # noqa: S608 (constant names)
    "(event_id, event_type, order_id, created_time, received_at, status, reason, body) "
    f"VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (({ORDER_KEY}), event_id) DO NOTHING "
    "RETURNING seq"
)
"""The request path's statement: a delivery stored unless its key is; its new ``seq``."""
INSERT_ROW = INSERT_DELIVERY.removesuffix(" RETURNING seq")
"""The same, answering nothing: what a batch runs, ``seq`` read after."""
INSERT_BODY = (
    "INSERT INTO ol_inbox "  # noqa: S608 (constant names)
    "(event_id, event_type, order_id, created_time, received_at, body) "
    f"VALUES (?1, ?2, ?3, ?4, ?5, ?8) ON CONFLICT (({ORDER_KEY}), event_id) DO NOTHING"
)
"""SQLite's :data:`INSERT_ROW`: an ``Incoming`` as it is, its status and reason not stored.

A delivery stored with another status than pending, or a reason, gets its row of
``ol_inbox_status`` in the same transaction (``SQLiteStore._insert_rows``).
"""
_SETTLE = (
    "UPDATE ol_inbox SET status = ?, reason = ?, attempts = ?, due_at = ? "
    "WHERE seq = ? AND status = ?"
)
# SQLite's settlements take the same parameters (_settle_params), numbered.
_NEW_STATUS = (
    "status = excluded.status, reason = excluded.reason, "
    "attempts = excluded.attempts, due_at = excluded.due_at"
)
SETTLE_PENDING = (
    "INSERT INTO ol_inbox_status (seq, status, reason, attempts, due_at) "  # noqa: S608 (constants)
    "SELECT seq, ?1, ?2, ?3, ?4 FROM ol_inbox WHERE seq = ?5 "
    f"ON CONFLICT (seq) DO UPDATE SET {_NEW_STATUS} WHERE ol_inbox_status.status = ?6"
)
"""SQLite's settlement of a pending row: its status row added (a fed-again one's updated).

Nothing where the delivery is gone, or settled meanwhile (its status row is not pending).
"""
SETTLE_FIRST = (
    "INSERT INTO ol_inbox_status (seq, status, reason, attempts, due_at) "  # noqa: S608 (constants)
    "SELECT seq, ?1, ?2, 0, NULL FROM ol_inbox WHERE seq = ?3 "
    f"ON CONFLICT (seq) DO UPDATE SET {_NEW_STATUS} WHERE ol_inbox_status.status = 'pending'"
)
""":data:`SETTLE_PENDING` of a first try (no attempts, no due time): three parameters, not six.

Most settlements are a pending row applied at its first try.
"""
FIRSTS = 50
"""How many :data:`SETTLE_FIRST` rows one :data:`SETTLE_FIRSTS` statement writes."""
SETTLE_FIRSTS = (
    "INSERT INTO ol_inbox_status (seq, status, reason, attempts, due_at) "  # noqa: S608 (constants)
    "SELECT ol_inbox.seq, v.column1, v.column2, 0, NULL "
    f"FROM (VALUES {', '.join(['(?, ?, ?)'] * FIRSTS)}) AS v "
    "CROSS JOIN ol_inbox ON ol_inbox.seq = v.column3 WHERE true "
    f"ON CONFLICT (seq) DO UPDATE SET {_NEW_STATUS} WHERE ol_inbox_status.status = 'pending'"
)
""":data:`SETTLE_FIRST` of :data:`FIRSTS` rows in one statement, their parameters in turn.

Each row is written as :data:`SETTLE_FIRST` writes it, in turn (``CROSS JOIN``: the values
first, each delivery's row looked up by ``seq``), and the count is the same: one statement
run once costs about half of ``executemany``'s run of one statement a row. (``WHERE true``:
SQLite parses ``ON CONFLICT`` after a ``SELECT`` only past a ``WHERE``.)
"""
SETTLE_STATUS = (
    "UPDATE ol_inbox_status SET status = ?1, reason = ?2, attempts = ?3, due_at = ?4 "
    "WHERE seq = ?5 AND status = ?6"
)
"""SQLite's settlement of a row in another status: its status row, where still as claimed."""
REFEED_STATUS = (
    "INSERT INTO ol_inbox_status (seq, status, reason, attempts, due_at) "
    "VALUES (?2, 'pending', ?1, 0, NULL) ON CONFLICT (seq) DO UPDATE SET "
    "status = 'pending', reason = excluded.reason, attempts = 0, due_at = NULL"
)
"""SQLite's refeed: a ``pending`` status row, which keeps the operator's reason."""
DISMISS_STATUS = (
    "INSERT INTO ol_inbox_status (seq, status, reason, attempts, due_at) "
    "VALUES (?2, 'dismissed', ?1, 0, NULL) ON CONFLICT (seq) DO UPDATE SET "
    "status = 'dismissed', reason = excluded.reason, due_at = NULL"
)
"""SQLite's dismissal: the status row made ``dismissed`` (its attempts kept)."""
_REFEED = (
    "UPDATE ol_inbox SET status = 'pending', reason = ?, attempts = 0, due_at = NULL WHERE seq = ?"
)
_DISMISS = "UPDATE ol_inbox SET status = 'dismissed', reason = ?, due_at = NULL WHERE seq = ?"
_OPEN = "('pending', 'waiting', 'unknown_order')"
_CHUNK = 500


def _settle_params(settlement: Settlement) -> tuple[object, ...]:
    seq, was, status, reason, attempts, due_at = settlement
    return (status, reason, attempts, due_at, seq, was)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class SQLInbox:
    """The inbox half of :class:`~order_lifecycle.store._sql.SQLStore`."""

    accept_timeout: float = 2.0
    """Seconds the request path waits for a lock at most (the provider gives up after a few)."""

    _unlocked = ""
    """What the claim's scans add to skip orders other sessions hold (PostgreSQL's)."""
    _by_order = ""
    """What the read of claimed orders' open rows names to be planned by ``ol_inbox_by_key``.

    SQLite's: it plans without statistics, and took the index by status instead, reading
    every open row of the inbox for each claim (quadratic in a backlog: a million pending
    deliveries settled at a few hundred a second).
    """
    _due_rows = "ol_inbox"
    """What the scan of waiting rows due reads (SQLite's: ``ol_inbox_status_due``, joined)."""
    _by_status = ""
    """The same for the scan of pending rows: by rowid from the mark (SQLite's)."""
    _pending = PENDING
    """The condition the pending rows meet (SQLite's: :data:`MARKED_PENDING`)."""
    _advance = ""
    """What a settlement runs last, in its transaction (SQLite's: :data:`ADVANCE_MARK`)."""
    _joined = ""
    """What a read of rows with their statuses joins to ``ol_inbox`` (SQLite's status rows)."""
    _columns = ", ".join(INBOX_COLUMNS)
    """What such a read selects, as :data:`INBOX_COLUMNS` (SQLite's: :data:`JOINED_COLUMNS`)."""
    _status = "status"
    """A row's status in such a read (SQLite's: ``pending`` where it has no status row)."""
    _settled_rows = "ol_inbox"
    """The table a settled row's status and ``seq`` are read from (SQLite's: its own)."""
    _insert_row = INSERT_ROW
    """The request path's statement for a batch (SQLite's: :data:`INSERT_BODY`)."""
    _refeed = _REFEED
    _dismiss = _DISMISS

    def _settle_row(self, settlement: Settlement) -> tuple[str, tuple[object, ...]]:
        """The statement settling ``settlement``'s row where it is as claimed, its parameters."""
        # One statement for every status: they are columns of the row.
        return _SETTLE, _settle_params(settlement)

    def _rows(self, hint: str = "") -> str:
        """The rows with their statuses, to read from; ``hint`` names an index of ``ol_inbox``."""
        return f"ol_inbox{hint}{self._joined}"

    def _select(self, rows: str | None = None) -> str:
        """The read of :data:`INBOX_COLUMNS` from ``rows`` (default: :meth:`_rows`)."""
        return f"SELECT {self._columns} FROM {rows or self._rows()}"  # noqa: S608 (our names)

    # --- what SQLStore and the dialects supply ------------------------------------------------

    @abstractmethod
    def _transaction(self, *, write: bool) -> AbstractContextManager[None]: ...

    @abstractmethod
    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Row]: ...

    @abstractmethod
    def _write(self, sql: str, params: Sequence[object] = ()) -> int: ...

    @abstractmethod
    def _write_many(self, sql: str, rows: Sequence[Sequence[object]]) -> int: ...

    @abstractmethod
    def _read_orders_in(self, order_ids: Sequence[str]) -> dict[str, tuple[int, Any]]: ...

    @abstractmethod
    def _events_applied_in(self, event_ids: Sequence[str]) -> dict[str, str]: ...

    @abstractmethod
    def _commit_orders(
        self,
        changes: Sequence[OrderChange],
        derived: Sequence[Derived],
        after: Callable[[], bool],
    ) -> list[tuple[Row, Any]] | None:
        """Every change at once, then ``after`` (false: rolled back); ``None`` if rolled back."""

    @abstractmethod
    def _commit_change(
        self,
        change: OrderChange,
        failed: set[str],
        written: list[tuple[Row, Any]],
        derived: Derived,
    ) -> ChangeResult: ...

    # The store's derivation of what settling groups writes to the outbox (``Store``'s).
    _derive_groups: Callable[
        [Sequence[tuple[SettledGroup, GroupResult | None]]],
        tuple[dict[int, Derived], dict[int, Derived]],
    ]
    # Writes what a group's changes and deliveries ask of the outbox (``SQLOutbox``'s).
    _write_actions: Callable[[Sequence[Derived]], None]

    @abstractmethod
    def _remember(self, written: Sequence[tuple[Row, Any]]) -> None: ...

    @abstractmethod
    def _keep(self, delivery: CheckedKeep, cap: int) -> object: ...

    def _accepting(self) -> AbstractContextManager[None]:
        """The request path's write transaction, its lock waits bounded by ``accept_timeout``."""
        return self._transaction(write=True)

    def _claiming(self) -> AbstractContextManager[None]:
        """The claim's read: one snapshot (PostgreSQL: read committed, after its locks)."""
        return self._transaction(write=False)

    def _lock_orders(self, orders: list[str]) -> list[str]:
        """Of ``orders``, those this session now holds (no database locks: all of them)."""
        return orders

    def _unlock_orders(self, orders: Sequence[str]) -> None:
        """Let go of the database locks on ``orders`` (none here)."""

    # --- the request path ---------------------------------------------------------------------

    def _accept_deliveries(
        self, rows: Sequence[Incoming], keeps: Sequence[CheckedKeep], cap: int
    ) -> list[int | None]:
        with self._accepting():
            for delivery in keeps:
                self._keep(delivery, cap)
            return self._insert_rows(rows) if rows else []

    def _insert_rows(self, rows: Sequence[Incoming]) -> list[int | None]:
        """Inside the transaction: each row inserted unless its key is taken; its seq or None.

        One ``executemany`` of the plain ``INSERT`` (SQLite runs it as one prepared
        statement), then one read of the rows numbered past the highest ``seq`` before:
        this transaction holds the file's write lock, so they are exactly the ones it
        stored (``RETURNING``, per row or multi-row, cost a third more here). Of a key
        given twice in one batch, the first is stored, the second is a duplicate.
        """
        top = self._query("SELECT COALESCE(MAX(seq), 0) FROM ol_inbox")[0][0]
        self._write_many(self._insert_row, rows)
        new = self._query("SELECT seq, order_id, event_id FROM ol_inbox WHERE seq > ?", [top])
        stored = {(order_id, event_id): seq for seq, order_id, event_id in new}
        return [stored.pop((row.order_id, row.event_id), None) for row in rows]

    # --- claims -------------------------------------------------------------------------------

    @property
    def _claims(self) -> ClaimedOrders:
        claims: ClaimedOrders | None = self.__dict__.get("_claimed_orders")
        if claims is None:
            claims = self.__dict__.setdefault("_claimed_orders", ClaimedOrders())
        return claims

    def _claim_deliveries(self, limit: int, now: datetime, only: list[int] | None) -> Claim:
        token = 0
        try:
            with self._claiming():
                orders, loose = self._candidates(limit, stamp(now), only)
                token = self._claims.hold(self._lock_orders(self._claims.free(orders)))
                mine = self._claims.held(token)
                rows = self._open_rows(mine, loose)
                named = list(dict.fromkeys(r.order_id for r in rows if r.order_id is not None))
                known = self._read_orders_in(named)
                applied = self._events_applied_in([r.event_id for r in rows])
        except BaseException:
            if token:
                self._unlock_orders(self._claims.release(token))
            raise
        return Claim(token, mine, tuple(rows), known, applied)

    def _candidates(
        self, limit: int, now: str, only: list[int] | None
    ) -> tuple[list[str], list[int]]:
        """The orders (oldest due row first) and order-less rows due, ``limit`` of each."""
        if only is not None:
            due: list[Row] = []
            for chunk in _chunks(only):
                due += self._query(
                    f"SELECT seq, order_id FROM {self._rows()} "  # noqa: S608 (our names)
                    f"WHERE seq IN ({_marks(len(chunk))}) AND {self._status} IN {_OPEN} "
                    "ORDER BY seq",
                    chunk,
                )
        else:
            scan = 4 * limit  # rows of one order repeat: read more rows than orders wanted
            due = self._query(
                f"SELECT seq, order_id FROM ol_inbox{self._by_status} "  # noqa: S608 (our names)
                f"WHERE {self._pending}{self._unlocked} "
                "ORDER BY seq LIMIT ?",
                [scan],
            )
            due += self._query(
                f"SELECT seq, order_id FROM {self._due_rows} "  # noqa: S608 (our names)
                f"WHERE status = 'waiting' AND due_at <= ?{self._unlocked} ORDER BY due_at LIMIT ?",
                [now, scan],
            )
        orders: dict[str, None] = {}
        loose: list[int] = []
        for seq, order_id in due:
            if order_id is None:
                if len(loose) < limit:
                    loose.append(seq)
            elif len(orders) < limit:
                orders[order_id] = None
        return list(orders), loose

    def _open_rows(self, orders: Sequence[str], loose: Sequence[int]) -> list[StoredDelivery]:
        """Inside the claim: the open rows of ``orders``, and those of ``loose`` still open."""
        rows: dict[int, StoredDelivery] = {}
        for column, values, hint in ((ORDER_KEY, orders, self._by_order), ("seq", loose, "")):
            for chunk in _chunks(values):
                found = self._query(
                    f"{self._select(self._rows(hint))} WHERE {column} IN ({_marks(len(chunk))}) "
                    f"AND {self._status} IN {_OPEN}",
                    chunk,
                )
                rows.update((row.seq, row) for row in map(stored_delivery, found))
        return [rows[seq] for seq in sorted(rows)]

    def _release_claim(self, claim: Claim) -> None:
        self._unlock_orders(self._claims.release(claim.token))

    # --- settlements --------------------------------------------------------------------------

    def _settle_deliveries(
        self, groups: list[tuple[SettledGroup, GroupResult | None]]
    ) -> list[GroupResult]:
        # Orders in the order of their ids: two writers sharing orders wait, never deadlock.
        turn = sorted(range(len(groups)), key=lambda i: groups[i][0].order_id or "")
        # The actions each change creates (and its group's delivered events), derived once,
        # outside any transaction (the shop's classifier may run), for both ways of writing.
        derived, delivered = self._derive_groups(groups)
        if not any(refusal for _, refusal in groups):
            changes = [change for i in turn for change in groups[i][0].changes]
            settlements = [s for i in turn for s in groups[i][0].settlements]
            outbox = [derived[id(c)] for c in changes]
            outbox += [delivered[id(groups[i][0])] for i in turn]
            at_once = self._commit_orders(changes, outbox, lambda: self._settle(settlements))
            if at_once is not None:
                self._remember(at_once)
                return [GROUP_COMMITTED] * len(groups)
            # A row settled meanwhile, a lost race, a refusal: order by order.
        results: list[GroupResult] = [GROUP_COMMITTED] * len(groups)
        written: list[tuple[Row, Any]] = []
        with self._transaction(write=True):
            for index in turn:
                group, refusal = groups[index]
                results[index] = refusal or self._settle_group(
                    group, written, derived, delivered[id(group)]
                )
            self._advance_mark()
        self._remember(written)
        return results

    def _settle(self, settlements: Sequence[Settlement]) -> bool:
        """Inside the transaction: every status written where it is as claimed; whether all were."""
        if not settlements:
            return True
        by_statement: dict[str, list[tuple[object, ...]]] = {}
        settle_row = self._settle_row
        for settlement in settlements:
            sql, params = settle_row(settlement)
            by_statement.setdefault(sql, []).append(params)
        settled = sum(self._write_settled(sql, rows) for sql, rows in by_statement.items())
        if settled != len(settlements):
            return False
        self._advance_mark()
        return True

    def _write_settled(self, sql: str, rows: list[tuple[object, ...]]) -> int:
        """Inside the transaction: ``rows`` of one settlement's statement written; how many were."""
        return self._write_many(sql, rows)

    def _advance_mark(self) -> None:
        """Inside a settlement: move the pending rows' mark up past those settled (SQLite)."""
        if self._advance:
            self._write(self._advance)

    def _settle_group(
        self,
        group: SettledGroup,
        written: list[tuple[Row, Any]],
        derived: dict[int, Derived],
        delivered: Derived,
    ) -> GroupResult:
        """Inside the transaction: one order's changes and statuses under one savepoint."""
        self._write("SAVEPOINT ol_group")
        mine: list[tuple[Row, Any]] = []
        result = GROUP_COMMITTED
        for index, change in enumerate(group.changes):
            done = self._commit_change(change, set(), mine, derived[id(change)])
            if not done.committed:
                result = GroupResult(done.outcome, done.reason, index)
                break
        else:
            self._write_actions([delivered])
            for settlement in group.settlements:
                if not self._write(*self._settle_row(settlement)):
                    reason = f"delivery {settlement.seq} was settled meanwhile"
                    result = GroupResult(ChangeOutcome.LOST, reason)
                    break
        if result.committed:
            self._write("RELEASE SAVEPOINT ol_group")
            written.extend(mine)
        else:
            self._write("ROLLBACK TO SAVEPOINT ol_group")
            self._write("RELEASE SAVEPOINT ol_group")
        return result

    # --- an operator's reads and changes -------------------------------------------------------

    def _get_delivery(self, seq: int) -> StoredDelivery:
        with self._transaction(write=False):
            return self._delivery(seq)

    def _delivery(self, seq: int) -> StoredDelivery:
        rows = self._query(f"{self._select()} WHERE seq = ?", [seq])
        if not rows:
            raise UnknownDelivery(seq)
        return stored_delivery(rows[0])

    def _refeed_deliveries(self, seqs: list[int]) -> list[int]:
        fed: list[int] = []
        with self._transaction(write=True):
            for chunk in _chunks(seqs):
                found = self._query(
                    f"SELECT seq, {self._status}, reason FROM {self._rows()} "  # noqa: S608 (our names)
                    f"WHERE seq IN ({_marks(len(chunk))})",
                    chunk,
                )
                self._write_many(
                    self._refeed, [(refed(status, reason), seq) for seq, status, reason in found]
                )
                known = {row[0] for row in found}
                fed += [seq for seq in chunk if seq in known]
        return fed

    def _dismiss_delivery(self, seq: int) -> StoredDelivery:
        with self._transaction(write=True):
            row = dismissible(self._delivery(seq))
            reason = f"dismissed by an operator (it was {row.status.value}: {row.reason})"
            self._write(self._dismiss, [reason, seq])
            return self._delivery(seq)

    def _tallies(self, statuses: Sequence[str] | None = None) -> list[Row]:
        """Inside a read: each status of ``statuses`` (all: ``None``) held, its count and least seq.

        The pending rows are counted apart, by :attr:`_pending` (SQLite: from the mark), the
        others by :data:`SETTLED` and status (SQLite: ``ol_inbox_status_by_status``); a status no
        row has is left out.
        """
        among = [s for s in statuses if s != "pending"] if statuses is not None else None
        rows: list[Row] = []
        if among is None or among:
            picked = "" if among is None else f" AND status IN ({_marks(len(among))})"
            rows += self._query(
                f"SELECT status, COUNT(*), MIN(seq) FROM {self._settled_rows} "  # noqa: S608 (our names)
                f"WHERE {SETTLED}{picked} "
                "GROUP BY status",
                among or [],
            )
        if statuses is None or "pending" in statuses:
            found = self._query(f"SELECT COUNT(*), MIN(seq) FROM ol_inbox WHERE {self._pending}")  # noqa: S608 (constant names)
            rows += [("pending", count, first) for count, first in found if count]
        return rows

    def _delivery_counts(self) -> dict[DeliveryStatus, int]:
        with self._transaction(write=False):
            rows = self._tallies()
        counts: dict[DeliveryStatus, int] = {}
        for status, count, _ in rows:
            if isinstance(status, str) and status in STATUSES:
                counts[STATUSES[status]] = int(count)
            else:
                stored_delivery((0, "", None, None, None, "", status, None, 0, None, b""))
        return counts

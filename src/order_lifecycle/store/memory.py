"""The reference store, in memory: the contract, plainly, for one process and its threads.

Everything a database store does, without a database: records are kept as deep copies
with a version each, one lock guards every read and every commit, and changes run outside
it on a copy, committed only if the version is still the one read (exactly the databases'
optimistic protocol). The differential tests hold every other store to this one.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import attrs

from order_lifecycle.actions import Derived, Outcome
from order_lifecycle.exceptions import (
    DuplicateEvent,
    OrderExists,
    StaleOrder,
    StoreUnavailable,
    UnknownAction,
    UnknownOrder,
)
from order_lifecycle.lifecycle import ORDER_SPEC
from order_lifecycle.models import Checkout, Order
from order_lifecycle.webhooks import (
    OPEN_STATUSES,
    Claim,
    DeliveryStatus,
    GroupResult,
    Incoming,
    SettledGroup,
    StoredDelivery,
)

from ._backlog import BACKLOG_ACTIONS, Backlog, Waiting
from ._base import SPEC_VERSIONS, KeptDelivery, Store, kept_before
from ._batch import (
    COMMITTED,
    ChangeOutcome,
    ChangeResult,
    CheckedKeep,
    DeliveryToKeep,
    OrderChange,
    check_keep,
    checked_changes,
    checked_keeps,
    earlier_failed,
)
from ._check import StoredHistory
from ._codec import encode
from ._inbox import GROUP_COMMITTED, ClaimedOrders, MemoryInbox, dismissible, refed
from ._kept import check_cap
from ._outbox import ActionState, MemoryOutbox, StoredAction, utc_now
from ._overview import BACKLOG_STATES, Overview, Tally
from ._pages import ActionFilter, DeliveryFilter, OrderFilter, OrderSummary, Page, page_of
from ._require import (
    new_steps,
    require_id,
    require_ids,
    require_optional_id,
    require_order,
    require_storable,
)
from ._schema import SCHEMA_VERSION

__all__ = ["MemoryStore"]

T = TypeVar("T")
K = TypeVar("K")
R = TypeVar("R", Order, Checkout)


@attrs.frozen
class _Entry(Generic[R]):
    """A stored record: never mutated, replaced whole on commit."""

    version: int
    record: R
    spec_versions: tuple[str, ...]


class MemoryStore(Store):
    """The reference store: in memory, safe across threads, gone with the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._orders: dict[str, _Entry[Order]] = {}
        self._checkouts: dict[str, _Entry[Checkout]] = {}
        self._events: dict[str, str] = {}
        self._deliveries: list[KeptDelivery] = []
        self._by_digest: dict[str, list[KeptDelivery]] = {}
        self._kept_bytes = 0
        self._not_kept = 0
        self._redelivered = 0
        # The outbox's one clock (its leases, retries): the store's, whoever calls it.
        self._clock = utc_now
        self._outbox = MemoryOutbox(self._order_state)
        self._inbox = MemoryInbox()
        self._claimed = ClaimedOrders()

    def __repr__(self) -> str:
        """``<MemoryStore(num_orders=2, num_checkouts=1)>``."""
        return (
            f"<MemoryStore(num_orders={len(self._orders)}, num_checkouts={len(self._checkouts)})>"
        )

    # --- orders -----------------------------------------------------------------------------

    def create_order(self, order: Order, *, event_id: str | None = None) -> None:
        """Store a new order; see :meth:`Store.create_order`."""
        order = require_order(order)
        event_id = require_optional_id(event_id, "event_id")
        require_storable(ORDER_SPEC, order)
        stored = order.copy()
        derived = self._derive(None, stored)
        with self._lock:
            self._refuse_duplicate(event_id)
            if order.id in self._orders:
                raise OrderExists(order.id)
            self._insert_order(stored, derived)
            if event_id is not None:
                self._events[event_id] = order.id

    def _insert_order(self, order: Order, derived: Derived) -> None:
        versions = (SPEC_VERSIONS["order"],) * len(order.history)
        self._orders[order.id] = _Entry(1, order, versions)
        self._outbox.write(derived, self._clock())

    def _order_state(self, order_id: str) -> object:
        """Under the lock: the state of an order (``None`` if unknown), for the outbox's holds."""
        entry = self._orders.get(order_id)
        return None if entry is None else entry.record.state

    def _refuse_duplicate(self, event_id: str | None) -> None:
        if event_id is not None and event_id in self._events:
            raise DuplicateEvent(event_id, self._events[event_id])

    def get_order(self, order_id: str) -> Order:
        """The order as last committed, as an independent copy."""
        order_id = require_id(order_id, "order_id")
        with self._lock:
            return self._order_entry(order_id).record.copy()

    def _order_entry(self, order_id: str) -> _Entry[Order]:
        entry = self._orders.get(order_id)
        if entry is None:
            raise UnknownOrder(order_id)
        return entry

    def update_order(
        self, order_id: str, change: Callable[[Order], T], *, event_id: str | None = None
    ) -> T:
        """Run ``change`` on a copy and commit it; see :meth:`Store.update_order`."""
        order_id = require_id(order_id, "order_id")
        event_id = require_optional_id(event_id, "event_id")
        with self._lock:
            self._refuse_duplicate(event_id)
            entry = self._order_entry(order_id)
        work = entry.record.copy()
        result = change(work)
        appended = new_steps(ORDER_SPEC, entry.record, work)
        if event_id is None and work == entry.record:
            return result
        derived = self._derive(entry.record, work)
        with self._lock:
            self._refuse_duplicate(event_id)
            if self._orders[order_id].version != entry.version:
                raise StaleOrder(order_id, entry.version)
            versions = entry.spec_versions + (SPEC_VERSIONS["order"],) * len(appended)
            # A copy: ``change`` may have kept a reference to the order it was given.
            self._orders[order_id] = _Entry(entry.version + 1, work.copy(), versions)
            self._outbox.write(derived, self._clock())
            if event_id is not None:
                self._events[event_id] = order_id
        return result

    # --- batches ----------------------------------------------------------------------------

    def read_orders(self, order_ids: Iterable[str]) -> dict[str, tuple[int, Order]]:
        """The stored orders among ``order_ids``; see :meth:`Store.read_orders`."""
        wanted = require_ids(order_ids, "order_ids")
        with self._lock:
            found = {key: self._orders[key] for key in wanted if key in self._orders}
        return {key: (entry.version, entry.record.copy()) for key, entry in found.items()}

    def events_applied(self, event_ids: Iterable[str]) -> dict[str, str]:
        """Which of ``event_ids`` were applied; see :meth:`Store.events_applied`."""
        wanted = require_ids(event_ids, "event_ids")
        with self._lock:
            return {key: self._events[key] for key in wanted if key in self._events}

    def commit_changes(
        self, changes: Sequence[OrderChange], keep: Sequence[DeliveryToKeep] = ()
    ) -> list[ChangeResult]:
        """Commit a batch of changes; see :meth:`Store.commit_changes`."""
        checked = checked_changes(changes)
        keeps = checked_keeps(keep)
        cap = check_cap(self.max_kept_bytes)
        results: list[ChangeResult] = []
        failed: set[str] = set()
        derived = [
            Derived() if refused else self._derive(change.base, change.order)
            for change, refused in checked
        ]
        with self._lock:
            for (change, refusal), actions in zip(checked, derived, strict=True):
                result = refusal or self._commit_change(change, failed, actions)
                if not result.committed:
                    failed.add(change.order_id)
                results.append(result)
            if not failed:
                for delivery in keeps:
                    self._keep(delivery, cap)
        return results

    def _commit_change(
        self, change: OrderChange, failed: set[str], derived: Derived
    ) -> ChangeResult:
        """Under the lock: write one change, or say why not."""
        order = change.order
        if order.id in failed:
            return earlier_failed(order.id)
        if change.event_id is not None and change.event_id in self._events:
            reason = f"event {change.event_id!r} was applied meanwhile"
            return ChangeResult(ChangeOutcome.LOST, reason)
        entry = self._orders.get(order.id)
        if change.base is None:
            if entry is not None:
                return ChangeResult(ChangeOutcome.LOST, f"order {order.id!r} was stored meanwhile")
            self._insert_order(order.copy(), derived)
        else:
            if entry is None or entry.version != change.version:
                reason = f"order {order.id!r} changed after version {change.version} was read"
                return ChangeResult(ChangeOutcome.LOST, reason)
            appended = len(order.history) - len(change.base.history)
            versions = entry.spec_versions + (SPEC_VERSIONS["order"],) * appended
            self._orders[order.id] = _Entry(entry.version + 1, order.copy(), versions)
            self._outbox.write(derived, self._clock())
        if change.event_id is not None:
            self._events[change.event_id] = order.id
        return COMMITTED

    def order_ids(self) -> list[str]:
        """Every stored order's id, sorted."""
        with self._lock:
            return sorted(self._orders)

    def applied_event_ids(self, order_id: str) -> frozenset[str]:
        """The webhook event ids applied to the order."""
        order_id = require_id(order_id, "order_id")
        with self._lock:
            self._order_entry(order_id)
            return frozenset(e for e, o in self._events.items() if o == order_id)

    def order_of_event(self, event_id: str) -> str | None:
        """The id of the order a webhook event was applied to; ``None`` if it never was."""
        event_id = require_id(event_id, "event_id")
        with self._lock:
            return self._events.get(event_id)

    # --- deliveries -------------------------------------------------------------------------

    def keep_delivery(  # noqa: PLR0913 (see Store.keep_delivery)
        self,
        raw: bytes | bytearray,
        reason: str,
        *,
        event_id: str | None = None,
        order_id: str | None = None,
        at: datetime | None = None,
        summary: bool = False,
    ) -> KeptDelivery | None:
        """Keep a delivery for an operator; see :meth:`Store.keep_delivery`."""
        cap = check_cap(self.max_kept_bytes)
        checked = check_keep(raw, reason, event_id, order_id, at, summary=summary)
        with self._lock:
            return self._keep(checked, cap)

    def _keep(self, delivery: CheckedKeep, cap: int) -> KeptDelivery | None:
        """Under the lock: keep a checked delivery, or count it (redelivered, past the cap)."""
        same = self._by_digest.setdefault(delivery.sha256, [])
        before = kept_before(same, summary=len(delivery.raw) < delivery.size)
        if before is not None:
            self._redelivered += 1
            return before
        if self._kept_bytes + delivery.cost > cap:
            self._not_kept += 1
            return None
        self._kept_bytes += delivery.cost
        kept = KeptDelivery(
            len(self._deliveries) + 1,
            delivery.raw,
            delivery.reason,
            delivery.at,
            delivery.event_id,
            delivery.order_id,
            delivery.size,
            delivery.sha256,
        )
        self._deliveries.append(kept)
        same.append(kept)
        return kept

    def kept_deliveries(self) -> list[KeptDelivery]:
        """Every kept delivery, oldest first."""
        with self._lock:
            return list(self._deliveries)

    def kept_bytes(self) -> int:
        """What the kept deliveries are charged, in all."""
        with self._lock:
            return self._kept_bytes

    def deliveries_not_kept(self) -> int:
        """How many deliveries were counted but not kept, the cap being reached."""
        with self._lock:
            return self._not_kept

    def redeliveries_not_kept(self) -> int:
        """How many deliveries were not kept because they were kept already (redelivered)."""
        with self._lock:
            return self._redelivered

    # --- the inbox ----------------------------------------------------------------------------

    def _accept_deliveries(
        self, rows: Sequence[Incoming], keeps: Sequence[CheckedKeep], cap: int
    ) -> list[int | None]:
        with self._lock:
            for delivery in keeps:
                self._keep(delivery, cap)
            return self._inbox.accept(rows)

    def _claim_deliveries(self, limit: int, now: datetime, only: list[int] | None) -> Claim:
        with self._lock:
            orders, loose = self._inbox.candidates(limit, now, only, self._claimed.free)
            token = self._claimed.hold(orders)
            mine = self._claimed.held(token)
            rows = self._inbox.open_rows(mine, loose)
            known = {
                o: (self._orders[o].version, self._orders[o].record.copy())
                for o in mine
                if o in self._orders
            }
            applied = {
                r.event_id: self._events[r.event_id] for r in rows if r.event_id in self._events
            }
        return Claim(token, mine, tuple(rows), known, applied)

    def _settle_deliveries(
        self, groups: list[tuple[SettledGroup, GroupResult | None]]
    ) -> list[GroupResult]:
        results = []
        # Derived before the lock is taken: the shop's classifier may run.
        derived, delivered = self._derive_groups(groups)
        with self._lock:
            for group, refusal in groups:
                problem = refusal or self._lost(group)
                if problem is None:
                    for change in group.changes:
                        self._commit_change(change, set(), derived[id(change)])
                    self._outbox.write(delivered[id(group)], self._clock())
                    self._inbox.settle(group.settlements)
                results.append(problem or GROUP_COMMITTED)
        return results

    def _lost(self, group: SettledGroup) -> GroupResult | None:
        """Under the lock: why ``group`` cannot be written whole now; ``None`` if it can."""
        reason = self._inbox.unsettled(group.settlements)
        if reason is None and group.changes:
            first = group.changes[0]
            entry = self._orders.get(first.order_id)
            if (0 if entry is None else entry.version) != first.version:
                reason = f"order {first.order_id!r} changed after version {first.version} was read"
            event_ids = [c.event_id for c in group.changes if c.event_id is not None]
            if len(set(event_ids)) != len(event_ids) or any(e in self._events for e in event_ids):
                reason = f"an event of order {first.order_id!r} was applied meanwhile"
        return None if reason is None else GroupResult(ChangeOutcome.LOST, reason)

    def _release_claim(self, claim: Claim) -> None:
        self._claimed.release(claim.token)

    def _page_deliveries(
        self, where: DeliveryFilter, after: int | None, limit: int, *, total: bool
    ) -> Page[StoredDelivery]:
        with self._lock:
            rows = [row for row in self._inbox.rows.values() if where(row)]  # by seq
        start = 0 if after is None else bisect.bisect_right(rows, after, key=_seq)
        return page_of(rows, start, limit, _seq, total=total)

    def _get_delivery(self, seq: int) -> StoredDelivery:
        with self._lock:
            return self._inbox.get(seq)

    def _refeed_deliveries(self, seqs: list[int]) -> list[int]:
        with self._lock:
            found = [self._inbox.rows[seq] for seq in seqs if seq in self._inbox.rows]
            for row in found:
                reason = refed(row.status.value, row.reason)
                self._inbox.replace(
                    attrs.evolve(
                        row, status=DeliveryStatus.PENDING, reason=reason, attempts=0, due_at=None
                    )
                )
        return [row.seq for row in found]

    def _dismiss_delivery(self, seq: int) -> StoredDelivery:
        with self._lock:
            row = dismissible(self._inbox.get(seq))
            reason = f"dismissed by an operator (it was {row.status.value}: {row.reason})"
            return self._inbox.replace(
                attrs.evolve(row, status=DeliveryStatus.DISMISSED, reason=reason, due_at=None)
            )

    def _delivery_counts(self) -> dict[DeliveryStatus, int]:
        with self._lock:
            counts: dict[DeliveryStatus, int] = {}
            for row in self._inbox.rows.values():
                counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    def _backlog(self) -> Backlog:
        with self._lock:
            rows = self._inbox.rows
            deliveries = {
                status: Waiting(len(seqs), rows[min(seqs)].received_at)
                for status, seqs in (
                    (DeliveryStatus.PENDING, self._inbox.pending),
                    (DeliveryStatus.WAITING, self._inbox.waiting),
                )
                if seqs
            }
            actions: dict[ActionState, Waiting] = {}
            for action in self._outbox.actions.values():
                if action.state in BACKLOG_ACTIONS:
                    was = actions.get(action.state, Waiting())
                    oldest = min(filter(None, (was.oldest, action.created_at)))
                    actions[action.state] = Waiting(was.count + 1, oldest)
        return Backlog(deliveries, actions)

    # --- checkouts --------------------------------------------------------------------------

    def checkout_ids(self) -> list[str]:
        """Every stored checkout's id, sorted."""
        with self._lock:
            return sorted(self._checkouts)

    def _load_checkout(self, checkout_id: str) -> tuple[int, Checkout] | None:
        with self._lock:
            entry = self._checkouts.get(checkout_id)
        return None if entry is None else (entry.version, entry.record)

    def _write_checkout(
        self, version: int, stored: Checkout, work: Checkout, order: Order | None
    ) -> bool:
        """Commit where the checkout is still at ``version`` (0: not stored); whether it was."""
        del stored  # the entry at ``version`` says what is stored (the same)
        derived = None if order is None else self._derive(None, order)
        with self._lock:
            current = self._checkouts.get(work.id)
            if (0 if current is None else current.version) != version:
                return False
            known = () if current is None else current.spec_versions
            appended = len(work.history) - len(known)
            versions = known + (SPEC_VERSIONS["checkout"],) * appended
            self._checkouts[work.id] = _Entry(version + 1, work.copy(), versions)
            if order is not None and derived is not None and order.id not in self._orders:
                self._insert_order(order.copy(), derived)
            return True

    # --- the outbox ---------------------------------------------------------------------------

    def _claim_actions(
        self, kinds: tuple[Any, ...] | None, limit: int, lease: timedelta, max_tries: int
    ) -> list[StoredAction]:
        with self._lock:
            return self._outbox.claim(kinds, limit, lease, max_tries, self._clock())

    def _extend_leases(
        self, claims: list[tuple[str, int]], lease: timedelta
    ) -> dict[str, StoredAction]:
        with self._lock:
            return self._outbox.extend(claims, lease, self._clock())

    def _finish_actions(self, outcomes: list[Outcome], max_tries: int) -> dict[str, StoredAction]:
        with self._lock:
            return self._outbox.finish(outcomes, max_tries, self._clock())

    def _retry_action(self, key: str) -> StoredAction:
        with self._lock:
            return self._outbox.retry(key)

    def _prune_actions(self, done_before: datetime) -> int:
        with self._lock:
            return self._outbox.prune(done_before)

    def _get_action(self, key: str) -> StoredAction:
        with self._lock:
            return self._outbox.get(key)

    def _page_actions(
        self, where: ActionFilter, after: str | None, limit: int, *, total: bool
    ) -> Page[StoredAction]:
        with self._lock:
            found = self._outbox.listed(where)
            start = 0
            if after is not None:
                last = self._outbox.actions.get(after)
                if last is None:
                    raise UnknownAction(after)
                start = bisect.bisect_right(found, (last.created_at, after), key=_oldest)
            page = page_of(found, start, limit, _key, total=total)
            return attrs.evolve(page, items=tuple(self._outbox.seen(a) for a in page.items))

    # --- an operator's view --------------------------------------------------------------------

    def _page_orders(
        self, where: OrderFilter, after: str | None, limit: int, *, total: bool
    ) -> Page[OrderSummary]:
        with self._lock:
            ids = sorted(
                key
                for key, entry in self._orders.items()
                if where.states is None or entry.record.state in where.states
            )
            start = 0 if after is None else bisect.bisect_right(ids, after)
            page = page_of(ids, start, limit, str, total=total)
            summaries = tuple(_summary(self._orders[key]) for key in page.items)
        return Page(summaries, page.total, page.next_after)

    def _overview(self, *, open_only: bool) -> Overview:
        with self._lock:
            orders = Counter(() if open_only else (e.record.state for e in self._orders.values()))
            deliveries = _tallies(
                (row.status, row.received_at)
                for row in self._inbox.rows.values()
                if not open_only or row.status in OPEN_STATUSES
            )
            actions = _tallies(
                (a.state, a.created_at)
                for a in self._outbox.actions.values()
                if not open_only or a.state in BACKLOG_STATES
            )
        return Overview(dict(orders), deliveries, actions)

    def _ping(self, timeout: float) -> int | None:
        if not self._lock.acquire(timeout=timeout):
            raise StoreUnavailable(
                f"the memory store was busy: another call held it for more than {timeout:g} s."
            )
        self._lock.release()
        return SCHEMA_VERSION

    # --- checking -----------------------------------------------------------------------------

    def _stored_histories(self) -> Iterator[StoredHistory]:
        with self._lock:
            orders = [("order", self._orders[key]) for key in sorted(self._orders)]
            checkouts = [("checkout", self._checkouts[key]) for key in sorted(self._checkouts)]
        for kind, entry in orders + checkouts:
            record = entry.record
            steps = tuple(encode(step) for step in record.history)
            yield StoredHistory(
                kind, record.id, str(record.state), steps, tuple(dict.fromkeys(entry.spec_versions))
            )


def _seq(row: StoredDelivery) -> int:
    return row.seq


def _key(action: StoredAction) -> str:
    return action.key


def _oldest(action: StoredAction) -> tuple[datetime, str]:
    return action.created_at, action.key


def _summary(entry: _Entry[Order]) -> OrderSummary:
    order = entry.record
    fraud = None if order.fraud_state is None else str(order.fraud_state)
    return OrderSummary(order.id, order.state, fraud, order.checkout_id, entry.version)


def _tallies(rows: Iterable[tuple[K, datetime]]) -> dict[K, Tally]:
    """How many rows of each status, and the oldest moment of each."""
    counts: Counter[K] = Counter()
    oldest: dict[K, datetime] = {}
    for status, moment in rows:
        counts[status] += 1
        if status not in oldest or moment < oldest[status]:
            oldest[status] = moment
    return {status: Tally(count, oldest[status]) for status, count in counts.items()}

"""Reconcilers: stored deliveries claimed by order, applied in time order, settled at once.

A :class:`Reconciler` claims some orders' open deliveries from a store's inbox (no two
claims hold one order, across threads and processes), reads them whole (the one read of
the claim: deliveries, orders, applied event ids), decides in Python with no transaction
open, and writes each order's changes (orders, history, event ids, actions) with its
deliveries' statuses in one transaction; then releases the claim. So an order has one
writer at a time, and a batch takes two transactions.

How one order's deliveries are decided: each is parsed (:func:`parse_event`); a
malformed one is ``invalid`` (poison: it never holds up the others), an unknown type
``unknown``, unless the store's outbox takes it (:meth:`InboxStore.delivers`: the shop
subscribed to it, or it settles an action): then it is ``applied`` once its order is known,
its event id recorded, and it is handed to the store with the order's changes
(:attr:`SettledGroup.delivered`), as is a delivery of a type the table models that the
outbox takes; the rest are applied in the provider's ``createdTime`` order (then as
stored), each by :func:`apply_event` on the order as the ones before left it, and come
out ``applied``, ``duplicate`` or ``stale``. One that cannot apply yet (its order not
known, an earlier event missing: an :class:`EventConflict`) is tried again after the rest
while they apply something, and then ``waiting``: tried again when a newer delivery of
its order arrives, and after a backoff (1 s, doubling, up to an hour). An order never
seen within ``order_wait`` is fetched by the ``fetch_order`` hook when there is one (its
``GET /orders`` body, applied as :func:`reconcile` applies a fetched snapshot); else its
deliveries are ``unknown_order``, listed for an operator. A change the store refuses
makes its delivery ``invalid`` and the order is decided again without it; an order
another writer changed first is left to the next claim (after a random pause), never
raised. A reconciler killed at any point loses nothing: a claim is no write, and each
order's write is one transaction.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any, Protocol

import attrs

from order_lifecycle import _telemetry
from order_lifecycle._json import stamp
from order_lifecycle.exceptions import (
    EventConflict,
    InvalidEvent,
    InvalidInput,
    InvalidProviderData,
    OrderLifecycleError,
    WrongType,
)
from order_lifecycle.lifecycle import Step
from order_lifecycle.models import Order
from order_lifecycle.provider import Keys, parse_order, typed_keys

from ._events import KNOWN_EVENT_TYPES, Event, OtherObject, read_event
from ._inbox_store import (
    Claim,
    Delivered,
    DeliveryStatus,
    InboxStore,
    SettledGroup,
    Settlement,
    StoredDelivery,
)
from ._observe import BatchSpan, report_settled
from ._paths import related
from ._reconcile import EventOutcome, already_applied, applied_to_copy, apply_event, reconcile
from ._webhook_store import ChangeOutcome, OrderChange

__all__ = [
    "ATTEMPTS",
    "CLAIMED_ORDERS",
    "FetchOrder",
    "Outcome",
    "Reconciler",
    "ReconcilerCounts",
    "paused_gc",
    "waiting_backoff",
]

LOG = logging.getLogger("order_lifecycle.webhooks")

ATTEMPTS = 50
"""Rounds an inline settlement goes through (lost races, orders another claim holds)."""


class FetchOrder(Protocol):
    """A shop's hook: the provider's ``GET /orders/{id}`` body for an order id, ``None`` if none."""

    def __call__(self, order_id: str, /) -> bytes | str | None: ...


_STATUS = {
    EventOutcome.APPLIED: DeliveryStatus.APPLIED,
    EventOutcome.DUPLICATE: DeliveryStatus.DUPLICATE,
    EventOutcome.STALE: DeliveryStatus.STALE,
    EventOutcome.UNKNOWN: DeliveryStatus.UNKNOWN,
}
_FIRST_WAIT = timedelta(seconds=1)
_LONGEST_WAIT = timedelta(hours=1)
_MAX_BATCH = 10_000
CLAIMED_ORDERS = 300
"""The orders a reconciler claims at a time, by default (:attr:`Reconciler.batch`).

Measured (``benchmarks/bench_scale.py --reconciler --orders N``): a claim's own reads and
commit cost as much for 100 orders as for 300, so 100 a claim spent 5% to 15% more CPU a
delivery; past 300 nothing more is saved, and a claim holds its orders longer."""
_MAX_IDLE = 3600


_DELIVERED = frozenset({DeliveryStatus.APPLIED, DeliveryStatus.STALE})
"""The statuses of a modelled delivery the store's outbox takes, when it takes its type."""
_COUNTED = frozenset({DeliveryStatus.WAITING, DeliveryStatus.UNKNOWN_ORDER})
"""The statuses that count a try (the rest leave a delivery's attempts as they were)."""


def _unmodelled(event: Event) -> bool:
    """Whether the order table does not model the event (its type, or its object)."""
    return not event.known or isinstance(event.data, OtherObject)


def waiting_backoff(attempts: int) -> timedelta:
    """How long a delivery waits after its ``attempts``-th try: 1 s, doubling, up to an hour."""
    doubled: timedelta = _FIRST_WAIT * 2 ** min(max(attempts - 1, 0), 20)
    return min(_LONGEST_WAIT, doubled)


_PAUSING = threading.Lock()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a batch runs, if it was on; on again after.

    Why: a batch's parsed events and orders live until its write, so every young
    collection moves them to the oldest generation, which then counts as grown by that
    much and is collected whole again and again: each full collection walks every object
    the process holds (stored orders, cached ones), so reconciling slowed as the store
    grew. Reference counting frees a batch's objects when it ends; collections resume
    then and see only what truly survived. Only the batch that turned the collector off
    turns it on, at its end, even while another thread's batch still runs: a pause never
    lasts longer than one batch, however many threads reconcile at once.
    """
    with _PAUSING:
        owner = gc.isenabled()
        if owner:
            gc.disable()
    try:
        yield
    finally:
        if owner:
            gc.enable()


@attrs.frozen
class Outcome:
    """What a reconciler made of one delivery: its status, why, and the steps it added."""

    status: DeliveryStatus
    reason: str
    steps: tuple[Step[Any, Any], ...] = ()


@attrs.define
class ReconcilerCounts:
    """What a reconciler did since it started: deliveries settled by status, races lost."""

    settled: dict[str, int] = attrs.Factory(dict)
    lost: int = 0
    """Orders another writer changed first (left to the next claim)."""
    errors: int = 0
    """Batches the store failed (retried after ``idle``)."""


_Pair = tuple[Event | Keys, StoredDelivery]
"""A delivery to apply: its event, or its keys only (parsed when they do not decide it)."""


@attrs.define
class _Work:
    """One order as its deliveries are applied in turn, and the changes they made."""

    order_id: str | None
    order: Order | None
    version: int
    claimed: Mapping[str, str]
    """The applied event ids the claim read (shared by its orders: read, never written)."""
    outbox: dict[str, bool]
    """Whether the store's outbox takes each event type, asked once a claim (shared)."""
    applied: dict[str, str] = attrs.Factory(dict)
    """The event ids this order's changes apply, as they are decided."""
    parsed: dict[int, Event] = attrs.Factory(dict)
    """The deliveries read by their keys and then parsed, by seq."""
    changes: list[OrderChange] = attrs.Factory(list)
    by: list[int] = attrs.Factory(list)
    """The seq of the delivery that made each change (``0``: the fetched order)."""
    delivered: list[Delivered] = attrs.Factory(list)
    """The deliveries handed to the store's outbox (``InboxStore.delivers``)."""


@attrs.frozen
class _Decided:
    """One order decided: what to write, and what each of its deliveries came to."""

    group: SettledGroup
    outcomes: dict[int, Outcome]
    by: list[int]


def _store(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, InboxStore):
        raise WrongType("Reconciler.store", "a Store", value)


def _batch(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_BATCH:
        raise WrongType("Reconciler.batch", f"an int from 1 to {_MAX_BATCH:,}", value)


def _wait(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise WrongType("Reconciler.order_wait", "a timedelta of 0 or more", value)


def _idle(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= _MAX_IDLE:
        raise WrongType("Reconciler.idle", f"a number of seconds above 0, up to {_MAX_IDLE}", value)


def _callable(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        raise WrongType(f"Reconciler.{attribute.name}", "a callable", value)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _keys(row: StoredDelivery) -> Keys | None:
    """The row's keys if its body is plainly an order or charge event of its order and id."""
    keys = typed_keys(row.body)
    if (
        keys is None
        or keys.type not in KNOWN_EVENT_TYPES
        or keys.id != row.event_id
        or keys.order_id != row.order_id
    ):
        return None
    return keys


def _stale(order: Order | None, keys: Keys) -> str | None:
    """Why the delivery is stale, by its keys, as :func:`apply_event` would say; else ``None``.

    Only where ``apply_event`` would answer stale with the order as it is: an order
    snapshot older than the order's, of a state that can lead to it or follow it; a charge
    snapshot older than its charge's. Anything else is left to the full parse; so is an
    event id the order holds already (the caller asks that, before).
    """
    if order is None or order.id != keys.order_id:
        return None
    mark = (keys.created_time, keys.id)
    if keys.state is not None:
        held = order.as_of
        if (
            held is not None
            and mark < (held.at, held.event_id)
            and related(keys.state, order.state)
        ):
            return f"older than the snapshot the order holds ({held})"
        return None
    local = next((c for c in order.charges if c.id == keys.charge_id), None)
    if (
        local is not None
        and local.as_of is not None
        and (local.as_of.at, local.as_of.event_id) > mark
    ):
        return f"charge {keys.charge_id!r} holds a newer snapshot ({local.as_of})"
    return None


def _checked_orders(orders: object) -> dict[int, str | None]:
    """``orders`` if it maps delivery numbers (ints from 1) to order ids (or ``None``)."""
    if not isinstance(orders, Mapping) or not all(
        type(seq) is int and seq >= 1 and (order is None or isinstance(order, str))
        for seq, order in orders.items()
    ):
        raise WrongType("orders", "a mapping of delivery numbers to order ids", orders)
    return dict(orders)


@attrs.define(repr=False)
class Reconciler:
    """Reconciles the deliveries stored in ``store``'s inbox, ``batch`` orders at a time.

    ``fetch_order`` (optional) is the shop's ``GET /orders/{id}``: called with an order id
    that no delivery made known within ``order_wait`` (15 minutes) of a delivery waiting
    for it, it returns the provider's body (applied as a fetched snapshot) or ``None``
    (no such order: the deliveries become ``unknown_order``); if it raises, they wait and
    it is called again after the backoff. ``clock`` (the wall clock) says when deliveries
    are due. Give each reconciler thread or process its own store (its own connection).

    Raises (at construction):
        WrongType: a store without an inbox, a batch not from 1 to 10,000, a negative
            ``order_wait``, an ``idle`` not above 0, a hook or clock that is not callable.

    """

    store: InboxStore = attrs.field(validator=_store)
    batch: int = attrs.field(default=CLAIMED_ORDERS, validator=_batch, kw_only=True)
    fetch_order: FetchOrder | None = attrs.field(default=None, validator=_callable, kw_only=True)
    order_wait: timedelta = attrs.field(
        default=timedelta(minutes=15), validator=_wait, kw_only=True
    )
    clock: Callable[[], datetime] = attrs.field(default=_utc_now, validator=_callable, kw_only=True)
    idle: float = attrs.field(default=1.0, validator=_idle, kw_only=True)
    counts: ReconcilerCounts = attrs.field(init=False, factory=ReconcilerCounts)
    _stopping: threading.Event = attrs.field(init=False, factory=threading.Event)

    def __repr__(self) -> str:
        return f"<Reconciler(batch={self.batch}, {self.counts})>"

    # --- running -------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch of due orders and settle their deliveries; how many were settled.

        Raises:
            StoreError: the store failed (nothing of the batch's failed writes committed).

        """
        return len(self._claimed(self.batch)[0])

    def settle(self, orders: Mapping[int, str | None]) -> dict[int, Outcome]:
        """Settle the deliveries ``orders`` names (seq: order id), now; what each came to.

        The inline mode: their orders are claimed (with every open delivery of theirs)
        and settled, again after a lost race, until each is settled or ``ATTEMPTS``
        rounds passed (another reconciler holding an order all along). A delivery settled
        by another reconciler meanwhile, or not settled in time, is left out.

        Raises:
            WrongType: ``orders`` is not a mapping of delivery numbers to order ids.
            StoreError: the store failed.

        """
        found: dict[int, Outcome] = {}
        todo = _checked_orders(orders)
        for attempt in range(ATTEMPTS):
            # A delivery naming no order is a claim's group of its own.
            groups = len({o for o in todo.values() if o is not None})
            groups += sum(o is None for o in todo.values())
            outcomes, claimed, present = self._claimed(min(_MAX_BATCH, max(1, groups)), list(todo))
            found.update((seq, outcomes[seq]) for seq in todo if seq in outcomes)
            held = set(claimed)
            # Settled: by this claim; or gone from its claimed order's open rows (settled
            # by another reconciler); a delivery naming no order, when the claim had room
            # for every one: no longer open.
            whole = groups <= _MAX_BATCH
            todo = {
                seq: order
                for seq, order in todo.items()
                if seq not in found
                and not (order in held and seq not in present)
                and not (order is None and whole and seq not in present)
            }
            if not todo:
                break
            # Not cryptographic: jitter so that racing reconcilers do not collide again.
            time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))  # noqa: S311
        return found

    def _claimed(
        self, limit: int, only: list[int] | None = None
    ) -> tuple[dict[int, Outcome], tuple[str, ...], set[int]]:
        """One claim settled: what each delivery came to, the orders held, the seqs claimed.

        The claim is dropped before the collector runs again: its orders (the store's
        copies) would otherwise be walked by the next young collection, every step of
        their histories, and kept a generation longer.
        """
        with paused_gc(), BatchSpan.around() as batch:
            claim = self.store.claim_deliveries(limit=limit, now=self._now(), only=only)
            batch.claimed(claim)
            try:
                outcomes, _ = self._reconcile(claim)
            finally:
                self.store.release_claim(claim)
            held, present = claim.orders, {row.seq for row in claim.deliveries}
            del claim
        return outcomes, held, present

    def stop(self) -> None:
        """Ask :meth:`run_forever` to return after the batch it is running."""
        self._stopping.set()

    def run_forever(self, *, install_signals: bool = True) -> ReconcilerCounts:
        """Run batches until :meth:`stop` (or SIGTERM, SIGINT); sleep ``idle`` when none is due.

        In the main thread, SIGTERM and SIGINT stop it gracefully (the running batch is
        written first); the previous handlers come back when it returns. A store that
        fails is tried again after ``idle``.
        """
        previous: dict[signal.Signals, Any] = {}
        if install_signals and threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                previous[number] = signal.signal(number, self._on_signal)
        outage = _telemetry.Outage(LOG, "reconcile")
        try:
            while not self._stopping.is_set():
                try:
                    settled = self.run_once()
                except OrderLifecycleError as error:
                    self.counts.errors += 1
                    outage.failed(error, str(error))
                    settled = 0
                else:
                    outage.ok()
                if not settled:
                    self._stopping.wait(self.idle)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            self._stopping.clear()
        return self.counts

    def start(self) -> threading.Thread:
        """Run :meth:`run_forever` in a daemon thread (a web app's); :meth:`stop` ends it."""
        thread = threading.Thread(
            target=self.run_forever,
            kwargs={"install_signals": False},
            name="order-lifecycle reconciler",
            daemon=True,
        )
        thread.start()
        return thread

    def _on_signal(self, number: int, frame: FrameType | None) -> None:  # noqa: ARG002
        self.stop()

    def _now(self) -> datetime:
        now = self.clock()
        if not isinstance(now, datetime) or now.tzinfo is None:
            raise WrongType("Reconciler.clock()", "an aware datetime", now)
        return now

    # --- one claim -----------------------------------------------------------------------------

    def _reconcile(self, claim: Claim) -> tuple[dict[int, Outcome], set[str | None]]:
        """Decide and write the claim's orders; what each delivery came to, and the orders lost."""
        now = self._now()
        refused: dict[int, str] = {}
        by_order: dict[str | None, list[StoredDelivery]] = {}
        for row in claim.deliveries:
            by_order.setdefault(row.order_id, []).append(row)
        todo = list(by_order)
        settled: dict[int, Outcome] = {}
        lost: set[str | None] = set()
        outbox: dict[str, bool] = {}
        while todo:
            decided = [
                self._decide(order, by_order[order], claim, refused, now, outbox) for order in todo
            ]
            with _telemetry.span("order_lifecycle.commit"):
                results = self.store.settle_deliveries([d.group for d in decided])
            todo = []
            for done, result in zip(decided, results, strict=True):
                order_id = done.group.order_id
                if result.committed:
                    settled.update(done.outcomes)
                elif result.outcome is ChangeOutcome.REFUSED and result.change is not None:
                    seq = done.by[result.change]
                    if seq == 0:  # the fetched order itself: its deliveries wait on
                        refused[-1] = result.reason
                    else:
                        refused[seq] = result.reason
                    todo.append(order_id)
                else:
                    lost.add(order_id)
        self._count(claim, settled, lost)
        return settled, lost

    def _count(self, claim: Claim, settled: Mapping[int, Outcome], lost: set[str | None]) -> None:
        for key, count in report_settled(claim, settled, len(lost)).items():
            self.counts.settled[key] = self.counts.settled.get(key, 0) + count
        self.counts.lost += len(lost)

    def _decide(  # noqa: PLR0913, PLR0917 (the order, its rows, the claim's shared state)
        self,
        order_id: str | None,
        rows: list[StoredDelivery],
        claim: Claim,
        refused: dict[int, str],
        now: datetime,
        outbox: dict[str, bool],
    ) -> _Decided:
        """One order's deliveries decided against the order as claimed."""
        version, order = claim.known.get(order_id or "", (0, None))
        work = _Work(order_id, order, version, claim.applied, outbox)
        outcomes: dict[int, Outcome] = {}
        events: list[_Pair] = []
        for row in rows:
            # Its keys first: a stale or duplicate delivery is told by them, unparsed.
            keys = None if row.seq in refused else _keys(row)
            read = keys or self._read(row, refused)
            if isinstance(read, Outcome):
                outcomes[row.seq] = read
            else:
                events.append((read, row))
        # In the provider's time order, then as stored: sorted by (time, seq) tuples, with
        # no key function called per delivery (the seqs differ, so the pairs are never
        # compared).
        if len(events) > 1:
            events = [
                pair for _, _, pair in sorted([(p[0].created_time, p[1].seq, p) for p in events])
            ]
        waiting = self._apply_all(work, events, outcomes)
        if waiting and work.order is None and order_id is not None:
            overdue = [pair for pair in waiting if now - pair[1].received_at >= self.order_wait]
            if overdue:
                waiting = self._fetched(work, waiting, overdue, outcomes, refused, now)
        settlements = tuple([self._settlement(row, outcomes[row.seq], now) for row in rows])
        group = SettledGroup(order_id, tuple(work.changes), settlements, tuple(work.delivered))
        return _Decided(group, outcomes, work.by)

    def _read(
        self, row: StoredDelivery, refused: dict[int, str], keys: Keys | None = None
    ) -> Event | Outcome:
        """The delivery's event; or its outcome when it ends unread (poison, unknown).

        ``keys``: the row's, read already (its decoded body is read, not decoded again).
        """
        if row.seq in refused:
            return Outcome(DeliveryStatus.INVALID, f"refused while reconciling: {refused[row.seq]}")
        try:
            event = read_event(row.body, keys)
        except InvalidEvent as error:
            return Outcome(DeliveryStatus.INVALID, str(error))
        if _unmodelled(event) and not (event.order_id and self.store.delivers(event.type)):
            return Outcome(DeliveryStatus.UNKNOWN, apply_event(None, event).reason)
        if event.id != row.event_id or event.order_id != row.order_id:
            return Outcome(
                DeliveryStatus.INVALID,
                f"its body is event {event.id!r} of order {event.order_id!r}, but it was "
                f"stored as {row.event_id!r} of order {row.order_id!r}",
            )
        return event

    def _apply_all(
        self,
        work: _Work,
        events: list[_Pair],
        outcomes: dict[int, Outcome],
    ) -> list[_Pair]:
        """Apply ``events`` in turn, then the waiting ones again while a round applies any."""
        waiting = events
        while waiting:
            tried = [(pair, self._apply(work, *pair)) for pair in waiting]
            outcomes.update((pair[1].seq, outcome) for pair, outcome in tried)
            still = [pair for pair, outcome in tried if outcome.status is DeliveryStatus.WAITING]
            if len(still) == len(waiting):
                break
            waiting = still
        return waiting

    def _apply(  # noqa: PLR0911 (one return per way a delivery ends)
        self, work: _Work, read: Event | Keys, row: StoredDelivery
    ) -> Outcome:
        """One event on the order as the deliveries before left it; its change noted.

        A delivery read by its keys only is told duplicate or stale by them, else parsed
        now (and invalid if its body is not an event).
        """
        order_id = work.order_id
        recorded = work.applied.get(read.id) or work.claimed.get(read.id)
        if recorded is not None and recorded != order_id:
            return Outcome(
                DeliveryStatus.INVALID,
                f"event {read.id!r} was recorded for order {recorded!r}, but this delivery "
                f"names order {order_id!r}",
            )
        if recorded is not None:
            reason = f"event {read.id!r} was applied to order {order_id!r} already"
            return Outcome(DeliveryStatus.DUPLICATE, reason)
        # Asked once: the working order is never changed (each change's order is a new
        # one), so the answer holds for the keys' stale check and for the apply below.
        fresh = work.order is None or not already_applied(work.order, read.id)
        if isinstance(read, Event):
            event = read
        else:  # stale by its keys, or parsed now
            found = self._unless_stale(work, read, row, fresh)
            if isinstance(found, Outcome):
                return found
            event = found
        if _unmodelled(event):
            return self._deliver(work, event, row)
        try:
            reconciled = applied_to_copy(work.order, event, unseen=fresh and event.id == read.id)
        except EventConflict as conflict:
            return Outcome(DeliveryStatus.WAITING, conflict.reason)
        except InvalidInput as error:
            return Outcome(DeliveryStatus.INVALID, f"refused while reconciling: {error}")
        if reconciled.order is not None:
            # ``work.order`` itself when nothing applied: no copy, nothing ever changes it.
            self._change(work, reconciled.order, event.id, row.seq)
        status = _STATUS[reconciled.outcome]
        if status in _DELIVERED and self._delivers(work, event.type):
            work.delivered.append(Delivered(event, row.body))
        return Outcome(status, reconciled.reason, reconciled.steps)

    def _deliver(self, work: _Work, event: Event, row: StoredDelivery) -> Outcome:
        """A type the table does not model, which the outbox takes: handed over, id recorded."""
        if work.order is None:
            reason = f"order {work.order_id!r} is not known yet: the outbox takes it once it is"
            return Outcome(DeliveryStatus.WAITING, reason)
        self._change(work, work.order, event.id, row.seq)  # the order as it is
        work.delivered.append(Delivered(event, row.body))
        reason = f"{event.type} of order {work.order_id!r}: handed to the store's outbox"
        return Outcome(DeliveryStatus.APPLIED, reason)

    def _unless_stale(
        self,
        work: _Work,
        keys: Keys,
        row: StoredDelivery,
        fresh: bool,  # noqa: FBT001 (whether the order holds no such event id)
    ) -> Event | Outcome:
        """Stale by its keys; else the delivery parsed (once: a waiting one is tried again)."""
        # A type the store's outbox takes is parsed: the outbox is handed the event.
        stale = None if not fresh or self._delivers(work, keys.type) else _stale(work.order, keys)
        if stale is not None and work.order is not None:
            # Recorded as a stale event is (its id applied, the order as it is).
            self._change(work, work.order, keys.id, row.seq)
            return Outcome(DeliveryStatus.STALE, stale)
        parsed = work.parsed.get(row.seq) or self._read(row, {}, keys)
        if isinstance(parsed, Event):
            work.parsed[row.seq] = parsed
        return parsed

    def _delivers(self, work: _Work, event_type: str) -> bool:
        """:meth:`InboxStore.delivers`, asked once a claim for each event type.

        The claim's write derives its actions by the one policy it reads, so asking once
        a claim answers as the write does; it saves three calls a delivery.
        """
        taken = work.outbox.get(event_type)
        if taken is None:
            taken = work.outbox[event_type] = self.store.delivers(event_type)
        return taken

    @staticmethod
    def _change(work: _Work, order: Order, event_id: str | None, seq: int) -> None:
        # The store checks each change (legal steps only, storable ids); a refusal comes
        # back as REFUSED, and its delivery is decided again as invalid. ``order`` may be
        # the working order itself (an event recorded, the order as it is): no order a
        # reconciler holds is ever changed (each change's order is a new one), and a
        # store keeps copies, never the orders it is given.
        work.changes.append(OrderChange(order, work.order, work.version, event_id))
        work.by.append(seq)
        work.order = order
        work.version += 1
        if event_id is not None:
            work.applied[event_id] = work.order_id or ""

    def _fetched(  # noqa: PLR0913, PLR0917 (the order, its waiting deliveries, what is decided)
        self,
        work: _Work,
        waiting: list[_Pair],
        overdue: list[_Pair],
        outcomes: dict[int, Outcome],
        refused: dict[int, str],
        now: datetime,
    ) -> list[_Pair]:
        """An order never seen: fetched by the hook and the waiting applied again, or given up."""
        order_id = work.order_id or ""
        found: Order | None = None
        why = f"order {order_id!r} was never seen within {self.order_wait}"
        if -1 in refused:
            why += f"; the order fetch_order gave was refused: {refused[-1]}"
        elif self.fetch_order is None:
            why += " (no fetch_order hook to look it up)"
        else:
            try:
                found = self._fetch(order_id, now)
            except Exception as error:  # noqa: BLE001 (the shop's hook: any failure waits)
                LOG.warning("reconciler: fetch_order(%r) failed: %s", order_id, error)
                reason = f"fetch_order({order_id!r}) failed, tried again later: {error}"
                outcomes.update(
                    (row.seq, Outcome(DeliveryStatus.WAITING, reason)) for _, row in waiting
                )
                return waiting
            if found is None:
                why += "; fetch_order found no such order"
        if found is not None:
            self._change(work, found, None, 0)
            return self._apply_all(work, waiting, outcomes)
        for _, row in overdue:
            outcomes[row.seq] = Outcome(DeliveryStatus.UNKNOWN_ORDER, why)
        return [pair for pair in waiting if pair not in overdue]

    def _fetch(self, order_id: str, now: datetime) -> Order | None:
        """The order ``fetch_order`` answers for ``order_id``, as a new order; ``None`` if none.

        Raises:
            Exception: the hook's, or its body's (not the provider's order, another order).

        """
        assert self.fetch_order is not None  # noqa: S101 (checked by the caller)
        body = self.fetch_order(order_id)
        if body is None:
            return None
        snapshot = parse_order(body)
        if snapshot.id != order_id:
            raise InvalidProviderData(f"fetch_order({order_id!r}) answered order {snapshot.id!r}")
        made = reconcile(None, snapshot, at=now).order
        if made is None:  # pragma: no cover (an order snapshot always makes its order)
            raise InvalidProviderData(f"fetch_order({order_id!r}) made no order")
        return made

    def _settlement(self, row: StoredDelivery, outcome: Outcome, now: datetime) -> Settlement:
        """The delivery's new status as written: a waiting one counts a try and is due later."""
        status = outcome.status
        attempts, due = row.attempts, None
        if status in _COUNTED:
            attempts += 1
            if status is DeliveryStatus.WAITING:
                due = stamp(now + waiting_backoff(attempts))
        # str(), not .value: a StrEnum's value, without enum's descriptor (two calls each).
        return Settlement(row.seq, str(row.status), str(status), outcome.reason, attempts, due)

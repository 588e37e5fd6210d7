"""One batch of parsed webhook events, reconciled in memory and committed at once.

The inbox reads what a batch needs in one read of each kind (the orders it names, which
of its event ids were applied), reconciles every event in delivery order against that
view (several events of one order apply in turn to the same in-memory order; an event id
seen earlier in the batch is a duplicate), and commits every change and every delivery to
keep in one call (:meth:`~order_lifecycle.store.Store.commit_changes`). The outcome is
the one handling the deliveries one at a time would give.

A change that loses a race with another writer (another app server committed the order,
or the event, first) committed nothing; its order's deliveries that did not commit are
read again and reconciled afresh, and committed in a next round, until every change
commits. So a race never reaches the caller: a redelivery another writer applied first
comes out ``duplicate``.
"""

from __future__ import annotations

import contextlib
import gc
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from order_lifecycle.exceptions import EventConflict, InvalidInput, StoreUnavailable
from order_lifecycle.lifecycle._step import Step
from order_lifecycle.models._models import Order

from ._events import Event
from ._reconcile import EventOutcome, apply_event
from ._webhook_store import (
    BatchStore,
    ChangeOutcome,
    ChangeResult,
    DeliveryToKeep,
    OrderChange,
)

__all__ = ["ATTEMPTS", "Keep", "Pending", "Result", "ingest", "paused_gc"]

ATTEMPTS = 50
"""Rounds of lost races a batch goes through before giving up (each loss: another commit)."""

# Rounds: 1 for the first pass, more for conflicts tried again; END for conflicts kept at last.
_END = 1 << 30


@attrs.frozen
class Pending:
    """A parsed delivery to reconcile: its place in the batch, its raw bytes, its event."""

    index: int
    raw: bytes
    event: Event


@attrs.frozen
class Result:
    """What one event came to (the inbox makes a ``DeliveryResult`` of it)."""

    outcome: EventOutcome
    reason: str
    steps: tuple[Step[Any, Any], ...] = ()


@attrs.frozen(order=True)
class Keep:
    """A delivery to keep, and when the one-at-a-time inbox would have kept it."""

    round: int
    index: int
    delivery: DeliveryToKeep = attrs.field(order=False)


_PAUSING = threading.Lock()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a batch runs, if it was on; on again after.

    Why: a batch's parsed events and plans live until its commit, so every young
    collection moves them to the oldest generation, which then counts as grown by that
    much and is collected whole again and again: each full collection walks every object
    the process holds (stored orders, cached ones), so ingestion slowed as the store grew.
    Reference counting frees a batch's objects when it ends; collections resume then and
    see only what truly survived. Only the batch that turned the collector off turns it
    on, at its end, even while another thread's batch still runs: a pause never lasts
    longer than one batch, however many threads ingest at once.
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


@attrs.define
class _View:
    """The orders and applied events as the batch sees them: read, then changed in memory."""

    orders: dict[str, tuple[int, Order]]
    events: dict[str, str]


@attrs.define
class _Plan:
    """One round's decisions: a result and maybe a change and a kept delivery per event."""

    events: dict[int, tuple[str, str]] = attrs.Factory(dict)
    """Each event's order id and event id, by index."""
    results: dict[int, Result] = attrs.Factory(dict)
    changes: list[tuple[int, OrderChange]] = attrs.Factory(list)
    keeps: dict[int, Keep] = attrs.Factory(dict)


def ingest(
    store: BatchStore,
    pending: Sequence[Pending],
    keeps: list[Keep],
    printable: Callable[[str], str],
) -> dict[int, Result]:
    """Reconcile ``pending`` and commit, with ``keeps`` (the unread deliveries); the results.

    Raises:
        StoreUnavailable: the batch lost a race ``ATTEMPTS`` rounds in a row.
        StoreError: the store failed (nothing of the round committed).

    """
    final: dict[int, Result] = {}
    kept: dict[int, Keep] = {keep.index: keep for keep in keeps}
    refused: dict[int, str] = {}
    view = _read(store, pending)
    todo = list(pending)
    for attempt in range(ATTEMPTS):
        plan = _plan(todo, view, refused, printable)
        to_keep = sorted([*kept.values(), *plan.keeps.values()])
        outcomes = store.commit_changes(
            [change for _, change in plan.changes], [keep.delivery for keep in to_keep]
        )
        lost = _settle(plan, outcomes, refused)
        raced = any(o.outcome is ChangeOutcome.LOST for o in outcomes)
        if not lost:
            final.update(plan.results)
            return final
        # Everything not touched by a lost change is decided; the rest is done again.
        done = [p for p in todo if p.index not in lost]
        final.update({p.index: plan.results[p.index] for p in done})
        kept.update({p.index: plan.keeps[p.index] for p in done if p.index in plan.keeps})
        todo = [p for p in todo if p.index in lost]
        fresh = _read(store, todo)
        for p in todo:
            view.orders.pop(p.event.order_id or "", None)
            view.events.pop(p.event.id, None)
        view.orders.update(fresh.orders)
        view.events.update(fresh.events)
        if raced:
            # Not cryptographic: jitter so that racing writers do not collide again.
            time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))  # noqa: S311
    raise StoreUnavailable(f"a batch of deliveries lost its race {ATTEMPTS} times in a row.")


def _read(store: BatchStore, pending: Sequence[Pending]) -> _View:
    if not pending:
        return _View({}, {})
    orders = store.read_orders(dict.fromkeys(p.event.order_id or "" for p in pending))
    events = store.events_applied(dict.fromkeys(p.event.id for p in pending))
    return _View(dict(orders), dict(events))


def _settle(plan: _Plan, outcomes: Sequence[ChangeResult], refused: dict[int, str]) -> set[int]:
    """The indexes to do again: every event of an order with a change that did not commit.

    A change the store refused is remembered as refused, to come out ``invalid`` next round.
    Events sharing an event id with one done again are done again too.
    """
    failed: set[str] = set()
    for (index, change), outcome in zip(plan.changes, outcomes, strict=True):
        if outcome.outcome is ChangeOutcome.REFUSED:
            refused[index] = outcome.reason
        if not outcome.committed:
            failed.add(change.order_id)
    if not failed:
        return set()
    committed = {index for (index, _), o in zip(plan.changes, outcomes, strict=True) if o.committed}
    events = plan.events
    again: set[int] = set()
    grew = True
    while grew:
        grew = False
        for index, (order_id, event_id) in events.items():
            if index in again or index in committed:
                continue
            if order_id in failed or event_id in {events[i][1] for i in again}:
                again.add(index)
                failed.add(order_id)
                grew = True
    return again


def _plan(
    todo: Sequence[Pending],
    view: _View,
    refused: dict[int, str],
    printable: Callable[[str], str],
) -> _Plan:
    """Reconcile ``todo`` in delivery order against ``view``, trying conflicts again."""
    plan = _Plan()
    plan.events.update({p.index: (p.event.order_id or "", p.event.id) for p in todo})
    waiting: list[Pending] = []
    for pending in todo:
        result = _reconcile(pending, view, plan, refused, printable, round_=1)
        plan.results[pending.index] = result
        if result.outcome is EventOutcome.CONFLICT:
            waiting.append(pending)
    round_ = 1
    while waiting:
        round_ += 1
        retried = [
            (p, _reconcile(p, view, plan, refused, printable, round_=round_)) for p in waiting
        ]
        for pending, result in retried:
            plan.results[pending.index] = result
        still = [p for p, r in retried if r.outcome is EventOutcome.CONFLICT]
        if len(still) == len(waiting):
            break
        waiting = still
    for pending in waiting:
        reason = plan.results[pending.index].reason
        plan.keeps[pending.index] = _keep(pending, reason, printable, _END)
    return plan


def _keep(pending: Pending, reason: str, printable: Callable[[str], str], round_: int) -> Keep:
    event = pending.event
    delivery = DeliveryToKeep(
        pending.raw,
        printable(reason),
        event_id=printable(event.id) if event.id else None,
        order_id=printable(event.order_id) if event.order_id else None,
    )
    return Keep(round_, pending.index, delivery)


def _reconcile(  # noqa: PLR0913 (one event, what it is judged against, where it goes)
    pending: Pending,
    view: _View,
    plan: _Plan,
    refused: dict[int, str],
    printable: Callable[[str], str],
    *,
    round_: int,
) -> Result:
    """One event against the view; its change (if any) applied to the view and planned."""
    event = pending.event
    order_id = event.order_id or ""  # orders and charges always name their order

    def invalid(reason: str) -> Result:
        plan.keeps[pending.index] = _keep(pending, reason, printable, round_)
        return Result(EventOutcome.INVALID, reason)

    if pending.index in refused:
        return invalid(f"refused while reconciling: {refused[pending.index]}")
    recorded = view.events.get(event.id)
    if recorded is not None and recorded != order_id:
        return invalid(
            f"event {event.id!r} was recorded for order {recorded!r}, but this delivery "
            f"names order {order_id!r}"
        )
    if recorded is not None:
        reason = f"event {event.id!r} was applied to order {order_id!r} already"
        return Result(EventOutcome.DUPLICATE, reason)
    version, base = view.orders.get(order_id, (0, None))
    try:
        reconciled = apply_event(None if base is None else base.copy(), event)
    except EventConflict as conflict:
        return Result(EventOutcome.CONFLICT, conflict.reason)
    except InvalidInput as error:
        return invalid(f"refused while reconciling: {error}")
    if reconciled.order is not None:
        # The store checks the change (legal steps only, storable ids); a refusal comes
        # back as REFUSED, and the event is done again as invalid.
        plan.changes.append((pending.index, OrderChange(reconciled.order, base, version, event.id)))
        view.orders[order_id] = (version + 1, reconciled.order)
        view.events[event.id] = order_id
    return Result(reconciled.outcome, reconciled.reason, reconciled.steps)

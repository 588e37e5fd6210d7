"""The worker: claims due actions from a store's outbox and runs them through the shop's handlers.

At least once, never twice for a success: an action is completed only after its handler
returned, whatever it returned (a JSON value is kept as it is; anything else, a
``datetime``, a ``Decimal``, an object whose ``items()`` raises, as bounded text naming its
type), so a handler that succeeded is never run again for its result. A worker killed in
between leaves its claims to lapse, then another claim takes them again; the action's key
(``action.key``) lets a handler be idempotent (pass it to the warehouse, the mailer, the
provider as their idempotency key).

Whatever a handler raises (even an exception whose ``str()`` raises, even ``SystemExit``)
fails its action: the error is kept as text and the action retried with backoff, ``dead``
after the store's ``max_tries``. A handler that runs past ``time_limit`` is left behind
(Python cannot stop it; it runs in a daemon thread of its own) and its action failed, so
its claim ends and the worker goes on. Nothing a handler does ends :meth:`run_forever`.

Handlers are named by kind: the order table's (``ship``...) and the shop's own, declared
on the store's :class:`~order_lifecycle.actions.ActionPolicy` (its subscriptions and
listeners). A handler for a kind nobody declared is an error when the worker is built, and
so is a kind of the shop's without a handler, unless the worker is told another runs it
(``run_elsewhere``): its actions would wait for ever. A handler reads what to do as a typed
value (``action.request``), and the order it acts on as it is now (``action.order``: read
when a handler first asks, one read for the batch; a handler that never asks costs none).

Leases: the worker claims a batch in one statement, and one heartbeat thread per worker
extends the leases of every action it holds (the whole batch, not only the running one)
every third of the lease, in one statement, judged by the store's clock; an action
cancelled meanwhile is not started. The batch's outcomes are recorded at once, in one
transaction (``finish_actions``), when the batch is over; a claim that lapsed anyway
(the worker stalled) finishes nothing of the claim that took the action since.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any, Protocol

import attrs

from order_lifecycle import _telemetry
from order_lifecycle._text import safe_text
from order_lifecycle.exceptions import InvalidInput, OrderLifecycleError, StoreError, WrongType
from order_lifecycle.lifecycle import ActionKind
from order_lifecycle.models import Order

from ._limit import Finished, Hung, TimeLimited
from ._observe import counting_failures, handler_span, report_finished, report_released
from ._policy import ActionPolicy
from ._stored import (
    ActionState,
    Completed,
    Failed,
    Outcome,
    Released,
    StoredAction,
    backoff,
)
from ._subscriptions import check_kind_name, shop_pairs

__all__ = ["ActionSource", "ActionWorker", "Handler", "WorkerCounts", "load_handlers"]

_LOG = logging.getLogger("order_lifecycle.actions")

Handler = Callable[[StoredAction], object]
"""A shop's handler: does the action (idempotently, by ``action.key``); its result, kept."""


class ActionSource(Protocol):
    """What the worker needs of a store (every ``order_lifecycle.store.Store`` has it)."""

    def claim_actions(
        self, kinds: Iterable[str] | None = ..., *, limit: int = ..., lease: timedelta = ...
    ) -> list[StoredAction]: ...

    def extend_leases(
        self, claims: Mapping[str, int], lease: timedelta
    ) -> dict[str, StoredAction]: ...

    def finish_actions(self, outcomes: Sequence[Outcome]) -> dict[str, StoredAction]: ...


class _OrderSource(Protocol):
    """What the worker reads orders with, when the store has it (every ``Store`` does)."""

    def read_orders(self, order_ids: Iterable[str]) -> dict[str, tuple[int, Order]]: ...


class _BatchOrders:
    """The orders of one batch, read from the store at the first ask, all at once."""

    def __init__(self, store: _OrderSource, order_ids: list[str]) -> None:
        self._store = store
        self._ids = list(dict.fromkeys(order_ids))
        self._read: dict[str, tuple[int, Order]] | None = None
        self._lock = threading.Lock()

    def get(self, order_id: str) -> Order | None:
        """The order ``order_id`` as read for the batch (an independent copy); ``None`` if none."""
        with self._lock:  # handlers of one batch run one after another, but be safe
            if self._read is None:
                self._read = self._store.read_orders(self._ids)
            found = self._read.get(order_id)
        return None if found is None else found[1].copy()


@attrs.define
class WorkerCounts:
    """What a worker did since it started: actions claimed, done, failed, dead, released."""

    claimed: int = 0
    done: int = 0
    failed: int = 0
    dead: int = 0
    released: int = 0


_MAX_BATCH = 10_000
_MAX_IDLE = 3600
_MAX_RESULT = 16_000  # characters of a result's JSON kept whole; past it, its typed text
_RESULT_TEXT = 1_000
_MAX_ERROR = 4_000


def _store(value: ActionSource) -> ActionSource:
    for name in ("claim_actions", "extend_leases", "finish_actions"):
        if not callable(getattr(value, name, None)):
            raise WrongType("store", "a store with an outbox (claim_actions ...)", value)
    return value


Handlers = Mapping[str, Handler] | Mapping[ActionKind, Handler]
"""The shop's handlers: a callable for each kind of action it runs (by name or ActionKind)."""

_TABLE_KINDS = frozenset(ActionKind)


def _kind(kind: object) -> ActionKind | str:
    """A table kind as its member; any other kind as the plain name it must be."""
    if isinstance(kind, str) and kind in _TABLE_KINDS:
        return ActionKind(kind)
    if not isinstance(kind, str):
        raise WrongType("handlers' kinds", "an action kind's name", kind)
    return check_kind_name(kind, "handlers' kind")


def _handlers(value: Handlers) -> dict[ActionKind | str, Handler]:
    items: list[tuple[object, Handler]] = shop_pairs(
        value, "handlers", "a mapping of action kinds to callables"
    )
    if not items:
        raise InvalidInput("handlers must name at least one action kind.")
    checked: dict[ActionKind | str, Handler] = {}
    for kind, handler in items:
        if not callable(handler):
            raise WrongType(
                f"handlers[{safe_text(kind, 80)!r}]", "a callable taking the action", handler
            )
        checked[_kind(kind)] = handler
    return checked


def _declared(store: object) -> frozenset[str]:
    """The shop's own kinds, as the store's policy declares them (none without a policy)."""
    policy = getattr(store, "action_policy", None)
    return policy.kinds if isinstance(policy, ActionPolicy) else frozenset()


def _elsewhere(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise WrongType("run_elsewhere", "a list of the shop's kinds", value)
    return frozenset(check_kind_name(kind, "run_elsewhere's kind") for kind in value)


def _batch(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_BATCH:
        raise WrongType("batch", f"an int from 1 to {_MAX_BATCH:,}", value)
    return value


def _duration(value: object, what: str) -> timedelta:
    if not isinstance(value, timedelta) or not timedelta(0) < value <= timedelta(days=1):
        raise WrongType(what, "a timedelta above 0, up to a day", value)
    return value


def _lease(value: timedelta) -> timedelta:
    return _duration(value, "lease")


def _time_limit(value: timedelta) -> timedelta:
    return _duration(value, "time_limit")


def _idle(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= _MAX_IDLE:
        raise WrongType("idle", f"a number of seconds above 0, up to {_MAX_IDLE:,}", value)
    return float(value)


def _clock(value: Callable[[], datetime]) -> Callable[[], datetime]:
    if not callable(value):
        raise WrongType("clock", "a callable returning an aware datetime", value)
    return value


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def keepable(result: object) -> object:
    """A handler's result as plain JSON data: itself when it is JSON, else its typed text.

    Never raises: what cannot be JSON (a ``datetime``, a ``Decimal``, a set, a NaN, an
    object whose ``items()`` or ``str()`` raises) or is too long to keep whole becomes
    ``{"$type": ..., "$text": ...}``, bounded.
    """
    if result is None:
        return None
    try:
        text = json.dumps(result, ensure_ascii=True, allow_nan=False, sort_keys=True)
    except Exception:  # noqa: BLE001 (the shop's value: its own methods may raise anything)
        text = None
    if text is not None and len(text) <= _MAX_RESULT:
        return json.loads(text)  # a copy: the handler may change its value later
    kind = type(result)
    return {
        "$type": f"{kind.__module__}.{kind.__qualname__}",
        "$text": safe_text(result, _RESULT_TEXT),
    }


@attrs.define(repr=False)
class ActionWorker:
    """Runs the due actions of ``store`` whose kinds ``handlers`` names, ``batch`` at a time.

    ``lease`` is how long a claim holds an action without a heartbeat (the worker beats
    every third of it); ``time_limit`` how long one handler may run before its action is
    failed and the worker goes on; ``idle`` how long :meth:`run_forever` sleeps when
    nothing is due. ``clock`` (the wall clock by default) says when a failed action is
    due again: its moment plus the backoff, so a demo or test whose clock is in the past
    retries at once, every run the same (a clock that fails leaves it to the store's).
    Leases are never judged by it: the store's clock does that.

    ``run_elsewhere`` names the shop's kinds (subscriptions, listeners) this worker leaves
    to another, so that it needs no handler for them.

    Raises (at construction):
        InvalidInput: a handler for a kind neither the order table nor the store's
            ``action_policy`` declares, a kind the policy declares with no handler (and
            not in ``run_elsewhere``), no handler, a store without an outbox, a batch,
            lease, time limit or idle time that is not above 0 (or too large), a clock
            that cannot be called.

    """

    store: ActionSource = attrs.field(converter=_store)
    handlers: dict[ActionKind | str, Handler] = attrs.field(converter=_handlers)
    batch: int = attrs.field(default=10, converter=_batch)
    lease: timedelta = attrs.field(default=timedelta(minutes=5), converter=_lease)
    idle: float = attrs.field(default=1.0, converter=_idle)
    clock: Callable[[], datetime] = attrs.field(default=_wall_clock, converter=_clock)
    time_limit: timedelta = attrs.field(default=timedelta(minutes=1), converter=_time_limit)
    run_elsewhere: frozenset[str] = attrs.field(default=(), converter=_elsewhere, kw_only=True)
    counts: WorkerCounts = attrs.field(init=False, factory=WorkerCounts)
    _stopping: threading.Event = attrs.field(init=False, factory=threading.Event)
    _runner: TimeLimited = attrs.field(
        init=False, factory=lambda: TimeLimited("order_lifecycle handler")
    )
    _held: dict[str, int] = attrs.field(init=False, factory=dict)
    """The claims the heartbeat keeps: action keys and their claims' tries."""
    _lost: set[str] = attrs.field(init=False, factory=set)
    """Claimed actions not to start: cancelled meanwhile, or their claim lapsed and was taken."""
    _guard: threading.Lock = attrs.field(init=False, factory=threading.Lock)
    _beating: bool = attrs.field(init=False, default=False)
    _unrecorded: list[Outcome] = attrs.field(init=False, factory=list)

    def __attrs_post_init__(self) -> None:
        declared = _declared(self.store)
        unknown = sorted({k for k in self.handlers if k not in _TABLE_KINDS} - declared)
        if unknown:
            raise InvalidInput(
                f"Unknown action kind {', '.join(map(repr, unknown))} in handlers: neither "
                f"the order table ({', '.join(sorted(_TABLE_KINDS))}) nor the store's "
                f"action_policy (its kinds: {', '.join(sorted(declared)) or 'none'}) "
                "declares it. Declare the shop's kinds on the policy (subscribe=, listen=) "
                "and set it on the store before building the worker."
            )
        missing = sorted(declared - set(self.handlers) - self.run_elsewhere)
        if missing:
            raise InvalidInput(
                f"the store's action_policy declares {', '.join(map(repr, missing))}, but "
                "handlers has no handler for it: its actions would wait for ever. Give it "
                "one, or name it in run_elsewhere if another worker runs it."
            )

    def __repr__(self) -> str:
        kinds = ", ".join(sorted(self.handlers))
        return f"<ActionWorker(kinds=[{kinds}], {self.counts})>"

    def run_once(self) -> int:
        """Claim one batch of due actions, run each, record them at once; how many were claimed.

        Raises:
            StoreError: the store failed (the batch's outcomes wait for the next run, their
                leases kept by the heartbeat meanwhile, or lapsing if the worker stops).

        """
        with self._heartbeat():
            return self._run_batch()

    def _run_batch(self) -> int:
        with counting_failures():
            return self._claim_and_run()

    def _claim_and_run(self) -> int:
        self._record()  # what a failed recording left: before claiming more
        claimed = self.store.claim_actions(list(self.handlers), limit=self.batch, lease=self.lease)
        self.counts.claimed += len(claimed)
        if claimed:
            claimed = self._with_orders(claimed)
        with self._guard:
            self._held.update((action.key, action.tries) for action in claimed)
        for action in claimed:
            with self._guard:
                lost = action.key in self._lost
            if lost:  # cancelled meanwhile (its claim ends unrun) or taken by another claim
                self._unrecorded.append(Released(action.key, action.tries))
            elif self._stopping.is_set():  # given back unrun: another worker takes it at once
                self._unrecorded.append(Released(action.key, action.tries))
                self.counts.released += 1
                report_released(action)
            else:
                self._unrecorded.append(self._run(action))
        self._record()
        return len(claimed)

    def _with_orders(self, claimed: list[StoredAction]) -> list[StoredAction]:
        """The claimed actions, each able to read its order (the batch's, at the first ask)."""
        if not callable(getattr(self.store, "read_orders", None)):
            return claimed
        orders = _BatchOrders(self.store, [a.order_id for a in claimed])  # type: ignore[arg-type]
        return [attrs.evolve(action, orders=orders.get) for action in claimed]

    def _run(self, action: StoredAction) -> Outcome:
        handler = self.handlers[action.kind]
        with handler_span(action) as failed:
            outcome = self._runner.call(
                _telemetry.carried(lambda: handler(action)), self.time_limit.total_seconds()
            )
            if isinstance(outcome, Finished):
                return Completed(action.key, action.tries, keepable(outcome.value))
            if isinstance(outcome, Hung):
                error = f"the handler {outcome.why}; its claim ended (it may still be running)"
            else:
                error = safe_text(outcome.error, _MAX_ERROR)
            failed(error, getattr(outcome, "error", None))
        return Failed(action.key, action.tries, error, self._due_again(action.tries))

    def _due_again(self, tries: int) -> datetime | None:
        """The worker's clock plus the backoff; ``None`` (the store's clock) if that fails."""
        try:
            moment = self.clock()
            if not isinstance(moment, datetime) or moment.utcoffset() is None:
                raise TypeError("not an aware datetime")  # noqa: TRY301 (handled below)
            due = moment + backoff(tries)
            due.astimezone(UTC)  # a moment the store can keep, from year 1 to 9999
        except Exception as error:  # noqa: BLE001 (the shop's clock: anything may fail)
            _LOG.warning("the worker's clock failed (%s): the store's decides", safe_text(error))
            return None
        return due

    def _record(self) -> None:
        """Record the outcomes waiting, in one transaction; their claims leave the heartbeat."""
        if not self._unrecorded:
            return
        outcomes, self._unrecorded = self._unrecorded, []
        try:
            with _telemetry.span("order_lifecycle.commit"):
                now = self.store.finish_actions(outcomes)
        except StoreError:
            self._unrecorded = outcomes + self._unrecorded  # kept (and beaten) for next time
            raise
        with self._guard:
            for outcome in outcomes:
                self._held.pop(outcome.key, None)
                self._lost.discard(outcome.key)
        for outcome in outcomes:
            found = now.get(outcome.key)
            if found is None or found.tries != outcome.claim:
                continue  # its claim was lost: the newer claim counts it
            if isinstance(outcome, Completed) and found.state is ActionState.DONE:
                self.counts.done += 1
            elif isinstance(outcome, Failed) and found.state is ActionState.DEAD:
                self.counts.dead += 1
            elif isinstance(outcome, Failed) and found.state is ActionState.FAILED:
                self.counts.failed += 1
            report_finished(outcome, found)

    @contextmanager
    def _heartbeat(self) -> Iterator[None]:
        """While the block runs, one thread extends every held claim's lease each third of it."""
        if self._beating:  # run_forever's heartbeat beats for each of its batches
            yield
            return
        self._beating = True
        finished = threading.Event()
        beat = threading.Thread(
            target=self._beat, args=(finished,), name="order_lifecycle heartbeat", daemon=True
        )  # daemon: a worker that exits mid-batch leaves its leases to lapse
        beat.start()
        try:
            yield
        finally:
            finished.set()
            beat.join()
            self._runner.close()
            self._beating = False

    def _beat(self, finished: threading.Event) -> None:
        every = self.lease.total_seconds() / 3
        while not finished.wait(every):
            with self._guard:
                claims = dict(self._held)
            if not claims:
                continue
            try:
                now = self.store.extend_leases(claims, self.lease)
            except OrderLifecycleError:
                continue  # the store is unavailable for now: the leases still run, try again
            with self._guard:
                for key, claim in claims.items():
                    found = now.get(key)
                    if (
                        found is None
                        or found.tries != claim
                        or found.state
                        in {
                            ActionState.CANCELLED,
                            ActionState.DONE,
                            ActionState.PENDING,
                            ActionState.FAILED,
                            ActionState.DEAD,
                        }
                    ):
                        self._lost.add(key)  # not to be started: its claim is over or moot

    def stop(self) -> None:
        """Ask :meth:`run_forever` (or the batch running) to stop after the running action."""
        self._stopping.set()

    def run_forever(self, *, install_signals: bool = True) -> WorkerCounts:
        """Run batches until :meth:`stop` (or SIGTERM, SIGINT); sleep ``idle`` when none is due.

        In the main thread, SIGTERM and SIGINT stop it within the running handler's time
        limit: that action finishes (or is failed at its limit) and is recorded, the rest
        of the batch is released for another worker, and the previous signal handlers come
        back. A store that fails is waited for (``idle``) and tried again; nothing a
        handler does ends it.
        """
        previous: dict[signal.Signals, Any] = {}
        if install_signals and threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                previous[number] = signal.signal(number, self._on_signal)
        outage = _telemetry.Outage(_LOG, "actions")
        try:
            with self._heartbeat():
                while not self._stopping.is_set():
                    try:
                        claimed = self._run_batch()
                    except OrderLifecycleError as error:
                        outage.failed(error, safe_text(error))
                        claimed = 0  # the store is unavailable for now: wait, then try again
                    else:
                        outage.ok()
                    if not claimed:
                        self._stopping.wait(self.idle)
                with contextlib.suppress(OrderLifecycleError):  # still down: they lapse, rerun
                    self._record()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            self._stopping.clear()
        return self.counts

    def _on_signal(self, number: int, frame: FrameType | None) -> None:  # noqa: ARG002
        self.stop()


def load_handlers(reference: str) -> dict[ActionKind | str, Handler]:
    """The handlers named ``module:attribute`` (a mapping of kinds to callables), imported.

    For a command line: ``order-lifecycle actions run --handlers shop.actions:HANDLERS``.
    The shop's own kinds are checked against the store's policy when the worker is built.

    Raises:
        InvalidInput: not ``module:attribute``, nothing importable there, or not a mapping
            of kind names to callables.

    """
    if not isinstance(reference, str) or reference.count(":") != 1:
        raise InvalidInput(f"handlers must be given as module:attribute, got {reference!r}.")
    module_name, _, attribute = reference.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError, TypeError) as error:
        raise InvalidInput(f"cannot load handlers from {reference!r}: {error}") from None
    return _handlers(found)

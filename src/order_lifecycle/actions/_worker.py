"""The worker: claims due actions from a store's outbox and runs them through the shop's handlers.

At least once: an action is completed only after its handler returned, so a worker killed
in between leaves it claimed until its lease ends, then another claim takes it again. The
action's key (``action.key``) lets a handler be idempotent (pass it to the warehouse, the
mailer, the provider as their idempotency key). A handler that raises fails the action:
its error is kept and it is retried with backoff, ``dead`` after the store's
``max_tries``. Within its lease no other claim takes it, so choose a lease longer than a
handler runs, or let the worker's heartbeat keep it: while a handler runs, a thread
extends its lease every third of it (``extend_lease``), so a slow handler keeps its
claim while its worker lives. A completion or failure names its claim (the action's
``tries``), so a claim that lapsed anyway (the worker stalled) finishes nothing of the
claim that took the action since.
"""

from __future__ import annotations

import importlib
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any, Protocol

import attrs

from order_lifecycle.exceptions import InvalidInput, OrderLifecycleError, WrongType
from order_lifecycle.lifecycle._tables import ActionKind

from ._stored import ActionState, StoredAction, backoff

__all__ = ["ActionSource", "ActionWorker", "Handler", "WorkerCounts", "load_handlers"]

Handler = Callable[[StoredAction], object]
"""A shop's handler: does the action (idempotently, by ``action.key``); its JSON result."""


class ActionSource(Protocol):
    """What the worker needs of a store (every ``order_lifecycle.store.Store`` has it)."""

    def claim_actions(
        self, kinds: Iterable[str] | None = ..., *, limit: int = ..., lease: timedelta = ...
    ) -> list[StoredAction]: ...

    def extend_lease(self, key: str, lease: timedelta, *, claim: int) -> StoredAction: ...

    def complete_action(
        self, key: str, result: object = ..., *, claim: int | None = ...
    ) -> StoredAction: ...

    def fail_action(
        self,
        key: str,
        error: object,
        retry_at: datetime | None = ...,
        *,
        claim: int | None = ...,
    ) -> StoredAction: ...


@attrs.define
class WorkerCounts:
    """What a worker did since it started: actions claimed, done, failed, and dead."""

    claimed: int = 0
    done: int = 0
    failed: int = 0
    dead: int = 0


def _handlers(value: object) -> dict[ActionKind, Handler]:
    if not isinstance(value, Mapping):
        raise WrongType("handlers", "a mapping of action kinds to callables", value)
    if not value:
        raise InvalidInput("handlers must name at least one action kind.")
    known = ", ".join(k.value for k in ActionKind)
    checked: dict[ActionKind, Handler] = {}
    for kind, handler in value.items():
        if not isinstance(kind, str) or kind not in set(ActionKind):
            raise InvalidInput(f"Unknown action kind {kind!r} in handlers: expected {known}.")
        if not callable(handler):
            raise WrongType(f"handlers[{kind!r}]", "a callable taking the action", handler)
        checked[ActionKind(kind)] = handler
    return checked


def _store(value: object) -> ActionSource:
    for name in ("claim_actions", "extend_lease", "complete_action", "fail_action"):
        if not callable(getattr(value, name, None)):
            raise WrongType("store", "a store with an outbox (claim_actions ...)", value)
    return value  # type: ignore[return-value]


def _batch(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_BATCH:
        raise WrongType("batch", f"an int from 1 to {_MAX_BATCH:,}", value)
    return value


def _lease(value: object) -> timedelta:
    if not isinstance(value, timedelta) or not timedelta(0) < value <= timedelta(days=1):
        raise WrongType("lease", "a timedelta above 0, up to a day", value)
    return value


def _idle(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= _MAX_IDLE:
        raise WrongType("idle", f"a number of seconds above 0, up to {_MAX_IDLE:,}", value)
    return float(value)


def _clock(value: object) -> Callable[[], datetime]:
    if not callable(value):
        raise WrongType("clock", "a callable returning an aware datetime", value)
    return value


def _wall_clock() -> datetime:
    return datetime.now(UTC)


_MAX_BATCH = 10_000
_MAX_IDLE = 3600


@attrs.define(repr=False)
class ActionWorker:
    """Runs the due actions of ``store`` whose kinds ``handlers`` names, ``batch`` at a time.

    ``clock`` (the wall clock by default) says when a failed action is due again: its
    moment plus the backoff, so a demo or test whose clock is in the past retries at
    once, every run the same.

    Raises (at construction):
        InvalidInput: a handler for a kind the order table does not declare, no handler,
            a store without an outbox, a batch, lease or idle time that is not above 0,
            a clock that cannot be called.

    """

    store: ActionSource = attrs.field(converter=_store)
    handlers: dict[ActionKind, Handler] = attrs.field(converter=_handlers)
    batch: int = attrs.field(default=10, converter=_batch)
    lease: timedelta = attrs.field(default=timedelta(minutes=5), converter=_lease)
    idle: float = attrs.field(default=1.0, converter=_idle)
    clock: Callable[[], datetime] = attrs.field(default=_wall_clock, converter=_clock)
    counts: WorkerCounts = attrs.field(init=False, factory=WorkerCounts)
    _stopping: threading.Event = attrs.field(init=False, factory=threading.Event)

    def __repr__(self) -> str:
        kinds = ", ".join(sorted(self.handlers))
        return f"<ActionWorker(kinds=[{kinds}], {self.counts})>"

    def run_once(self) -> int:
        """Claim one batch of due actions and run each; how many were claimed."""
        claimed = self.store.claim_actions(list(self.handlers), limit=self.batch, lease=self.lease)
        self.counts.claimed += len(claimed)
        for action in claimed:
            if self._stopping.is_set():
                break  # the rest of the batch waits for its lease to end: not lost
            self._run(action)
        return len(claimed)

    def _run(self, action: StoredAction) -> None:
        try:
            with self._heartbeat(action):
                result = self.handlers[action.kind](action)
        except Exception as error:  # noqa: BLE001 (any handler failure is kept, then retried)
            self._fail(action, error)
            return
        try:
            self.store.complete_action(action.key, result, claim=action.tries)
        except InvalidInput as error:  # the result is not JSON: the handler's bug, kept
            self._fail(action, f"the handler's result cannot be kept: {error}")
            return
        self.counts.done += 1

    @contextmanager
    def _heartbeat(self, action: StoredAction) -> Iterator[None]:
        """While the block runs, a thread extends the claim's lease every third of it."""
        finished = threading.Event()
        beat = threading.Thread(
            target=self._beat, args=(action, finished), name=f"lease {action.key}", daemon=True
        )  # daemon: a worker that exits mid-action leaves the lease to lapse
        beat.start()
        try:
            yield
        finally:
            finished.set()
            beat.join()

    def _beat(self, action: StoredAction, finished: threading.Event) -> None:
        every = self.lease.total_seconds() / 3
        while not finished.wait(every):
            try:
                now = self.store.extend_lease(action.key, self.lease, claim=action.tries)
            except OrderLifecycleError:
                continue  # the store is unavailable for now: the lease still runs, try again
            if now.state is not ActionState.CLAIMED or now.tries != action.tries:
                return  # the claim is lost (it lapsed and was taken, or was cancelled)

    def _fail(self, action: StoredAction, error: object) -> None:
        due = self.clock() + backoff(action.tries)
        failed = self.store.fail_action(action.key, error, due, claim=action.tries)
        if failed.state is ActionState.DEAD:
            self.counts.dead += 1
        else:
            self.counts.failed += 1

    def stop(self) -> None:
        """Ask :meth:`run_forever` to return after the action it is running."""
        self._stopping.set()

    def run_forever(self, *, install_signals: bool = True) -> WorkerCounts:
        """Run batches until :meth:`stop` (or SIGTERM, SIGINT); sleep ``idle`` when none is due.

        In the main thread, SIGTERM and SIGINT stop it gracefully (the running action
        finishes and is completed); the previous handlers come back when it returns.
        """
        previous: dict[signal.Signals, Any] = {}
        if install_signals and threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                previous[number] = signal.signal(number, self._on_signal)
        try:
            while not self._stopping.is_set():
                try:
                    claimed = self.run_once()
                except OrderLifecycleError:
                    claimed = 0  # the store is unavailable for now: wait, then try again
                if not claimed:
                    self._stopping.wait(self.idle)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            self._stopping.clear()
        return self.counts

    def _on_signal(self, number: int, frame: FrameType | None) -> None:  # noqa: ARG002
        self.stop()


def load_handlers(reference: str) -> dict[ActionKind, Handler]:
    """The handlers named ``module:attribute`` (a mapping of kinds to callables), imported.

    For a command line: ``order-lifecycle actions run --handlers shop.actions:HANDLERS``.

    Raises:
        InvalidInput: not ``module:attribute``, or nothing importable there.

    """
    if not isinstance(reference, str) or reference.count(":") != 1:
        raise InvalidInput(f"handlers must be given as module:attribute, got {reference!r}.")
    module_name, _, attribute = reference.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError, TypeError) as error:
        raise InvalidInput(f"cannot load handlers from {reference!r}: {error}") from None
    return _handlers(found)

"""A store's backlog as OpenTelemetry gauges, and where the library's own metrics come from.

::

    from order_lifecycle.integrations.opentelemetry import observe_backlog

    observe_backlog(open_store(DATABASE_URL))  # once per process that exports metrics

The library counts and times what it does through OpenTelemetry's API (the ``otel``
extra: ``pip install 'order-lifecycle[otel]'``) wherever the API is installed; the shop's
SDK decides where that goes. What waits in the store is read, not counted, so it needs a
store to read: :func:`observe_backlog` registers observable gauges of the store's
:meth:`~order_lifecycle.store.Store.backlog` (deliveries pending and waiting, actions
pending, claimed, failed and dead, each with the age of its oldest), read at most once per
``every`` however often the exporter collects. Importing this module without
OpenTelemetry's API raises an ``ImportError`` naming the extra.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from order_lifecycle import _telemetry
from order_lifecycle.exceptions import OrderLifecycleError, WrongType
from order_lifecycle.store import Backlog, Store, Waiting

from ._answer import missing

if not _telemetry.ENABLED:  # pragma: no cover (the suite runs with the API installed)
    raise missing(__name__, "OpenTelemetry's API", "otel")

__all__ = ["GAUGES", "observe_backlog"]

_log = logging.getLogger(__name__)

GAUGES = {
    "order_lifecycle.deliveries.backlog": ("{delivery}", "Deliveries stored, not yet applied."),
    "order_lifecycle.deliveries.backlog.age": (
        "s",
        "How long the oldest delivery of each status has waited.",
    ),
    "order_lifecycle.actions.backlog": ("{action}", "Actions not done, not cancelled."),
    "order_lifecycle.actions.backlog.age": (
        "s",
        "How long ago the oldest action of each state was created.",
    ),
}
"""The gauges :func:`observe_backlog` registers: name, unit and description."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Cached:
    """The store's backlog, read again only once ``every`` seconds passed since the last read."""

    def __init__(self, store: Store, every: float, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at = -float("inf")
        self._backlog: Backlog | None = None
        self._failing = False

    def backlog(self) -> Backlog | None:
        """The backlog as last read (``None`` while the store fails: the gauges go silent)."""
        with self._lock:
            if time.monotonic() - self._read_at >= self._every:
                self._read_at = time.monotonic()
                try:
                    self._backlog = self._store.backlog()
                except OrderLifecycleError as error:
                    if not self._failing:
                        _log.warning(
                            "the backlog gauges cannot read the store: %s",
                            error,
                            extra={"error": type(error).__name__},
                        )
                    self._failing, self._backlog = True, None
                else:
                    self._failing = False
            return self._backlog

    def gauge(
        self, part: Callable[[Backlog], Mapping[Any, Waiting]], label: str, *, age: bool
    ) -> _telemetry.Observed:
        """A gauge's reading: each status's count (or its oldest's age, in seconds)."""

        def read() -> Iterator[tuple[float, Mapping[str, str]]]:
            backlog = self.backlog()
            if backlog is None:
                return
            now = self._clock()
            for status, waiting in part(backlog).items():
                value: float = waiting.count
                if age:
                    oldest = waiting.oldest
                    value = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
                yield value, {label: str(status)}

        return read


def observe_backlog(
    store: Store,
    *,
    every: timedelta = timedelta(seconds=15),
    clock: Callable[[], datetime] = _utc_now,
) -> None:
    """Register gauges of ``store``'s backlog on OpenTelemetry's meter; read once per ``every``.

    Call it once per process that exports metrics, with a store of its own (the
    exporter's thread reads it). While the store fails, the gauges report nothing (an
    absent series is what an alert on them sees) and a warning is logged once.

    Raises:
        WrongType: ``store`` is not a store, ``every`` not a timedelta above 0, ``clock``
            not callable.

    """
    if not isinstance(store, Store):
        raise WrongType("store", "a Store", store)
    if not isinstance(every, timedelta) or every <= timedelta(0):
        raise WrongType("every", "a timedelta above 0", every)
    if not callable(clock):
        raise WrongType("clock", "a callable returning an aware datetime", clock)
    cached = _Cached(store, every.total_seconds(), clock)
    readings = {
        "order_lifecycle.deliveries.backlog": cached.gauge(
            lambda b: b.deliveries, "status", age=False
        ),
        "order_lifecycle.deliveries.backlog.age": cached.gauge(
            lambda b: b.deliveries, "status", age=True
        ),
        "order_lifecycle.actions.backlog": cached.gauge(lambda b: b.actions, "state", age=False),
        "order_lifecycle.actions.backlog.age": cached.gauge(lambda b: b.actions, "state", age=True),
    }
    for name, read in readings.items():
        unit, description = GAUGES[name]
        _telemetry.observe(name, unit, description, read)

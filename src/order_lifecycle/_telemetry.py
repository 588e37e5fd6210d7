"""Metrics and spans through OpenTelemetry: the one module that imports it, optional.

OpenTelemetry's API is the ``otel`` extra (``pip install 'order-lifecycle[otel]'``). It is
imported here once; without it every instrument below is a no-op and every span a
``nullcontext``. With the API and no SDK, the API's own no-op objects answer; the shop's SDK
(``metrics.set_meter_provider``, ``trace.set_tracer_provider``) decides where they go, also
when it is set after this module was imported (the API's proxies forward to it).

The instruments are counted per batch (one accept call, one reconciler claim, one worker
batch) or per action, never per delivery inside a reconciler's loop; their names and
attributes are listed in the production guide (``docs/how-to/production.md``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from ._version import __version__

try:
    from opentelemetry import context as _context
    from opentelemetry import metrics as _metrics
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover (the suite runs with the API; tests/test__telemetry.py
    # runs this module without it in a child process)
    _context = _metrics = _trace = None  # type: ignore[assignment]

__all__ = [
    "ENABLED",
    "INSTRUMENTS",
    "NAME",
    "Observed",
    "Outage",
    "carried",
    "failed",
    "observe",
    "record",
    "span",
    "store_failed",
    "use",
]

T = TypeVar("T")

ENABLED = _metrics is not None
"""Whether OpenTelemetry's API is installed (else everything here is a no-op)."""

NAME = "order_lifecycle"
"""The instrumentation scope: every meter and tracer here is named so."""

# Durations in seconds: the request path's milliseconds up to a slow batch's seconds.
_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

INSTRUMENTS: Mapping[str, tuple[str, str, str]] = {
    "order_lifecycle.deliveries.accepted": (
        "counter",
        "{delivery}",
        (
            "Deliveries the request path answered, by outcome (pending, duplicate, invalid, "
            "signature, too_large)."
        ),
    ),
    "order_lifecycle.deliveries.reconciled": (
        "counter",
        "{delivery}",
        (
            "Deliveries reconcilers settled, by status (applied, duplicate, stale, waiting, "
            "unknown, unknown_order, invalid)."
        ),
    ),
    "order_lifecycle.actions.finished": (
        "counter",
        "{action}",
        "Actions a worker ran or gave back, by kind and result (done, failed, dead, released).",
    ),
    "order_lifecycle.store.failures": (
        "counter",
        "{failure}",
        "Calls the store failed (an outage, a lock wait run out), by operation and error.",
    ),
    "order_lifecycle.store.reconnects": (
        "counter",
        "{reconnect}",
        "Lost database connections replaced by a new one.",
    ),
    "order_lifecycle.checkouts.submissions": (
        "counter",
        "{submission}",
        (
            "Answers to POST /orders recorded, by outcome (created, rejected, needs_changes, "
            "in_doubt)."
        ),
    ),
    "order_lifecycle.accept.duration": (
        "histogram",
        "s",
        "How long one Inbox.accept call took (the request path), store included.",
    ),
    "order_lifecycle.receive.duration": (
        "histogram",
        "s",
        "How long one Inbox.receive call took: accept, then reconcile inline.",
    ),
    "order_lifecycle.reconcile.duration": (
        "histogram",
        "s",
        "How long one reconciler batch took: claim, decide, write, release.",
    ),
    "order_lifecycle.actions.duration": (
        "histogram",
        "s",
        "How long one action's handler ran, by kind.",
    ),
}
"""Each instrument's kind (counter or histogram), unit and description, by name."""


class _Off:
    """A no-op counter and histogram: OpenTelemetry's API is not installed."""

    def add(self, amount: float, attributes: Mapping[str, str] | None = None) -> None:
        """Nothing."""

    def record(self, amount: float, attributes: Mapping[str, str] | None = None) -> None:
        """Nothing."""


_OFF = _Off()
_instruments: dict[str, Any] = dict.fromkeys(INSTRUMENTS, _OFF)
_meter: Any = None
_tracer: Any = None


def use(meter_provider: object = None, tracer_provider: object = None) -> None:
    """Make the instruments anew from these providers (OpenTelemetry's global ones if None).

    Run once on import; tests run it with an SDK's providers of their own, then again
    without arguments.
    """
    global _meter, _tracer  # noqa: PLW0603 (the module's one binding, replaced whole)
    if _metrics is None or _trace is None:
        return
    _meter = _metrics.get_meter(NAME, __version__, meter_provider=meter_provider)  # type: ignore[arg-type]
    _tracer = _trace.get_tracer(NAME, __version__, tracer_provider=tracer_provider)  # type: ignore[arg-type]
    for name, (kind, unit, description) in INSTRUMENTS.items():
        if kind == "counter":
            _instruments[name] = _meter.create_counter(name, unit, description)
        else:
            _instruments[name] = _meter.create_histogram(
                name, unit, description, explicit_bucket_boundaries_advisory=_SECONDS
            )


use()


def record(name: str, amounts: Mapping[str, int] | float, **attributes: str) -> None:
    """Add to the counter ``name`` (or record in the histogram): one value, or one per label.

    ``amounts`` maps the values of the instrument's first label (``outcome``, ``status``...,
    given as ``label=``) to how many; ``attributes`` are the other labels.
    """
    instrument = _instruments[name]
    if instrument is _OFF:
        return
    if isinstance(amounts, Mapping):
        label = attributes.pop("label")
        for value, amount in amounts.items():
            if amount:
                instrument.add(amount, {**attributes, label: value})
    elif INSTRUMENTS[name][0] == "histogram":
        instrument.record(amounts, attributes)
    else:
        instrument.add(amounts, attributes)


class span:  # noqa: N801 (used as a function: ``with span(...)``)
    """A span named ``name``, current while the block runs; it yields it, or ``None``.

    ``None`` when nothing records it (no OpenTelemetry, or no SDK): then no context is
    attached, which is most of a span's cost. ``timed`` names a histogram that records the
    block's duration as well. An exception escaping the block marks the span failed.
    """

    __slots__ = ("_began", "_name", "_span", "_timed", "_token", "attributes")

    def __init__(
        self, name: str, timed: str | None = None, attributes: Mapping[str, str | int] = {}
    ) -> None:
        self._name = name
        self._timed = None if timed is None or _instruments[timed] is _OFF else timed
        self.attributes = attributes
        self._span: Any = None
        self._token: Any = None
        self._began = 0.0

    def __enter__(self) -> Any:  # noqa: ANN401 (a span, or None)
        if _tracer is not None:
            current = _tracer.start_span(self._name, attributes=self.attributes or None)
            if current.is_recording():
                self._span = current
                self._token = _context.attach(_trace.set_span_in_context(current))
        if self._timed is not None:
            self._began = time.perf_counter()
        return self._span

    def __exit__(self, kind: type[BaseException] | None, error: object, _tb: object) -> None:
        if self._timed is not None:
            _instruments[self._timed].record(time.perf_counter() - self._began)
        current = self._span
        if current is None:
            return
        if kind is not None:
            failed(current, kind.__qualname__, _text(error))
        current.end()
        _context.detach(self._token)


def _text(error: object) -> str:
    """``str(error)``, or its type's name when its ``str()`` raises (the shop's exception)."""
    try:
        return str(error)
    except Exception:  # noqa: BLE001 (anything may fail in a foreign __str__)
        return type(error).__qualname__


def store_failed(operation: str, error: BaseException) -> None:
    """Count one failed store call of ``operation`` (accept, reconcile, actions)."""
    record("order_lifecycle.store.failures", 1, operation=operation, error=type(error).__name__)


def failed(current: Any, kind: str, text: str) -> None:  # noqa: ANN401 (a span or None)
    """Mark ``current`` (a span, or ``None``) failed: an error of type ``kind``, said ``text``.

    Text, not the exception: the shop's exception may not even print (``str()`` raising).
    """
    if current is None or _trace is None:
        return
    current.add_event("exception", {"exception.type": kind, "exception.message": text})
    current.set_status(_trace.Status(_trace.StatusCode.ERROR, text[:200]))


def carried(function: Callable[[], T]) -> Callable[[], T]:
    """``function``, run in the current context wherever it runs (a handler's own thread).

    So the spans a shop's handler makes are children of the worker's span around it.
    """
    if _context is None:
        return function
    captured = _context.get_current()

    def run() -> T:
        token = _context.attach(captured)
        try:
            return function()
        finally:
            _context.detach(token)

    return run


Observed = Callable[[], Iterable[tuple[float, Mapping[str, str]]]]
"""A gauge's reading: its values, each with its labels."""


def observe(name: str, unit: str, description: str, read: Observed) -> bool:
    """Register an observable gauge ``name`` read by ``read`` at each collection.

    Returns whether it was registered (``False`` without OpenTelemetry's API).
    """
    if _meter is None or _metrics is None:
        return False
    observation = _metrics.Observation

    def callback(_options: object) -> Iterator[Any]:
        for value, attributes in read():
            yield observation(value, dict(attributes))

    _meter.create_observable_gauge(name, [callback], unit, description)
    return True


class Outage:
    """A run loop's store failures, logged on ``log``: the first, then the end of the outage.

    The first failure of a run of them is a warning (the error's text and type); the
    next ones only debug records, so a loop trying every second does not flood the log;
    the first success after them an info record saying how long it lasted. (Failures are
    counted where they are raised: :func:`store_failed`.)
    """

    def __init__(self, log: logging.Logger, operation: str) -> None:
        self._log = log
        self._operation = operation
        self._failures = 0
        self._since = 0.0

    def failed(self, error: BaseException, text: str) -> None:
        """One more failure: ``error``, described by ``text`` (bounded, no secret)."""
        fields = {"operation": self._operation, "error": type(error).__name__}
        self._failures += 1
        if self._failures == 1:
            self._since = time.monotonic()
            self._log.warning(
                "%s: the store failed, trying again until it works: %s",
                self._operation,
                text,
                extra=fields,
            )
        else:
            self._log.debug("%s: the store failed again: %s", self._operation, text, extra=fields)

    def ok(self) -> None:
        """The store answered: the outage, if any, is over."""
        if not self._failures:
            return
        self._log.info(
            "%s: the store works again, after %d failed tries over %.1f s",
            self._operation,
            self._failures,
            time.monotonic() - self._since,
            extra={"operation": self._operation, "count": self._failures},
        )
        self._failures = 0

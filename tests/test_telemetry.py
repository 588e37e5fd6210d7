"""OpenTelemetry optional: a no-op without its API, the shop's SDK wherever it is set."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest

import order_lifecycle
from order_lifecycle import _telemetry

from .otel import Telemetry


def run(code: str) -> str:
    """Run ``code`` in a fresh interpreter; what it printed (it must succeed)."""
    done = subprocess.run(  # noqa: S603 (our own interpreter, our own code)
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_without_opentelemetry_everything_runs_and_records_nothing() -> None:
    """No OpenTelemetry API: the inbox, reconciler and worker run; the integration says why not."""
    printed = run(
        """
        import sys
        sys.modules["opentelemetry"] = None  # as if not installed
        from order_lifecycle import ActionWorker, Inbox, _telemetry
        from order_lifecycle.store import MemoryStore
        store = MemoryStore()
        body = (b'{"id": "evt-1", "type": "order.accepted", "createdTime": '
                b'"2026-04-10T12:00:00Z", "data": {"object": {"id": "o1", "state": '
                b'"accepted", "items": [{"id": "i1", "quantity": 1, '
                b'"productDetails": {"physical": true}}]}}}')
        (result,) = Inbox(store, verified_upstream=True).receive([body])
        worker = ActionWorker(store, {"ship": lambda action: None})
        worker.run_once()
        print(_telemetry.ENABLED, result.outcome, worker.counts.done)
        try:
            import order_lifecycle.integrations.opentelemetry
        except ImportError as error:
            print(error)
        """
    )
    assert printed.splitlines() == [
        "False applied 1",
        (
            "order_lifecycle.integrations.opentelemetry needs OpenTelemetry's API, which is "
            "not installed: pip install 'order-lifecycle[otel]'"
        ),
    ]


def test_a_meter_provider_set_after_the_import_receives_the_metrics() -> None:
    """The shop sets its SDK after importing the library: the instruments report to it."""
    printed = run(
        """
        from order_lifecycle import Inbox
        from order_lifecycle.store import MemoryStore
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        Inbox(MemoryStore(), verified_upstream=True).accept([b"not json"])
        for resource in reader.get_metrics_data().resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == "order_lifecycle.deliveries.accepted":
                        for point in metric.data.data_points:
                            print(dict(point.attributes), point.value)
        """
    )
    assert printed.splitlines() == ["{'outcome': 'invalid'} 1"]


def test_the_package_logger_has_a_null_handler() -> None:
    """Records go nowhere until the application configures logging (no last-resort printing)."""
    handlers = logging.getLogger(order_lifecycle.__name__).handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_a_timed_span_records_its_block_whether_or_not_it_raised(otel: Telemetry) -> None:
    """A span with a histogram times the block, also when it raises; the span says failed."""
    with _telemetry.span("order_lifecycle.accept", "order_lifecycle.accept.duration"):
        pass
    with (
        pytest.raises(ValueError, match="failed"),
        _telemetry.span("order_lifecycle.accept", "order_lifecycle.accept.duration"),
    ):
        raise ValueError("failed")
    assert otel.value("order_lifecycle.accept.duration") == 2
    ok, failed = otel.spans("order_lifecycle.accept")
    assert (ok.status.is_ok, failed.status.is_ok) == (True, False)

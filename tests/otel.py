"""OpenTelemetry's SDK in memory: the library's metrics and spans, as a test reads them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import attrs
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from order_lifecycle import _telemetry


def _value(point: object) -> float:
    """A point's value: a histogram's count, a counter's sum, a gauge's last value."""
    if isinstance(point, HistogramDataPoint):
        return float(point.count)
    return float(cast("Any", point).value)


@attrs.define
class Telemetry:
    """What the library recorded since the fixture began: metrics and finished spans."""

    reader: InMemoryMetricReader
    exporter: InMemorySpanExporter
    tracers: TracerProvider
    """The SDK's tracer provider: a shop's own tracer, as its handlers would use."""

    def points(self, name: str) -> list[tuple[dict[str, Any], float]]:
        """Each point of the metric ``name``: its attributes and value (a histogram's count)."""
        found: list[tuple[dict[str, Any], float]] = []
        data = self.reader.get_metrics_data()
        for resource in [] if data is None else data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    found.extend(
                        (dict(point.attributes or {}), _value(point))
                        for point in metric.data.data_points
                    )
        return found

    def value(self, name: str, **attributes: str) -> float:
        """The sum of the points of ``name`` whose attributes include ``attributes``."""
        return sum(
            value
            for found, value in self.points(name)
            if all(found.get(k) == v for k, v in attributes.items())
        )

    @staticmethod
    def attributes(span: ReadableSpan) -> dict[str, Any]:
        """A span's attributes."""
        return dict(span.attributes or {})

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        """The finished spans (named ``name``), oldest first."""
        return [s for s in self.exporter.get_finished_spans() if name is None or s.name == name]


@contextmanager
def in_memory() -> Iterator[Telemetry]:
    """The library's instruments bound to an in-memory SDK for the test, then unbound."""
    reader = InMemoryMetricReader()
    exporter = InMemorySpanExporter()
    meters = MeterProvider(metric_readers=[reader])
    tracers = TracerProvider()
    tracers.add_span_processor(SimpleSpanProcessor(exporter))
    _telemetry.use(meters, tracers)
    try:
        yield Telemetry(reader, exporter, tracers)
    finally:
        _telemetry.use()
        meters.shutdown()
        tracers.shutdown()

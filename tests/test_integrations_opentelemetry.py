"""A store's backlog as OpenTelemetry gauges, read sparingly; and scraped by Prometheus."""

from __future__ import annotations

import contextlib
import logging
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry, start_http_server

from order_lifecycle import Delivery, Inbox, _telemetry
from order_lifecycle.exceptions import StoreUnavailable, WrongType
from order_lifecycle.integrations.opentelemetry import observe_backlog
from order_lifecycle.store import Backlog, MemoryStore
from order_lifecycle.webhooks import sign

from . import webhook_events as ev
from .hostile import VALUES
from .otel import Telemetry

SECRET = "whsec-gauges"  # noqa: S105 (a made-up test secret)
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)


class Counted(MemoryStore):
    """A memory store that counts its backlog reads, and fails them while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.down = False

    def backlog(self) -> Backlog:
        """The backlog; or StoreUnavailable while down."""
        self.reads += 1
        if self.down:
            raise StoreUnavailable("the database cannot be reached")
        return super().backlog()


def stored(store: MemoryStore, *payloads: dict[str, Any]) -> None:
    bodies = [ev.raw(p) for p in payloads]
    Inbox(store, secrets=[SECRET]).accept(
        [Delivery(b, sign(b, SECRET, NOW), received_at=NOW) for b in bodies]
    )


def test_the_gauges_show_the_backlog_and_the_age_of_its_oldest(otel: Telemetry) -> None:
    """Two pending deliveries received 90 s ago: counted 2, the oldest 90 s old; none waiting."""
    store = MemoryStore()
    stored(store, ev.card_order_accepted()[0], ev.expired_wire_transfer()[0])
    observe_backlog(store, clock=lambda: NOW + timedelta(seconds=90))
    assert otel.value("order_lifecycle.deliveries.backlog", status="pending") == 2
    assert otel.value("order_lifecycle.deliveries.backlog", status="waiting") == 0
    assert otel.value("order_lifecycle.deliveries.backlog.age", status="pending") == 90
    assert otel.value("order_lifecycle.actions.backlog", state="dead") == 0
    assert otel.value("order_lifecycle.actions.backlog.age", state="pending") == 0


def test_the_store_is_read_at_most_once_per_interval(otel: Telemetry) -> None:
    """Collections within ``every`` reuse the last reading: one read, whatever the scrapes."""
    store = Counted()
    observe_backlog(store, every=timedelta(hours=1))
    for _ in range(5):
        otel.points("order_lifecycle.deliveries.backlog")
    assert store.reads == 1


def test_a_failing_store_silences_the_gauges_and_warns_once(
    otel: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    """While the store fails, no point is reported and one warning is logged; then back."""
    store = Counted()
    store.down = True
    observe_backlog(store, every=timedelta(microseconds=1))
    with caplog.at_level(logging.WARNING, "order_lifecycle"):
        assert otel.points("order_lifecycle.deliveries.backlog") == []
        assert otel.points("order_lifecycle.actions.backlog") == []
    assert len([r for r in caplog.records if "cannot read the store" in r.getMessage()]) == 1
    store.down = False
    assert otel.value("order_lifecycle.deliveries.backlog", status="pending") == 0
    assert len(otel.points("order_lifecycle.deliveries.backlog")) == 2


@pytest.mark.parametrize(
    "settings",
    [{"store": object()}, {"every": timedelta(0)}, {"every": 15}, {"clock": "now"}],
)
def test_a_misconfiguration_is_refused(settings: dict[str, Any]) -> None:
    """Not a store, an interval not above 0, a clock that cannot be called: WrongType."""
    arguments: dict[str, Any] = {"store": MemoryStore(), **settings}
    with pytest.raises(WrongType):
        observe_backlog(**arguments)


def test_prometheus_scrapes_the_metrics_through_opentelemetrys_exporter() -> None:
    """The documented setup: a scrape page lists the deliveries counted and the backlog."""
    registry = CollectorRegistry()
    meters = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    _telemetry.use(meters)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        store = MemoryStore()
        observe_backlog(store)
        stored(store, ev.card_order_accepted()[0])
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as page:
            text = page.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        _telemetry.use()
        meters.shutdown()
    samples = {
        line.split("{")[0]: line.rsplit(" ", 1)[1]
        for line in text.splitlines()
        if 'outcome="pending"' in line or 'status="pending"' in line
    }
    assert samples["order_lifecycle_deliveries_accepted_total"] == "1.0"
    assert samples["order_lifecycle_deliveries_backlog"] == "1.0"
    assert "order_lifecycle_accept_duration_seconds_bucket{" in text


@given(which=st.sampled_from(["store", "every", "clock"]), value=VALUES)
def test_any_setting_is_taken_or_refused_typed(which: str, value: Any) -> None:
    """Whatever a setting is, observe_backlog takes it or refuses it with WrongType."""
    arguments: dict[str, Any] = {"store": MemoryStore(), which: value}
    with contextlib.suppress(WrongType):
        observe_backlog(**arguments)

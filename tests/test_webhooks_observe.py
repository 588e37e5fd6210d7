"""What the inbox and its reconcilers tell an operator: log records, metrics and spans."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from order_lifecycle import Delivery, Inbox, Reconciler
from order_lifecycle.exceptions import StoreUnavailable
from order_lifecycle.store import Claim, MemoryStore
from order_lifecycle.webhooks import sign

from . import webhook_events as ev
from .otel import Telemetry

SECRET = "whsec-observed"  # noqa: S105 (a made-up test secret)
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
LOGGER = "order_lifecycle.webhooks"


def signed(payload: dict[str, Any] | bytes) -> Delivery:
    body = payload if isinstance(payload, bytes) else ev.raw(payload)
    return Delivery(body, sign(body, SECRET, NOW), received_at=NOW)


def inbox(store: MemoryStore | None = None, **settings: Any) -> Inbox:
    return Inbox(MemoryStore() if store is None else store, secrets=[SECRET], **settings)


def records(
    caplog: pytest.LogCaptureFixture, level: int = logging.DEBUG
) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= level]


def drain(reconciler: Reconciler) -> None:
    while reconciler.run_once():
        pass


def test_a_forged_delivery_is_a_warning_without_its_signature(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bad signature is logged refused, with its outcome; never the header or the body."""
    body = ev.raw(ev.card_order_accepted()[0])
    header = sign(body, "whsec-a-forger", NOW)
    with caplog.at_level(logging.INFO, LOGGER):
        inbox().accept([Delivery(body, header, received_at=NOW)])
    (record,) = records(caplog)
    assert record.levelno == logging.WARNING
    assert getattr(record, "outcome", None) == "signature"
    assert "refused unread" in record.getMessage()
    assert header not in record.getMessage()
    assert body.decode() not in record.getMessage()


def test_a_body_too_large_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A body over max_body is logged refused as too_large."""
    with caplog.at_level(logging.INFO, LOGGER):
        inbox(max_body=10).accept([signed(b"x" * 11)])
    (record,) = records(caplog)
    assert (record.levelno, getattr(record, "outcome", None)) == (logging.WARNING, "too_large")


def test_an_envelope_that_cannot_be_read_is_a_warning_stored_as_invalid(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A signed body that is not JSON is stored as invalid, and logged so, with its seq."""
    with caplog.at_level(logging.INFO, LOGGER):
        (result,) = inbox().accept([signed(b"not json")])
    (record,) = records(caplog)
    assert record.levelno == logging.WARNING
    assert getattr(record, "delivery_seq", None) == result.seq
    assert "stored as invalid" in record.getMessage()


def test_stored_deliveries_are_logged_only_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """A delivery stored pending is no news: a debug record, none at info."""
    payload = ev.card_order_accepted()[0]
    with caplog.at_level(logging.INFO, LOGGER):
        inbox().accept([signed(payload)])
    assert records(caplog) == []
    with caplog.at_level(logging.DEBUG, LOGGER):
        inbox().accept([signed(payload)])
    (record,) = records(caplog)
    assert (record.levelno, getattr(record, "event_id", None)) == (logging.DEBUG, payload["id"])


def test_waiting_and_unknown_order_deliveries_are_logged_with_their_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A delivery that waits is info; one whose order never came, a warning; ids in extra."""
    store = MemoryStore()
    capture = ev.charge_capture_and_cancel()[1]
    inbox(store).accept([signed(capture)])
    clock = [NOW]
    reconciler = Reconciler(store, clock=lambda: clock[0], order_wait=timedelta(minutes=1))
    with caplog.at_level(logging.INFO, LOGGER):
        reconciler.run_once()
        clock[0] += timedelta(hours=1)
        reconciler.run_once()
    waiting, unknown = records(caplog)
    assert (waiting.levelno, getattr(waiting, "outcome", None)) == (logging.INFO, "waiting")
    assert (unknown.levelno, getattr(unknown, "outcome", None)) == (
        logging.WARNING,
        "unknown_order",
    )
    for record in (waiting, unknown):
        assert getattr(record, "event_id", None) == capture["id"]
        assert getattr(record, "order_id", None) == "1007"
        assert getattr(record, "delivery_seq", None) == 1


def test_a_poisoned_delivery_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A delivery whose body the reconciler cannot parse is settled invalid, and warned of."""
    store = MemoryStore()
    poison = json.loads(ev.raw(ev.card_order_accepted()[0]))
    poison["data"]["object"]["items"][0]["quantity"] = "lots"
    inbox(store).accept([signed(poison)])
    with caplog.at_level(logging.INFO, LOGGER):
        drain(Reconciler(store, clock=lambda: NOW))
    (record,) = records(caplog)
    assert (record.levelno, getattr(record, "outcome", None)) == (logging.WARNING, "invalid")
    assert "items[0]" in record.getMessage()


class DownStore(MemoryStore):
    """A store whose database is gone for the request path."""

    def accept_deliveries(self, _rows: Sequence[Any], _keep: Sequence[Any] = ()) -> Any:
        """Fails as an unreachable database does."""
        raise StoreUnavailable("PostgreSQL at shop@db:5432/shop failed: connection refused")


def test_the_request_path_logs_and_counts_a_store_outage(
    caplog: pytest.LogCaptureFixture, otel: Telemetry
) -> None:
    """With the store down, accept raises (503), after a warning and a count of the failure."""
    with caplog.at_level(logging.INFO, LOGGER), pytest.raises(StoreUnavailable):
        inbox(DownStore()).accept([signed(ev.card_order_accepted()[0])])
    (record,) = records(caplog)
    assert record.levelno == logging.WARNING
    assert getattr(record, "error", None) == "StoreUnavailable"
    assert "503" in record.getMessage()
    failures = "order_lifecycle.store.failures"
    assert otel.value(failures, operation="accept", error="StoreUnavailable") == 1


def test_accept_counts_deliveries_by_outcome_and_spans_each_call(otel: Telemetry) -> None:
    """One accept call: a span with the event ids, a duration, and a count per outcome."""
    payload = ev.card_order_accepted()[0]
    box = inbox()
    box.accept([signed(payload), signed(b"not json")])
    box.accept([signed(payload), Delivery(b"{}", "t=1,v0=forged", received_at=NOW)])
    accepted = "order_lifecycle.deliveries.accepted"
    assert otel.value(accepted, outcome="pending") == 1
    assert otel.value(accepted, outcome="invalid") == 1
    assert otel.value(accepted, outcome="duplicate") == 1
    assert otel.value(accepted, outcome="signature") == 1
    assert otel.value("order_lifecycle.accept.duration") == 2
    first, _ = otel.spans("order_lifecycle.accept")
    assert otel.attributes(first)["order_lifecycle.deliveries"] == 2
    assert payload["id"] in otel.attributes(first)["order_lifecycle.event_ids"]


def test_reconcile_counts_by_status_and_spans_each_batch(otel: Telemetry) -> None:
    """A reconciler batch: a span with its claim's event ids, a duration, counts by status."""
    store = MemoryStore()
    life = ev.charge_capture_and_cancel()
    inbox(store).accept([signed(life[1])])
    reconciler = Reconciler(store, clock=lambda: NOW)
    reconciler.run_once()
    inbox(store).accept([signed(life[0])])
    drain(reconciler)
    reconciled = "order_lifecycle.deliveries.reconciled"
    assert otel.value(reconciled, status="waiting") == 1
    assert otel.value(reconciled, status="applied") == 2
    batches = otel.spans("order_lifecycle.reconcile")
    assert len(batches) == otel.value("order_lifecycle.reconcile.duration") >= 2
    first = otel.attributes(batches[0])
    assert list(first["order_lifecycle.event_ids"]) == [life[1]["id"]]
    assert (first["order_lifecycle.deliveries"], first["order_lifecycle.orders"]) == (1, 1)
    commit = otel.spans("order_lifecycle.commit")[0]
    assert commit.parent is not None
    assert commit.parent.span_id == batches[0].context.span_id


def test_receive_spans_its_accept_and_reconcile_and_times_them(otel: Telemetry) -> None:
    """Inline receive: one span with the event ids, parent of its accept and reconcile spans."""
    payload = ev.card_order_accepted()[0]
    results = inbox().receive([signed(payload)])
    assert [str(r.outcome) for r in results] == ["applied"]
    (receive,) = otel.spans("order_lifecycle.receive")
    assert list(otel.attributes(receive)["order_lifecycle.event_ids"]) == [payload["id"]]
    assert otel.attributes(receive)["order_lifecycle.deliveries"] == 1
    children = otel.spans("order_lifecycle.accept") + otel.spans("order_lifecycle.reconcile")
    assert len(children) == 2
    assert all(c.parent is not None for c in children)
    assert {c.parent.span_id for c in children if c.parent} == {receive.context.span_id}
    assert otel.value("order_lifecycle.receive.duration") == 1


class Flaky(MemoryStore):
    """A store whose claims fail ``down`` times, then work; the reconciler stops after."""

    def __init__(self, down: int) -> None:
        super().__init__()
        self.down = down
        self.reconciler: Reconciler | None = None

    def claim_deliveries(self, *args: Any, **kwargs: Any) -> Claim:
        """Fails while down; then claims, and asks the reconciler to stop."""
        if self.down:
            self.down -= 1
            raise StoreUnavailable("the database cannot be reached")
        assert self.reconciler is not None
        self.reconciler.stop()
        return super().claim_deliveries(*args, **kwargs)


def test_a_reconciler_outage_is_one_warning_then_its_end(
    caplog: pytest.LogCaptureFixture, otel: Telemetry
) -> None:
    """Five failed batches: one warning, four debug records, an info when it works; 5 counted."""
    store = Flaky(down=5)
    store.reconciler = reconciler = Reconciler(store, idle=0.001)
    with caplog.at_level(logging.DEBUG, LOGGER):
        reconciler.run_forever(install_signals=False)
    levels = [r.levelno for r in records(caplog) if getattr(r, "operation", None) == "reconcile"]
    assert levels == [logging.WARNING, *[logging.DEBUG] * 4, logging.INFO]
    assert "after 5 failed tries" in records(caplog)[-1].getMessage()
    assert otel.value("order_lifecycle.store.failures", operation="reconcile") == 5
    assert reconciler.counts.errors == 5

"""What the worker tells an operator: failures, deaths and retries logged, counted, traced."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry import trace

from order_lifecycle import Item, Order, OrderEvent
from order_lifecycle.actions import ActionWorker, StoredAction, action_key
from order_lifecycle.exceptions import StoreUnavailable
from order_lifecycle.models import fire
from order_lifecycle.store import MemoryStore

from .otel import Telemetry

SHIP = action_key("o1", "ship", "box")
PAST = datetime(2001, 1, 1, tzinfo=UTC)
LOGGER = "order_lifecycle.actions"


def stocked(max_tries: int = 8, orders: tuple[str, ...] = ("o1",)) -> MemoryStore:
    """A store holding accepted orders: one item to ship each."""
    store = MemoryStore()
    store.max_tries = max_tries
    for order_id in orders:
        order = Order.create(order_id, items=[Item("box", 1, physical=True)])
        fire(order, OrderEvent.ACCEPT)
        store.create_order(order)
    return store


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


class WarehouseDown(Exception):
    """The shop's own error."""


def broken(_action: StoredAction) -> None:
    raise WarehouseDown("the warehouse answered 502")


def test_a_failing_handler_is_a_warning_then_due_again_then_dead(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each failure: a warning with its traceback, then info (due again) or error (dead)."""
    store = stocked(max_tries=2)
    worker = ActionWorker(store, {"ship": broken}, clock=lambda: PAST)  # due again at once
    with caplog.at_level(logging.INFO, LOGGER):
        worker.run_once()
        worker.run_once()
    failed, due, retried_failed, dead = records(caplog)
    assert (failed.levelno, getattr(failed, "outcome", None)) == (logging.WARNING, "failed")
    assert failed.exc_info is not None
    assert failed.exc_info[0] is WarehouseDown
    assert "502" in failed.getMessage()
    assert (due.levelno, getattr(due, "tries", None)) == (logging.INFO, 1)
    assert "due again" in due.getMessage()
    assert retried_failed.levelno == logging.WARNING
    assert (dead.levelno, getattr(dead, "outcome", None)) == (logging.ERROR, "dead")
    assert "retry" in dead.getMessage()
    for record in (failed, due, dead):
        assert getattr(record, "action_key", None) == SHIP
        assert getattr(record, "order_id", None) == "o1"


def test_actions_are_counted_by_result_and_timed(otel: Telemetry) -> None:
    """Done, failed and dead are counted by kind; each handler's run is timed."""
    store = stocked(max_tries=1, orders=("o1", "o2"))
    ActionWorker(store, {"ship": lambda a: None if a.order_id == "o1" else broken(a)}).run_once()
    finished = "order_lifecycle.actions.finished"
    assert otel.value(finished, kind="ship", result="done") == 1
    assert otel.value(finished, kind="ship", result="dead") == 1
    assert otel.value(finished, result="failed") == 0
    assert otel.value("order_lifecycle.actions.duration", kind="ship") == 2


def test_each_handler_runs_in_a_span_its_own_spans_are_children_of(otel: Telemetry) -> None:
    """A handler's span names its action; the handler's own spans (its thread) are children."""
    tracer = otel.tracers.get_tracer("shop")

    def ship(_: StoredAction) -> None:
        with tracer.start_as_current_span("warehouse call"):
            raise WarehouseDown("no stock")

    ActionWorker(stocked(), {"ship": ship}).run_once()
    (span,) = otel.spans("order_lifecycle.action")
    (call,) = otel.spans("warehouse call")
    assert call.parent is not None
    assert call.parent.span_id == span.context.span_id
    attributes = otel.attributes(span)
    assert attributes["order_lifecycle.action.key"] == SHIP
    assert attributes["order_lifecycle.action.kind"] == "ship"
    assert span.status.status_code is trace.StatusCode.ERROR
    assert [e.attributes for e in span.events if e.name == "exception"] == [
        {"exception.type": "WarehouseDown", "exception.message": "WarehouseDown: no stock"}
    ]


class Down(MemoryStore):
    """A store whose outbox fails ``down`` claims, then works; the worker stops after."""

    def __init__(self, down: int) -> None:
        super().__init__()
        self.down = down
        self.worker: ActionWorker | None = None

    def claim_actions(self, *args: Any, **kwargs: Any) -> list[StoredAction]:
        """Fails while down; then claims, and asks the worker to stop."""
        if self.down:
            self.down -= 1
            raise StoreUnavailable("the database cannot be reached")
        assert self.worker is not None
        self.worker.stop()
        return super().claim_actions(*args, **kwargs)


def test_a_worker_outage_is_one_warning_then_its_end(
    caplog: pytest.LogCaptureFixture, otel: Telemetry
) -> None:
    """Three failed claims: one warning, two debug records, an info once it works; 3 counted."""
    store = Down(down=3)
    store.worker = worker = ActionWorker(store, {"ship": lambda _: None}, idle=0.001)
    with caplog.at_level(logging.DEBUG, LOGGER):
        worker.run_forever(install_signals=False)
    levels = [r.levelno for r in records(caplog) if getattr(r, "operation", None) == "actions"]
    assert levels == [logging.WARNING, logging.DEBUG, logging.DEBUG, logging.INFO]
    assert otel.value("order_lifecycle.store.failures", operation="actions") == 3

"""Running it in production: what an operator sees of a day, and what never reaches a log."""

from __future__ import annotations

import contextlib
import json
import logging
import string
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle import ActionWorker, Delivery, Inbox, Reconciler
from order_lifecycle.actions import StoredAction
from order_lifecycle.checkout import begin_submission, record_response
from order_lifecycle.exceptions import OrderLifecycleError, StoreUnavailable
from order_lifecycle.integrations.opentelemetry import observe_backlog
from order_lifecycle.models import Checkout
from order_lifecycle.store import Claim, DeliveryStatus, MemoryStore
from order_lifecycle.testing import (
    TEST_SECRET,
    SignedDelivery,
    hostile_deliveries,
    http_responses,
    order_lives,
    shuffled_deliveries,
    signed_delivery,
)

from . import webhook_events as ev
from .otel import in_memory

CANARY = "Cust0mer"  # every customer field drawn below starts with it
PAST = datetime(2001, 1, 1, tzinfo=UTC)  # the worker's clock: a failure is due again at once
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def texts(record: logging.LogRecord) -> Iterator[str]:
    """Everything of a record a handler could write: its message, its args, its extra fields."""
    yield record.getMessage()
    args = record.args if isinstance(record.args, tuple) else (record.args,)
    yield from (f"{arg!s} {arg!r}" for arg in args)
    yield from (f"{v!s} {v!r}" for k, v in vars(record).items() if k not in _STANDARD)


@attrs.frozen
class Traffic:
    """Deliveries carrying customer data, signed with the test secret or a drawn one."""

    secret: str
    deliveries: list[SignedDelivery]


def _with_customer(delivery: SignedDelivery, customer: str, secret: str) -> SignedDelivery:
    """The delivery with a customer's name, e-mail and address in its object, signed again."""
    payload = delivery.payload()
    payload["data"]["object"] |= {
        "email": f"{CANARY}.{customer}@example.com",
        "shipTo": {
            "name": f"{CANARY} {customer}",
            "address": {"line1": f"{CANARY} {customer} street", "city": f"{CANARY}ville"},
        },
    }
    body = json.dumps(payload).encode()
    sent = (delivery.received_at or ev.T0) - timedelta(seconds=1)
    return signed_delivery(body, at=sent, secret=secret)


@st.composite
def traffic(draw: st.DrawFn) -> Traffic:
    """An order's life shuffled, with customer data, amid hostile deliveries."""
    secret = "whsec_" + draw(st.text(string.ascii_letters + string.digits, min_size=8))
    customer = draw(st.text(min_size=1, max_size=30))
    life = draw(order_lives(max_moves=6))
    shuffled = draw(shuffled_deliveries(life, max_duplicates=2))
    signers = st.sampled_from([TEST_SECRET, secret])
    deliveries = [_with_customer(d, customer, draw(signers)) for d in shuffled]
    deliveries += draw(st.lists(hostile_deliveries(), max_size=4))
    return Traffic(secret, draw(st.permutations(deliveries)))


def _forbidden(traffic: Traffic) -> list[str]:
    """What must never reach a record: secrets, signatures, bodies, customer data."""
    found = [CANARY, TEST_SECRET, traffic.secret]
    for delivery in traffic.deliveries:
        # The header is "t=<time>, <signature>[, <signature>...]": every signature part.
        found += [p.strip() for p in (delivery.signature or "").split(",")[1:] if len(p) > 8]
        if len(delivery.body) >= 24:
            found.append(delivery.body.decode(errors="replace"))
    return found


def _failing(_action: StoredAction) -> None:
    raise RuntimeError("the warehouse API answered 503")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(traffic())
def test_no_secret_signature_body_or_customer_data_reaches_a_record(
    caplog: pytest.LogCaptureFixture, traffic: Traffic
) -> None:
    """Whatever arrives, every record of the inbox, reconciler and worker is free of it."""
    caplog.clear()
    store = MemoryStore()
    store.max_tries = 2
    last = max(d.received_at or ev.T0 for d in traffic.deliveries) + timedelta(days=1)
    with caplog.at_level(logging.DEBUG, "order_lifecycle"):
        inbox = Inbox(store, secrets=[TEST_SECRET, traffic.secret])
        for delivery in traffic.deliveries:
            inbox.accept([delivery])
        reconciler = Reconciler(store, clock=lambda: last, order_wait=timedelta(0))
        while reconciler.run_once():
            pass
        worker = ActionWorker(
            store, dict.fromkeys(["ship", "capture"], _failing), clock=lambda: PAST
        )
        while worker.run_once():
            pass
    forbidden = _forbidden(traffic)
    assert caplog.records
    for record in caplog.records:
        for text in texts(record):
            for secret in forbidden:
                assert secret not in text, (record.name, record.msg)


def _planted(body: str, customer: str) -> str:
    """A JSON answer with a customer's e-mail and address in it, and in each error's parameter."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    data |= {"email": f"{CANARY}.{customer}@example.com", "billTo": {"name": f"{CANARY}"}}
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            error["parameter"] = f"{CANARY} {customer}"
    return json.dumps(data)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(response=http_responses("chk-1"), customer=st.text(min_size=1, max_size=30))
def test_no_response_body_or_customer_data_reaches_a_checkout_record(
    caplog: pytest.LogCaptureFixture, response: tuple[int, str], customer: str
) -> None:
    """Whatever POST /orders answers, with a customer's data in it, no record repeats it."""
    caplog.clear()
    status, body = response
    planted = _planted(body, customer)
    checkout = Checkout("chk-1")
    begin_submission(checkout)
    with (
        caplog.at_level(logging.DEBUG, "order_lifecycle"),
        contextlib.suppress(OrderLifecycleError),
    ):
        record_response(checkout, status, planted)
    for record in caplog.records:
        for text in texts(record):
            assert CANARY not in text
            if len(planted) >= 24:
                assert planted not in text


class OutageStore(MemoryStore):
    """A memory store whose database goes away for ``failures`` calls once ``down`` is set.

    The request path, claims and the outbox fail as an unreachable database does; after
    the outage, a run loop that finds nothing to do is stopped (``stopping``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.stopping: Reconciler | ActionWorker | None = None

    def _gate(self) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("PostgreSQL at shop@db:5432/shop: connection refused")

    def accept_deliveries(self, *args: Any, **kwargs: Any) -> list[int | None]:
        """Fails during the outage."""
        self._gate()
        return super().accept_deliveries(*args, **kwargs)

    def claim_deliveries(self, *args: Any, **kwargs: Any) -> Claim:
        """Fails during the outage; an empty claim after it stops the reconciler."""
        self._gate()
        claim = super().claim_deliveries(*args, **kwargs)
        if not claim.deliveries and self.stopping is not None:
            self.stopping.stop()
        return claim

    def claim_actions(self, *args: Any, **kwargs: Any) -> list[StoredAction]:
        """Fails during the outage; nothing left to claim after it stops the worker."""
        self._gate()
        claimed = super().claim_actions(*args, **kwargs)
        if not claimed and self.stopping is not None:
            self.stopping.stop()
        return claimed


def _run(store: OutageStore, loop: Reconciler | ActionWorker, outage: int = 0) -> None:
    """Run ``loop`` until it finds nothing to do, through an outage of ``outage`` calls."""
    store.failures, store.stopping = outage, loop
    loop.run_forever(install_signals=False)


def _accept(inbox: Inbox, deliveries: Sequence[Delivery]) -> list[Delivery]:
    """The request path for each delivery; those answered 503 (for the provider to retry)."""
    refused = []
    for delivery in deliveries:
        try:
            inbox.accept([delivery])
        except StoreUnavailable:
            refused.append(delivery)
    return refused


def _day(lives: Sequence[Any]) -> list[Delivery]:
    """The lives' deliveries and an order to ship, in the order they arrived."""
    deliveries: list[Delivery] = [d for life in lives for d in life.deliveries]
    body = ev.raw(ev.accepted_physical_and_digital()[0])
    deliveries.append(signed_delivery(body, at=ev.T0))
    return sorted(deliveries, key=lambda d: d.received_at or ev.T0)


@settings(max_examples=5, deadline=None)
@given(st.tuples(*(order_lives(f"day-{n}", max_moves=6) for n in range(8))))
def test_a_day_with_an_outage_and_a_failing_handler_shows_what_to_alert_on(
    lives: Sequence[Any],
) -> None:
    """The outage logged and counted, the failing handler's deaths too, the backlog up, down."""
    deliveries = _day(lives)
    store = OutageStore()
    store.max_tries = 3
    now = max(d.received_at or ev.T0 for d in deliveries)
    clock = [now]
    with in_memory() as otel, _captured() as records:
        observe_backlog(store, every=timedelta(microseconds=1), clock=lambda: clock[0])
        inbox = Inbox(store, secrets=[TEST_SECRET])
        reconciler = Reconciler(store, clock=lambda: clock[0], idle=0.001)
        half = len(deliveries) // 2
        assert _accept(inbox, deliveries[:half]) == []
        backlog = "order_lifecycle.deliveries.backlog"
        assert otel.value(backlog, status="pending") == half  # the backlog rises
        _run(store, reconciler)
        # The database goes away: the request path answers 503 for 3 deliveries, and the
        # reconciler fails 4 claims before it comes back.
        store.failures = 3
        retried = _accept(inbox, deliveries[half:])
        assert len(retried) == 3
        _run(store, reconciler, outage=4)
        assert _accept(inbox, retried) == []  # the provider's retries go in
        clock[0] += timedelta(days=1)  # whatever waited is due
        _run(store, reconciler)
        assert otel.value(backlog, status="pending") == 0  # and falls
        assert otel.value(backlog, status="waiting") == 0

        worker = ActionWorker(store, {"ship": _failing}, clock=lambda: PAST, idle=0.001)
        _run(store, worker, outage=2)

    failures = "order_lifecycle.store.failures"
    assert otel.value(failures, operation="accept", error="StoreUnavailable") == 3
    assert otel.value(failures, operation="reconcile", error="StoreUnavailable") == 4
    assert otel.value(failures, operation="actions", error="StoreUnavailable") == 2
    warned = [r for r in records if r.levelno == logging.WARNING]
    assert sum("not stored (answer 503" in r.getMessage() for r in warned) == 3
    for operation in ("reconcile", "actions"):
        outage = [r for r in records if getattr(r, "operation", None) == operation]
        assert [r.levelno for r in outage if r.levelno > logging.DEBUG] == [
            logging.WARNING,
            logging.INFO,
        ]

    dead = {a.key for a in store.list_actions(states=["dead"])}
    assert dead  # the order to ship, at least
    assert {getattr(r, "action_key", None) for r in records if r.levelno == logging.ERROR} == dead
    assert otel.value("order_lifecycle.actions.finished", result="dead") == len(dead)
    failed_tries = [r for r in warned if getattr(r, "outcome", None) == "failed"]
    assert len(failed_tries) == store.max_tries * len(dead)
    assert otel.value("order_lifecycle.actions.backlog", state="dead") == len(dead)
    errors = [s for s in otel.spans("order_lifecycle.action") if not s.status.is_ok]
    assert len(errors) == len(failed_tries)
    assert store.delivery_counts().get(DeliveryStatus.PENDING, 0) == 0
    assert otel.value("order_lifecycle.deliveries.accepted", outcome="pending") == len(
        {d.body for d in deliveries}
    )


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _captured() -> Iterator[list[logging.LogRecord]]:
    """Every record of the library's loggers while the block runs (caplog, per example)."""
    handler = _Records()
    logger = logging.getLogger("order_lifecycle")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)

from __future__ import annotations

import asyncio
import importlib
import logging
import subprocess
import sys
import threading
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from order_lifecycle.exceptions import WrongType
from order_lifecycle.integrations.starlette import (
    readiness_route,
    reconciler_lifespan,
    webhook_route,
)
from order_lifecycle.store import ReadinessCheck
from order_lifecycle.testing import HOSTILE_TEXT
from order_lifecycle.webhooks import DeliveryStatus, Inbox, Reconciler

from . import integrations as glue
from . import webhook_events as ev
from .hostile import VALUES


async def loop_thread(_request: Request) -> JSONResponse:
    """The thread the event loop runs on."""
    return JSONResponse(threading.get_ident())


def client(inbox: Inbox) -> TestClient:
    app = Starlette(routes=[webhook_route(inbox, path=glue.PATH), Route("/loop", loop_thread)])
    return TestClient(app)


def post(test: TestClient, raw: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    response = test.post(glue.PATH, content=raw, headers=headers or glue.headers(raw))
    return response.status_code, response.json()["outcome"]


def test_a_delivery_is_applied_and_its_redelivery_is_a_duplicate() -> None:
    """A signed delivery is stored (202 pending); the redelivery 200 duplicate; then applied."""
    inbox = glue.inbox()
    with client(inbox) as test:
        assert post(test, glue.body()) == (202, "pending")
        assert post(test, glue.body()) == (200, "duplicate")
    assert inbox.store.read_orders(["1001"]) == {}  # the request path reconciles nothing
    glue.reconcile(inbox.store)
    assert inbox.store.read_orders(["1001"])["1001"][1].state == "accepted"


def test_a_forged_delivery_answers_401_and_changes_nothing() -> None:
    """A delivery signed with another secret, or unsigned, answers 401; no order is made."""
    inbox = glue.inbox()
    with client(inbox) as test:
        raw = glue.body()
        assert post(test, raw, glue.headers(raw, "not-the-secret")) == (401, "invalid")
        assert test.post(glue.PATH, content=raw).status_code == 401
    assert inbox.store.read_orders(["1001"]) == {}
    assert inbox.refused == {"signature": 2, "too_large": 0}


def test_an_oversized_body_answers_413_and_is_not_read_past_the_limit() -> None:
    """A body over max_body is refused unread (413: not stored); a summary of its start kept."""
    raw = glue.body()
    store = glue.WatchedStore()
    inbox = glue.inbox(store, max_body=100)
    with client(inbox) as test:
        assert post(test, raw) == (413, "invalid")
    (kept,) = store.kept_deliveries()
    assert (kept.size, kept.raw) == (101, raw[:101])
    assert inbox.refused["too_large"] == 1


def test_a_delivery_before_its_order_is_stored_never_bounced() -> None:
    """A charge event before its order is stored (202, never 409); it applies with its order."""
    store = glue.WatchedStore()
    inbox = glue.inbox(store)
    with client(inbox) as test:
        assert post(test, glue.early()) == (202, "pending")
        glue.reconcile(inbox.store)
        assert post(test, ev.raw(ev.charge_capture_and_cancel()[0])) == (202, "pending")
    glue.reconcile(inbox.store)
    assert {row.status for row in store.list_deliveries()} == {DeliveryStatus.APPLIED}


def test_a_store_failure_answers_503() -> None:
    """When the store fails nothing is stored and the endpoint answers 503."""
    with client(glue.inbox(glue.DownStore())) as test:
        assert post(test, glue.body()) == (503, "error")


def test_poisoned_ids_are_invalid_and_answered_in_json() -> None:
    """A signed delivery with a NUL and a lone surrogate in its ids answers 202 invalid."""
    with client(glue.inbox()) as test:
        assert post(test, glue.poisoned()) == (202, "invalid")


def test_the_inbox_runs_off_the_event_loop_thread() -> None:
    """The store is called from a worker thread, never the one the event loop runs on."""
    store = glue.WatchedStore()
    with client(glue.inbox(store)) as test:
        assert post(test, glue.body()) == (202, "pending")
        loop = test.get("/loop").json()
    assert store.threads
    assert loop not in store.threads


def test_a_client_that_hangs_up_mid_body_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A client gone before its body arrived: nothing received, one log line, no traceback."""
    store = glue.WatchedStore()
    inbox = glue.inbox(store)
    app = Starlette(routes=[webhook_route(inbox, path=glue.PATH)])
    arriving: list[MutableMapping[str, Any]] = [
        {"type": "http.request", "body": glue.body()[:10], "more_body": True},
        {"type": "http.disconnect"},
    ]
    messages = iter(arriving)
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return next(messages)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": glue.PATH,
        "raw_path": glue.PATH.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "root_path": "",
    }
    with caplog.at_level(logging.INFO, logger="order_lifecycle.integrations.starlette"):
        asyncio.run(app(scope, receive, send))
    assert [r.getMessage() for r in caplog.records] == [
        f"POST {glue.PATH}: the client hung up before its body arrived; nothing was received."
    ]
    assert all(r.exc_info is None for r in caplog.records)
    assert sent[0]["status"] == 400  # an answer nobody reads: nothing was received
    assert store.threads == set()  # the inbox never ran
    assert inbox.refused == {"signature": 0, "too_large": 0}


def test_only_post_is_routed() -> None:
    """A GET of the webhook path answers 405."""
    with client(glue.inbox()) as test:
        assert test.get(glue.PATH).status_code == 405


def test_the_route_wants_an_inbox() -> None:
    """Anything but an Inbox is refused when the route is built."""
    with pytest.raises(WrongType, match="an Inbox"):
        webhook_route(object())  # type: ignore[arg-type]


def test_without_starlette_the_import_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing the glue without Starlette raises an ImportError naming the extra."""
    glue.without(monkeypatch, "starlette", "order_lifecycle.integrations.starlette")
    with pytest.raises(ImportError, match=r"pip install 'order-lifecycle\[starlette\]'"):
        importlib.import_module("order_lifecycle.integrations.starlette")


def test_importing_the_library_imports_no_framework() -> None:
    """order_lifecycle, its subpackages and the integrations package import no framework."""
    code = (
        "import sys, order_lifecycle, order_lifecycle.integrations, order_lifecycle.webhooks, "
        "order_lifecycle.store, order_lifecycle.provider\n"
        "found = {m.split('.')[0] for m in sys.modules} & "
        "{'starlette', 'django', 'fastapi', 'httpx', 'httpx2', 'anyio'}\n"
        "print(sorted(found))"
    )
    done = subprocess.run(  # noqa: S603 (this interpreter, fixed code)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_an_opted_in_reconciler_runs_in_a_thread_while_the_app_runs() -> None:
    """reconciler_lifespan: a thread applies what the route stores; it stops with the app."""
    inbox = glue.inbox()
    reconciler = Reconciler(inbox.store, idle=0.01)
    app = Starlette(
        routes=[webhook_route(inbox, path=glue.PATH)], lifespan=reconciler_lifespan(reconciler)
    )
    with TestClient(app) as test:
        assert post(test, glue.body()) == (202, "pending")
        applied = threading.Event()
        for _ in range(1000):
            if inbox.store.read_orders(["1001"]):
                applied.set()
                break
            applied.wait(0.01)
        running = [t for t in threading.enumerate() if t.name == "order-lifecycle reconciler"]
    assert applied.is_set()
    assert len(running) == 1
    assert not running[0].is_alive()
    with pytest.raises(WrongType, match="a Reconciler"):
        reconciler_lifespan(inbox)  # type: ignore[arg-type]


def ready_client(store: Any, check: ReadinessCheck | None = None) -> TestClient:
    app = Starlette(routes=[readiness_route(store, check), Route("/loop", loop_thread)])
    return TestClient(app)


def test_readiness_answers_200_with_the_backlog_when_ready() -> None:
    """A reachable store under its limits: 200, its schema and backlog in the body, not cached."""
    inbox = glue.inbox()
    inbox.accept(glue.signed(1))
    with ready_client(inbox.store) as test:
        answer = test.get("/ready")
        head = test.head("/ready")
    assert answer.status_code == head.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert (body["ready"], body["problems"], body["deliveries"]) == (True, [], {"pending": 1})


def test_readiness_answers_503_over_the_limit() -> None:
    """A backlog over the check's limit: 503, the problem in the body."""
    inbox = glue.inbox()
    inbox.accept(glue.signed(3))
    with ready_client(inbox.store, ReadinessCheck(max_deliveries=2)) as test:
        answer = test.get("/ready")
    assert answer.status_code == 503
    assert answer.json()["problems"] == [
        "deliveries not yet applied: 3, over the limit of 2: are the reconcilers running?"
    ]


def test_readiness_of_a_database_down_is_503_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A store that cannot be reached: 503 without its host in the body; a warning names it."""
    with ready_client(glue.DownStore()) as test, caplog.at_level(logging.WARNING):
        answer = test.get("/ready")
    assert answer.status_code == 503
    assert answer.json()["problems"] == ["the database cannot be reached"]
    assert "db.internal" not in answer.text
    (record,) = [r for r in caplog.records if r.name == "order_lifecycle.integrations"]
    assert "db.internal" in record.getMessage()


def test_readiness_reads_the_store_off_the_event_loop_thread() -> None:
    """The readiness check pings the store from a worker thread, never the event loop's."""
    store = glue.WatchedStore()
    with ready_client(store) as test:
        assert test.get("/ready").status_code == 200
        loop = test.get("/loop").json()
    assert store.threads
    assert loop not in store.threads


@given(store=VALUES, check=VALUES)
def test_the_readiness_route_wants_a_store_and_a_check(store: Any, check: Any) -> None:
    """Anything but a store, or a check, is refused when the route is built."""
    with pytest.raises(WrongType):
        readiness_route(store, check)
    if check is not None:
        with pytest.raises(WrongType):
            readiness_route(glue.WatchedStore(), check)


@settings(max_examples=40, deadline=None)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
    query=HOSTILE_TEXT,
    body=st.binary(max_size=2_000),
)
def test_any_request_for_readiness_is_answered_and_changes_nothing(
    method: str, query: str, body: bytes
) -> None:
    """Any method, query or body: 200 (GET, HEAD) or 405, the same answer, nothing stored."""
    store = glue.WatchedStore()
    glue.inbox(store).accept(glue.signed(1))
    raw = quote_from_bytes(query.encode("utf-8", "surrogatepass"), safe="")
    with ready_client(store) as test:
        answer = test.request(method, f"/ready?{raw}={raw}", content=body)
    assert answer.status_code == (200 if method in {"GET", "HEAD"} else 405)
    if method == "GET":
        assert answer.json()["deliveries"] == {"pending": 1}
    assert store.overview(open_only=False).deliveries[DeliveryStatus.PENDING].count == 1

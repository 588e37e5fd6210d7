"""The tutorial (docs/tutorial.md), run as a reader runs it: from checkout to shipped.

Its app (docs/examples/tutorial/shop.py) is served by uvicorn on a real PostgreSQL (a
schema of its own) and submits a checkout to ``order-lifecycle sandbox`` (a process), which
posts the order's signed webhook back to it; the app's reconciler applies it. Then the
commands the page types: ``actions run`` with the page's handlers, ``send`` of the
provider's ``order.fulfilled``, ``show`` and ``inbox list``. What the page shows the reader
seeing is checked against what they see. Waits are bounded by a deadline, never a sleep.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from order_lifecycle.cli import main
from order_lifecycle.exceptions import InvalidInput, NotFound
from order_lifecycle.testing import HOSTILE_TEXT, hostile_responses
from tests.loopback import DEADLINE, Endpoint, eventually, fetch, sandbox_process, state_of
from tests.store.conftest import new_postgres_schema, postgres_dsn  # noqa: F401 (a fixture)

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "examples" / "tutorial"
PAGE = TUTORIAL.parent.parent / "tutorial.md"
SECRET = "whsec_tutorial_secret"  # noqa: S105 (the page's made-up secret)
PAGE_ORDER = "617089893830"  # the order id the page's outputs show (the sandbox picks one)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """What ``order-lifecycle ARGV`` prints; it must exit 0."""
    capsys.readouterr()
    assert main(list(argv)) == 0, capsys.readouterr()
    return capsys.readouterr().out


def seen_as_shown(printed: str, order_id: str, *lines: str) -> None:
    """Each of ``lines`` (ORDER standing for the order id) is printed, and shown on the page."""
    page = PAGE.read_text(encoding="utf-8")
    for line in lines:
        assert line.replace("ORDER", order_id) in printed, (line, printed)
        assert line.replace("ORDER", PAGE_ORDER) in page, line


@contextlib.contextmanager
def served(app: Any, listening: socket.socket) -> Iterator[None]:
    """``app`` under uvicorn on ``listening``, lifespan on, as ``uvicorn shop:app`` serves it."""
    config = uvicorn.Config(app, lifespan="on", ws="none", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    try:
        assert eventually(lambda: server.started, expected=True), "uvicorn did not start"
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=DEADLINE)


@pytest.fixture
def database(
    postgres_dsn: str,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> str:
    """The page's environment and project folder, its database migrated as the page does it."""
    url = new_postgres_schema(postgres_dsn, tables=False)
    monkeypatch.setenv("ORDER_LIFECYCLE_DB", url)
    monkeypatch.setenv("ORDER_LIFECYCLE_SECRETS", SECRET)
    monkeypatch.chdir(TUTORIAL)  # the reader's project folder: shop.py, shipping.py
    monkeypatch.syspath_prepend(str(TUTORIAL))
    seen_as_shown(run(capsys, "migrate", "--db", url), "", "Created the tables of schema version")
    return url


def import_shop(provider: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The page's ``shop`` module, imported afresh, ``PROVIDER_URL`` naming ``provider``."""
    monkeypatch.setenv("PROVIDER_URL", provider)
    monkeypatch.delitem(sys.modules, "shop", raising=False)
    return importlib.import_module("shop")


def test_the_tutorial_takes_an_order_from_checkout_to_shipped(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page's app, sandbox, worker and commands take a checkout to shipped and fulfilled."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{listening.getsockname()[1]}"
    webhooks = f"{base}/webhooks/digital-river"
    with (
        contextlib.closing(listening),
        sandbox_process(SECRET, "--webhook", webhooks, "--step", "0.1") as (sandbox, provider),
    ):
        shop = import_shop(provider, monkeypatch)
        with served(shop.app, listening):
            status, body = fetch(f"{base}/checkouts/chk-1/order", b"")
            assert status == 200, body
            order_id = json.loads(body)["order"]
            seen_as_shown(body.decode(), order_id, '{"order":"ORDER","state":"accepted"}')
            assert fetch(f"{base}/checkouts/chk-1/order", b"") == (409, b'{"state":"consumed"}')
            status, body = fetch(f"{base}/checkouts/declined-1/order", b"")
            assert status == 409, body
            seen_as_shown(body.decode(), order_id, '{"message":"Failed to charge source."}')

            # The sandbox posts order.accepted; the route stores it, the reconciler applies it.
            def applied() -> list[str]:
                return [d.event_type for d in shop.store.list_deliveries(statuses=["applied"])]

            assert eventually(applied, ["order.accepted"]) == ["order.accepted"]

            worker = ["actions", "run", "--db", database, "--handlers", "shipping:HANDLERS"]
            seen_as_shown(
                run(capsys, *worker, "--once"),
                order_id,
                "ship 1 x ORDER-i0: parcel-ORDER-i0",
                "deliver 1 x ORDER-i1: download link sent",
                "actions claimed: 2, done: 2",
            )
            done = {(str(a.kind), str(a.state)) for a in shop.store.list_actions()}
            assert done == {("ship", "done"), ("deliver_digitally", "done")}

            fulfilled = ["order.fulfilled", "--order", order_id, "--checkout", "chk-1"]
            seen_as_shown(
                run(capsys, "send", webhooks, *fulfilled), order_id, "order ORDER: 2 events"
            )
            assert eventually(lambda: state_of(shop.store, order_id), "fulfilled") == "fulfilled"

        sandbox.send_signal(signal.SIGTERM)
        assert sandbox.stdout is not None
        seen_as_shown(
            sandbox.stdout.read(),
            order_id,
            "POST /orders 'chk-1' -> 201 accepted, order ORDER; webhooks: order.accepted",
            "webhook order.accepted 'evt-ORDER-0' -> 202",
        )
        seen_as_shown(
            run(capsys, "show", order_id, "--db", database),
            order_id,
            "order ORDER: fulfilled (fraud state: passed; checkout chk-1)",
            "fulfil    accepted   fulfilled",
        )
        seen_as_shown(
            run(capsys, "inbox", "list", "--db", database, "--order", order_id, "--all"),
            order_id,
            "showing 3 of 3 deliveries (every status)",
            "order.accepted    ORDER   applied   snapshot applied",
            "order.accepted    ORDER   stale",  # send's: older than the sandbox's
            "order.fulfilled   ORDER   applied",
        )
    shop.store.close()
    shop.reconciler.store.close()


# 100 examples: each imports the tutorial's app anew (about 50 ms); 300 took 16 s of the suite.
@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_tutorial_app_answers_hostile_checkouts_and_providers(
    database: str,  # noqa: ARG001 (its environment)
    monkeypatch: pytest.MonkeyPatch,
    data: st.DataObject,
) -> None:
    """Any checkout id, any provider answer or none: a 2xx, 400 or 409, never a 500."""
    checkout_id = data.draw(HOSTILE_TEXT | st.text(min_size=1), label="checkout id")
    answer = data.draw(st.none() | hostile_responses(checkout_id), label="provider's answer")
    shop = import_shop("http://127.0.0.1:1", monkeypatch)
    sent: list[dict[str, str]] = []

    def post_order(body: dict[str, str]) -> tuple[int, bytes]:
        sent.append(body)
        if answer is None:
            raise TimeoutError
        status, raw = answer
        if not 100 <= status <= 599:  # post_order's HTTP client raises for these
            raise ConnectionError(status)
        return status, raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw

    monkeypatch.setattr(shop, "post_order", post_order)
    path = quote(checkout_id.encode("utf-8", "surrogatepass"), safe="")
    reply = TestClient(shop.app, raise_server_exceptions=False).post(f"/checkouts/{path}/order")
    try:
        if reply.status_code in {404, 405}:  # not routed ("/" or an empty id): never sent
            assert not sent
        elif reply.status_code == 400:  # an id the store refuses: never sent, nothing kept
            assert not sent
            with pytest.raises((InvalidInput, NotFound)):
                shop.store.get_checkout(checkout_id)
        else:
            assert reply.status_code in {200, 202, 409}, reply.text
            assert reply.json()
    finally:
        shop.store.close()
        shop.reconciler.store.close()


def test_the_tutorial_app_takes_a_status_past_599_for_no_answer(
    database: str,  # noqa: ARG001 (its environment)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """post_order returns a 4xx with its body, and raises OSError for a status past 599."""
    with Endpoint(statuses=[409, 650]) as provider:
        shop = import_shop(provider.url.removesuffix("/hook"), monkeypatch)
        assert shop.post_order({"checkoutId": "c-1"}) == (409, b"{}")
        with pytest.raises(OSError, match="status 650"):
            shop.post_order({"checkoutId": "c-2"})
    shop.store.close()
    shop.reconciler.store.close()
    assert [(post.path, json.loads(post.body)) for post in provider.posts] == [
        ("/orders", {"checkoutId": "c-1"}),
        ("/orders", {"checkoutId": "c-2"}),
    ]


def test_the_page_includes_its_app_and_handlers() -> None:
    """The page includes both files by snippet, in fences a code formatter leaves alone."""
    page = PAGE.read_text(encoding="utf-8")
    for name in ("shop.py", "shipping.py"):
        assert f'``` {{ .python title="{name}" }}\n--8<-- "tutorial/{name}"\n```' in page

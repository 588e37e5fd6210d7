"""The site's larger examples (docs/examples), run as the pages show them."""

from __future__ import annotations

import importlib
import io
import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command  # type: ignore[import-untyped]
from django.test import Client, override_settings  # type: ignore[import-untyped]

from order_lifecycle.integrations.django import get_store
from order_lifecycle.webhooks import sign
from tests.django_setup import configure

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
SECRET = "whsec-docs-example"  # noqa: S105 (a made-up test secret)

if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

configure()

from django_shop import provider, warehouse  # noqa: E402 (once Django is set up)
from django_shop import settings as shop_settings  # noqa: E402 (as above)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Client]:
    """The example project's settings, on a new SQLite store; a client that checks CSRF."""
    # Its DATABASES stay the tests' (Django's connections are made once a process).
    values = {
        name: getattr(shop_settings, name)
        for name in dir(shop_settings)
        if name.isupper() and name != "DATABASES"
    }
    values["ORDER_LIFECYCLE"] = values["ORDER_LIFECYCLE"] | {
        "DB": str(tmp_path / "orders.db"),
        "SECRETS": SECRET,
    }
    with override_settings(**values):
        # The URLconf's view holds the inbox of the settings it was imported under.
        urls = sys.modules.get("django_shop.urls")
        importlib.reload(urls) if urls else importlib.import_module("django_shop.urls")
        warehouse.SHIPPED.clear()
        yield Client(enforce_csrf_checks=True)


def accepted(event_id: str = "evt-1", order_id: str = "1001") -> bytes:
    """An order.accepted delivery for an order of one physical item."""
    order = {
        "id": order_id,
        "state": "accepted",
        "checkoutId": f"chk-{order_id}",
        "items": [{"id": "shirt", "quantity": 2, "productDetails": {"physical": True}}],
        "payment": {"charges": [{"id": "ch-1", "state": "capturable", "amount": 50.0}]},
    }
    event = {
        "id": event_id,
        "type": "order.accepted",
        "createdTime": "2026-04-01T09:00:00Z",
        "data": {"object": order},
    }
    return json.dumps(event).encode()


def manage(*argv: str) -> str:
    """What ``manage.py`` prints for one of the app's commands."""
    out = io.StringIO()
    call_command(*argv, stdout=out)
    return out.getvalue()


def post_webhook(client: Client, raw: bytes, secret: str = SECRET) -> tuple[int, str]:
    signature = sign(raw, secret, datetime.now(UTC))
    answer = client.post(
        "/webhooks/digital-river",
        data=raw,
        content_type="application/json",
        headers={"DigitalRiver-Signature": signature},
    )
    return answer.status_code, answer.json()["outcome"]


def test_django_shop_takes_signed_webhooks_and_ships_once(shop: Client) -> None:
    """The view stores a signed delivery; reconcile applies it; run_actions ships it once."""
    assert post_webhook(shop, accepted()) == (202, "pending")
    forged = post_webhook(shop, accepted(), secret="not-the-secret")  # noqa: S106 (a forgery's)
    assert forged == (401, "invalid")
    assert "deliveries settled: 1 (applied 1)" in manage("reconcile", "--once")
    assert manage("run_actions", "--once").startswith("actions claimed: 1, done: 1,")
    assert post_webhook(shop, accepted()) == (200, "duplicate")
    assert manage("reconcile", "--once").startswith("deliveries settled: 0")
    assert manage("run_actions", "--once").startswith("actions claimed: 0,")
    (ship,) = get_store().list_actions()
    assert (ship.kind, ship.state) == ("ship", "done")
    assert warehouse.SHIPPED == {ship.key: "parcel-1001-shirt-2"}  # noqa: SIM300 (actual first)


def created(checkout_id: str) -> bytes:
    return json.dumps(
        {"id": "2001", "state": "accepted", "checkoutId": checkout_id, "items": []}
    ).encode()


def test_django_shop_submits_a_checkout_once(shop: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 201 answers the order; the same checkout again is refused without calling the provider."""
    calls: list[dict[str, str]] = []

    def post_order(body: dict[str, str]) -> tuple[int, bytes]:
        calls.append(body)
        return 201, created(body["checkoutId"])

    monkeypatch.setattr(provider, "post_order", post_order)
    assert shop.post("/checkouts/chk-7/order").status_code == 403  # no CSRF token: not sent
    customer = Client()  # the customer's browser, with its CSRF token
    first = customer.post("/checkouts/chk-7/order")
    assert (first.status_code, first.json()) == (200, {"order": "2001", "state": "accepted"})
    again = customer.post("/checkouts/chk-7/order")
    assert (again.status_code, again.json()) == (409, {"state": "consumed"})
    assert calls == [{"checkoutId": "chk-7"}]


@pytest.mark.parametrize(
    "answer",
    [OSError("timed out"), (503, b'{"type": "server_error", "errors": []}'), (200, b"<html>")],
)
def test_django_shop_leaves_a_lost_answer_in_doubt(
    shop: Client,  # noqa: ARG001 (its settings)
    monkeypatch: pytest.MonkeyPatch,
    answer: Any,
) -> None:
    """No answer, a 5xx or a body not the provider's: 202, 'do not order again', never resent."""

    def post_order(_body: dict[str, str]) -> tuple[int, bytes]:
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return int(status), bytes(body)

    monkeypatch.setattr(provider, "post_order", post_order)
    customer = Client()
    first = customer.post("/checkouts/chk-8/order")
    assert first.status_code == 202
    assert "do not order again" in first.json()["message"]
    again = customer.post("/checkouts/chk-8/order")
    assert (again.status_code, again.json()) == (409, {"state": "in_doubt"})


def test_django_shop_passes_a_409s_customer_message(
    shop: Client,  # noqa: ARG001 (its settings)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 409 answers the provider's customer-safe message, never its code."""
    declined = {"type": "conflict", "errors": [{"code": "failed-request", "message": "Declined."}]}
    monkeypatch.setattr(provider, "post_order", lambda _body: (409, json.dumps(declined).encode()))
    answer = Client().post("/checkouts/chk-9/order")
    assert (answer.status_code, answer.json()) == (409, {"message": "Declined."})


class _Provider(BaseHTTPRequestHandler):
    """Answers POST /orders as the provider would, remembering what it was sent."""

    seen: list[tuple[str, str | None, bytes]]
    replies: list[tuple[int, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.path, self.headers["Authorization"], body))
        status, reply = self.replies.pop(0)
        self.send_response(status)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *_args: object) -> None:
        """Quiet."""


def test_django_shop_posts_orders_to_the_provider(shop: Client) -> None:  # noqa: ARG001 (its settings)
    """post_order sends the body with the key, and returns a 2xx's and a 4xx's status and body."""
    _Provider.seen, _Provider.replies = [], [(201, b'{"id": "1"}'), (409, b'{"type": "conflict"}')]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with override_settings(PROVIDER_URL=url, PROVIDER_KEY="sk_test"):
            assert provider.post_order({"checkoutId": "c-1"}) == (201, b'{"id": "1"}')
            assert provider.post_order({"checkoutId": "c-2"}) == (409, b'{"type": "conflict"}')
    finally:
        server.shutdown()
        server.server_close()
    assert _Provider.seen[0] == ("/orders", "Bearer sk_test", b'{"checkoutId": "c-1"}')


def test_starlette_shop_receives_signed_webhooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example app, configured from the environment, applies a signed delivery once."""
    from starlette.testclient import TestClient  # noqa: PLC0415 (Starlette's, only here)

    monkeypatch.setenv("ORDER_LIFECYCLE_DB", str(tmp_path / "orders.db"))
    monkeypatch.setenv("ORDER_LIFECYCLE_SECRETS", f"whsec-rotated-out,{SECRET}")
    sys.modules.pop("starlette_shop", None)
    shop = importlib.import_module("starlette_shop")
    with TestClient(shop.app) as client:
        for answered in ((202, "pending"), (200, "duplicate")):
            answer = client.post(
                "/webhooks/digital-river",
                content=accepted(),
                headers={"DigitalRiver-Signature": sign(accepted(), SECRET, datetime.now(UTC))},
            )
            assert (answer.status_code, answer.json()["outcome"]) == answered
        # The app's reconciler thread applies what the route stored.
        deadline = time.monotonic() + 20
        while not shop.inbox.store.list_deliveries(statuses=["applied"]):
            assert time.monotonic() < deadline, shop.inbox.store.list_deliveries()
            time.sleep(0.05)
    assert shop.inbox.store.get_order("1001").state == "accepted"
    shop.inbox.store.close()
    shop.reconciler.store.close()

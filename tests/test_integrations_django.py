from __future__ import annotations

import importlib
import types
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings  # type: ignore[import-untyped]
from django.urls import path  # type: ignore[import-untyped]

from order_lifecycle.exceptions import WrongType
from order_lifecycle.integrations.django import webhook_view
from order_lifecycle.webhooks import DeliveryStatus, Inbox

from . import integrations as glue
from . import webhook_events as ev
from .django_setup import configure

configure()


@pytest.fixture
def routed() -> Iterator[Any]:
    """A function routing ``glue.PATH`` to a view of the inbox given; a CSRF-checking client."""
    contexts: list[Any] = []

    def route(inbox: Inbox) -> Any:
        urls = types.ModuleType("webhook_urls")  # a URLconf: a hashable object with urlpatterns
        urls.urlpatterns = [path(glue.PATH.lstrip("/"), webhook_view(inbox))]  # type: ignore[attr-defined]
        context = override_settings(ROOT_URLCONF=urls)
        context.enable()
        contexts.append(context)
        return Client(enforce_csrf_checks=True)

    yield route
    for context in contexts:
        context.disable()


def post(client: Any, raw: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    response = client.post(
        glue.PATH,
        data=raw,
        content_type="application/json",
        headers=glue.headers(raw) if headers is None else headers,
    )
    return response.status_code, response.json()["outcome"]


def test_a_delivery_is_applied_and_its_redelivery_is_a_duplicate(routed: Any) -> None:
    """A signed delivery is stored (202, no CSRF token needed); its redelivery 200 duplicate."""
    inbox = glue.inbox()
    client = routed(inbox)
    assert post(client, glue.body()) == (202, "pending")
    assert post(client, glue.body()) == (200, "duplicate")
    assert inbox.store.read_orders(["1001"]) == {}  # the request path reconciles nothing
    glue.reconcile(inbox.store)
    assert inbox.store.read_orders(["1001"])["1001"][1].state == "accepted"


def test_a_forged_delivery_answers_401_and_changes_nothing(routed: Any) -> None:
    """A delivery signed with another secret, or unsigned, answers 401; no order is made."""
    inbox = glue.inbox()
    client = routed(inbox)
    raw = glue.body()
    assert post(client, raw, glue.headers(raw, "not-the-secret")) == (401, "invalid")
    assert post(client, raw, {}) == (401, "invalid")
    assert inbox.store.read_orders(["1001"]) == {}
    assert inbox.refused == {"signature": 2, "too_large": 0}


def test_an_oversized_body_answers_413_and_is_not_read_past_the_limit(routed: Any) -> None:
    """A body over max_body is refused unread (413: not stored); its first bytes are kept."""
    raw = glue.body()
    store = glue.WatchedStore()
    client = routed(glue.inbox(store, max_body=100))
    assert post(client, raw) == (413, "invalid")
    (kept,) = store.kept_deliveries()
    assert (kept.size, kept.raw) == (101, raw[:101])


def test_a_delivery_before_its_order_is_stored_never_bounced(routed: Any) -> None:
    """A charge event before its order is stored (202, never 409); it applies with its order."""
    store = glue.WatchedStore()
    inbox = glue.inbox(store)
    client = routed(inbox)
    assert post(client, glue.early()) == (202, "pending")
    glue.reconcile(inbox.store)
    assert post(client, ev.raw(ev.charge_capture_and_cancel()[0])) == (202, "pending")
    glue.reconcile(inbox.store)
    assert {row.status for row in store.list_deliveries()} == {DeliveryStatus.APPLIED}


def test_a_store_failure_answers_503(routed: Any) -> None:
    """When the store fails nothing is stored and the view answers 503."""
    client = routed(glue.inbox(glue.DownStore()))
    assert post(client, glue.body()) == (503, "error")


def test_poisoned_ids_are_invalid_and_answered_in_json(routed: Any) -> None:
    """A signed delivery with a NUL and a lone surrogate in its ids answers 202 invalid."""
    client = routed(glue.inbox())
    assert post(client, glue.poisoned()) == (202, "invalid")


def test_only_post_is_allowed(routed: Any) -> None:
    """A GET of the webhook answers 405."""
    client = routed(glue.inbox())
    assert client.get(glue.PATH).status_code == 405


def test_the_view_wants_an_inbox() -> None:
    """Anything but an Inbox is refused when the view is built."""
    with pytest.raises(WrongType, match="an Inbox"):
        webhook_view(object())  # type: ignore[arg-type]


def test_without_django_the_import_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing the glue without Django raises an ImportError naming the extra."""
    glue.without(monkeypatch, "django", "order_lifecycle.integrations.django")
    with pytest.raises(ImportError, match=r"pip install 'order-lifecycle\[django\]'"):
        importlib.import_module("order_lifecycle.integrations.django")

"""The Django app's read-only admin, driven by Django's test client: orders, deliveries, actions."""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from django.contrib import admin  # type: ignore[import-untyped]
from django.contrib.admin.utils import quote  # type: ignore[import-untyped]
from django.core.management import call_command  # type: ignore[import-untyped]
from django.test import Client, override_settings  # type: ignore[import-untyped]
from django.urls import path  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle.diagrams import svg_engine
from order_lifecycle.integrations.django import get_store, readiness_view
from order_lifecycle.store import Store
from order_lifecycle.testing import HOSTILE_TEXT
from tests.store.test_pages import inbox_rows, shipped_orders

from .django_setup import configure

configure()

URLS = types.ModuleType("admin_urls")
URLS.urlpatterns = [  # type: ignore[attr-defined]
    path("admin/", admin.site.urls),
    path("ready", readiness_view()),
]
ADMIN = "/admin/order_lifecycle"


@pytest.fixture(scope="module")
def database() -> None:
    """Django's own tables (users, sessions), in this process's in-memory database."""
    call_command("migrate", verbosity=0, interactive=False)


@pytest.fixture
def store(tmp_path: Path, database: None) -> Iterator[Store]:
    """The app's store, on a new SQLite file: 250 orders' deliveries, 20 orders' actions."""
    del database
    setting = {"DB": str(tmp_path / "orders.db"), "SECRETS": ["whsec-admin"]}
    with override_settings(ROOT_URLCONF=URLS, ORDER_LIFECYCLE=setting):
        found = get_store()
        found.accept_deliveries(inbox_rows(250))
        shipped_orders(found, batches=2, per_batch=10)
        yield found


def user(name: str, *permissions: str) -> Any:
    """A staff user with these permissions of the app (a superuser with none named)."""
    # Imported once Django is set up (its models need the app registry).
    from django.contrib.auth.models import (  # type: ignore[import-untyped]  # noqa: PLC0415
        Permission,
        User,
    )

    found, _ = User.objects.get_or_create(username=name, defaults={"is_staff": True})
    found.is_superuser = not permissions
    found.save()
    granted = Permission.objects.filter(
        content_type__app_label="order_lifecycle", codename__in=permissions
    )
    found.user_permissions.set(granted)
    return found


@pytest.fixture
def operator(store: Store) -> Client:
    """A client logged in as a superuser, checking CSRF as a browser's requests are."""
    del store
    client = Client(enforce_csrf_checks=False)
    client.force_login(user("operator"))
    return client


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_index_lists_orders_deliveries_and_actions(operator: Client) -> None:
    """The admin's index has the app's three lists."""
    page = text(operator.get("/admin/"))
    for name in ("order", "delivery", "action"):
        assert f'href="{ADMIN}/{name}/"' in page


def test_orders_page_by_id_with_the_true_total(operator: Client) -> None:
    """The orders list counts every order, pages by id, and filters by state."""
    first = text(operator.get(f"{ADMIN}/order/"))
    assert "showing 20 of 20 orders" in first
    assert "accepted (20)" in first
    assert "next page" not in first
    narrowed = text(operator.get(f"{ADMIN}/order/?state=blocked"))
    assert "showing 0 of 0 orders" in narrowed


def test_an_order_shows_its_history_its_path_and_its_actions(operator: Client) -> None:
    """An order's page: its state, its history, its path (a picture and Mermaid), its actions."""
    page = text(operator.get(f"{ADMIN}/order/o-0-003/"))
    assert "o-0-003" in page
    assert "<td>accepted</td>" in page
    assert "flowchart TB" in page  # the path's Mermaid source
    if svg_engine() is not None:
        assert 'src="data:image/svg+xml;base64,' in page
    assert page.count(f"{ADMIN}/action/") >= 6  # its six ship actions, each linked


def test_deliveries_page_by_seq_and_filter(operator: Client) -> None:
    """The inbox pages 100 at a time by seq, with its total; status, order and type filter it."""
    first = text(operator.get(f"{ADMIN}/delivery/"))
    assert "showing 100 of 250 deliveries" in first
    assert "pending (214)" in first
    assert "invalid (36)" in first
    following = re.search(r'href="\?([^"]*after=100[^"]*)"', first)
    assert following is not None
    second = text(operator.get(f"{ADMIN}/delivery/?{following[1]}"))
    assert "showing 100 of 250 deliveries" in second
    assert f'href="{ADMIN}/delivery/101/"' in second
    assert f'href="{ADMIN}/delivery/100/"' not in second
    invalid = text(operator.get(f"{ADMIN}/delivery/?status=invalid&type=order.accepted"))
    assert "showing 12 of 12 deliveries" in invalid


def test_a_delivery_is_shown_whole_and_refed_or_dismissed(operator: Client, store: Store) -> None:
    """A delivery's page shows its body; its buttons refeed it and dismiss it."""
    page = text(operator.get(f"{ADMIN}/delivery/8/"))
    assert "evt-00007" in page
    assert "unreadable" in page
    refed = operator.post(f"{ADMIN}/delivery/8/", {"action": "refeed"}, follow=True)
    assert "Fed again (pending, for the next reconciler): 1 delivery." in text(refed)
    assert store.get_delivery(8).status == "pending"
    operator.post(f"{ADMIN}/delivery/8/", {"action": "dismiss"})
    assert store.get_delivery(8).status == "dismissed"
    again = operator.post(f"{ADMIN}/delivery/8/", {"action": "dismiss"}, follow=True)
    assert "delivery 8 is dismissed: settled for good, nothing to dismiss." in text(again)


def test_refeed_as_an_admin_action_on_the_list(operator: Client, store: Store) -> None:
    """Selected deliveries are refed at once from the list; the message counts them."""
    answer = operator.post(
        f"{ADMIN}/delivery/?status=invalid",
        {"action": "refeed", "_selected_action": ["1", "8", "15"]},
        follow=True,
    )
    assert "Fed again (pending, for the next reconciler): 3 deliveries." in text(answer)
    assert store.page_deliveries(statuses=["invalid"]).total == 33


def test_a_dead_action_is_retried_from_its_page(operator: Client, store: Store) -> None:
    """A dead action's page shows its last error; its retry button makes it pending again."""
    store.max_tries = 1
    (claimed,) = store.claim_actions(limit=1, lease=timedelta(minutes=5))
    store.fail_action(claimed.key, "the warehouse is down", claim=claimed.tries)
    url = f"{ADMIN}/action/{quote(claimed.key)}/"
    page = text(operator.get(url))
    assert "the warehouse is down" in page
    assert "dead" in page
    assert "retry: pending again" not in page  # a page's buttons are named, not described
    operator.post(url, {"action": "retry"})
    assert store.get_action(claimed.key).state == "pending"
    listed = text(operator.get(f"{ADMIN}/action/?state=pending"))
    assert "showing 100 of 120 actions" in listed


def test_a_viewer_sees_but_changes_nothing(store: Store) -> None:
    """A user with the view permissions reads every page; a refeed or retry is forbidden."""
    client = Client()
    client.force_login(
        user("viewer", "view_order", "view_delivery", "view_action"),
    )
    assert client.get(f"{ADMIN}/delivery/").status_code == 200
    assert client.get(f"{ADMIN}/order/o-1-000/").status_code == 200
    assert 'name="action"' not in text(client.get(f"{ADMIN}/delivery/8/"))
    assert client.post(f"{ADMIN}/delivery/8/", {"action": "refeed"}).status_code == 403
    assert store.get_delivery(8).status == "invalid"


def test_a_stranger_is_sent_to_log_in(store: Store) -> None:
    """An anonymous request for an admin page is redirected to the login."""
    del store
    answer = Client().get(f"{ADMIN}/delivery/")
    assert answer.status_code == 302
    assert "/admin/login/" in answer["Location"]


def test_unknown_records_are_404(operator: Client) -> None:
    """An order, delivery or action the store does not hold answers 404."""
    for url in ("order/nope/", "delivery/99999/", "delivery/x/", f"action/{quote('[1]')}/"):
        assert operator.get(f"{ADMIN}/{url}").status_code == 404, url


def test_the_readiness_view(operator: Client, store: Store) -> None:
    """The app's readiness view: 200 with the backlog; never cached."""
    del operator
    answer = Client().get("/ready")
    assert answer.status_code == 200
    assert answer.json()["deliveries"] == {"pending": 214}
    assert "no-cache" in answer["Cache-Control"] or "max-age=0" in answer["Cache-Control"]
    assert store.ping().current


@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(
    page=st.sampled_from(["order", "delivery", "action"]),
    name=st.sampled_from(["state", "status", "kind", "order", "type", "after"]),
    value=HOSTILE_TEXT,
)
def test_hostile_filters_answer_a_page_or_a_400(
    operator: Client, page: str, name: str, value: str
) -> None:
    """Any filter value gives the list, or a 400 saying what is wrong; never a 500."""
    raw = quote_from_bytes(value.encode("utf-8", "surrogatepass"))  # as a client may send it
    answer = operator.get(f"{ADMIN}/{page}/?{name}={raw}")
    assert answer.status_code in {200, 400}


@settings(
    max_examples=30,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(page=st.sampled_from(["order", "delivery", "action"]), key=HOSTILE_TEXT)
def test_hostile_record_keys_answer_a_page_or_a_404(operator: Client, page: str, key: str) -> None:
    """Any key in a record's URL gives its page or a 404; never a 500."""
    raw = quote_from_bytes(quote(key).encode("utf-8", "surrogatepass"), safe="")
    assert operator.get(f"{ADMIN}/{page}/{raw}/").status_code in {200, 404}


def _rows(store: Store) -> tuple[list[tuple[int, str]], list[tuple[str, str]]]:
    """Every delivery's status and every action's state."""
    deliveries = store.page_deliveries(limit=10_000).items
    actions = store.page_actions(limit=10_000).items
    return [(d.seq, d.status) for d in deliveries], [(a.key, a.state) for a in actions]


@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(
    page=st.sampled_from(["order", "delivery", "action"]),
    action=st.sampled_from(["refeed", "dismiss", "retry"]) | HOSTILE_TEXT,
    keys=st.lists(HOSTILE_TEXT, min_size=1, max_size=3),
)
def test_hostile_admin_actions_answer_a_page_or_a_403_and_change_nothing(
    operator: Client, store: Store, page: str, action: str, keys: list[str]
) -> None:
    """Any change asked for any keys on a list: the list with messages, or a 403; never a 500."""
    before = _rows(store)
    fields = [("action", action), *(("_selected_action", key) for key in keys)]
    body = "&".join(
        f"{name}={quote_from_bytes(value.encode('utf-8', 'surrogatepass'), safe='')}"
        for name, value in fields
    )
    answer = operator.post(
        f"{ADMIN}/{page}/", body, content_type="application/x-www-form-urlencoded", follow=True
    )
    assert answer.status_code in {200, 403}
    if not any(key.isascii() and key.isdigit() for key in keys):  # no seq a delivery may have
        assert _rows(store) == before


@settings(
    max_examples=30,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(
    method=st.sampled_from(["get", "head", "post", "put", "delete"]),
    query=HOSTILE_TEXT,
    body=st.binary(max_size=2_000),
)
def test_any_request_for_readiness_is_answered_and_changes_nothing(
    store: Store, method: str, query: str, body: bytes
) -> None:
    """Any method, query or body: 200 (GET, HEAD) or 405, the same answer, nothing stored."""
    before = _rows(store)
    raw = quote_from_bytes(query.encode("utf-8", "surrogatepass"), safe="")
    url, client = f"/ready?{raw}={raw}", Client()
    if method in {"get", "head"}:
        answer = getattr(client, method)(url)
    else:
        answer = getattr(client, method)(url, body, content_type="application/octet-stream")
    assert answer.status_code == (200 if method in {"get", "head"} else 405)
    if method == "get":
        assert answer.json()["deliveries"] == {"pending": 214}
    assert _rows(store) == before

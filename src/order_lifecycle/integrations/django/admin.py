"""The read-only admin: orders, deliveries and actions, read from the store through its API.

Why custom views over the store, not ``ModelAdmin`` over the ``ol_`` tables: the store may
not be Django's database at all (a SQLite file beside a PostgreSQL ``default``); its rows
are the codec's (an order's items, charges and history are JSON and rows of their own),
which an ORM model would read past; and an operator's changes must keep the library's rules
(a refeed, a dismissal, a retry are store calls that check what may change). So each page
is a store call: lists are the store's keyset pages with their true totals
(:meth:`~order_lifecycle.store.Store.page_orders`, ``page_deliveries``, ``page_actions``),
which hold at a million rows where an ``OFFSET`` paginator would not. The unmanaged
placeholder models (``models``) give the admin its index entries, URLs and permissions:
``view`` to look, ``change`` to refeed or dismiss a delivery and retry an action (as
admin actions on the lists, and buttons on a delivery's or an action's page).
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

from order_lifecycle.diagrams import extract_path, render_path, svg_engine
from order_lifecycle.exceptions import InvalidInput, NotFound, OrderLifecycleError
from order_lifecycle.lifecycle import ORDER_SPEC, OrderState
from order_lifecycle.store import Page, Store
from order_lifecycle.webhooks import DeliveryStatus

from ._settings import get_store
from .models import Action, Delivery, Order

try:
    from django.contrib import admin, messages  # type: ignore[import-untyped]
    from django.contrib.admin.utils import quote, unquote  # type: ignore[import-untyped]
    from django.core.exceptions import PermissionDenied  # type: ignore[import-untyped]
    from django.http import (  # type: ignore[import-untyped]
        Http404,
        HttpRequest,
        HttpResponse,
        HttpResponseRedirect,
    )
    from django.template.response import TemplateResponse  # type: ignore[import-untyped]
    from django.urls import URLPattern, path  # type: ignore[import-untyped]
except ImportError as error:  # pragma: no cover (the package's face raised first)
    from order_lifecycle.integrations._answer import missing

    raise missing(__name__, "Django", "django") from error

__all__ = ["ActionAdmin", "DeliveryAdmin", "OrderAdmin"]

PAGE = 100
"""Rows on a page of a list."""

Row = dict[str, Any]


class _StoreAdmin(admin.ModelAdmin):  # type: ignore[misc]
    """A model admin whose pages are the store's: a list by key, a record, and its changes."""

    filter_name = "state"
    """The query parameter of the list's quick filters (``state``, ``status``)."""
    changes: dict[str, tuple[str, Callable[[Store, Any], object]]] = {}  # noqa: RUF012 (read only)
    """What ``change`` permits: name -> (label, a store call on one record's key)."""

    def has_add_permission(self, _request: HttpRequest) -> bool:
        """Records are made by the store's rules, never by hand."""
        return False

    def has_delete_permission(self, _request: HttpRequest, _obj: object = None) -> bool:
        """Records are never deleted by hand (actions are pruned by a command)."""
        return False

    def get_urls(self) -> list[URLPattern]:
        """The list and a record's page, under the names the admin's index links to."""
        info = (self.opts.app_label, self.opts.model_name)
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.list_view), name="{}_{}_changelist".format(*info)),
            path("<path:object_id>/", wrap(self.record_view), name="{}_{}_change".format(*info)),
        ]

    # --- what each admin says ------------------------------------------------------------------

    # Each admin defines these two (the base has none to give).
    page: Callable[[Store, HttpRequest], tuple[Page[Any], list[Row], Row]]
    """The page the request's filters ask for, its rows, and the filters' context."""
    record: Callable[[Store, Any], Row]
    """One record's context, by its key (a seq or a key; raises ``NotFound``)."""

    def key(self, text: str) -> Any:  # noqa: ANN401 (a seq or a key)
        """A record's key from its text in a URL (``InvalidInput`` if it is none)."""
        return text

    # --- the views -----------------------------------------------------------------------------

    def list_view(self, request: HttpRequest) -> HttpResponse:
        """A page of the records (``?after=`` goes on); a POST runs an admin action on some."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        store = get_store()
        if request.method == "POST":
            selected = request.POST.getlist("_selected_action")
            self._change(request, store, request.POST.get("action", ""), selected)
            return HttpResponseRedirect(request.get_full_path())
        status = 200
        try:
            page, rows, filters = self.page(store, request)
        except (InvalidInput, NotFound) as problem:
            messages.error(request, str(problem))
            page, rows, filters, status = Page((), 0, None), [], {}, 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{self.opts.verbose_name_plural.capitalize()}",
            "page": page,
            "rows": rows,
            "filters": filters,
            "next_query": _next_query(request, page),
            "filter_name": self.filter_name,
            "changes": self._permitted(request),
        }
        template = f"order_lifecycle/admin/{self.opts.model_name}_list.html"
        return TemplateResponse(request, template, context, status=status)

    def record_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """One record, whole; a POST runs one of its changes (refeed, dismiss, retry)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        store = get_store()
        try:
            key = self.key(unquote(object_id))
        except InvalidInput:
            raise Http404(f"no {self.opts.verbose_name} {object_id!r}") from None
        if request.method == "POST":
            self._change(request, store, request.POST.get("action", ""), [key])
            return HttpResponseRedirect(request.get_full_path())
        try:
            found = self.record(store, key)
        except (NotFound, InvalidInput) as problem:  # a key no record has, or can have
            raise Http404(str(problem)) from None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{self.opts.verbose_name.capitalize()} {key}",
            "changes": self._permitted(request),
            **found,
        }
        template = f"order_lifecycle/admin/{self.opts.model_name}_detail.html"
        return TemplateResponse(request, template, context)

    def _permitted(self, request: HttpRequest) -> dict[str, str]:
        if not self.changes or not self.has_change_permission(request):
            return {}
        return {name: label for name, (label, _) in self.changes.items()}

    def _change(self, request: HttpRequest, store: Store, name: str, keys: list[Any]) -> None:
        if name not in self.changes or not self.has_change_permission(request):
            raise PermissionDenied
        label, call = self.changes[name]
        done = 0
        for text in keys:
            try:
                call(store, self.key(str(text)))
            except OrderLifecycleError as refusal:
                messages.warning(request, f"{text}: {refusal}")
            else:
                done += 1
        if done:
            noun = self.opts.verbose_name if done == 1 else self.opts.verbose_name_plural
            messages.success(request, f"{label}: {done} {noun}.")


def _next_query(request: HttpRequest, page: Page[Any]) -> str | None:
    """The query string of the next page: the filters, and ``after`` the last row."""
    if page.next_after is None:
        return None
    query = request.GET.copy()
    query["after"] = str(page.next_after)
    encoded: str = query.urlencode()
    return encoded


def _many(request: HttpRequest, name: str) -> list[str] | None:
    return request.GET.getlist(name) or None


def _one(request: HttpRequest, name: str) -> str | None:
    return request.GET.get(name) or None


@admin.register(Order)
class OrderAdmin(_StoreAdmin):
    """Orders by id, by state; one order whole: items, charges, history, its path as a picture."""

    def page(self, store: Store, request: HttpRequest) -> tuple[Page[Any], list[Row], Row]:
        """A page of orders in the states asked for (every state by default)."""
        states = _many(request, "state")
        page = store.page_orders(states=states, after=_one(request, "after"), limit=PAGE)
        counts = store.overview().orders
        filters = {
            "choices": [(str(s), counts.get(s, 0)) for s in OrderState],
            "chosen": states or [],
        }
        rows = [{"key": o.id, "url": quote(o.id), "order": o} for o in page.items]
        return page, rows, filters

    def record(self, store: Store, key: str) -> Row:
        """The order, its actions and deliveries, and its path (SVG where it can be drawn)."""
        order = store.get_order(key)
        path = extract_path(ORDER_SPEC, f"order {order.id}", order.history)
        picture = None
        if svg_engine() is not None:
            # As an image: a browser runs no script of an SVG shown by <img>.
            drawn = base64.b64encode(render_path(path, "svg").encode()).decode()
            picture = f"data:image/svg+xml;base64,{drawn}"
        return {
            "order": order,
            "picture": picture,
            "mermaid": render_path(path, "mermaid"),
            "actions": [
                {"url": quote(a.key), "action": a} for a in store.list_actions(order_id=order.id)
            ],
            "deliveries": store.list_deliveries(order_id=order.id, limit=1_000),
        }


@admin.register(Delivery)
class DeliveryAdmin(_StoreAdmin):
    """The inbox by seq, by status, order, type; one delivery whole; refeed and dismiss."""

    filter_name = "status"

    changes = {  # noqa: RUF012 (read only)
        "refeed": ("fed again (pending, for the next reconciler)", Store.refeed_delivery),
        "dismiss": ("dismissed (no reconciler tries it again)", Store.dismiss_delivery),
    }

    def key(self, text: str) -> int:
        """A seq from its digits."""
        if not (text.isascii() and text.isdigit() and 0 < len(text) < 19):
            raise InvalidInput(f"no delivery {text[:40]!r}")
        return int(text)

    def page(self, store: Store, request: HttpRequest) -> tuple[Page[Any], list[Row], Row]:
        """A page of deliveries in the statuses, of the order and type asked for."""
        statuses = _many(request, "status")
        after = _one(request, "after")
        page = store.page_deliveries(
            statuses=statuses,
            order_id=_one(request, "order"),
            event_type=_one(request, "type"),
            after=None if after is None else self.key(after),
            limit=PAGE,
        )
        counts = store.overview(open_only=False).deliveries
        filters = {
            "choices": [(str(s), counts[s].count if s in counts else 0) for s in DeliveryStatus],
            "chosen": statuses or [],
            "order": _one(request, "order") or "",
            "type": _one(request, "type") or "",
        }
        rows = [{"key": d.seq, "url": str(d.seq), "delivery": d} for d in page.items]
        return page, rows, filters

    def record(self, store: Store, key: int) -> Row:
        """The delivery, its body as text (indented when it is JSON)."""
        delivery = store.get_delivery(key)
        body = delivery.body.decode("utf-8", "backslashreplace")
        with contextlib.suppress(ValueError, RecursionError):  # not JSON: shown as it came
            body = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        return {"delivery": delivery, "body": body}


@admin.register(Action)
class ActionAdmin(_StoreAdmin):
    """The outbox, oldest first, by state, kind, order; one action whole; retry."""

    changes = {  # noqa: RUF012 (read only)
        "retry": ("pending again (tries from 0)", Store.retry_action),
    }

    def page(self, store: Store, request: HttpRequest) -> tuple[Page[Any], list[Row], Row]:
        """A page of actions in the states, of the kinds and order asked for."""
        states = _many(request, "state")
        page = store.page_actions(
            states=states,
            kinds=_many(request, "kind"),
            order_id=_one(request, "order"),
            after=_one(request, "after"),
            limit=PAGE,
        )
        counts = store.overview().actions
        filters = {
            "choices": [(str(s), counts[s].count) for s in counts],
            "chosen": states or [],
            "order": _one(request, "order") or "",
        }
        rows = [{"key": a.key, "url": quote(a.key), "action": a} for a in page.items]
        return page, rows, filters

    def record(self, store: Store, key: str) -> Row:
        """The action, its payload and result as indented JSON."""
        action = store.get_action(key)
        return {
            "action": action,
            "order_url": quote(action.order_id),
            "payload": json.dumps(action.payload, indent=2, ensure_ascii=False),
        }

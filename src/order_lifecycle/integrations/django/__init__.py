"""A Django app: the webhook view, a readiness view, management commands, a read-only admin.

Add it to ``INSTALLED_APPS`` and say where the orders live::

    INSTALLED_APPS = [..., "django.contrib.admin", "order_lifecycle.integrations.django"]
    ORDER_LIFECYCLE = {
        "DB": os.environ["ORDER_LIFECYCLE_DB"],                # a SQLite path or a DSN
        "SECRETS": os.environ["ORDER_LIFECYCLE_SECRETS"],      # comma-separated, or a list
        "HANDLERS": "shop.actions:HANDLERS",                   # for manage.py run_actions
    }

Then route the provider's webhooks and a readiness probe::

    from django.urls import path
    from order_lifecycle.integrations.django import get_inbox, readiness_view, webhook_view

    urlpatterns = [
        path("webhooks/digital-river", webhook_view(get_inbox())),
        path("ready", readiness_view()),
    ]

and run ``manage.py migrate_orders`` once per deploy, ``manage.py reconcile`` and
``manage.py run_actions`` beside the web processes. The admin shows orders (their history
and path as a picture), deliveries (refeed, dismiss) and actions (retry), read from the
store: the library's tables are not Django models (see ``admin``).

The webhook view reads the raw body (at most ``inbox.max_body`` + 1 bytes: a larger one is
refused by the inbox, 413, counted and kept as a summary) and the ``DigitalRiver-Signature``
header, runs :meth:`Inbox.accept` (the request path: the delivery is stored, 2xx, or not,
503), and answers the result's status with ``{"outcome", "reason"}`` as JSON. It is a sync
view: the stores are synchronous, and under ASGI Django runs a sync view in a worker
thread, never on the event loop. It is CSRF-exempt: the provider cannot send a CSRF token,
and the signature (an HMAC of the body under the webhook's secret) is what proves a
delivery's origin; only ``POST`` is accepted. Without the app in ``INSTALLED_APPS`` the
views work alone, given an inbox and a store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from order_lifecycle.exceptions import WrongType
from order_lifecycle.integrations._answer import (
    accept_one,
    checked_readiness,
    missing,
    readiness_answer,
)
from order_lifecycle.store import ReadinessCheck, Store
from order_lifecycle.webhooks import SIGNATURE_HEADER, Inbox

try:
    from django.http import HttpRequest, HttpResponse, JsonResponse  # type: ignore[import-untyped]
    from django.views.decorators.cache import never_cache  # type: ignore[import-untyped]
    from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]
    from django.views.decorators.http import (  # type: ignore[import-untyped]
        require_POST,
        require_safe,
    )
except ImportError as error:
    raise missing(__name__, "Django", "django") from error

from ._settings import get_inbox, get_store

__all__ = ["get_inbox", "get_store", "readiness_view", "webhook_view"]

View = Callable[[Any], Any]


def webhook_view(inbox: Inbox) -> View:
    """A CSRF-exempt, ``POST``-only view storing each delivery in ``inbox`` (``accept``).

    Raises:
        WrongType: ``inbox`` is not an :class:`Inbox`.

    """
    if not isinstance(inbox, Inbox):
        raise WrongType("inbox", "an Inbox", inbox)

    def view(request: HttpRequest) -> HttpResponse:
        body = request.read(inbox.max_body + 1)
        signature = request.headers.get(SIGNATURE_HEADER)
        status, payload = accept_one(inbox, body, signature)
        return JsonResponse(payload, status=status)

    exempt: View = csrf_exempt(require_POST(view))
    return exempt


def readiness_view(store: Store | None = None, check: ReadinessCheck | None = None) -> View:
    """A ``GET`` (or ``HEAD``) view answering whether the store is ready: 200, or 503 saying why.

    ``store`` defaults to the app's (:func:`get_store`, from ``settings.ORDER_LIFECYCLE``,
    opened at the first request); ``check`` to a
    :class:`~order_lifecycle.store.ReadinessCheck` of its defaults. The body is
    :meth:`~order_lifecycle.store.Readiness.as_json`, never cached.

    Raises:
        WrongType: ``store`` is not a store, or ``check`` not a ``ReadinessCheck``.

    """
    wanted = ReadinessCheck() if check is None else check
    if store is not None:
        store, wanted = checked_readiness(store, wanted)
    elif not isinstance(wanted, ReadinessCheck):
        raise WrongType("check", "a ReadinessCheck", wanted)

    def view(_request: HttpRequest) -> HttpResponse:
        status, payload = readiness_answer(get_store() if store is None else store, wanted)
        return JsonResponse(payload, status=status)

    ready: View = never_cache(require_safe(view))
    return ready

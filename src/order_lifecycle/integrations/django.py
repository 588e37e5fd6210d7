"""A Django view for the provider's webhooks.

::

    from django.urls import path
    from order_lifecycle.integrations.django import webhook_view

    urlpatterns = [path("webhooks/digital-river", webhook_view(inbox))]

The view reads the raw body (at most ``inbox.max_body`` + 1 bytes: a larger one is
refused by the inbox, 413, counted and kept as a summary) and the ``DigitalRiver-Signature``
header, runs :meth:`Inbox.accept` (the request path: the delivery is stored, 2xx, or not,
503), and answers the result's status with ``{"outcome", "reason"}`` as JSON.

A :class:`~order_lifecycle.webhooks.Reconciler` applies what the view stored: run
``order-lifecycle reconcile --db URL`` beside the app (a process per host, or several
on PostgreSQL), or start one in a thread when the app starts, with its own store::

    class ShopConfig(AppConfig):
        def ready(self):
            Reconciler(open_store(DATABASE_URL)).start()

It is a sync view: the stores are synchronous, and under ASGI Django runs a sync view in
a worker thread, never on the event loop. It is CSRF-exempt: the provider cannot send a
CSRF token, and the signature (an HMAC of the body under the webhook's secret) is what
proves a delivery's origin; only ``POST`` is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from order_lifecycle.exceptions import WrongType
from order_lifecycle.webhooks import SIGNATURE_HEADER, Inbox

from ._answer import accept_one, missing

try:
    from django.http import HttpRequest, HttpResponse, JsonResponse  # type: ignore[import-untyped]
    from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped]
    from django.views.decorators.http import require_POST  # type: ignore[import-untyped]
except ImportError as error:
    raise missing(__name__, "Django", "django") from error

__all__ = ["webhook_view"]

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

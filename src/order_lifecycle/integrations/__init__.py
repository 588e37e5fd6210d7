"""Web framework glue for the webhook endpoint, each module an optional extra.

- :mod:`order_lifecycle.integrations.starlette`: a Starlette route (so FastAPI too), with
  the ``starlette`` extra: ``pip install 'order-lifecycle[starlette]'``;
- :mod:`order_lifecycle.integrations.django`: a Django view, with the ``django`` extra;
- :mod:`order_lifecycle.integrations.opentelemetry`: a store's backlog as OpenTelemetry
  gauges, with the ``otel`` extra.

Each verifies and stores one delivery through :meth:`~order_lifecycle.webhooks.Inbox.accept`
(the request path) and answers its status; a :class:`~order_lifecycle.webhooks.Reconciler`
applies what was stored (Starlette: ``reconciler_lifespan`` runs one in a thread of the
app). Importing this package imports no framework; importing a module without its
framework raises an ``ImportError`` naming the extra.
"""

from __future__ import annotations

__all__: list[str] = []

"""A Starlette route for the provider's webhooks (FastAPI apps mount it the same way).

::

    from starlette.applications import Starlette
    from order_lifecycle.integrations.starlette import webhook_route

    app = Starlette(routes=[webhook_route(inbox, path="/webhooks/digital-river")])

The route reads the raw body (at most ``inbox.max_body`` + 1 bytes: a larger one is
refused by the inbox, 413, counted and kept as a summary, without reading the rest) and
the ``DigitalRiver-Signature`` header, runs :meth:`Inbox.accept` in a worker thread
(:func:`starlette.concurrency.run_in_threadpool`): the request path, which stores the
delivery (2xx) or cannot (503) and reconciles nothing; and answers the result's status
with ``{"outcome", "reason"}`` as JSON. A client that hangs up before its body arrived is
logged (``INFO``, on this module's logger) and given an empty 400 nobody reads: nothing was
received, and no traceback is raised.

A :class:`~order_lifecycle.webhooks.Reconciler` applies what the route stored: in its own
processes (``order-lifecycle reconcile --db URL``), or, opted in, in a thread of the app
for as long as it runs, with a store of its own::

    app = Starlette(
        routes=[webhook_route(inbox)],
        lifespan=reconciler_lifespan(Reconciler(open_store(DATABASE_URL))),
    )

A thread, not an async store: every store is synchronous and thread-safe (one connection
behind a lock), and a thread keeps one store contract for every framework. The provider
wants an answer within 3 s; the request path bounds its lock waits well under that.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from order_lifecycle.exceptions import WrongType
from order_lifecycle.webhooks import SIGNATURE_HEADER, Inbox, Reconciler

from ._answer import accept_one, missing

try:
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
except ImportError as error:
    raise missing(__name__, "Starlette", "starlette") from error

__all__ = ["reconciler_lifespan", "webhook_endpoint", "webhook_route"]

DEFAULT_PATH = "/webhooks/digital-river"

_log = logging.getLogger(__name__)


def webhook_endpoint(inbox: Inbox) -> Callable[[Request], Awaitable[Response]]:
    """An async endpoint storing each POSTed delivery in ``inbox`` (``Inbox.accept``).

    Raises:
        WrongType: ``inbox`` is not an :class:`Inbox`.

    """
    if not isinstance(inbox, Inbox):
        raise WrongType("inbox", "an Inbox", inbox)

    async def endpoint(request: Request) -> Response:
        body = await _read(request, inbox.max_body + 1)
        signature = request.headers.get(SIGNATURE_HEADER)
        status, payload = await run_in_threadpool(accept_one, inbox, body, signature)
        return JSONResponse(payload, status_code=status)

    return _hang_ups(endpoint)


def webhook_route(inbox: Inbox, *, path: str = DEFAULT_PATH) -> Route:
    """A ``POST`` route at ``path`` storing the provider's deliveries in ``inbox``.

    Raises:
        WrongType: ``inbox`` is not an :class:`Inbox`.

    """
    return Route(path, webhook_endpoint(inbox), methods=["POST"], name="digital_river_webhook")


def reconciler_lifespan(
    reconciler: Reconciler,
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A Starlette ``lifespan``: ``reconciler`` runs in a thread while the app runs.

    Started when the app starts, stopped (its running batch written first) and joined
    when it shuts down. Give the reconciler its own store: its own connection.

    Raises:
        WrongType: ``reconciler`` is not a :class:`Reconciler`.

    """
    if not isinstance(reconciler, Reconciler):
        raise WrongType("reconciler", "a Reconciler", reconciler)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:  # noqa: ANN401 (any Starlette app)
        thread = reconciler.start()
        try:
            yield
        finally:
            reconciler.stop()
            await run_in_threadpool(thread.join)

    return lifespan


async def _read(request: Request, limit: int) -> bytes:
    """The body's first ``limit`` bytes; the rest is never read.

    Raises:
        ClientDisconnect: the client hung up before the body arrived (see :func:`_hang_ups`).

    """
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) >= limit:
            break
    return bytes(body[:limit])


def _hang_ups(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """``endpoint``, where a client that hangs up while its body is read is logged, not raised.

    Nothing was received (a delivery is never half read), and nobody is left to answer: the
    provider retries what it got no 2xx for. Raised, it would be a traceback in the server's
    log for every client that hangs up.
    """

    async def answering(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ClientDisconnect:
            _log.info(
                "%s %s: the client hung up before its body arrived; nothing was received.",
                request.method,
                request.url.path,
            )
            return Response(status_code=400)

    return answering

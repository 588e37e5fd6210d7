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

For an orchestrator's readiness probe, :func:`readiness_route` answers ``GET /ready``: 200
when the database answers within the check's timeout, its schema is current and the backlog
is under its limits, else 503; with a small JSON body either way
(:class:`~order_lifecycle.store.ReadinessCheck`)::

    app = Starlette(routes=[webhook_route(inbox), readiness_route(inbox.store)])

The endpoints are the async entry points: :func:`webhook_endpoint` and
:func:`readiness_endpoint` are coroutines an async app (FastAPI's ``add_api_route``)
awaits, their store calls run in a worker thread. The shop's own async code does the same
with any library call: ``await run_in_threadpool(store.get_order, order_id)``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from order_lifecycle.exceptions import WrongType
from order_lifecycle.store import ReadinessCheck, Store
from order_lifecycle.webhooks import SIGNATURE_HEADER, Inbox, Reconciler

from ._answer import accept_one, checked_readiness, missing, readiness_answer

try:
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
except ImportError as error:
    raise missing(__name__, "Starlette", "starlette") from error

__all__ = [
    "readiness_endpoint",
    "readiness_route",
    "reconciler_lifespan",
    "webhook_endpoint",
    "webhook_route",
]

DEFAULT_PATH = "/webhooks/digital-river"
READINESS_PATH = "/ready"

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


def readiness_endpoint(
    store: Store, check: ReadinessCheck | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """An async endpoint answering whether ``store`` is ready: 200, or 503 saying why.

    ``check`` (a :class:`~order_lifecycle.store.ReadinessCheck`, its defaults when not
    given) says how long the database may take and how large the backlog may grow. The
    body is :meth:`~order_lifecycle.store.Readiness.as_json`; the store is read in a worker
    thread, never on the event loop.

    Raises:
        WrongType: ``store`` is not a store, or ``check`` not a ``ReadinessCheck``.

    """
    store, check = checked_readiness(store, ReadinessCheck() if check is None else check)

    async def endpoint(_request: Request) -> Response:
        status, body = await run_in_threadpool(readiness_answer, store, check)
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    return endpoint


def readiness_route(
    store: Store, check: ReadinessCheck | None = None, *, path: str = READINESS_PATH
) -> Route:
    """A ``GET`` (and ``HEAD``) route at ``path`` answering whether ``store`` is ready.

    Raises:
        WrongType: ``store`` is not a store, or ``check`` not a ``ReadinessCheck``.

    """
    return Route(path, readiness_endpoint(store, check), methods=["GET"], name="readiness")


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

"""The sandbox: the local provider served over HTTP on loopback, and its webhooks sent.

The standard library's :class:`~http.server.ThreadingHTTPServer` (no dependency for a
development tool; one thread per connection is plenty for one shop on one machine). It
binds loopback addresses only: the sandbox signs webhooks with the shop's real secret and
answers anyone who asks, so it must not be reachable from another machine.

Webhooks go out from one sender thread, each event when its life created it, signed then;
an answer other than a 2xx is retried ``retries`` times, ``step`` doubled each time, as the
provider retries (for days; here, for seconds).
"""

from __future__ import annotations

import heapq
import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

from order_lifecycle.exceptions import InvalidInput, WrongType
from order_lifecycle.webhooks import sign

from ._http import check_url, deliver
from ._plan import PlannedEvent
from ._provider import (
    MAX_SECONDS,
    MAX_SUBMISSION,
    LocalProvider,
    Outcome,
    Reply,
    error_body,
    require_number,
)

__all__ = ["Sandbox", "check_loopback"]

Log = Callable[[str], None]

_MAX_PORT = 65535
_MAX_RETRIES = 100
_SOCKET_TIMEOUT = 60.0  # a client that sends nothing for this long is dropped
_ORDERS = "/orders"


def check_loopback(host: str) -> str:
    """``host`` if it is a loopback address (``127.0.0.0/8``, ``::1``) or ``localhost``.

    Raises:
        InvalidInput: any other host: the sandbox serves only this machine.

    """
    if not isinstance(host, str):
        raise WrongType("host", "a loopback address as a str", host)
    if host == "localhost":
        return "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise InvalidInput(
            f"the sandbox serves on loopback only (127.0.0.1, ::1, localhost), not {host!r}: "
            "it answers anyone who reaches it, and signs with your secret."
        )
    return host


@attrs.define
class _Sender:
    """The thread that posts a life's events to the shop, each when its time comes."""

    url: str
    secret: str = attrs.field(repr=False)
    retries: int
    step: timedelta
    timeout: float
    log: Log
    _queue: list[tuple[float, int, int, PlannedEvent]] = attrs.field(factory=list, init=False)
    _wake: threading.Condition = attrs.field(factory=threading.Condition, init=False)
    _stopped: bool = attrs.field(default=False, init=False)
    _count: int = attrs.field(default=0, init=False)
    _thread: threading.Thread | None = attrs.field(default=None, init=False)

    def start(self) -> None:
        """Start sending."""
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop; what was not sent yet is not sent."""
        with self._wake:
            self._stopped = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()

    def schedule(self, events: tuple[PlannedEvent, ...]) -> None:
        """Send ``events``, each at its creation time."""
        with self._wake:
            for event in events:
                self._push(event.created.timestamp(), 0, event)
            self._wake.notify()

    def _push(self, due: float, tries: int, event: PlannedEvent) -> None:
        self._count += 1
        heapq.heappush(self._queue, (due, self._count, tries, event))

    def _next(self) -> tuple[int, PlannedEvent] | None:
        """The next event due, waiting for it; ``None`` once stopped."""
        with self._wake:
            while not self._stopped:
                if self._queue and self._queue[0][0] <= time.time():
                    _, _, tries, event = heapq.heappop(self._queue)
                    return tries, event
                self._wake.wait(self._queue[0][0] - time.time() if self._queue else None)
        return None

    def _run(self) -> None:
        while (due := self._next()) is not None:
            tries, event = due
            answer = deliver(self.url, event.body, self.secret, timeout=self.timeout)
            shown = answer.error or f"{answer.status} in {answer.seconds * 1000:.0f} ms"
            what = f"webhook {event.type} {event.id!r} -> {shown}"
            if answer.ok or tries >= self.retries:
                self.log(what if answer.ok else f"{what}; given up after {tries + 1} tries")
                continue
            wait = self.step.total_seconds() * 2**tries or 0.1
            self.log(f"{what}; again in {wait:g} s")
            with self._wake:
                self._push(time.time() + wait, tries + 1, event)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """One line in the log, not a traceback on stderr (a client that went silent...)."""
        del request, client_address
        error = sys.exception()
        self.sandbox.log(f"a request failed: {type(error).__name__}: {error}")


class _Handler(BaseHTTPRequestHandler):
    """One request: routed to the local provider, answered as it says."""

    server: _Server
    server_version = "order-lifecycle-sandbox"
    timeout = _SOCKET_TIMEOUT

    def do_POST(self) -> None:
        """A ``POST``: read its body (unless refused by its length), answer as the sandbox says."""
        body = self._body()
        sandbox = self.server.sandbox
        self._answer(body if isinstance(body, Reply) else sandbox.post(self.path, body))

    def do_GET(self) -> None:
        """A ``GET``: answered as the sandbox says."""
        self._answer(self.server.sandbox.get(self.path))

    def _body(self) -> bytes | Reply:
        """The request's body, or the answer refusing it unread (a bad length, too long)."""
        length = self.headers.get("Content-Length", "0")
        if not (length.isascii() and length.isdigit()):
            self.close_connection = True
            message = "Content-Length must be a number of bytes."
            return Reply(400, error_body("bad_request", "invalid_request", message))
        if len(length) > len(str(MAX_SUBMISSION)) or int(length) > MAX_SUBMISSION:
            self.close_connection = True  # the rest is never read
            message = f"The request body is larger than {MAX_SUBMISSION} bytes."
            return Reply(413, error_body("bad_request", "invalid_request", message))
        return self.rfile.read(int(length))

    def _answer(self, reply: Reply) -> None:
        if reply.close:
            self.close_connection = True  # no answer at all: the connection just closes
            return
        if reply.hold and self.server.sandbox.stopping.wait(reply.hold):
            self.close_connection = True  # the sandbox stops: the held request ends unanswered
            return
        raw = reply.raw()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except OSError:
            self.close_connection = True  # the client gave up (a timeout): as the provider's

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 (http.server's signature)
        """Nothing: the sandbox logs each request its own way (see :meth:`Sandbox.get`)."""


def _nowhere(path: str) -> Reply:
    message = (
        "The sandbox serves POST /orders, GET /orders?checkoutId= and GET /orders/{id}, "
        f"not {path[:100]!r}."
    )
    return Reply(404, error_body("not_found", "not_found", message))


@attrs.define(repr=False)
class Sandbox:
    """The local provider on ``http://host:port``; webhooks to ``webhook``, signed with ``secret``.

    ``host`` must be a loopback address; ``port`` 0 takes a free one (see :attr:`url`).
    Checkouts come to their outcome by ``script`` (checkout id to :class:`Outcome`) or their
    id's prefix; a created order's life advances one step every ``step``, and each of its
    events is posted to ``webhook`` (when given) then, retried ``retries`` times on an
    answer other than a 2xx. A ``timeout`` submission is held ``hold`` seconds. ``log``
    gets one line per request and per delivery; the secret is never in it.

    Example::

        with Sandbox(webhook="http://127.0.0.1:8000/webhooks", secret=secret) as sandbox:
            shop = Shop(provider_url=sandbox.url)   # your checkout code, pointed at it
            shop.checkout("pending-1")              # 201 pending_payment, then two webhooks

    Raises:
        InvalidInput: a host other than loopback, a port out of range, a webhook URL that
            is not http(s), no usable secret for the webhooks, a negative step or hold.
        WrongType: a setting of the wrong type (a port as a str, a NaN hold...).

    """

    host: str = attrs.field(default="127.0.0.1", converter=check_loopback)
    port: int = 0
    webhook: str | None = None
    secret: str | None = attrs.field(default=None, repr=False)
    script: Mapping[str, Outcome] = attrs.Factory(dict)
    step: timedelta = timedelta(seconds=1)
    hold: float = 35.0
    retries: int = 3
    timeout: float = 10.0
    log: Log = attrs.field(default=lambda _line: None, repr=False)
    provider: LocalProvider = attrs.field(init=False)
    stopping: threading.Event = attrs.field(factory=threading.Event, init=False)
    _server: _Server | None = attrs.field(default=None, init=False)
    _sender: _Sender | None = attrs.field(default=None, init=False)
    _thread: threading.Thread | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        # The provider checks the script, step and hold.
        self.provider = LocalProvider(self.script, self.step, self.hold)
        require_number("port", self.port, 0, _MAX_PORT, whole=True)
        require_number("retries", self.retries, 0, _MAX_RETRIES, whole=True)
        require_number("timeout", self.timeout, 0.001, MAX_SECONDS)
        if not callable(self.log):
            raise WrongType("log", "a callable taking one line", self.log)
        if self.webhook is not None:
            check_url(self.webhook, "the webhook URL")
            if self.secret is None:
                raise InvalidInput("webhooks need a signing secret (ORDER_LIFECYCLE_SECRETS).")
            sign(b"", self.secret, datetime.now(UTC))  # an unusable secret fails here, not later

    @property
    def url(self) -> str:
        """Where the sandbox serves, e.g. ``http://127.0.0.1:8421`` (once started)."""
        if self._server is None:
            raise InvalidInput("the sandbox is not started.")
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def start(self) -> Sandbox:
        """Bind and serve in background threads; ``self``.

        Raises:
            OSError: the port cannot be bound (in use, not allowed).

        """
        self._server = _Server((self.host, self.port), self)
        if self.webhook is not None and self.secret is not None:
            self._sender = _Sender(
                self.webhook, self.secret, self.retries, self.step, self.timeout, self.log
            )
            self._sender.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="sandbox-http", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and sending; held requests end unanswered."""
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._sender is not None:
            self._sender.stop()

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not started"
        return f"<Sandbox({where}, webhook={self.webhook!r}, script={len(self.script)} ids)>"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def post(self, target: str, raw: bytes) -> Reply:
        """The answer to a ``POST`` of ``raw`` to ``target`` (``/orders``); logged.

        A created order's webhooks are scheduled.
        """
        if urlsplit(target).path.rstrip("/") != _ORDERS:
            return self._logged(f"POST {target[:100]!r}", _nowhere(target))
        reply = self.provider.submit(raw)
        request = "POST /orders" + ("" if reply.checkout_id is None else f" {reply.checkout_id!r}")
        if reply.plan is None:
            return self._logged(request, reply)
        plan, note = reply.plan, ""
        if reply.close:
            note = ", the connection closed unanswered"
        elif reply.hold:
            note = f", answered after {reply.hold:g} s"
        if self._sender is not None:
            self._sender.schedule(plan.events)
            note += f"; webhooks: {', '.join(e.type for e in plan.events)}"
        else:
            note += "; no webhooks (no webhook URL)"
        return self._logged(request, reply, note)

    def get(self, target: str) -> Reply:
        """The answer to a ``GET`` of ``target``: a lookup by checkout id, or an order; logged."""
        parts = urlsplit(target)
        if parts.path.rstrip("/") == _ORDERS:
            checkout_ids = parse_qs(parts.query).get("checkoutId", [])
            if len(checkout_ids) != 1 or not checkout_ids[0]:
                message = "Give one checkoutId to look orders up by."
                reply = Reply(400, error_body("bad_request", "missing_parameter", message))
            else:
                reply = self.provider.lookup(checkout_ids[0])
            shown = repr(checkout_ids[0]) if checkout_ids else "(none)"
            return self._logged(f"GET /orders?checkoutId={shown}", reply)
        if parts.path.startswith(f"{_ORDERS}/") and parts.path.count("/") == 2:
            order_id = unquote(parts.path[len(_ORDERS) + 1 :])
            return self._logged(f"GET /orders/{order_id!r}", self.provider.order(order_id))
        return self._logged(f"GET {target[:100]!r}", _nowhere(target))

    def _logged(self, request: str, reply: Reply, note: str = "") -> Reply:
        """``reply``, logged in one line after ``request``."""
        if reply.plan is not None:
            outcome = f"{reply.plan.created['state']}, order {reply.plan.order_id}"
        elif "errors" in reply.body:
            outcome = str(reply.body["errors"][0]["code"])
        elif "data" in reply.body:
            outcome = f"{len(reply.body['data'])} order(s)"
        else:
            outcome = str(reply.body.get("state"))
        self.log(f"{request} -> {reply.status} {outcome}{note}")
        return reply

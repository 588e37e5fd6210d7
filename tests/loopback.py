"""Servers on loopback for the local provider's tests: a recording endpoint, the sandbox.

:class:`Endpoint` is a shop's webhook endpoint that records each post and answers as told;
:func:`sandbox_process` runs ``order-lifecycle sandbox`` as a process, without hypothesis;
:func:`fetch` is a shop's HTTP client (``http.client``: no proxy from the environment);
:func:`eventually` and :func:`state_of` wait for what a server does in its own time.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

import attrs

from order_lifecycle.exceptions import NotFound
from order_lifecycle.store import Store


@attrs.frozen
class Post:
    """One request the endpoint got: its path, headers, body, and when (time.time())."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@attrs.define
class Endpoint:
    """Answers each POST with the next of ``statuses`` (200 once they run out), ``b"{}"``."""

    statuses: list[int] = attrs.Factory(list)
    posts: list[Post] = attrs.Factory(list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The endpoint's URL (path ``/hook``)."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def __enter__(self) -> Self:
        """Listen on a free loopback port, in a thread."""
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                endpoint.posts.append(Post(self.path, dict(self.headers), body, time.time()))
                status = endpoint.statuses.pop(0) if endpoint.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop listening."""
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, seconds: float = 20.0) -> list[Post]:
        """The posts, once there are ``count`` of them (or the deadline passed)."""
        deadline = time.monotonic() + seconds
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.posts)


# The command line needs no testing extra: the process runs with hypothesis unimportable.
WITHOUT_HYPOTHESIS = (
    "import sys; sys.modules['hypothesis'] = None; from order_lifecycle.cli import main; "
    "sys.exit(main(sys.argv[1:]))"
)


@contextmanager
def sandbox_process(secrets: str, *argv: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``order-lifecycle sandbox --port 0 ARGV`` in a process, and the URL it printed first.

    ``secrets`` is its ``ORDER_LIFECYCLE_SECRETS``. The process gets SIGTERM at the end.
    """
    env = {**os.environ, "ORDER_LIFECYCLE_SECRETS": secrets}
    with subprocess.Popen(  # noqa: S603 (our own command)
        [sys.executable, "-c", WITHOUT_HYPOTHESIS, "sandbox", "--port", "0", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()  # flushed at once, even into a pipe
        assert first.startswith("sandbox: the provider on http://127.0.0.1:"), first
        try:
            yield process, first.split(" on ", 1)[1].split(" ", 1)[0]
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)


def fetch(url: str, body: bytes | None = None, timeout: float = 10) -> tuple[int, bytes]:
    """``GET url``, or ``POST`` ``body`` as JSON: the status and body of the answer.

    Raises:
        OSError: no answer (a timeout, a connection closed unanswered).

    """
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        headers = {"Content-Type": "application/json"}
        connection.request("GET" if body is None else "POST", target, body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


DEADLINE = 20.0  # seconds to wait for a webhook to be reconciled


def eventually(read: Callable[[], object], expected: object) -> object:
    """``read()`` once it gives ``expected``, or what it gives at the deadline."""
    deadline = time.monotonic() + DEADLINE
    while (value := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def state_of(store: Store, order_id: str) -> str | None:
    """The order's state in the store, or ``None`` while it is not there."""
    try:
        return str(store.get_order(order_id).state)
    except NotFound:
        return None

"""A shop's webhook endpoint on loopback that records each post and answers as told."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import attrs


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

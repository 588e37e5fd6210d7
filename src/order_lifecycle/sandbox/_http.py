"""Posting a signed delivery to an endpoint, as the provider does; what the endpoint answered.

The standard library's ``http.client``: no proxy (a local endpoint must not be sent through
one), no redirect followed (the provider follows none: a 3xx is an answer), the headers as
the provider spells them. An answer that never came (refused, reset, timed out) is an
:class:`Answer` too, never an exception.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from urllib.parse import urlsplit

import attrs

from order_lifecycle.exceptions import InvalidInput

from ._deliveries import signed_delivery

__all__ = ["Answer", "check_url", "deliver"]

_MAX_URL = 2048
_ANSWER_READ = 64 * 1024  # the most of an answer's body read and kept
_OK = range(200, 300)


@attrs.frozen
class Answer:
    """What an endpoint answered one post: status and body, or why nothing came; how long.

    ``status`` is ``None`` when no answer came; ``error`` then says why.
    """

    status: int | None
    body: bytes = attrs.field(repr=False)
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the endpoint took the delivery (a 2xx), as the provider judges it."""
        return self.status in _OK


def check_url(url: str, what: str = "the URL") -> str:
    """``url`` if it is an ``http://`` or ``https://`` URL with a host; else ``InvalidInput``.

    Raises:
        InvalidInput: another scheme, no host, a port out of range, more than 2048
            characters, or a space, a control character or a lone surrogate in it.

    """
    if not isinstance(url, str) or not url:
        raise InvalidInput(f"{what} is missing.")
    if len(url) > _MAX_URL or not url.isascii() or not url.isprintable() or " " in url:
        raise InvalidInput(
            f"{what} must be printable ASCII without spaces, at most {_MAX_URL} characters "
            "(percent-encode anything else)."
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"{what} {url!r} is not a URL (a bad port or host).") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInput(f"{what} {url!r} must be http:// or https:// with a host.")
    del port  # read only to check it
    return url


def deliver(
    url: str, body: bytes, secret: str | bytes, *, timeout: float, at: datetime | None = None
) -> Answer:
    """Post ``body`` to ``url``, signed with ``secret`` at ``at`` (now): the endpoint's answer.

    Signed as the provider signs (``DigitalRiver-Signature``, see
    :func:`~order_lifecycle.webhooks.sign`) when it sends: a redelivery is signed anew.

    Raises:
        InvalidInput: ``secret`` is not a usable signing secret (nothing was posted).

    """
    delivery = signed_delivery(body, at=at or datetime.now(UTC), secret=secret)
    parts = urlsplit(check_url(url))
    kind = HTTPSConnection if parts.scheme == "https" else HTTPConnection
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    started = time.monotonic()
    connection = kind(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request("POST", target, body, delivery.headers)
        response = connection.getresponse()
        status, answer = response.status, response.read(_ANSWER_READ)
    except (OSError, HTTPException) as error:
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return Answer(None, b"", time.monotonic() - started, reason)
    finally:
        connection.close()
    return Answer(status, answer, time.monotonic() - started)

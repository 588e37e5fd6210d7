"""The envelope of a signed delivery: what the request path reads before storing it.

The request path reads only what the inbox keys and groups deliveries by: the event's
``id``, its ``type``, its ``createdTime`` (as sent) and the order it is about (an order
object's ``id``, another object's ``orderId``, by the same shape rules as
:func:`~order_lifecycle.webhooks.parse_event`), by a typed decoder that reads those
fields alone (``provider._typed``; the standard library's ``json.loads`` for a body it
does not plainly read): no model is built, no number read. Everything else waits for the
reconciler, which parses the stored body. A body whose envelope cannot be read
(not JSON, not an object, no usable event id) is stored as ``invalid``, keyed by its
SHA-256 (so the same bytes are stored once), with the parser's kind of reason.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from order_lifecycle._json import MAX_ID_LENGTH, Problem, required_id
from order_lifecycle.exceptions import InvalidEvent
from order_lifecycle.provider import typed_envelope

from ._events import _is_order

__all__ = ["Envelope", "checked_envelope", "read_envelope"]

Envelope = tuple[str, str | None, str | None, str | None, str | None]
"""``(key, type, order id, createdTime, reason)``: ``reason`` is ``None`` unless invalid."""

_MAX_TIME_LENGTH = 64


def _text(value: object, limit: int = MAX_ID_LENGTH) -> str | None:
    """``value`` if it is text every store can hold (a short str, no NUL or lone surrogate)."""
    if type(value) is not str or not 0 < len(value) <= limit or "\x00" in value:
        return None
    if value.isascii():
        return value
    try:
        value.encode()
    except UnicodeEncodeError:
        return None
    return value


def _invalid(body: bytes, problem: str, field: str = "", event_id: str | None = None) -> Envelope:
    reason = str(InvalidEvent(field, problem, event_id))
    return f"sha256:{hashlib.sha256(body).hexdigest()}", None, None, None, reason


def read_envelope(body: bytes) -> Envelope:
    """The key, type, order id and ``createdTime`` of ``body``; or why it is not pending.

    The key is the event id; for a body whose envelope cannot be read, ``sha256:`` and
    the body's digest, with the reason (the body is then stored ``invalid``). A type,
    order id or time that is not plain text is left out (``None``): the reconciler's
    parse says what is wrong with it.
    """
    typed = typed_envelope(body)  # the common case: read by the typed decoder
    if typed is not None:
        event_id, event_type, order_id, created = typed
        return event_id, _text(event_type), _text(order_id), _text(created, _MAX_TIME_LENGTH), None
    return checked_envelope(body)


def checked_envelope(body: bytes) -> Envelope:
    """:func:`read_envelope` by the standard library's ``json.loads`` alone."""
    try:
        envelope: Any = json.loads(body)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        return _invalid(body, f"the body is not JSON ({reason})")
    if type(envelope) is not dict:
        return _invalid(body, "the body must be a JSON object")
    try:
        event_id = required_id(envelope, "id", "", "the event id")
    except Problem as problem:
        return _invalid(body, problem.message, problem.field)
    data = envelope.get("data")
    order_id = None
    if type(data) is dict:
        obj = data.get("object")
        if type(obj) is dict:
            if "orderId" in obj:
                order_id = _text(obj["orderId"])
            elif _is_order(obj):
                order_id = _text(obj.get("id"))
    created = _text(envelope.get("createdTime"), _MAX_TIME_LENGTH)
    return event_id, _text(envelope.get("type")), order_id, created, None

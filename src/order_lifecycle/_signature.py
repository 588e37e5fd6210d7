"""Checking the provider's webhook signature (header ``DigitalRiver-Signature``).

The scheme, as the provider's own connector implements it: the header is
``<timestamp part>, <signature>[, <signature>...]``; each signature is
``base64(HMAC-SHA256(secret, <timestamp part> + "." + <raw body>))``. The timestamp part is
signed verbatim (``t=1700000000`` or a bare epoch); it is parsed only for the age check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from .exceptions import InvalidInput, InvalidSignature

__all__ = ["SIGNATURE_HEADER", "sign", "verify_signature"]

SIGNATURE_HEADER = "DigitalRiver-Signature"
"""The HTTP header that carries the signature."""

_EPOCH = re.compile(r"(?:[A-Za-z]\w*=)?(\d{9,13})")
# Epochs past this are in milliseconds (the provider does not document the unit).
_MILLISECOND_EPOCHS = 10**11


def _digest(secret: str | bytes, signed_part: bytes, raw_body: bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, signed_part + b"." + raw_body, hashlib.sha256).digest()
    return base64.b64encode(mac)


def sign(raw_body: bytes, secret: str | bytes, at: datetime) -> str:
    """The header value the provider would send for ``raw_body`` at ``at`` (for tests)."""
    timestamp_part = f"t={int(at.timestamp())}"
    return f"{timestamp_part}, {_digest(secret, timestamp_part.encode(), raw_body).decode()}"


def _candidates(signature: str) -> Iterable[bytes]:
    """A signature as sent, and without a ``v1=``-style label should the provider add one."""
    yield signature.encode()
    label, _, rest = signature.partition("=")
    # Base64 has "=" only as trailing padding, so a label leaves more than padding behind.
    if label.isalnum() and len(rest) > len("=="):
        yield rest.encode()


def verify_signature(
    header: str,
    raw_body: bytes,
    secrets: Iterable[str | bytes],
    now: datetime,
    max_age: timedelta,
) -> None:
    """Accept the delivery if one secret signed it within ``max_age`` of ``now``.

    Several secrets may be given while one is being rotated. Every comparison is constant
    time, and every failure raises the same :class:`InvalidSignature` so that a caller
    cannot learn which secret, which signature or which part failed. A timestamp more than
    ``max_age`` in the future (a skewed clock) fails like an old one.

    Raises:
        InvalidSignature: the delivery is not signed by any of ``secrets`` in time.
        InvalidInput: no secret was given (a configuration error, not the delivery's).

    """
    keys = list(secrets)
    if not keys:
        raise InvalidInput("verify_signature needs at least one secret.")
    if not isinstance(header, str) or not isinstance(raw_body, bytes):
        raise InvalidSignature
    timestamp_part, *signatures = [part.strip() for part in header.split(",")]
    match = _EPOCH.fullmatch(timestamp_part)
    if match is None or not signatures:
        raise InvalidSignature
    epoch = int(match[1])
    sent = datetime.fromtimestamp(epoch / 1000 if epoch > _MILLISECOND_EPOCHS else epoch, tz=UTC)
    fresh = abs(now - sent) <= max_age
    matched = False
    # No early exit: the work done does not depend on which secret or signature matches.
    for key in keys:
        expected = _digest(key, timestamp_part.encode(), raw_body)
        for signature in signatures:
            for candidate in _candidates(signature):
                matched |= hmac.compare_digest(expected, candidate)
    if not (matched and fresh):
        raise InvalidSignature

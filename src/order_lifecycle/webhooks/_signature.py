"""Checking the provider's webhook signature (header ``DigitalRiver-Signature``).

The scheme, as the provider's own connector implements it: the header is
``<timestamp part>, <signature>[, <signature>...]``; each signature is
``base64(HMAC-SHA256(secret, <timestamp part> + "." + <raw body>))``. The timestamp part is
signed verbatim (``t=1700000000`` or a bare epoch); it is parsed only for the age check.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from order_lifecycle.exceptions import InvalidInput, InvalidSignature, WrongType

__all__ = [
    "MAX_HEADER_LENGTH",
    "MAX_HEADER_PARTS",
    "MIN_SECRET_BYTES",
    "SIGNATURE_HEADER",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "DigitalRiver-Signature"
"""The HTTP header that carries the signature."""

_EPOCH = re.compile(r"(?:[A-Za-z]\w*=)?(\d{9,13})")
# Epochs past this are in milliseconds (the provider does not document the unit).
_MILLISECOND_EPOCHS = 10**11

MIN_SECRET_BYTES = 8
"""The shortest secret accepted: anything shorter is a configuration mistake (an unset
variable, a placeholder), and failing open on it would accept forgeries."""

MAX_HEADER_PARTS = 8
"""The most comma-separated parts a signature header may have (timestamp and signatures)."""

MAX_HEADER_LENGTH = 1024
"""The longest signature header accepted, in characters."""


def _key(secret: object, what: str) -> bytes:
    """``secret`` as the HMAC key, if it is usable; a typed error saying why otherwise."""
    if not isinstance(secret, (str, bytes)):
        raise WrongType(what, "a str or bytes", secret)
    try:
        key = secret.encode() if isinstance(secret, str) else secret
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} cannot be encoded as UTF-8.") from None
    if not key:
        raise InvalidInput(f"{what} is empty (an unset setting?); give the signing secret.")
    if len(key) < MIN_SECRET_BYTES:
        raise InvalidInput(
            f"{what} is {len(key)} bytes long; {MIN_SECRET_BYTES} or more are needed."
        )
    return key


def signing_keys(secrets: object, what: str = "secrets") -> tuple[bytes, ...]:
    """Each secret of ``secrets`` as an HMAC key, checked; never an empty tuple.

    Raises:
        WrongType: ``secrets`` is one str or bytes (whose characters would each pass as a
            secret), not iterable, or holds something other than str or bytes.
        InvalidInput: no secret, or one that is empty, shorter than
            :data:`MIN_SECRET_BYTES` or not encodable.

    """
    if isinstance(secrets, (str, bytes, bytearray, memoryview)):
        raise WrongType(what, "a list of secrets, not one str or bytes", secrets)
    if not isinstance(secrets, Iterable):
        raise WrongType(what, "a list of secrets", secrets)
    keys = tuple(_key(secret, f"{what}: secret {i}") for i, secret in enumerate(secrets))
    if not keys:
        raise InvalidInput(f"{what}: at least one secret is needed.")
    return keys


def _digest(key: bytes, signed_part: bytes, raw_body: bytes) -> bytes:
    # hmac.digest: one call into OpenSSL, no HMAC object built per delivery.
    mac = hmac.digest(key, b"%s.%s" % (signed_part, raw_body), "sha256")
    return base64.b64encode(mac)


def _aware(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise WrongType(what, "an aware datetime", value)
    return value


def sign(raw_body: bytes, secret: str | bytes, at: datetime) -> str:
    """The header value the provider would send for ``raw_body`` at ``at`` (for tests).

    Raises:
        InvalidInput: ``secret`` is not one :func:`verify_signature` accepts, or ``at`` is
            not an aware datetime (:class:`WrongType`).

    """
    key = _key(secret, "secret")
    timestamp_part = f"t={int(_aware(at, 'at').timestamp())}"
    return f"{timestamp_part}, {_digest(key, timestamp_part.encode(), raw_body).decode()}"


def _candidates(signature: str) -> Iterable[bytes]:
    """A signature as sent, and without a ``v1=``-style label should the provider add one."""
    yield signature.encode()
    label, _, rest = signature.partition("=")
    # Base64 has "=" only as trailing padding, so a label leaves more than padding behind.
    if label.isalnum() and len(rest) > len("=="):
        yield rest.encode()


def _parts(header: object) -> list[str]:
    """The header's stripped parts, if it is a plausible header at all."""
    if (
        not isinstance(header, str)
        or len(header) > MAX_HEADER_LENGTH
        or not header.isascii()
        or "\x00" in header
    ):
        raise InvalidSignature
    parts = [part.strip() for part in header.split(",", MAX_HEADER_PARTS)]
    if len(parts) > MAX_HEADER_PARTS:
        raise InvalidSignature
    return parts


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

    Limits, so that a hostile header costs little: at most :data:`MAX_HEADER_LENGTH`
    (1024) ASCII characters with no NUL, in at most :data:`MAX_HEADER_PARTS` (8)
    comma-separated parts (the timestamp and up to 7 signatures); any other header fails.

    Raises:
        InvalidSignature: the delivery is not signed by any of ``secrets`` in time.
        InvalidInput: the secrets are unusable (see :func:`signing_keys`), ``now`` is not
            an aware datetime or ``max_age`` not a timedelta of 0 or more (a caller's
            mistake, not the delivery's; :class:`WrongType` for a wrong type).

    """
    keys = signing_keys(secrets)
    now = _aware(now, "now")
    if not isinstance(max_age, timedelta):
        raise WrongType("max_age", "a timedelta", max_age)
    if max_age < timedelta(0):
        raise InvalidInput(f"max_age must not be negative, got {max_age!r}.")
    if not isinstance(raw_body, bytes):
        raise InvalidSignature
    timestamp_part, *signatures = _parts(header)
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

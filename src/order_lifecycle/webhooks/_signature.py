"""Checking the provider's webhook signature (header ``DigitalRiver-Signature``).

The scheme, as the provider's own connector implements it: the header is
``<timestamp part>, <signature>[, <signature>...]``; each signature is
``base64(HMAC-SHA256(secret, <timestamp part> + "." + <raw body>))``. The timestamp part is
signed verbatim (``t=1700000000`` or a bare epoch); it is parsed only for the age check.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from order_lifecycle.exceptions import InvalidInput, InvalidSignature, WrongType

__all__ = [
    "MAX_HEADER_LENGTH",
    "MAX_HEADER_PARTS",
    "MIN_SECRET_BYTES",
    "SIGNATURE_HEADER",
    "microseconds",
    "sign",
    "signed_in_time",
    "signing_keys",
    "verify_signature",
]

SIGNATURE_HEADER = "DigitalRiver-Signature"
"""The HTTP header that carries the signature."""

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


def _epoch(timestamp_part: str) -> int | None:
    """The epoch a timestamp part gives (``t=1700000000``, or bare), in microseconds; or ``None``.

    A bare run of 9 to 13 digits, or one after a ``label=`` (a letter, then letters,
    digits or underscores); a header is ASCII by then. Epochs past ``10**11`` are in
    milliseconds (the provider does not document the unit).
    """
    label, labelled, digits = timestamp_part.rpartition("=")
    if labelled and not (label[:1].isalpha() and label.replace("_", "a").isalnum()):
        return None
    if not 9 <= len(digits) <= 13 or not digits.isdigit():
        return None
    epoch = int(digits)
    return epoch * 1000 if epoch > _MILLISECOND_EPOCHS else epoch * 1_000_000


_EPOCH_ZERO = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def microseconds(moment: datetime) -> int:
    """An aware moment as whole microseconds since the epoch (exact, as datetimes compare)."""
    return (moment - _EPOCH_ZERO) // _MICROSECOND


def signed_in_time(
    keys: tuple[bytes, ...], header: object, raw_body: bytes, now_us: int, max_age_us: int
) -> bool:
    """Whether a key of ``keys`` signed ``raw_body`` in ``header``, within ``max_age_us`` of now.

    The check at the HMAC's cost, for callers that checked their keys and times once (an
    inbox, at construction): one split of the header, the timestamp as an integer, one
    HMAC per key. Constant time over keys and signatures: no early exit.
    """
    if (
        type(header) is not str
        or len(header) > MAX_HEADER_LENGTH
        or not header.isascii()
        or "\x00" in header
    ):
        return False
    parts = header.split(",", MAX_HEADER_PARTS)
    if not 1 < len(parts) <= MAX_HEADER_PARTS:
        return False
    timestamp_part = parts[0].strip()
    sent = _epoch(timestamp_part)
    if sent is None:
        return False
    signed = b"%s.%s" % (timestamp_part.encode(), raw_body)
    signatures = [part.strip().encode() for part in parts[1:]]
    matched = False
    for key in keys:
        # hmac.digest: one call into OpenSSL, no HMAC object built per delivery.
        expected = base64.b64encode(hmac.digest(key, signed, "sha256"))
        for signature in signatures:
            matched |= hmac.compare_digest(expected, signature)
            # A signature labelled ``v1=...`` should the provider add one: base64 has "="
            # only as trailing padding, so a label leaves more than padding behind.
            label, _, rest = signature.partition(b"=")
            if label.isalnum() and len(rest) > len(b"=="):
                matched |= hmac.compare_digest(expected, rest)
    return matched and abs(now_us - sent) <= max_age_us


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
    if not isinstance(raw_body, bytes) or not signed_in_time(
        keys, header, raw_body, microseconds(now), max_age // _MICROSECOND
    ):
        raise InvalidSignature

"""What a kept delivery may cost: summaries, the cap on kept bytes, text made storable.

Deliveries refused unread come from anyone who can reach the webhook endpoint, so what is
kept of them is bounded: a delivery that fails its signature check (or is too large to
read) is never stored in the inbox, only kept as a *summary* (its first
:data:`SUMMARY_BYTES` bytes, its size and its SHA-256), and every store caps the bytes it
keeps so in total (:data:`DEFAULT_MAX_KEPT_BYTES`); past the cap a delivery is only
counted.
"""

from __future__ import annotations

import hashlib

import attrs

from order_lifecycle.exceptions import InvalidInput

__all__ = [
    "DEFAULT_MAX_KEPT_BYTES",
    "ROW_BYTES",
    "SUMMARY_BYTES",
    "Summary",
    "check_cap",
    "kept_cost",
    "summarise",
]

SUMMARY_BYTES = 256
"""How many of a delivery's first bytes a summary keeps."""

DEFAULT_MAX_KEPT_BYTES = 64 * 2**20
"""The kept bytes a store holds at most, unless told otherwise (64 MiB)."""

ROW_BYTES = 64
"""What each kept delivery is charged beyond its bytes and text, so that even empty
deliveries cannot add rows without bound."""


@attrs.frozen
class Summary:
    """What is kept of a delivery: ``raw`` (all of it, or its first bytes), its size, digest."""

    raw: bytes
    size: int
    sha256: str


def summarise(raw: bytes, *, summary: bool) -> Summary:
    """``raw`` whole, or only its first :data:`SUMMARY_BYTES` bytes if ``summary``."""
    kept = raw[:SUMMARY_BYTES] if summary else raw
    return Summary(kept, len(raw), hashlib.sha256(raw).hexdigest())


def kept_cost(raw: bytes, *texts: str | None) -> int:
    """The bytes a kept delivery is charged: its kept bytes, its text in UTF-8, a row."""
    text = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts if t is not None)
    return len(raw) + text + ROW_BYTES


def check_cap(value: object) -> int:
    """``value`` if it is an int of 1 or more: a store's ``max_kept_bytes``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidInput(f"max_kept_bytes must be an int of 1 or more, got {value!r}.")
    return value

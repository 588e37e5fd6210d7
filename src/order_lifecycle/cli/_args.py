"""Argument types the parser checks: bounded numbers, plain ids. Refused: exit status 2.

Each message is one line and shows a refused value only as its ``repr``, cut short: an
argument may hold anything (NUL, lone surrogates from undecodable bytes, megabytes).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from urllib.parse import urlsplit

from order_lifecycle._json import MAX_ID_LENGTH
from order_lifecycle.exceptions import InvalidInput

__all__ = ["bounded", "checked", "number", "plain_id", "shown", "without_password"]

_SHOWN = 40


def shown(value: str) -> str:
    """``value`` as a message shows it: its ``repr``, at most about 40 characters of it."""
    return repr(value) if len(value) <= _SHOWN else f"{value[:_SHOWN]!r}..."


def checked(check: Callable[[str], object]) -> Callable[[str], str]:
    """A type that takes what ``check`` takes, and refuses with its message what it refuses.

    ``check`` raises :class:`~order_lifecycle.exceptions.InvalidInput` for what it refuses.
    """

    def parse(value: str) -> str:
        try:
            check(value)
        except InvalidInput as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return value

    return parse


def bounded(low: int, high: int) -> Callable[[str], int]:
    """A type for a whole number from ``low`` to ``high``."""

    def whole(value: str) -> int:
        text = value.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > len(str(high)):
            raise argparse.ArgumentTypeError(f"give a whole number from {low} to {high}")
        if not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"give a whole number from {low} to {high}")
        return int(text)

    return whole


def number(low: float, high: float) -> Callable[[str], float]:
    """A type for a number from ``low`` to ``high`` (seconds, say)."""

    def real(value: str) -> float:
        try:
            parsed = float(value) if value.isascii() and len(value) <= _SHOWN else math.nan
        except ValueError:
            parsed = math.nan
        if not low <= parsed <= high:  # NaN fails this too
            raise argparse.ArgumentTypeError(f"give a number from {low:g} to {high:g}")
        return parsed

    return real


def plain_id(value: str) -> str:
    """An id: 1 to 255 printable characters (no NUL, no lone surrogate)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        encodable = False
    else:
        encodable = True
    if not 0 < len(value) <= MAX_ID_LENGTH or not value.isprintable() or not encodable:
        raise argparse.ArgumentTypeError(
            f"an id is 1 to {MAX_ID_LENGTH} printable characters, not {shown(value)}"
        )
    return value


def without_password(url: str) -> str:
    """``url`` as printed: without the user and password it may hold."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()

"""What the app's management commands share: settings errors as ``CommandError``, counts."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from order_lifecycle.exceptions import OrderLifecycleError

try:
    from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
    from django.core.management.base import CommandError  # type: ignore[import-untyped]
except ImportError as error:  # pragma: no cover (the package's face raised first)
    from order_lifecycle.integrations._answer import missing

    raise missing(__name__, "Django", "django") from error

__all__ = ["MAX_ROUNDS", "one_line_errors", "seconds", "whole"]

MAX_ROUNDS = 1_000_000
"""The most batches ``--once`` runs before it stops (as the command line's)."""


@contextmanager
def one_line_errors() -> Iterator[None]:
    """The library's refusals and bad settings as a ``CommandError``: one line, exit 1."""
    try:
        yield
    except (OrderLifecycleError, ImproperlyConfigured) as error:
        raise CommandError(" ".join(str(error).split())) from None


def seconds(value: str) -> float:
    """A number of seconds above 0, up to a day (an option's ``type``)."""
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0 < number <= 86_400:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"give a number of seconds above 0, up to 86400, not {value[:40]!r}"
        )
    return number


def whole(low: int, high: int) -> Callable[[str], int]:
    """A whole number from ``low`` to ``high`` (an option's ``type``)."""

    def parse(value: str) -> int:
        text = value.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= len(str(high))):
            raise argparse.ArgumentTypeError(
                f"give a whole number from {low} to {high}, not {value[:40]!r}"
            )
        if not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(
                f"give a whole number from {low} to {high}, not {value[:40]!r}"
            )
        return int(text)

    return parse

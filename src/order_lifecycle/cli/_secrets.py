"""The webhook secrets of ``send``, ``sandbox`` and ``replay``: from the environment, or flags.

``ORDER_LIFECYCLE_SECRETS`` holds the shop's secrets, comma-separated (several during a
rotation); the first one signs, and each verifies. ``--secret`` works too, with a warning
(:func:`~._settings.warn_shown`): a command's arguments are visible to every user of the
machine (``ps``). A secret is never printed, not even in an error.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.webhooks import sign

from ._settings import warn_shown

__all__ = [
    "ENVIRONMENT",
    "add_secret_argument",
    "environment_secrets",
    "signing_secret",
    "verifying_secrets",
]

ENVIRONMENT = "ORDER_LIFECYCLE_SECRETS"
"""The environment variable with the signing secrets, comma-separated; the first signs."""


def add_secret_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--secret`` option."""
    parser.add_argument(
        "--secret",
        help=f"the signing secret (visible in the process list: prefer {ENVIRONMENT})",
    )


def signing_secret(flag: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The secret that signs: ``flag`` (with a warning on stderr), else the environment's first.

    Raises:
        InvalidInput: no secret, or one the signature cannot use (too short, not UTF-8).

    """
    if flag is not None:
        warn_shown("--secret", "the secret", ENVIRONMENT)
        secret = flag
    else:
        secrets = environment_secrets(environ)
        if not secrets:
            raise InvalidInput(
                f"no signing secret: set {ENVIRONMENT} to the shop's webhook secret "
                "(comma-separated during a rotation; the first one signs)."
            )
        secret = secrets[0]
    sign(b"", secret, datetime.now(UTC))  # an unusable secret is refused now, by its length
    return secret


def environment_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """The secrets ``ORDER_LIFECYCLE_SECRETS`` holds, in its order (none: an empty list)."""
    found = (os.environ if environ is None else environ).get(ENVIRONMENT, "")
    return [part.strip() for part in found.split(",") if part.strip()]


def verifying_secrets(
    flags: Sequence[str] | None, environ: Mapping[str, str] | None = None
) -> list[str] | None:
    """The secrets that verify: the flags' (with a warning), else the environment's, else None."""
    if flags:
        warn_shown("--secret", "the secret", ENVIRONMENT)
        return list(flags)
    return environment_secrets(environ) or None

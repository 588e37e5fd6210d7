"""The webhook signing secret of ``send`` and ``sandbox``: from the environment, or a flag.

``ORDER_LIFECYCLE_SECRETS`` holds the shop's secrets, comma-separated (several during a
rotation); the first one signs. ``--secret`` works too, with a warning: a command's
arguments are visible to every user of the machine (``ps``). The secret is never printed,
not even in an error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.webhooks import sign

__all__ = ["ENVIRONMENT", "add_secret_argument", "signing_secret"]

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
        print(
            f"order-lifecycle: warning: --secret shows the secret to every user of this "
            f"machine (in the process list); prefer {ENVIRONMENT}",
            file=sys.stderr,
        )
        secret = flag
    else:
        found = (os.environ if environ is None else environ).get(ENVIRONMENT, "")
        secrets = [part.strip() for part in found.split(",") if part.strip()]
        if not secrets:
            raise InvalidInput(
                f"no signing secret: set {ENVIRONMENT} to the shop's webhook secret "
                "(comma-separated during a rotation; the first one signs)."
            )
        secret = secrets[0]
    sign(b"", secret, datetime.now(UTC))  # an unusable secret is refused now, by its length
    return secret

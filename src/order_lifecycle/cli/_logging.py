"""The long-running commands' log: the library's records to stderr, unless the shop set it up."""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["LEVEL_VARIABLE", "log_to_stderr"]

LEVEL_VARIABLE = "ORDER_LIFECYCLE_LOG_LEVEL"
"""The environment variable naming the level (``INFO`` unless set: ``DEBUG``, ``WARNING``...)."""


def log_to_stderr() -> None:
    """Send the library's records to stderr, one line each, unless logging is configured.

    A service (``reconcile``, ``actions run``) is watched through its log: its outages,
    failed handlers and dead actions. A level the variable names wrongly falls back to INFO.
    """
    if logging.getLogger().handlers:
        return  # the shop's own configuration (a sitecustomize, a wrapper) wins
    wanted = os.environ.get(LEVEL_VARIABLE, "INFO").strip().upper()
    level = logging.getLevelNamesMapping().get(wanted, logging.INFO)
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

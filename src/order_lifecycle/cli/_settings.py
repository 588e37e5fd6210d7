"""Settings from the environment: the store's URL, so that no DSN sits on a command line.

``ORDER_LIFECYCLE_DB`` names the store (a SQLite path or a ``postgresql://`` DSN) for every
command that reads or writes one; ``--db`` still wins. A password given on the command line
(in ``--db``'s DSN, or a ``--secret``) is used, with a warning: a command's arguments are
visible to every user of the machine (``ps``). :func:`warn_shown` is that one warning.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

from order_lifecycle.exceptions import InvalidInput

__all__ = ["DB_ENVIRONMENT", "add_db_argument", "store_url", "warn_shown"]

DB_ENVIRONMENT = "ORDER_LIFECYCLE_DB"
"""The environment variable naming the store, when ``--db`` does not."""


def add_db_argument(parser: argparse.ArgumentParser, what: str = "the store") -> None:
    """The ``--db`` option: a SQLite path or DSN, else ``$ORDER_LIFECYCLE_DB``."""
    parser.add_argument(
        "--db",
        metavar="URL",
        help=f"{what}: a SQLite path or postgresql:// DSN (default: ${DB_ENVIRONMENT})",
    )


def store_url(flag: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The store's URL: ``flag`` (warned about if it holds a password), else the environment's.

    Raises:
        InvalidInput: neither names a store.

    """
    if flag is not None:
        if _password(flag):
            warn_shown("--db", "a password", f"{DB_ENVIRONMENT}, PGPASSWORD or ~/.pgpass")
        return flag
    found = (os.environ if environ is None else environ).get(DB_ENVIRONMENT, "").strip()
    if not found:
        raise InvalidInput(
            f"no store given: pass --db URL or set {DB_ENVIRONMENT} (a SQLite path or a "
            "postgresql:// DSN)."
        )
    return found


def warn_shown(flag: str, what: str, instead: str) -> None:
    """Warn on stderr that ``flag`` shows ``what`` to every user of the machine."""
    print(
        f"order-lifecycle: warning: {flag} shows {what} to every user of this machine (in the "
        f"process list); prefer {instead}",
        file=sys.stderr,
    )


def _password(url: str) -> bool:
    """Whether ``url`` is a DSN holding a password (``postgresql://user:secret@host``)."""
    if "://" not in url:
        return " password=" in f" {url}"  # a libpq key=value string
    try:
        return urlsplit(url).password is not None
    except ValueError:
        return False

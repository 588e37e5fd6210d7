"""``order-lifecycle schema``: the SQL that creates (or migrates) the tables, for a DBA."""

from __future__ import annotations

import argparse

from order_lifecycle.store import SCHEMA_VERSION, schema_script

from ._output import Output

__all__ = ["add_parser", "run"]

_DIALECTS = ("postgres", "sqlite")


def _version(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a schema version: {value!r}") from None
    if not 1 <= number < SCHEMA_VERSION:
        raise argparse.ArgumentTypeError(
            f"{number}: give a version from 1 to {SCHEMA_VERSION - 1} (older than this "
            f"order-lifecycle's, {SCHEMA_VERSION})"
        )
    return number


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``schema`` command's arguments."""
    command = commands.add_parser(
        "schema",
        help="print the SQL that creates (or migrates) the tables, for a DBA to run",
        description=(
            "Print the SQL that `order-lifecycle migrate` runs: the literal migrations and "
            "the ol_schema row, in one transaction (no database needed)."
        ),
    )
    command.add_argument("--dialect", required=True, choices=_DIALECTS, help="the database")
    command.add_argument(
        "--from",
        dest="since",
        type=_version,
        metavar="VERSION",
        help="the schema version the tables are at (default: none, create them)",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    """Print the script; exit status 0."""
    out.console.file.write(schema_script(args.dialect, args.since))
    return 0

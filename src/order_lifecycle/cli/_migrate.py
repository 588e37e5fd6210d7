"""``order-lifecycle migrate``: create a store's tables, or bring older ones up to date."""

from __future__ import annotations

import argparse

from order_lifecycle.store import migrate

from ._output import Output
from ._settings import add_db_argument, store_url

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``migrate`` command's arguments."""
    command = commands.add_parser(
        "migrate",
        help="create the store's tables, or bring older ones up to date",
        description=(
            "Create the store's tables, or migrate older ones to this version's schema, in "
            "one transaction (needs the right to create tables; running it again changes "
            "nothing). Opening a store never does this unless asked; `order-lifecycle "
            "schema` prints the same SQL for a DBA."
        ),
    )
    add_db_argument(command)


def run(args: argparse.Namespace, out: Output) -> int:
    """Migrate the store at ``--db`` (or ``$ORDER_LIFECYCLE_DB``); exit status 0."""
    done = migrate(store_url(args.db))
    if done.found is None:
        out.line(f"Created the tables of schema version {done.version} in {done.where}.")
    elif done.changed:
        out.line(f"Migrated {done.where} from schema version {done.found} to {done.version}.")
    else:
        out.line(f"The tables in {done.where} are at schema version {done.version}: nothing to do.")
    return 0

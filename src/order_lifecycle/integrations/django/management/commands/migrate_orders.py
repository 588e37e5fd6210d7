"""``manage.py migrate_orders``: create the store's tables, or bring older ones up to date."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand  # type: ignore[import-untyped]

from order_lifecycle.integrations.django._commands import one_line_errors
from order_lifecycle.integrations.django._settings import lifecycle_settings
from order_lifecycle.store import migrate

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]
    """Create or migrate the tables of the store ``settings.ORDER_LIFECYCLE["DB"]`` names."""

    help = (
        'Create the tables of the store settings.ORDER_LIFECYCLE["DB"] names, or migrate '
        "older ones to this version's schema, in one transaction (needs the right to create "
        "tables; running it again changes nothing)."
    )

    def handle(self, *_args: Any, **_options: Any) -> None:  # noqa: ANN401 (Django's)
        """Migrate; say what was done."""
        with one_line_errors():
            done = migrate(lifecycle_settings()["DB"])
        if done.found is None:
            self.stdout.write(
                f"Created the tables of schema version {done.version} in {done.where}."
            )
        elif done.changed:
            self.stdout.write(
                f"Migrated {done.where} from schema version {done.found} to {done.version}."
            )
        else:
            self.stdout.write(
                f"The tables in {done.where} are at schema version {done.version}: nothing to do."
            )

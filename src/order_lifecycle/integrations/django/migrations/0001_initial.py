"""The app's placeholder models: unmanaged, so this migration creates no table."""

from __future__ import annotations

from typing import ClassVar

from django.db import migrations, models  # type: ignore[import-untyped]

_OPTIONS = {"managed": False, "default_permissions": ("view", "change")}


class Migration(migrations.Migration):  # type: ignore[misc]
    """Order, Delivery and Action: index entries and permissions for the admin, no tables."""

    initial = True

    dependencies: ClassVar[list[tuple[str, str]]] = []

    operations: ClassVar[list[migrations.operations.base.Operation]] = [
        migrations.CreateModel(
            name="Action",
            fields=[("key", models.TextField(primary_key=True, serialize=False))],
            options={"verbose_name": "action", "db_table": "ol_actions", **_OPTIONS},
        ),
        migrations.CreateModel(
            name="Delivery",
            fields=[("seq", models.BigIntegerField(primary_key=True, serialize=False))],
            options={
                "verbose_name": "delivery",
                "verbose_name_plural": "deliveries",
                "db_table": "ol_inbox",
                **_OPTIONS,
            },
        ),
        migrations.CreateModel(
            name="Order",
            fields=[("id", models.TextField(primary_key=True, serialize=False))],
            options={
                "verbose_name": "order",
                "db_table": "ol_orders",
                "managed": False,
                "default_permissions": ("view",),
            },
        ),
    ]

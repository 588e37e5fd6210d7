"""Placeholders for the admin: one per record the admin shows, never queried.

The library's tables are not Django models: the store reads and writes them, through its
codec and its rules (a history only grows, legally; an action's state moves only along the
outbox's table). The admin shows them through the store's API instead (see ``admin``);
these unmanaged models give it what Django's admin needs of a model: an entry in the index,
URLs, and permissions (``view`` to see, ``change`` to refeed, dismiss or retry). Each names
the table its records live in, and its key; ``manage.py migrate`` creates nothing for them.
"""

from __future__ import annotations

from django.db import models  # type: ignore[import-untyped]

__all__ = ["Action", "Delivery", "Order"]


class Order(models.Model):  # type: ignore[misc]
    """An order, as the store holds it (``ol_orders``)."""

    id = models.TextField(primary_key=True)

    class Meta:
        """Unmanaged: the store owns the table; ``view`` (and ``change``) permissions only."""

        managed = False
        db_table = "ol_orders"
        default_permissions = ("view",)
        verbose_name = "order"

    def __str__(self) -> str:
        """Its key, as the admin names it."""
        return str(self.id)


class Delivery(models.Model):  # type: ignore[misc]
    """A webhook delivery in the store's inbox (``ol_inbox``), by its ``seq``."""

    seq = models.BigIntegerField(primary_key=True)

    class Meta:
        """Unmanaged: the store owns the table; ``view`` (and ``change``) permissions only."""

        managed = False
        db_table = "ol_inbox"
        default_permissions = ("view", "change")
        verbose_name = "delivery"
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        """Its key, as the admin names it."""
        return f"delivery {self.seq}"


class Action(models.Model):  # type: ignore[misc]
    """An action in the store's outbox (``ol_actions``), by its key."""

    key = models.TextField(primary_key=True)

    class Meta:
        """Unmanaged: the store owns the table; ``view`` (and ``change``) permissions only."""

        managed = False
        db_table = "ol_actions"
        default_permissions = ("view", "change")
        verbose_name = "action"

    def __str__(self) -> str:
        """Its key, as the admin names it."""
        return str(self.key)

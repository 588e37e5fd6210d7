"""The app's configuration: its label, its name in the admin, and its settings' system check."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig  # type: ignore[import-untyped]
from django.core import checks  # type: ignore[import-untyped]

from ._settings import SETTING, problems

__all__ = ["OrderLifecycleConfig"]


class OrderLifecycleConfig(AppConfig):  # type: ignore[misc]
    """``order_lifecycle.integrations.django`` in ``INSTALLED_APPS``: label ``order_lifecycle``."""

    name = "order_lifecycle.integrations.django"
    label = "order_lifecycle"
    verbose_name = "Order lifecycle"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        """Register the check of ``settings.ORDER_LIFECYCLE`` (run by ``manage.py check``)."""
        checks.register(check_settings, checks.Tags.compatibility)


def check_settings(**_: Any) -> list[checks.Error]:  # noqa: ANN401 (Django's check arguments)
    """``settings.ORDER_LIFECYCLE`` as the app needs it: one error per problem."""
    return [
        checks.Error(text, id=f"order_lifecycle.{code}", obj=SETTING) for code, text in problems()
    ]

"""The app's settings (``settings.ORDER_LIFECYCLE``), and the store and inbox they make.

::

    ORDER_LIFECYCLE = {
        "DB": os.environ["ORDER_LIFECYCLE_DB"],                # a SQLite path or a DSN
        "SECRETS": os.environ["ORDER_LIFECYCLE_SECRETS"],      # a list, or comma-separated
        "HANDLERS": "shop.actions:HANDLERS",                   # for run_actions
    }

One store per process, opened when first asked for (:func:`get_store`), shared by every
request and command of the process (every store is thread-safe), closed and made again
when the settings change (Django's ``setting_changed``: tests that override them).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from order_lifecycle.actions import Handler, load_handlers
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.store import Store, open_store
from order_lifecycle.webhooks import Inbox

try:
    from django.conf import settings  # type: ignore[import-untyped]
    from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
    from django.core.signals import setting_changed  # type: ignore[import-untyped]
except ImportError as error:  # pragma: no cover (the package's face raised first)
    from order_lifecycle.integrations._answer import missing

    raise missing(__name__, "Django", "django") from error

__all__ = ["SETTING", "get_inbox", "get_store", "handlers", "lifecycle_settings", "problems"]

SETTING = "ORDER_LIFECYCLE"
"""The name of the app's setting: a dict with ``DB``, ``SECRETS`` and ``HANDLERS``."""

_KEYS = frozenset({"DB", "SECRETS", "HANDLERS"})

_lock = threading.Lock()
_made: dict[str, Any] = {}


def lifecycle_settings() -> Mapping[str, Any]:
    """``settings.ORDER_LIFECYCLE``, checked.

    Raises:
        ImproperlyConfigured: the setting is missing or not what :func:`problems` accepts.

    """
    found = problems()
    if found:
        raise ImproperlyConfigured(found[0][1])
    value: Mapping[str, Any] = getattr(settings, SETTING)
    return value


def problems() -> list[tuple[str, str]]:
    """What is wrong with ``settings.ORDER_LIFECYCLE``: (check id, message) pairs, or none."""
    value = getattr(settings, SETTING, None)
    if not isinstance(value, Mapping):
        return [
            (
                "E001",
                (
                    f"settings.{SETTING} must be a dict with DB (a SQLite path or a "
                    "postgresql:// DSN), SECRETS (the webhook's signing secrets) and HANDLERS "
                    "(module:attribute of the action handlers)."
                ),
            )
        ]
    found = []
    unknown = sorted(set(map(str, value)) - _KEYS)
    if unknown:
        found.append(
            ("E002", f"settings.{SETTING} has unknown keys {unknown}: it takes {sorted(_KEYS)}.")
        )
    db = value.get("DB")
    if not isinstance(db, str) or not db.strip():
        found.append(
            ("E003", f'settings.{SETTING}["DB"] must name the store (a SQLite path or a DSN).')
        )
    secrets = value.get("SECRETS")
    if secrets is not None and not (
        isinstance(secrets, str)
        or (isinstance(secrets, (list, tuple)) and all(isinstance(s, str) for s in secrets))
    ):
        found.append(
            ("E004", f'settings.{SETTING}["SECRETS"] must be a list of str, or comma-separated.')
        )
    handlers = value.get("HANDLERS")
    if handlers is not None and not isinstance(handlers, (str, Mapping)):
        found.append(
            ("E005", f'settings.{SETTING}["HANDLERS"] must be "module:attribute", or a mapping.')
        )
    return found


def get_store() -> Store:
    """The process's store, from ``settings.ORDER_LIFECYCLE["DB"]`` (opened when first needed).

    Raises:
        ImproperlyConfigured: the setting is missing or wrong.
        StoreError: the store cannot be opened (see :func:`~order_lifecycle.store.open_store`).

    """
    with _lock:
        store: Store | None = _made.get("store")
        if store is None:
            store = _made["store"] = open_store(lifecycle_settings()["DB"])
        return store


def get_inbox() -> Inbox:
    """The process's inbox over :func:`get_store`, verifying with ``SECRETS``.

    Raises:
        ImproperlyConfigured: the setting is missing or wrong.
        InvalidInput: no usable secret (an inbox never accepts unsigned deliveries).

    """
    store = get_store()
    with _lock:
        inbox: Inbox | None = _made.get("inbox")
        if inbox is None:
            secrets = lifecycle_settings().get("SECRETS") or []
            if isinstance(secrets, str):
                secrets = [s.strip() for s in secrets.split(",") if s.strip()]
            inbox = _made["inbox"] = Inbox(store, secrets=list(secrets))
        return inbox


def handlers() -> Mapping[Any, Handler]:
    """The action handlers ``settings.ORDER_LIFECYCLE["HANDLERS"]`` names (or is).

    Raises:
        ImproperlyConfigured: no handlers are set, or the module named cannot be loaded.

    """
    named = lifecycle_settings().get("HANDLERS")
    if named is None:
        raise ImproperlyConfigured(
            f'settings.{SETTING}["HANDLERS"] must name the action handlers, e.g. '
            '"shop.actions:HANDLERS" (a mapping of action kinds to callables).'
        )
    if not isinstance(named, str):
        found: Mapping[Any, Handler] = named  # the worker checks each kind and callable
        return found
    try:
        return load_handlers(named)
    except InvalidInput as error:
        raise ImproperlyConfigured(f'settings.{SETTING}["HANDLERS"]: {error}') from None


def _forget(*, setting: str, **_: object) -> None:
    """Close the store made from the settings when they change (tests override them)."""
    if setting != SETTING:
        return
    with _lock:
        store = _made.pop("store", None)
        _made.pop("inbox", None)
    if store is not None:
        store.close()


setting_changed.connect(_forget, dispatch_uid="order_lifecycle.forget_store")

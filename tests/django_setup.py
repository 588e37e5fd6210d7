"""One Django configuration for every test that needs Django (settings are made once a process).

The least a project with the admin has: auth, sessions, messages, the admin and this app,
an in-memory database (its own per process), CSRF checks on. Each test sets what it needs
on top with ``override_settings`` (its URLs, ``ORDER_LIFECYCLE``).
"""

from __future__ import annotations

import types

import django  # type: ignore[import-untyped]
from django.conf import settings  # type: ignore[import-untyped]

APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "order_lifecycle.integrations.django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def configure() -> None:
    """Configure Django for the tests, once a process."""
    if settings.configured:
        return
    settings.configure(
        SECRET_KEY="test-only",  # noqa: S106 (a made-up test key)
        ALLOWED_HOSTS=["testserver", "shop.example"],
        INSTALLED_APPS=APPS,
        MIDDLEWARE=MIDDLEWARE,
        TEMPLATES=TEMPLATES,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        ROOT_URLCONF=types.ModuleType("no_urls"),
        USE_TZ=True,
    )
    django.setup()

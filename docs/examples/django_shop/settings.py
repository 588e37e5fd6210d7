"""The settings of the example Django project (only what order-lifecycle needs is new)."""

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["shop.example", "testserver"]
ROOT_URLCONF = "django_shop.urls"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "order_lifecycle.integrations.django",  # the admin, manage.py run_actions, reconcile...
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",  # the webhook view is exempt: it is signed
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
# Django's own tables (users, sessions); the orders may live elsewhere.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "django.sqlite3"}}

# order-lifecycle: where orders live (a SQLite path or a postgresql:// DSN), the webhook's
# signing secrets (several, comma-separated, while one is rotated) and the action handlers.
ORDER_LIFECYCLE = {
    "DB": os.environ.get("ORDER_LIFECYCLE_DB", "orders.db"),
    "SECRETS": os.environ.get("ORDER_LIFECYCLE_SECRETS", ""),
    "HANDLERS": "django_shop.handlers:HANDLERS",
}
# The provider's API, for POST /orders.
PROVIDER_URL = os.environ.get("PROVIDER_URL", "https://api.digitalriver.com")
PROVIDER_KEY = os.environ.get("PROVIDER_KEY", "")

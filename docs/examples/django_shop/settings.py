"""The settings of the example Django project (only what order-lifecycle needs is new)."""

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["shop.example", "testserver"]
ROOT_URLCONF = "django_shop.urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",  # the webhook view is exempt: it is signed
]

# order-lifecycle: where orders live (a SQLite path or a postgresql:// DSN) and the
# webhook's signing secrets (several, comma-separated, while one is rotated).
ORDER_LIFECYCLE_DB = os.environ.get("ORDER_LIFECYCLE_DB", "orders.db")
ORDER_LIFECYCLE_SECRETS = os.environ.get("ORDER_LIFECYCLE_SECRETS", "").split(",")
# The provider's API, for POST /orders.
PROVIDER_URL = os.environ.get("PROVIDER_URL", "https://api.digitalriver.com")
PROVIDER_KEY = os.environ.get("PROVIDER_KEY", "")

"""The shop's store and inbox: one of each per process, made from the settings."""

from functools import cache

from django.conf import settings

from order_lifecycle.store import Store, open_store
from order_lifecycle.webhooks import Inbox


@cache
def store() -> Store:
    """The store named by ``ORDER_LIFECYCLE_DB``; thread-safe, shared by every request."""
    return open_store(settings.ORDER_LIFECYCLE_DB)


@cache
def inbox() -> Inbox:
    """The inbox the webhook view feeds; it refuses to start without a usable secret."""
    return Inbox(store(), secrets=settings.ORDER_LIFECYCLE_SECRETS)

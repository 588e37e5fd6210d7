"""What the shop does for each action, run by ``order-lifecycle actions run``.

The worker imports this module by name (``--handlers django_shop.handlers:HANDLERS``),
outside any request, so Django is set up here first.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_shop.settings")
django.setup()

from order_lifecycle.actions import Handler, StoredAction  # noqa: E402 (after django.setup)

from . import warehouse  # noqa: E402 (as above)


def ship(action: StoredAction) -> dict[str, str]:
    """Ask the warehouse to ship the item's open units, once: the key makes it idempotent."""
    parcel = warehouse.ship(
        order_id=action.order_id,
        item_id=action.subject,
        quantity=action.payload["quantity"],
        idempotency_key=action.key,
    )
    return {"parcel": parcel}


def notify_customer(action: StoredAction) -> None:
    """Tell the customer, in the table's customer-safe words."""
    warehouse.email(action.order_id, action.payload["message"], idempotency_key=action.key)


HANDLERS: dict[str, Handler] = {"ship": ship, "notify_customer": notify_customer}

"""What the shop does for each action, run by ``manage.py run_actions``.

The worker finds them by ``settings.ORDER_LIFECYCLE["HANDLERS"]``, this module's ``HANDLERS``.
"""

from order_lifecycle.actions import Handler, StoredAction

from . import warehouse


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

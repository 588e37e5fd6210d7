"""The shop's action handlers: what its worker runs for each action of the outbox.

Each passes the action's key to the service it calls, as that service's idempotency key:
an action runs at least once (again after a worker died before completing it), and the
key makes the second run do nothing.
"""

from __future__ import annotations

from order_lifecycle.actions import Handler, StoredAction

from .services import Services


def handlers(services: Services) -> dict[str, Handler]:
    """The handlers of every action kind the shop acts on, calling ``services``."""

    def ship(action: StoredAction) -> str:
        item, quantity = action.payload["item_id"], action.payload["quantity"]
        return services.ship(action.order_id, item, quantity, key=action.key)

    def deliver_digitally(action: StoredAction) -> str:
        item, quantity = action.payload["item_id"], action.payload["quantity"]
        return services.deliver_digitally(action.order_id, item, quantity, key=action.key)

    def notify_customer(action: StoredAction) -> str:
        # The library's message is customer-safe by construction: never a provider code.
        return services.notify_customer(action.order_id, action.payload["message"], key=action.key)

    def capture(action: StoredAction) -> str:
        charge, amount = action.payload["charge_id"], action.payload["amount"]
        return services.capture(action.order_id, charge, amount, key=action.key)

    def confirm_refund(action: StoredAction) -> str:
        charge, amount = action.payload["charge_id"], action.payload["amount"]
        return services.confirm_refund(action.order_id, charge, amount, key=action.key)

    return {
        "ship": ship,
        "deliver_digitally": deliver_digitally,
        "notify_customer": notify_customer,
        "capture": capture,
        "confirm_refund": confirm_refund,
    }

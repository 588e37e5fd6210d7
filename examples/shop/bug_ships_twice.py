"""A deliberate bug: the ship handler is not idempotent, so an action run again ships again.

The worker runs each action at least once: a worker killed after the warehouse shipped
but before it completed the action leaves it to run again once its lease lapses. Without
the action's key (or a record of the keys it shipped), the handler cannot tell. The fix is
:mod:`examples.shop.handlers`: ``key=action.key``.
"""

from __future__ import annotations

from order_lifecycle.actions import Handler, StoredAction

from . import handlers as fixed
from .services import Services


def handlers(services: Services) -> dict[str, Handler]:
    """The shop's handlers, with the bug: ``ship`` calls the warehouse without the key."""

    def ship(action: StoredAction) -> str:
        item, quantity = action.payload["item_id"], action.payload["quantity"]
        return services.ship(action.order_id, item, quantity)  # the bug: no key=action.key

    return {**fixed.handlers(services), "ship": ship}

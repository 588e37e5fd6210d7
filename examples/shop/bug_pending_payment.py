"""A deliberate bug: the endpoint ships as soon as the provider reports ``pending_payment``.

A tempting shortcut ("the payment will come"), and wrong: a ``pending_payment`` order may
still be blocked or expire unpaid. The fix is :mod:`examples.shop.webhook`: ship only
when the ``ship`` action comes, which the library writes once the order is accepted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from order_lifecycle.webhooks import Inbox

from . import webhook as fixed
from .services import Services


def webhook(inbox: Inbox, services: Services) -> fixed.Endpoint:
    """The shop's endpoint, with the bug: ships every physical item on ``pending_payment``."""
    receive = fixed.webhook(inbox)

    def endpoint(body: bytes, headers: Mapping[str, str]) -> int:
        status = receive(body, headers)
        event = json.loads(body) if 200 <= status < 300 else {}
        if event.get("type") == "order.pending_payment":  # the bug
            order = event["data"]["object"]
            for item in order["items"]:
                if item["productDetails"].get("physical"):
                    services.ship(order["id"], item["id"], item["quantity"])
        return status

    return endpoint

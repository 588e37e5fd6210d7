"""The demo's shop: the handlers its action worker runs (ship, e-mail, notify, capture).

Each handler does its action through the store as a shop's would, idempotently by what
the order says now: ``ship`` and ``deliver_digitally`` fulfil the item's open units (the
order's state follows: the last unit makes it fulfilled), ``capture`` captures what is
still open of a charge, ``notify_customer`` sends the customer-safe text the order table
gives. E-mails and customer messages are recorded, not sent. The warehouse times out on
the day's first shipment, so that the day shows a failed action retried; the retry is due
at once (the worker's clock is the day's, long past, plus the backoff), so every run of
the day is the same.
Only the command line imports this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from order_lifecycle.actions import ActionWorker, Handler, StoredAction
from order_lifecycle.lifecycle import ActionKind
from order_lifecycle.models import Order
from order_lifecycle.orders import capture, fulfil_items
from order_lifecycle.store import Store

__all__ = ["DemoShop", "Sent"]

_MAX_ROUNDS = 1000  # a worker of the demo stops after this many batches, idle or not


@attrs.frozen
class Sent:
    """A message the demo's shop sent (recorded, not sent): to whom, why, and the text."""

    order_id: str
    kind: str
    text: str


@attrs.define
class DemoShop:
    """The demo's handlers, their records, and the day's clock they stamp their changes with."""

    store: Store
    clock: datetime
    timeouts: int = 1
    sent: list[Sent] = attrs.Factory(list)
    shipped: int = 0
    worker: ActionWorker = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        # The worker's clock is the day's: a failure is due again at once (the day is past).
        self.worker = ActionWorker(self.store, self.handlers(), batch=50, clock=lambda: self.clock)

    def handlers(self) -> dict[str, Handler]:
        """The worker's handlers, by action kind."""
        return {
            ActionKind.SHIP: self.ship,
            ActionKind.DELIVER_DIGITALLY: self.deliver_digitally,
            ActionKind.NOTIFY_CUSTOMER: self.notify_customer,
            ActionKind.CAPTURE: self.capture,
        }

    def work(self, at: datetime) -> None:
        """Run the worker at ``at`` until no action it handles is due."""
        self.clock = at
        for _ in range(_MAX_ROUNDS):
            if not self.worker.run_once():
                return

    def ship(self, action: StoredAction) -> dict[str, Any]:
        """The warehouse ships the item's open units; they are recorded as fulfilled."""
        if self.timeouts > 0:
            self.timeouts -= 1
            message = "the warehouse did not answer in 30 s"
            raise TimeoutError(message)
        units = self._fulfil(action)
        self.shipped += units
        return {"shipped": units, "tracking": f"TRK-{action.order_id}-{action.subject}"}

    def deliver_digitally(self, action: StoredAction) -> dict[str, Any]:
        """The download link is e-mailed; the item's open units are recorded as fulfilled."""
        units = self._fulfil(action)
        if units:
            text = f"Your {action.subject} is ready: download it from your account."
            self.sent.append(Sent(action.order_id, "e-mail", text))
        return {"emailed": units}

    def notify_customer(self, action: StoredAction) -> dict[str, Any]:
        """The customer is told, in the table's customer-safe words (no provider code)."""
        text = str(action.payload["message"])
        self.sent.append(Sent(action.order_id, "customer message", text))
        return {"told": action.payload["state"]}

    def capture(self, action: StoredAction) -> dict[str, Any]:
        """What is still open of the charge is captured (nothing, if that was done already)."""
        charge_id = str(action.payload["charge_id"])

        def change(order: Order) -> str:
            charge = next(c for c in order.charges if c.id == charge_id)
            if charge.open_amount:
                capture(order, charge_id, charge.open_amount, at=self.clock)
            return str(charge.open_amount)

        return {"captured": self.store.update_order(action.order_id, change)}

    def _fulfil(self, action: StoredAction) -> int:
        """Record the item's open units as fulfilled; how many there were (0: done before)."""
        item_id = str(action.payload["item_id"])

        def change(order: Order) -> int:
            units = next(i.open_quantity for i in order.items if i.id == item_id)
            if units:
                fulfil_items(order, {item_id: units}, at=self.clock)
            return units

        return self.store.update_order(action.order_id, change)

"""What the shop calls outside itself: its warehouse, its mailer and its payment provider."""

from __future__ import annotations

from typing import Protocol


class Services(Protocol):
    """The shop's outside services; each takes an idempotency key, as their APIs do."""

    def ship(
        self, order_id: str, item_id: str, quantity: int = 1, *, key: str | None = None
    ) -> str:
        """Ask the warehouse to ship units of a physical item; its receipt."""

    def deliver_digitally(
        self, order_id: str, item_id: str, quantity: int = 1, *, key: str | None = None
    ) -> str:
        """Send the customer a digital item (a download link); its receipt."""

    def notify_customer(self, order_id: str, text: str, *, key: str | None = None) -> str:
        """E-mail the customer about their order; the message's receipt."""

    def capture(
        self, order_id: str, charge_id: str, amount: object, *, key: str | None = None
    ) -> str:
        """Ask the payment provider to capture a charge; its receipt."""

    def confirm_refund(
        self, order_id: str, charge_id: str, amount: object, *, key: str | None = None
    ) -> str:
        """Follow up a refund and tell the customer; its receipt."""

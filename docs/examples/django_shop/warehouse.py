"""A stand-in for the shop's own warehouse and mail clients: it records what it is asked.

A real shop calls its warehouse's and mailer's APIs here, passing the idempotency key on,
so that an action the worker runs a second time (after a crash) ships nothing twice.
"""

SHIPPED: dict[str, str] = {}  # idempotency key -> parcel
EMAILS: dict[str, tuple[str, str]] = {}  # idempotency key -> (order id, text)


def ship(*, order_id: str, item_id: str, quantity: int, idempotency_key: str) -> str:
    """The parcel of this shipment; the same parcel for the same key."""
    return SHIPPED.setdefault(idempotency_key, f"parcel-{order_id}-{item_id}-{quantity}")


def email(order_id: str, text: str, *, idempotency_key: str) -> None:
    """Send the customer of ``order_id`` this text, once per key."""
    EMAILS.setdefault(idempotency_key, (order_id, text))

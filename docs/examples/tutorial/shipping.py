"""What the shop does when an accepted order asks for it: run by ``order-lifecycle actions run``.

Each action has an idempotency key (``action.key``): pass it on to the warehouse and the
mailer, so that an action run a second time (after a crash) ships and sends nothing twice.
"""

from order_lifecycle.actions import Handler, StoredAction


def ship(action: StoredAction) -> dict[str, str]:
    """Hand a physical item to the warehouse; what it returns is kept with the action."""
    parcel = f"parcel-{action.subject}"  # a real shop: its warehouse's answer
    print(f"ship {action.payload['quantity']} x {action.subject}: {parcel}")  # noqa: T201 (the page shows it)
    return {"parcel": parcel}


def deliver_digitally(action: StoredAction) -> None:
    """Send the customer the download of a digital item."""
    print(f"deliver {action.payload['quantity']} x {action.subject}: download link sent")  # noqa: T201 (as above)


HANDLERS: dict[str, Handler] = {"ship": ship, "deliver_digitally": deliver_digitally}

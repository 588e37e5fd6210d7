"""The provider's words (states, events, fraud and charge states) and the merchant's operations.

Values are the exact strings the provider sends (``"pending_payment"``), so a payload's
``state`` converts with ``OrderState(payload["state"])``. Which transitions connect them is
not said here: that is the tables' job (``_tables``).

Events and operations never share a name: an event is what happened to the whole order,
in the provider's words, as a bare verb (``fulfil``: the order became fulfilled, announced
by ``order.fulfilled``); an operation is what the merchant does, spelled exactly as the
function that does it (``fulfil_items``: some units were shipped).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "PROVIDER_EVENT_TYPES",
    "ActionScope",
    "ActionState",
    "ChargeState",
    "CheckoutEvent",
    "CheckoutState",
    "FraudState",
    "ItemState",
    "Operation",
    "OrderEvent",
    "OrderState",
    "OutboxEvent",
]


def _types(prefix: str, *names: str) -> frozenset[str]:
    return frozenset(f"{prefix}.{name}" for name in names)


PROVIDER_EVENT_TYPES: frozenset[str] = (
    _types(
        "order",
        *("pending_payment", "review_opened", "review_closed", "accepted", "blocked"),
        *("cancelled", "fulfilled", "complete", "refunded", "dispute", "dispute.resolved"),
        *("chargeback", "created", "submitted", "updated"),
        *("invoice.created", "credit_memo.created"),
    )
    | _types(
        "order.charge",
        *("pending", "capturable", "processing", "complete", "completed", "cancelled"),
        *("created", "failed", "reauth.failed"),
    )
    | _types("order.charge.capture", "pending", "created", "complete", "completed", "failed")
    | _types("order.charge.cancel", "pending", "pending_information", "complete", "failed")
    | _types("order.charge.refund", "pending", "created", "complete", "completed", "failed")
    | _types("refund", "pending", "pending_information", "complete", "failed")
    | _types("refund", "created", "succeeded", "updated")
    | _types("return", "created", "accepted", "updated")
    | {"fulfillment.created", "checkout_session.order.created"}
)
"""Every webhook event type the provider documents about an order (its object names one).

The order table reconciles some (``order.accepted``...); a shop subscribes to any of them
(``refund.complete``, ``fulfillment.created``, ``order.invoice.created``...). The
provider's subscription (recurring billing) events name no order and are not among them.
"""


class OrderState(StrEnum):
    """An order's ``state`` as the provider reports it."""

    PENDING_PAYMENT = "pending_payment"
    IN_REVIEW = "in_review"
    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    FULFILLED = "fulfilled"
    COMPLETE = "complete"
    RETURNED = "returned"
    DISPUTE = "dispute"


class OrderEvent(StrEnum):
    """Something that moves an order; most are announced by a provider webhook."""

    OPEN_REVIEW = "open_review"
    ACCEPT = "accept"
    BLOCK = "block"
    CANCEL = "cancel"
    FULFIL = "fulfil"
    COMPLETE = "complete"
    RETURN = "return"
    DISPUTE = "dispute"
    RESOLVE_DISPUTE = "resolve_dispute"


class Operation(StrEnum):
    """What the merchant does to an order; each value is the name of the function doing it."""

    FULFIL_ITEMS = "fulfil_items"
    CANCEL_ITEMS = "cancel_items"
    CAPTURE = "capture"
    CANCEL_CHARGE = "cancel_charge"
    REFUND = "refund"
    RETURN_ITEMS = "return_items"


class CheckoutState(StrEnum):
    """Where a checkout stands on its way to becoming (at most) one order."""

    OPEN = "open"
    SUBMITTING = "submitting"
    IN_DOUBT = "in_doubt"
    CONSUMED = "consumed"
    REJECTED = "rejected"


class CheckoutEvent(StrEnum):
    """Submitting a checkout, its outcome, or a lookup of what a lost submission did."""

    SUBMIT = "submit"
    ORDER_CREATED = "order_created"
    REJECTED = "rejected"
    NEEDS_CHANGES = "needs_changes"
    NO_RESPONSE = "no_response"
    ORDER_FOUND = "order_found"
    NO_ORDER_FOUND = "no_order_found"


class FraudState(StrEnum):
    """An order's ``fraudState``; the provider may omit it (``None`` on the model)."""

    REVIEW_OPENED = "review_opened"
    PASSED = "passed"
    BLOCKED = "blocked"


class ChargeState(StrEnum):
    """A charge's ``state`` (``payment.charges[].state``)."""

    PENDING = "pending"
    CAPTURABLE = "capturable"
    PROCESSING = "processing"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ItemState(StrEnum):
    """A line item's ``state`` (``items[].state``) in the provider's order objects.

    Only ``fulfilled``, ``cancelled`` and ``returned`` say something about the item's units
    (every unit still open was fulfilled, cancelled; every unit came back); the provider
    documents no meaning for ``paid`` and ``blocked``.
    """

    CREATED = "created"
    FULFILLED = "fulfilled"
    PAID = "paid"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"
    RETURNED = "returned"


class ActionScope(StrEnum):
    """What one action is for: the order, or each item or charge of a kind (``actions``)."""

    ORDER = "order"
    PHYSICAL_ITEM = "physical_item"
    DIGITAL_ITEM = "digital_item"
    UNKNOWN_ITEM = "unknown_item"
    UNCAPTURED_CHARGE = "uncaptured_charge"
    REFUNDED_CHARGE = "refunded_charge"


class ActionState(StrEnum):
    """Where an action of the outbox stands (the outbox's table: ``OUTBOX_SPEC``)."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"


class OutboxEvent(StrEnum):
    """What happens to an action of the outbox: the events of its table (``OUTBOX_SPEC``)."""

    CLAIM = "claim"
    COMPLETE = "complete"
    FAIL = "fail"
    RELEASE = "release"
    CANCEL = "cancel"
    RETRY = "retry"
    CONFIRM = "confirm"
    REJECT = "reject"

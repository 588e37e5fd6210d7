"""The models an application holds, and the machines bound to them.

:class:`Order` and :class:`Checkout` (moved only by a machine), their :class:`Item`,
:class:`Charge` and :class:`SubmissionAttempt` values; the two machines bound to their guards
(:data:`ORDER_MACHINE`, :data:`CHECKOUT_MACHINE`) and the questions asked of a model
(:func:`fire`, :func:`can_fire`, :func:`allowed_events`, :func:`allowed_operations`,
:func:`explain`), and the state an order's items and charges imply (:func:`implied_state`,
the table's rule).
"""

from __future__ import annotations

from ._derived import every_item_cancelled
from ._machines import (
    CHECKOUT_MACHINE,
    ORDER_MACHINE,
    allowed_events,
    allowed_operations,
    can_fire,
    explain,
    fire,
    implied_state,
)
from ._models import (
    Charge,
    Checkout,
    Item,
    Order,
    SnapshotMark,
    SubmissionAttempt,
    currency_code,
    marked_charge,
)

__all__ = [
    "CHECKOUT_MACHINE",
    "ORDER_MACHINE",
    "Charge",
    "Checkout",
    "Item",
    "Order",
    "SnapshotMark",
    "SubmissionAttempt",
    "allowed_events",
    "allowed_operations",
    "can_fire",
    "currency_code",
    "every_item_cancelled",
    "explain",
    "fire",
    "implied_state",
    "marked_charge",
]

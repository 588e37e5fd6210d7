"""The merchant's operations on an order's items and charges.

Fulfil and cancel units (:func:`fulfil_items`, :func:`cancel_items`, :func:`fulfilment_plan`),
capture, cancel and refund charge amounts (:func:`capture`, :func:`cancel_charge`,
:func:`refund`), return fulfilled units (:func:`return_items`). The order table says which
states allow each; the state then follows from the items and charges.
"""

from __future__ import annotations

from ._charges import RefundRequest, cancel_charge, capture, refund
from ._fulfilment import (
    FulfilmentLine,
    FulfilmentPlan,
    FulfilmentRequest,
    cancel_items,
    fulfil_items,
    fulfilment_plan,
)
from ._returns import ReturnLine, ReturnRequest, return_items

__all__ = [
    "FulfilmentLine",
    "FulfilmentPlan",
    "FulfilmentRequest",
    "RefundRequest",
    "ReturnLine",
    "ReturnRequest",
    "cancel_charge",
    "cancel_items",
    "capture",
    "fulfil_items",
    "fulfilment_plan",
    "refund",
    "return_items",
]

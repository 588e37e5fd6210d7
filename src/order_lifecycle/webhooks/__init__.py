"""The provider's webhooks: signatures, events, reconciliation and the inbox.

An :class:`Inbox` takes a batch of raw :class:`Delivery` values and answers one
:class:`DeliveryResult` each; underneath, :func:`verify_signature`, :func:`parse_event` and
:func:`apply_event` are usable on their own.
"""

from __future__ import annotations

from ._events import KNOWN_EVENT_TYPES, Event, OtherObject, parse_event
from ._inbox import Delivery, DeliveryResult, Inbox
from ._reconcile import EventOutcome, Reconciled, apply_event
from ._signature import SIGNATURE_HEADER, sign, verify_signature

__all__ = [
    "KNOWN_EVENT_TYPES",
    "SIGNATURE_HEADER",
    "Delivery",
    "DeliveryResult",
    "Event",
    "EventOutcome",
    "Inbox",
    "OtherObject",
    "Reconciled",
    "apply_event",
    "parse_event",
    "sign",
    "verify_signature",
]

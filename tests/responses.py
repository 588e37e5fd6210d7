"""What a ``POST /orders`` response body says: its codes and messages, for the code checks.

The responses themselves come from the testing kit (``order_lifecycle.testing``:
``submission_responses``, ``http_responses``, ``hostile_responses``).
"""

from __future__ import annotations

import json

from order_lifecycle import Order
from order_lifecycle.checkout import CheckoutNeedsChanges, InDoubt, OrderCreated, SubmissionRejected
from order_lifecycle.lifecycle import ORDER_SPEC

PLAIN_SENTENCES = [
    SubmissionRejected("c").customer_message,
    CheckoutNeedsChanges("c").customer_message,
    InDoubt("c").customer_message,
    *(OrderCreated("c", Order.create("o", s)).customer_message for s in ORDER_SPEC.entry_states),
]
"""The library's own customer sentences: a code they mention suppresses a provider message."""

_CODE_KEYS, _MESSAGE_KEYS = {"code", "failureCode"}, {"message", "failureMessage"}


def _strings_at(body: str | bytes, keys: set[str]) -> list[str]:
    """Every string under one of ``keys``, at any depth of the JSON ``body`` (none if not JSON)."""
    try:
        pending: list[object] = [json.loads(body)]
    except ValueError:
        return []
    found = []
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            found += [v for k, v in value.items() if k in keys and isinstance(v, str)]
            pending += value.values()
        elif isinstance(value, list):
            pending += value
    return found


def codes_in(body: str | bytes) -> list[str]:
    """The ``code`` and ``failureCode`` strings of a body."""
    return _strings_at(body, _CODE_KEYS)


def messages_in(body: str | bytes) -> list[str]:
    """The ``message`` and ``failureMessage`` strings of a body."""
    return _strings_at(body, _MESSAGE_KEYS)


def mentioned(codes: list[str], text: str) -> list[str]:
    """The codes (stripped, not blank) that ``text`` contains, case-insensitively."""
    folded = text.casefold()
    return [c for c in codes if c.strip() and c.strip().casefold() in folded]

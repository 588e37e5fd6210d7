"""What the stores tell an operator: lost connections, holds, cancellations, retries.

Records on the ``order_lifecycle.store`` logger with ``extra`` fields (``order_id``,
``action_key``, ``outcome``, ``error``), never a DSN's password (stores describe
themselves by ``user@host:port/dbname``) nor an order's or action's data. Holds and
cancellations are logged when a change derives them, in the transaction's attempt: a
change retried after a lost race says it again.
"""

from __future__ import annotations

import logging

from order_lifecycle import _telemetry
from order_lifecycle.actions import Derived, StoredAction
from order_lifecycle.lifecycle import OrderState
from order_lifecycle.models import Order

from ._outbox import HOLDS

__all__ = ["LOG", "report_derived", "report_reconnect", "report_retried", "report_retrying"]

LOG = logging.getLogger("order_lifecycle.store")

_HELD_IN: dict[OrderState, tuple[str, ...]] = {}
for _kind, _states in sorted(HOLDS.items()):
    for _state in _states:
        _HELD_IN[_state] = (*_HELD_IN.get(_state, ()), _kind.value)


def report_derived(before: Order | None, after: Order, derived: Derived) -> None:
    """Log the actions a change cancels, and the kinds its new state holds or frees."""
    if not LOG.isEnabledFor(logging.INFO):
        return
    for key in derived.cancelled:
        LOG.info(
            "action %s is cancelled: %s",
            key, derived.why(key),
            extra={"action_key": key, "order_id": after.id, "outcome": "cancelled"},
        )  # fmt: skip
    if before is None or before.state is after.state:
        return
    held, freed = _HELD_IN.get(after.state), _HELD_IN.get(before.state)
    if held:
        LOG.info(
            "order %s is %s: its %s actions are held until it leaves",
            after.id, after.state, ", ".join(held),
            extra={"order_id": after.id, "outcome": "held"},
        )  # fmt: skip
    if freed:
        LOG.info(
            "order %s left %s: its held %s actions are due again",
            after.id, before.state, ", ".join(freed),
            extra={"order_id": after.id, "outcome": "resumed"},
        )  # fmt: skip


def report_retried(action: StoredAction) -> None:
    """Log an operator's retry of a dead or failed action."""
    LOG.info(
        "action %s is pending again (an operator's retry)",
        action.key,
        extra={"action_key": action.key, "order_id": action.order_id, "outcome": "retried"},
    )


def report_retrying(error: BaseException) -> None:
    """Log a call run once more because its connection was lost before anything committed."""
    LOG.warning(
        "the call runs once more, on a new connection: %s",
        error,
        extra={"error": type(error).__name__, "outcome": "retried"},
    )


def report_reconnect(where: str) -> None:
    """Log and count a lost connection replaced by a new one."""
    LOG.info("%s: connected again", where, extra={"outcome": "reconnected"})
    _telemetry.record("order_lifecycle.store.reconnects", 1)

"""What the shop must do after a state change: actions derived from the order table.

:func:`derive_actions` reads, from the order before and after a change, the
:class:`Action` values it creates (each with a stable key), the ones whose payload it
rewrites and the ones it cancels, classifying items with the shop's :class:`ActionPolicy`.
The stores write them to their outbox in the transaction of the change, as
:class:`StoredAction` values; an :class:`ActionWorker` runs them through the shop's
handlers (at least once; the key makes a handler idempotent) and reports how each claim
ended (:class:`Completed`, :class:`Failed`, :class:`Released`).

For a command line: ``store.list_actions(...)`` lists, ``store.retry_action(key)``
retries a dead action, and ``ActionWorker(store, load_handlers("mod:HANDLERS"))`` runs
them (``run_once`` or ``run_forever``).
"""

from __future__ import annotations

from ._derive import Action, Derived, action_key, derive_actions
from ._policy import ActionPolicy, Classifier, Fulfilment
from ._stored import (
    OPEN_STATES,
    ActionState,
    Completed,
    Failed,
    Outcome,
    Released,
    StoredAction,
    backoff,
)
from ._worker import ActionSource, ActionWorker, Handler, WorkerCounts, load_handlers

__all__ = [
    "OPEN_STATES",
    "Action",
    "ActionPolicy",
    "ActionSource",
    "ActionState",
    "ActionWorker",
    "Classifier",
    "Completed",
    "Derived",
    "Failed",
    "Fulfilment",
    "Handler",
    "Outcome",
    "Released",
    "StoredAction",
    "WorkerCounts",
    "action_key",
    "backoff",
    "derive_actions",
    "load_handlers",
]

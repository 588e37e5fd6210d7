"""What the shop must do after a state change: actions derived from the order table.

:func:`derive_actions` reads, from the order before and after a change, the
:class:`Action` values it creates (each with a stable key) and the pending ones it cancels.
The stores write them to their outbox in the transaction of the change, as
:class:`StoredAction` values; an :class:`ActionWorker` runs them through the shop's
handlers (at least once; the key makes a handler idempotent).

For a command line: ``store.list_actions(...)`` lists, ``store.retry_action(key)``
retries a dead action, and ``ActionWorker(store, load_handlers("mod:HANDLERS"))`` runs
them (``run_once`` or ``run_forever``).
"""

from __future__ import annotations

from ._derive import Action, Derived, action_key, derive_actions
from ._stored import ActionState, StoredAction
from ._worker import ActionSource, ActionWorker, Handler, WorkerCounts, load_handlers

__all__ = [
    "Action",
    "ActionSource",
    "ActionState",
    "ActionWorker",
    "Derived",
    "Handler",
    "StoredAction",
    "WorkerCounts",
    "action_key",
    "derive_actions",
    "load_handlers",
]

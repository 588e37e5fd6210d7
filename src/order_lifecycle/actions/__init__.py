"""What the shop must do after a state change: actions derived from the order table.

:func:`derive_actions` reads, from the order before and after a change, the
:class:`Action` values it creates (each with a stable key) and the pending ones it cancels. The
stores write them to their outbox in the transaction of the change; an
:class:`ActionWorker` runs them through the shop's handlers.
"""

from __future__ import annotations

from ._derive import Action, Derived, action_key, derive_actions

__all__ = ["Action", "Derived", "action_key", "derive_actions"]

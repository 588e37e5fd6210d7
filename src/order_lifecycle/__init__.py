"""order-lifecycle: an order's life as the payment provider reports it, as a guarded machine.

Ask what an order may do next (:func:`allowed_events`, :func:`allowed_operations`,
:func:`explain`), move it (:func:`fire`), and let the machine refuse what the provider's
rules forbid. Work on its items and charges (:func:`fulfil_items`, :func:`cancel_items`,
:func:`capture`, :func:`cancel_charge`, :func:`refund`, :func:`return_items`): the order
table says which states allow each operation, and the state follows from the items and
charges by one rule. Keep orders and checkouts in a :class:`Store` (:func:`open_store`):
submit a checkout by id (``store.begin_submission``, ``store.record_response``), consumed at
most once across processes. Feed the provider's webhook deliveries to an :class:`Inbox`:
each is stored as it arrives, and a :class:`Reconciler` applies them order by order:
duplicates, stale and out-of-order events are recognised, and what cannot apply yet waits
in the inbox. Run what the changes ask of the shop with an :class:`ActionWorker`.

This top level holds what a shop uses every day. The rest lives in the subpackage of its
concept, each with one face (``__all__``), in layers that import only downwards:

``order_lifecycle.lifecycle``
    the lifecycle as data (``MachineSpec``, ``ORDER_SPEC``, ``OUTBOX_SPEC``) and the machine
    compiled from it
``order_lifecycle.models``
    ``Order``, ``Checkout`` and their values; the machines bound to them
``order_lifecycle.provider``
    the provider's order and charge objects read into snapshots
``order_lifecycle.orders``
    the merchant's operations on items and charges
``order_lifecycle.checkout``
    checkout consumption on a checkout in hand, and the submission outcomes
``order_lifecycle.webhooks``
    signatures, events, reconciliation, the inbox and its reconcilers
``order_lifecycle.actions``
    what the shop must do after a change, and the worker that runs it
``order_lifecycle.store``
    where orders, checkouts, deliveries and actions are kept: memory, SQLite, PostgreSQL
``order_lifecycle.diagrams``
    the tables drawn as Mermaid, Graphviz and Markdown
``order_lifecycle.exceptions``
    the one exception tree (the roots of its branches are here too)
``order_lifecycle.testing``
    hypothesis strategies and invariants for a shop's own property tests
"""

from __future__ import annotations

import logging as _logging
from types import ModuleType as _Module

from ._version import __version__
from .actions import ActionWorker
from .exceptions import (
    EventConflict,
    InvalidInput,
    InvalidProviderData,
    InvalidSignature,
    LimitExceeded,
    NotFound,
    OperationNotAllowed,
    OrderLifecycleError,
    Refused,
    StoreError,
    TransitionNotAllowed,
)
from .lifecycle import ChargeState, CheckoutEvent, CheckoutState, Operation, OrderEvent, OrderState
from .models import (
    Charge,
    Checkout,
    Item,
    Order,
    allowed_events,
    allowed_operations,
    can_fire,
    explain,
    fire,
)
from .orders import cancel_charge, cancel_items, capture, fulfil_items, refund, return_items
from .store import Store, open_store
from .webhooks import Delivery, Inbox, Reconciler

__all__ = [
    "ActionWorker",
    "Charge",
    "ChargeState",
    "Checkout",
    "CheckoutEvent",
    "CheckoutState",
    "Delivery",
    "EventConflict",
    "Inbox",
    "InvalidInput",
    "InvalidProviderData",
    "InvalidSignature",
    "Item",
    "LimitExceeded",
    "NotFound",
    "Operation",
    "OperationNotAllowed",
    "Order",
    "OrderEvent",
    "OrderLifecycleError",
    "OrderState",
    "Reconciler",
    "Refused",
    "Store",
    "StoreError",
    "TransitionNotAllowed",
    "__version__",
    "allowed_events",
    "allowed_operations",
    "can_fire",
    "cancel_charge",
    "cancel_items",
    "capture",
    "explain",
    "fire",
    "fulfil_items",
    "open_store",
    "refund",
    "return_items",
]

# A library's habit: its records go nowhere until the application configures logging
# (the standard library's "last resort" would print warnings to stderr otherwise).
_logging.getLogger(__name__).addHandler(_logging.NullHandler())


def __dir__() -> list[str]:
    """The public names, and the public subpackages imported so far (attrs' habit).

    Without it, ``dir()`` would also show ``annotations`` (the ``__future__`` import) and
    the private modules the faces imported.
    """
    found = globals()
    subpackages = (n for n, v in found.items() if isinstance(v, _Module) and n[0] != "_")
    return sorted({*__all__, *subpackages})

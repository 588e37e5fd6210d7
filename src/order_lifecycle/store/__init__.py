"""Stores: orders, checkouts, applied event ids and kept deliveries, committed atomically.

:func:`open_store` picks one from a URL: a path (or ``sqlite:///path``) opens a
:class:`SQLiteStore`, the embedded default; a ``postgresql://`` DSN opens a
``PostgresStore`` (``order_lifecycle.store.postgres``; install the ``postgres`` extra),
for several app servers sharing one database. :class:`MemoryStore` is the reference
implementation. Every store keeps the contract described in :class:`Store`.
"""

from __future__ import annotations

from order_lifecycle.exceptions import (
    DuplicateEvent,
    OrderExists,
    SchemaTooNew,
    StaleOrder,
    StoreCorrupt,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
    UnknownOrder,
)
from order_lifecycle.webhooks._kept import DEFAULT_MAX_KEPT_BYTES, SUMMARY_BYTES

from ._base import KeptDelivery, Store
from ._batch import ChangeOutcome, ChangeResult, DeliveryToKeep, OrderChange
from ._check import IllegalHistory
from ._open import open_store
from ._schema import SCHEMA_VERSION
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = [
    "DEFAULT_MAX_KEPT_BYTES",
    "SCHEMA_VERSION",
    "SUMMARY_BYTES",
    "ChangeOutcome",
    "ChangeResult",
    "DeliveryToKeep",
    "DuplicateEvent",
    "IllegalHistory",
    "KeptDelivery",
    "MemoryStore",
    "OrderChange",
    "OrderExists",
    "SQLiteStore",
    "SchemaTooNew",
    "StaleOrder",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreReadOnly",
    "StoreUnavailable",
    "UnknownOrder",
    "open_store",
]

"""Stores: orders, checkouts, applied event ids, the inbox and the outbox, committed atomically.

:func:`open_store` picks one from a URL: a path (or ``sqlite:///path``) opens a
:class:`SQLiteStore`, the embedded default; a ``postgresql://`` DSN opens a
``PostgresStore`` (``order_lifecycle.store.postgres``; install the ``postgres`` extra),
for several app servers sharing one database. :class:`MemoryStore` is the reference
implementation. Every store keeps the contract described in :class:`Store`.

Opening a store never changes its tables unless asked: :func:`migrate` (``order-lifecycle
migrate --db URL``) creates or upgrades them, and :func:`schema_script` (``order-lifecycle
schema``) is the same SQL for a DBA to run.
"""

from __future__ import annotations

from order_lifecycle.exceptions import (
    DuplicateEvent,
    MigrationNeeded,
    OrderExists,
    SchemaTooNew,
    StaleOrder,
    StoreCorrupt,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
    UnknownDelivery,
    UnknownOrder,
)
from order_lifecycle.webhooks import (
    Claim,
    DeliveryStatus,
    GroupResult,
    Incoming,
    SettledGroup,
    Settlement,
    StoredDelivery,
)

from ._backlog import Backlog, Waiting
from ._base import KeptDelivery, Store
from ._batch import ChangeOutcome, ChangeResult, DeliveryToKeep, OrderChange
from ._check import IllegalHistory
from ._health import Readiness, ReadinessCheck
from ._kept import DEFAULT_MAX_KEPT_BYTES, SUMMARY_BYTES
from ._migrate import Migration, schema_script
from ._open import migrate, open_store
from ._overview import Overview, Ping, Tally
from ._pages import OrderSummary, Page
from ._schema import SCHEMA_VERSION
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = [
    "DEFAULT_MAX_KEPT_BYTES",
    "SCHEMA_VERSION",
    "SUMMARY_BYTES",
    "Backlog",
    "ChangeOutcome",
    "ChangeResult",
    "Claim",
    "DeliveryStatus",
    "DeliveryToKeep",
    "DuplicateEvent",
    "GroupResult",
    "IllegalHistory",
    "Incoming",
    "KeptDelivery",
    "MemoryStore",
    "Migration",
    "MigrationNeeded",
    "OrderChange",
    "OrderExists",
    "OrderSummary",
    "Overview",
    "Page",
    "Ping",
    "Readiness",
    "ReadinessCheck",
    "SQLiteStore",
    "SchemaTooNew",
    "SettledGroup",
    "Settlement",
    "StaleOrder",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreReadOnly",
    "StoreUnavailable",
    "StoredDelivery",
    "Tally",
    "UnknownDelivery",
    "UnknownOrder",
    "Waiting",
    "migrate",
    "open_store",
    "schema_script",
]

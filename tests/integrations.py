"""What the framework glue tests share: signed bodies, and stores that watch or fail."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from order_lifecycle.exceptions import StoreUnavailable
from order_lifecycle.store import DeliveryToKeep, Incoming, MemoryStore
from order_lifecycle.webhooks import Delivery, Inbox, Reconciler, sign

from . import webhook_events as ev

SECRET = "whsec-glue"  # noqa: S105 (a made-up test secret)
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
PATH = "/webhooks/digital-river"


class WatchedStore(MemoryStore):
    """A memory store that remembers which threads stored deliveries in it, or pinged it."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def _ping(self, timeout: float) -> int | None:
        self.threads.add(threading.get_ident())
        return super()._ping(timeout)

    def accept_deliveries(
        self, deliveries: Sequence[Incoming], keep: Sequence[DeliveryToKeep] = ()
    ) -> list[int | None]:
        """The deliveries stored, the calling thread noted."""
        self.threads.add(threading.get_ident())
        return super().accept_deliveries(deliveries, keep)


class DownStore(MemoryStore):
    """A memory store whose database is gone (at db.internal, its message says)."""

    def accept_deliveries(self, _deliveries: Sequence[Any], _keep: Sequence[Any] = ()) -> Any:
        """Always fails, as an unreachable database does."""
        raise StoreUnavailable("the database cannot be reached.")

    def _ping(self, timeout: float) -> int | None:
        raise StoreUnavailable(f"Cannot connect to PostgreSQL at shop@db.internal ({timeout} s)")


def reconcile(store: Any) -> None:
    """What a reconciler does with what the endpoint stored: everything due, now."""
    reconciler = Reconciler(store, clock=lambda: NOW)
    while reconciler.run_once():
        pass


def inbox(store: MemoryStore | None = None, **settings: Any) -> Inbox:
    return Inbox(
        WatchedStore() if store is None else store, secrets=[SECRET], clock=lambda: NOW, **settings
    )


def body(index: int = 0) -> bytes:
    """A delivery of the card order's life."""
    return ev.raw(ev.card_order_accepted()[index])


def signed(count: int) -> list[Delivery]:
    """``count`` signed deliveries of different events (of the hand-written lives)."""
    events = [ev.raw(event) for life in ev.ALL_LIVES.values() for event in life()]
    return [Delivery(raw, sign(raw, SECRET, NOW)) for raw in events[:count]]


def headers(raw: bytes, secret: str = SECRET) -> dict[str, str]:
    """The signature header the provider sends with ``raw``."""
    return {"DigitalRiver-Signature": sign(raw, secret, NOW)}


def early() -> bytes:
    """A charge event for an order not known yet: it cannot apply yet."""
    return ev.raw(ev.charge_capture_and_cancel()[1])


def poisoned() -> bytes:
    """An order event whose id holds a lone surrogate and its order id a NUL."""
    payload = ev.card_order_accepted()[0]
    payload["id"] = "evt-\ud800"
    payload["data"]["object"]["id"] = "10\x0001"
    return ev.raw(payload)


def without(monkeypatch: pytest.MonkeyPatch, framework: str, module: str) -> None:
    """Make ``framework`` impossible to import, and ``module`` imported afresh."""
    for name in list(sys.modules):
        if name == framework or name.startswith(f"{framework}."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, framework, None)
    monkeypatch.delitem(sys.modules, module, raising=False)

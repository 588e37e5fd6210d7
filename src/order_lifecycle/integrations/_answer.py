"""What every framework's endpoint does once it has the raw body and the signature header."""

from __future__ import annotations

from typing import Any

from order_lifecycle.exceptions import StoreError
from order_lifecycle.webhooks import Delivery, Inbox, error_status

__all__ = ["accept_one", "missing"]

Answer = tuple[int, dict[str, Any]]


def accept_one(inbox: Inbox, body: bytes, signature: str | None) -> Answer:
    """The status and JSON body answering one delivery (blocking: run it off the event loop).

    The request path only (:meth:`Inbox.accept`): the delivery is stored, and a
    reconciler applies it. A :class:`StoreError` answers 503 (nothing was stored; the
    provider's retry will go in); any other error propagates, for the framework's own 500.
    """
    try:
        (result,) = inbox.accept([Delivery(body, signature)])
    except StoreError as error:
        return error_status(error), {"outcome": "error", "reason": "the store failed"}
    return result.status_code, {"outcome": str(result.outcome), "reason": result.reason}


def missing(module: str, framework: str, extra: str) -> ImportError:
    """The error of importing ``module`` without its framework installed."""
    return ImportError(
        f"{module} needs {framework}, which is not installed: "
        f"pip install 'order-lifecycle[{extra}]'"
    )

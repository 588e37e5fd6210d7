"""What every framework's endpoint does once it has the raw body and the signature header."""

from __future__ import annotations

from typing import Any

from order_lifecycle.exceptions import StoreError
from order_lifecycle.webhooks import Delivery, Inbox, error_status, http_status

__all__ = ["missing", "receive_one"]

Answer = tuple[int, dict[str, Any]]


def receive_one(inbox: Inbox, body: bytes, signature: str | None) -> Answer:
    """The status and JSON body answering one delivery (blocking: run it off the event loop).

    A :class:`StoreError` answers 503 (nothing was committed; the provider's retry will go
    in); any other error propagates, for the framework's own 500.
    """
    try:
        (result,) = inbox.receive([Delivery(body, signature)])
    except StoreError as error:
        return error_status(error), {"outcome": "error", "reason": "the store failed"}
    return http_status(result), {"outcome": str(result.outcome), "reason": result.reason}


def missing(module: str, framework: str, extra: str) -> ImportError:
    """The error of importing ``module`` without its framework installed."""
    return ImportError(
        f"{module} needs {framework}, which is not installed: "
        f"pip install 'order-lifecycle[{extra}]'"
    )

"""What every framework's endpoint does once it has the raw body and the signature header."""

from __future__ import annotations

import logging
from typing import Any

from order_lifecycle.exceptions import StoreError, WrongType
from order_lifecycle.store import ReadinessCheck, Store
from order_lifecycle.webhooks import Delivery, Inbox, error_status

__all__ = ["accept_one", "checked_readiness", "missing", "readiness_answer"]

_log = logging.getLogger("order_lifecycle.integrations")

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


def checked_readiness(store: object, check: object) -> tuple[Store, ReadinessCheck]:
    """``store`` and ``check``, if they are a store and a readiness check (else WrongType)."""
    if not isinstance(store, Store):
        raise WrongType("store", "a Store", store)
    if not isinstance(check, ReadinessCheck):
        raise WrongType("check", "a ReadinessCheck", check)
    return store, check


def readiness_answer(store: Store, check: ReadinessCheck) -> Answer:
    """200 and the check's body when the store is ready, else 503 (blocking: off the loop).

    What is wrong is logged (a warning on ``order_lifecycle.integrations``), with the
    store's own message when it failed; the body holds only the short problems.
    """
    found = check(store)
    if not found.ready:
        _log.warning(
            "not ready: %s%s",
            "; ".join(found.problems),
            "" if found.error is None else f" ({found.error})",
        )
    return (200 if found.ready else 503), found.as_json()

"""What checkout consumption tells an operator: every answer recorded, every checkout in doubt.

Records on the ``order_lifecycle.checkout`` logger with ``extra`` fields (``checkout_id``,
``order_id``, ``status_code``, ``outcome``): a checkout in doubt is a warning (an order may
exist: look it up by checkout id and settle it), other answers info. Never the response's
body: only its status, the provider's error codes, and the customer-safe message.
"""

from __future__ import annotations

import logging

from order_lifecycle import _telemetry

from ._outcomes import (
    CheckoutNeedsChanges,
    InDoubt,
    OrderCreated,
    SubmissionOutcome,
    SubmissionRejected,
)

__all__ = ["LOG", "report_in_doubt", "report_outcome", "report_settled"]

LOG = logging.getLogger("order_lifecycle.checkout")

_NAMES: dict[type[SubmissionOutcome], str] = {
    OrderCreated: "created",
    SubmissionRejected: "rejected",
    CheckoutNeedsChanges: "needs_changes",
    InDoubt: "in_doubt",
}


def report_outcome(checkout_id: str, outcome: SubmissionOutcome) -> None:
    """Log and count the provider's answer to a submission, as recorded."""
    name = _NAMES.get(type(outcome), type(outcome).__name__)
    _telemetry.record("order_lifecycle.checkouts.submissions", 1, outcome=name)
    fields: dict[str, object] = {"checkout_id": checkout_id, "outcome": name}
    if isinstance(outcome, OrderCreated):
        fields["order_id"] = outcome.order.id
        LOG.info(
            "checkout %s became order %s (%s)", checkout_id, outcome.order.id, outcome.order.state,
            extra=fields,
        )  # fmt: skip
        return
    status = getattr(outcome, "status_code", None)
    codes = ", ".join(e.code or "(no code)" for e in getattr(outcome, "errors", ())) or "none"
    fields["status_code"] = status
    if isinstance(outcome, InDoubt):
        report_in_doubt(checkout_id, f"{outcome.reason} (HTTP {status}, codes: {codes})", status)
        return
    LOG.info(
        "checkout %s: %s (HTTP %s, codes: %s): %s",
        checkout_id, name, status, codes, outcome.customer_message,
        extra=fields,
    )  # fmt: skip


def report_in_doubt(checkout_id: str, why: str, status_code: int | None = None) -> None:
    """Log a checkout left in doubt: whether an order exists is unknown."""
    LOG.warning(
        "checkout %s is in doubt: %s; look up orders by its id and settle it",
        checkout_id, why,
        extra={"checkout_id": checkout_id, "outcome": "in_doubt", "status_code": status_code},
    )  # fmt: skip


def report_settled(checkout_id: str, order_id: str | None) -> None:
    """Log a checkout in doubt settled by a lookup: consumed by the order found, or open."""
    LOG.info(
        "checkout %s settled: %s",
        checkout_id, "no order found, open again" if order_id is None else f"order {order_id}",
        extra={"checkout_id": checkout_id, "order_id": order_id, "outcome": "settled"},
    )  # fmt: skip

"""What the inbox and its reconcilers tell an operator: log records, metrics and spans.

Once per batch: an accept call's results, a reconciler claim's outcomes. Deliveries an
operator must look at are logged as warnings (refused unread, stored or settled as
invalid, an order never seen); those worth counting as info (waiting, an unknown event
type); the rest only at debug, and only when debug records are wanted (the loop over a
batch is not paid otherwise). Each record carries ``extra`` fields (``event_id``,
``order_id``, ``delivery_seq``, ``outcome``), never a body, a signature or a secret: the
reasons logged are the library's own sentences about a delivery's envelope and state.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from order_lifecycle import _telemetry
from order_lifecycle.exceptions import StoreError

from ._inbox_store import Claim, DeliveryStatus, StoredDelivery
from ._results import DeliveryResult

__all__ = ["LOG", "BatchSpan", "report_accepted", "report_settled", "store_failure"]

LOG = logging.getLogger("order_lifecycle.webhooks")

_NOTABLE = {
    DeliveryStatus.INVALID: logging.WARNING,
    DeliveryStatus.UNKNOWN_ORDER: logging.WARNING,
    DeliveryStatus.WAITING: logging.INFO,
    DeliveryStatus.UNKNOWN: logging.INFO,
}
_EVENT_IDS = 1000  # event ids a batch's span lists at most


def _fields(
    seq: int | None, event_id: str | None, order_id: str | None, outcome: str
) -> dict[str, Any]:
    return {"delivery_seq": seq, "event_id": event_id, "order_id": order_id, "outcome": outcome}


def report_accepted(results: Sequence[DeliveryResult]) -> None:
    """Log and count what the request path made of each delivery of one accept call."""
    counts: dict[str, int] = {}
    debug = LOG.isEnabledFor(logging.DEBUG)
    for result in results:
        outcome = result.refusal or result.outcome.value
        counts[outcome] = counts.get(outcome, 0) + 1
        fields = _fields(result.seq, result.event_id, result.order_id, outcome)
        if result.refusal is not None:
            LOG.warning("delivery refused unread (%s): %s", outcome, result.reason, extra=fields)
        elif result.outcome is DeliveryStatus.INVALID:
            LOG.warning(
                "delivery %s stored as invalid: %s", result.seq, result.reason, extra=fields
            )
        elif debug:
            LOG.debug(
                "delivery %s of event %r accepted: %s", result.seq, result.event_id, outcome,
                extra=fields,
            )  # fmt: skip
    _telemetry.record("order_lifecycle.deliveries.accepted", counts, label="outcome")


def report_settled(claim: Claim, settled: Mapping[int, Any], lost: int) -> dict[str, int]:
    """Log and count what one claim's deliveries came to; how many of each status."""
    counts: dict[str, int] = {}
    notable = []
    for seq, outcome in settled.items():
        status = outcome.status
        counts[status] = counts.get(status, 0) + 1
        if status in _NOTABLE:
            notable.append(seq)
    debug = LOG.isEnabledFor(logging.DEBUG)
    if notable or debug:
        rows = {row.seq: row for row in claim.deliveries}
        for seq in settled if debug else notable:
            _log_settled(rows[seq], settled[seq].status, settled[seq].reason)
    if lost:
        LOG.info(
            "%d order(s) were changed by another writer first: left to the next claim",
            lost,
            extra={"count": lost},
        )
    by_value = {str(status): count for status, count in counts.items()}
    _telemetry.record("order_lifecycle.deliveries.reconciled", by_value, label="status")
    return by_value


def _log_settled(row: StoredDelivery, status: DeliveryStatus, reason: str) -> None:
    fields = _fields(row.seq, row.event_id, row.order_id, status.value)
    if status is DeliveryStatus.WAITING:
        fields["attempts"] = row.attempts + 1
    LOG.log(
        _NOTABLE.get(status, logging.DEBUG),
        "delivery %s of event %r (order %r): %s: %s",
        row.seq, row.event_id, row.order_id, status.value, reason,
        extra=fields,
    )  # fmt: skip


def store_failure(operation: str, error: StoreError, count: int) -> None:
    """Log and count a store call of the request path that failed (its caller answers 503)."""
    LOG.warning(
        "%s: the store failed; %d delivery(ies) not stored (answer 503; the provider "
        "retries): %s",
        operation, count, error,
        extra={"operation": operation, "error": type(error).__name__, "count": count},
    )  # fmt: skip
    _telemetry.store_failed(operation, error)


class BatchSpan:
    """A reconciler batch's span and duration; what it claimed, set once it is known."""

    def __init__(self, current: Any) -> None:  # noqa: ANN401 (a span, or None without OTel)
        self._span = current

    def claimed(self, claim: Claim) -> None:
        """Note the claim's size (and its event ids, when the span is recorded)."""
        if self._span is not None:  # recorded: worth the attributes
            self._span.set_attribute("order_lifecycle.deliveries", len(claim.deliveries))
            self._span.set_attribute("order_lifecycle.orders", len(claim.orders))
            ids = [row.event_id for row in claim.deliveries[:_EVENT_IDS]]
            self._span.set_attribute("order_lifecycle.event_ids", ids)

    @classmethod
    @contextlib.contextmanager
    def around(cls) -> Iterator[BatchSpan]:
        """The batch's span and timer; a store failure escaping it is counted."""
        with _telemetry.span(
            "order_lifecycle.reconcile", "order_lifecycle.reconcile.duration"
        ) as current:
            try:
                yield cls(current)
            except StoreError as error:
                _telemetry.store_failed("reconcile", error)
                raise

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from order_lifecycle.exceptions import (
    EventConflict,
    InvalidEvent,
    StoreCorrupt,
    StoreUnavailable,
    WrongType,
)
from order_lifecycle.store import MemoryStore
from order_lifecycle.webhooks import (
    HTTP_STATUSES,
    Delivery,
    DeliveryResult,
    EventOutcome,
    Inbox,
    error_status,
    http_status,
    sign,
)

from . import webhook_events as ev

SECRET = "whsec-test"  # noqa: S105 (a made-up test secret)
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)


def signed(payload: dict[str, Any] | bytes) -> Delivery:
    body = payload if isinstance(payload, bytes) else ev.raw(payload)
    return Delivery(body, sign(body, SECRET, NOW), received_at=NOW)


def receive(*deliveries: Delivery, max_body: int = 2**20) -> list[DeliveryResult]:
    box = Inbox(MemoryStore(), secrets=[SECRET], clock=lambda: NOW, max_body=max_body)
    return box.receive(deliveries)


def test_applied_duplicate_and_stale_deliveries_answer_200() -> None:
    """A delivery applied, seen before, or older than what is known is acknowledged (200)."""
    pending, cancelled = ev.expired_wire_transfer()
    results = receive(signed(cancelled), signed(cancelled), signed(pending))
    assert [r.outcome for r in results] == ["applied", "duplicate", "stale"]
    assert [http_status(r) for r in results] == [200, 200, 200]


def test_unknown_and_unreadable_deliveries_answer_202_kept() -> None:
    """A delivery kept for an operator that no redelivery would change is accepted (202)."""
    unknown = ev.event("evt-x", "subscription.created", {"id": "sub-1", "planId": "p"}, ev.T0)
    big = ev.raw(ev.card_order_accepted()[0])
    results = [
        *receive(signed(unknown), signed(b"{not json"), signed(b'{"id": "e"}')),
        *receive(signed(big), max_body=len(big) - 1),
    ]
    assert [r.outcome for r in results] == ["unknown", "invalid", "invalid", "invalid"]
    assert results[3].refusal == "too_large"
    assert [http_status(r) for r in results] == [202, 202, 202, 202]


def test_a_bad_signature_answers_401_so_that_the_provider_tries_again() -> None:
    """A forged, unsigned, expired or wrongly keyed delivery answers 401: a retry may pass."""
    body = ev.raw(ev.card_order_accepted()[0])
    results = receive(
        Delivery(body, "t=1, forged", received_at=NOW),
        Delivery(body, received_at=NOW),
        Delivery(body, sign(body, "another-secret", NOW), received_at=NOW),
    )
    assert [(r.outcome, r.refusal) for r in results] == [("invalid", "signature")] * 3
    assert [http_status(r) for r in results] == [401, 401, 401]


def test_a_conflict_answers_409_and_its_redelivery_can_apply() -> None:
    """A conflict answers 409: the redelivery the provider then sends applies, answering 200."""
    life = ev.charge_capture_and_cancel()
    box = Inbox(MemoryStore(), secrets=[SECRET], clock=lambda: NOW)
    (conflict,) = box.receive([signed(life[1])])
    assert (conflict.outcome, http_status(conflict)) == ("conflict", 409)
    later = box.receive([signed(life[0]), signed(life[1])])
    assert [http_status(r) for r in later] == [200, 200]


def test_every_outcome_has_a_status_in_the_table() -> None:
    """The documented table covers every outcome, and http_status follows it."""
    assert set(HTTP_STATUSES) == set(EventOutcome)
    for outcome, status in HTTP_STATUSES.items():
        assert http_status(DeliveryResult(outcome, "r")) == status


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (StoreUnavailable("the database is down."), 503),
        (StoreCorrupt("damaged."), 503),
        (EventConflict("e", "t", "o", state=None, payload_state=None, reason="no"), 500),
        (InvalidEvent("", "x"), 500),
        (RuntimeError("a bug"), 500),
    ],
)
def test_a_store_failure_answers_503_anything_else_500(error: Exception, status: int) -> None:
    """A store error is temporary (503, retried); other errors escaping the inbox are 500."""
    assert error_status(error) == status


def test_http_status_refuses_what_is_not_a_result() -> None:
    """Anything but a DeliveryResult is a typed error, not a guessed status."""
    with pytest.raises(WrongType, match="DeliveryResult"):
        http_status("applied")  # type: ignore[arg-type]
    with pytest.raises(WrongType, match="exception"):
        error_status("down")  # type: ignore[arg-type]

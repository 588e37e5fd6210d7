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
    REFUSAL_STATUSES,
    SIGNATURE_STATUS,
    Delivery,
    DeliveryResult,
    DeliveryStatus,
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


def inbox(max_body: int = 2**20) -> Inbox:
    return Inbox(MemoryStore(), secrets=[SECRET], clock=lambda: NOW, max_body=max_body)


def receive(*deliveries: Delivery, max_body: int = 2**20) -> list[DeliveryResult]:
    return inbox(max_body).receive(deliveries)


def test_the_request_path_answers_2xx_once_stored() -> None:
    """accept: stored (202 pending), stored before (200 duplicate), stored invalid (202)."""
    pending, _ = ev.expired_wire_transfer()
    results = inbox().accept([signed(pending), signed(pending), signed(b"{not json")])
    assert [r.outcome for r in results] == ["pending", "duplicate", "invalid"]
    assert [http_status(r) for r in results] == [202, 200, 202]
    assert [r.status_code for r in results] == [202, 200, 202]


def test_applied_duplicate_and_stale_deliveries_answer_200() -> None:
    """A delivery applied, seen before, or older than what is known is acknowledged (200)."""
    pending, cancelled = ev.expired_wire_transfer()
    box = inbox()
    results = [
        *box.receive([signed(cancelled), signed(cancelled)]),
        *box.receive([signed(pending)]),
    ]
    assert [r.outcome for r in results] == ["applied", "duplicate", "stale"]
    assert [http_status(r) for r in results] == [200, 200, 200]


def test_unknown_unreadable_and_waiting_deliveries_answer_202_stored() -> None:
    """Stored, not applied (unknown, invalid, waiting): 202; the same bytes would not change."""
    unknown = ev.event("evt-x", "subscription.created", {"id": "sub-1", "planId": "p"}, ev.T0)
    early = ev.charge_capture_and_cancel()[1]
    results = receive(signed(unknown), signed(b"{not json"), signed(b'{"id": "e"}'), signed(early))
    assert [r.outcome for r in results] == ["unknown", "invalid", "invalid", "waiting"]
    assert [http_status(r) for r in results] == [202, 202, 202, 202]


def test_a_body_over_the_limit_answers_413_as_it_is_not_stored() -> None:
    """A body over max_body is refused unread: 413 (not a 2xx: nothing was stored)."""
    big = ev.raw(ev.card_order_accepted()[0])
    (result,) = receive(signed(big), max_body=len(big) - 1)
    assert (result.outcome, result.refusal, http_status(result)) == ("invalid", "too_large", 413)


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


def test_no_delivery_that_could_be_stored_answers_409() -> None:
    """A delivery before its order is stored and waits (202); its order's event applies it."""
    life = ev.charge_capture_and_cancel()
    box = inbox()
    (early,) = box.receive([signed(life[1])])
    assert (early.outcome, http_status(early)) == ("waiting", 202)
    later = box.receive([signed(life[0]), signed(life[1])])
    assert [(r.outcome, http_status(r)) for r in later] == [("applied", 200), ("duplicate", 200)]


def test_every_outcome_has_a_2xx_status_in_the_table() -> None:
    """The table covers every inbox status, each a 2xx (stored); refusals are 401 and 413."""
    assert set(HTTP_STATUSES) == set(DeliveryStatus)
    for outcome, status in HTTP_STATUSES.items():
        assert 200 <= status < 300
        assert http_status(DeliveryResult(outcome, "r")) == status
    assert dict(REFUSAL_STATUSES) == {"signature": SIGNATURE_STATUS, "too_large": 413}
    for refusal, status in REFUSAL_STATUSES.items():
        result = DeliveryResult(DeliveryStatus.INVALID, "r", refusal=refusal)
        assert http_status(result) == status


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

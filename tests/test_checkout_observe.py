"""What checkout consumption tells an operator: each answer recorded, each checkout in doubt."""

from __future__ import annotations

import logging

import pytest

from order_lifecycle import Checkout
from order_lifecycle.checkout import (
    begin_submission,
    record_no_response,
    record_response,
    settle,
)
from order_lifecycle.exceptions import InvalidResponse

from .otel import Telemetry
from .test_checkout import PAYMENT_DECLINED, T0, created, errors

LOGGER = "order_lifecycle.checkout"
FIX_IT = errors("bad_request", ("invalid_parameter", "Fix it."))
NOT_FOUND = errors("not_found", ("not_found", "Checkout not found."))


def submitting(checkout_id: str = "chk-1") -> Checkout:
    checkout = Checkout(checkout_id)
    begin_submission(checkout, at=T0)
    return checkout


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


@pytest.mark.parametrize(
    ("answer", "level", "outcome"),
    [
        ((201, created()), logging.INFO, "created"),
        ((409, PAYMENT_DECLINED), logging.INFO, "rejected"),
        ((400, FIX_IT), logging.INFO, "needs_changes"),
        ((502, ""), logging.WARNING, "in_doubt"),
        ((404, NOT_FOUND), logging.WARNING, "in_doubt"),
    ],
)
def test_each_answer_is_logged_and_counted_a_checkout_in_doubt_as_a_warning(
    answer: tuple[int, str],
    level: int,
    outcome: str,
    caplog: pytest.LogCaptureFixture,
    otel: Telemetry,
) -> None:
    """An answer is logged by outcome with the checkout id; in doubt is a warning."""
    with caplog.at_level(logging.INFO, LOGGER):
        record_response(submitting(), *answer)
    (record,) = records(caplog)
    assert (record.levelno, getattr(record, "outcome", None)) == (level, outcome)
    assert getattr(record, "checkout_id", None) == "chk-1"
    assert otel.value("order_lifecycle.checkouts.submissions", outcome=outcome) == 1


def test_an_error_body_is_logged_by_its_codes_not_its_parameters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 409's codes and customer message are logged; the parameter it names is not."""
    body = '{"type": "conflict", "errors": [{"code": "failed-request", "parameter": "jane@shop.example", "message": "Failed to charge source."}]}'  # noqa: E501 (a body as sent)
    with caplog.at_level(logging.INFO, LOGGER):
        record_response(submitting(), 409, body)
    (record,) = records(caplog)
    assert "failed-request" in record.getMessage()
    assert "jane@shop.example" not in record.getMessage()


def test_a_lost_answer_an_unreadable_one_and_a_settlement_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No answer, or an unreadable one: in doubt (warnings); a settlement is info."""
    with caplog.at_level(logging.INFO, LOGGER):
        lost = submitting("chk-lost")
        record_no_response(lost, reason="timeout after 30 s")
        with pytest.raises(InvalidResponse):
            record_response(submitting("chk-garbled"), 201, "<html>")
        settle(lost, None)
    no_answer, garbled, settled = records(caplog)
    assert (no_answer.levelno, getattr(no_answer, "checkout_id", None)) == (
        logging.WARNING,
        "chk-lost",
    )
    assert "timeout after 30 s" in no_answer.getMessage()
    assert (garbled.levelno, getattr(garbled, "checkout_id", None)) == (
        logging.WARNING,
        "chk-garbled",
    )
    assert (settled.levelno, getattr(settled, "outcome", None)) == (logging.INFO, "settled")

"""submission_responses and its parts: every answer POST /orders gets, ready to record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import event, given

from order_lifecycle import Checkout, CheckoutState, OrderState
from order_lifecycle.checkout import (
    InDoubt,
    OrderCreated,
    RejectionCause,
    SubmissionRejected,
    begin_submission,
)
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.testing import (
    FRAUD_CODES,
    PAYMENT_CODES,
    SubmissionResponse,
    assert_submission_invariants,
    checkouts,
    created_bodies,
    http_responses,
    submission_responses,
)
from order_lifecycle.testing._responses import _not_found_after_retry

AT = datetime(2026, 5, 1, tzinfo=UTC)


@given(checkouts(), submission_responses())
def test_every_response_records_an_outcome(
    checkout: Checkout, response: SubmissionResponse
) -> None:
    """Each response drawn records as an outcome, and the checkout stays sound."""
    begin_submission(checkout, at=AT)
    outcome = response.record(checkout, at=AT)
    event(type(outcome).__name__)
    assert checkout.state is not CheckoutState.SUBMITTING
    assert_submission_invariants(checkout)
    if response.status_code is None:
        assert isinstance(outcome, InDoubt)
        assert outcome.status_code is None
    elif response.status_code == 201:
        assert isinstance(outcome, OrderCreated)


@given(checkouts(), http_responses())
def test_documented_conflicts_name_their_cause(
    checkout: Checkout, response: tuple[int, str]
) -> None:
    """A 409 with only payment codes is a payment rejection, only fraud codes a fraud one."""
    status, body = response
    begin_submission(checkout, at=AT)
    outcome = SubmissionResponse(status, body).record(checkout, at=AT)
    if status != 409:
        return
    assert isinstance(outcome, SubmissionRejected)
    codes = {e.get("code") for e in json.loads(body)["errors"]}
    if codes and codes <= set(PAYMENT_CODES):
        assert outcome.cause is RejectionCause.PAYMENT
    if codes and codes <= set(FRAUD_CODES):
        assert outcome.cause is RejectionCause.FRAUD
    for code in codes & {*PAYMENT_CODES, *FRAUD_CODES}:
        assert code not in outcome.customer_message


@given(_not_found_after_retry())
def test_a_retried_submission_gets_the_providers_404(body: str) -> None:
    """The provider's 404 not_found to a retried submission (one of the answers): in doubt."""
    assert json.loads(body)["errors"][0]["code"] == "not_found"
    checkout = Checkout("chk-1")
    begin_submission(checkout, at=AT)
    outcome = SubmissionResponse(404, body).record(checkout, at=AT)
    assert isinstance(outcome, InDoubt)
    assert checkout.state is CheckoutState.IN_DOUBT


@given(created_bodies("chk-1", states=["in_review"]))
def test_created_bodies_in_the_states_asked(body: str) -> None:
    """created_bodies gives orders in the entry states asked for, for that checkout."""
    order = json.loads(body)
    assert order["state"] == "in_review"
    assert order["checkoutId"] == "chk-1"


@pytest.mark.parametrize("states", [[], ["blocked"], [OrderState.COMPLETE]])
def test_created_bodies_refuse_states_no_order_is_created_in(states: list[str]) -> None:
    """Only entry states: anything else is an InvalidInput when the strategy is built."""
    with pytest.raises(InvalidInput, match="entry states"):
        created_bodies(states=states)

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal, Overflow
from typing import Any, NoReturn

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import (
    ChargeState,
    Checkout,
    CheckoutEvent,
    CheckoutState,
    InvalidInput,
    Order,
    OrderState,
    TransitionNotAllowed,
)
from order_lifecycle.checkout import (
    CheckoutNeedsChanges,
    InDoubt,
    OrderCreated,
    ProviderError,
    RejectionCause,
    SubmissionOutcome,
    SubmissionRejected,
    _responses,
    begin_submission,
    record_no_response,
    record_response,
    settle,
)
from order_lifecycle.exceptions import (
    CheckoutAlreadyConsumed,
    CheckoutRejected,
    InvalidResponse,
    SubmissionInDoubt,
    SubmissionInProgress,
    SubmissionRefused,
    WrongType,
)
from order_lifecycle.lifecycle import FraudState
from order_lifecycle.models import SubmissionAttempt
from order_lifecycle.testing import (
    assert_submission_invariants,
    hostile_responses,
    http_responses,
    recode,
)
from tests.responses import codes_in, mentioned, messages_in

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=2)


# The project's own fixtures, in the shapes of the provider's documented bodies.
def created(order_id: str = "190000000001", state: str = "accepted", **extra: Any) -> str:
    """A 201 body: an order with one physical and one digital item and one charge."""
    body: dict[str, Any] = {
        "id": order_id,
        "state": state,
        "fraudState": "passed",
        "checkoutId": "chk-1",
        "items": [
            {"id": "it-1", "quantity": 2, "productDetails": {"physical": True}},
            {"id": "it-2", "quantity": 1, "productDetails": {"physical": False}},
        ],
        "payment": {"charges": [{"id": "ch-1", "state": "capturable", "amount": 53.77}]},
        "totalAmount": 53.77,
    }
    body.update(extra)
    return json.dumps(body)


def errors(error_type: str, *entries: tuple[str, str]) -> str:
    """An error body with ``(code, message)`` entries."""
    return json.dumps(
        {"type": error_type, "errors": [{"code": c, "message": m} for c, m in entries]}
    )


PAYMENT_DECLINED = errors("conflict", ("failed-request", "Failed to charge source."))


def submitting(checkout_id: str = "chk-1") -> Checkout:
    """A checkout whose submission awaits its response."""
    checkout = Checkout(checkout_id)
    begin_submission(checkout, at=T0)
    return checkout


def checkout_in(state: CheckoutState) -> Checkout:
    """A checkout brought to ``state`` by the module's own calls."""
    checkout = submitting()
    if state is CheckoutState.OPEN:
        record_response(checkout, 400, errors("bad_request", ("invalid_parameter", "Fix it.")))
    elif state is CheckoutState.CONSUMED:
        record_response(checkout, 201, created(), at=T1)
    elif state is CheckoutState.REJECTED:
        record_response(checkout, 409, PAYMENT_DECLINED, at=T1)
    elif state is CheckoutState.IN_DOUBT:
        record_no_response(checkout, at=T1)
    return checkout


def test_begin_submission_claims_an_open_checkout() -> None:
    """An open checkout moves to submitting, gains one unanswered attempt, and gives the body."""
    checkout = Checkout("chk-1")
    assert begin_submission(checkout, at=T0) == {"checkoutId": "chk-1"}
    assert checkout.state is CheckoutState.SUBMITTING
    assert checkout.attempts == [SubmissionAttempt(at=T0)]
    assert not checkout.attempts[0].answered
    assert checkout.history[-1].event is CheckoutEvent.SUBMIT
    assert_submission_invariants(checkout)


@pytest.mark.parametrize(
    ("state", "refusal", "says"),
    [
        (CheckoutState.CONSUMED, CheckoutAlreadyConsumed, "already consumed by an order"),
        (CheckoutState.REJECTED, CheckoutRejected, "create a new checkout"),
        (CheckoutState.IN_DOUBT, SubmissionInDoubt, "look up orders by checkout id"),
        (CheckoutState.SUBMITTING, SubmissionInProgress, "a submission is in progress"),
    ],
)
def test_begin_submission_refuses_what_must_not_be_sent(
    state: CheckoutState, refusal: type[SubmissionRefused], says: str
) -> None:
    """Consumed, rejected, in-doubt and in-progress checkouts are refused; nothing changes."""
    checkout = checkout_in(state)
    before = copy.deepcopy(checkout)
    with pytest.raises(refusal, match=says) as raised:
        begin_submission(checkout, at=T1)
    assert type(raised.value) is refusal
    assert isinstance(raised.value, TransitionNotAllowed)
    assert (raised.value.checkout_id, raised.value.state) == ("chk-1", state)
    assert checkout == before


def test_consumed_refusal_names_the_order_and_renders_the_provider_404() -> None:
    """The refusal carries the order id and gives the provider's 404 ``not_found`` body."""
    checkout = checkout_in(CheckoutState.CONSUMED)
    with pytest.raises(CheckoutAlreadyConsumed, match=r"\(190000000001\)") as raised:
        begin_submission(checkout)
    assert raised.value.order_id == "190000000001"
    assert raised.value.status_code == 404
    assert raised.value.as_provider_error() == {
        "type": "not_found",
        "errors": [
            {"code": "not_found", "parameter": "orderId", "message": "Order 190000000001 not found"}
        ],
    }


def test_201_creates_the_order_and_consumes_the_checkout() -> None:
    """A 201 gives the order as the body says, amounts exact; the checkout names it."""
    checkout = submitting()
    body = created(payment={"charges": [{"id": "ch-1", "state": "capturable", "amount": 53.77}]})
    outcome = record_response(checkout, 201, body, at=T1)
    assert isinstance(outcome, OrderCreated)
    order = outcome.order
    assert (order.id, order.state, order.fraud_state) == (
        "190000000001",
        OrderState.ACCEPTED,
        FraudState.PASSED,
    )
    assert order.checkout_id == "chk-1"
    assert [(i.id, i.quantity, i.physical) for i in order.items] == [
        ("it-1", 2, True),
        ("it-2", 1, False),
    ]
    assert [(c.id, c.state, c.amount) for c in order.charges] == [
        ("ch-1", ChargeState.CAPTURABLE, Decimal("53.77"))
    ]
    assert order.history[0].at == T1
    assert checkout.state is CheckoutState.CONSUMED
    assert checkout.order_id == "190000000001"
    assert checkout.attempts == [SubmissionAttempt(at=T0, status_code=201, body=body)]
    assert_submission_invariants(checkout)


def test_amounts_are_parsed_as_written() -> None:
    """A JSON number becomes the Decimal it spells, never its binary float neighbour."""
    body = created(payment={"charges": [{"id": "c", "state": "pending", "amount": 0.1}]})
    body = body.replace('"amount": 0.1', '"amount": 53.769999999999996')
    outcome = record_response(submitting(), 201, body)
    assert isinstance(outcome, OrderCreated)
    assert outcome.order.charges[0].amount == Decimal("53.769999999999996")


@pytest.mark.parametrize("state", ["pending_payment", "in_review", "accepted"])
def test_201_in_each_entry_state(state: str) -> None:
    """An order is created in whichever of the three entry states the body gives."""
    outcome = record_response(submitting(), 201, created(state=state))
    assert isinstance(outcome, OrderCreated)
    assert outcome.order.state == state


def test_a_sparse_201_is_enough() -> None:
    """An id and a state suffice: no items, charges, fraud state or checkout id."""
    body = json.dumps({"id": "240354510336", "state": "pending_payment", "payment": {}})
    outcome = record_response(submitting(), 201, body)
    assert isinstance(outcome, OrderCreated)
    assert (outcome.order.items, outcome.order.charges, outcome.order.fraud_state) == ((), (), None)


def test_physical_unknown_when_the_body_does_not_say() -> None:
    """A 201 that does not expand its products (the provider's own example) leaves it unknown."""
    checkout = submitting()
    body = created(items=[{"id": "i", "quantity": 1, "productDetails": {"name": "SaaS"}}])
    outcome = record_response(checkout, 201, body, at=T1)
    assert isinstance(outcome, OrderCreated)
    assert outcome.order.items[0].physical is None


def test_charge_currency_is_kept() -> None:
    """A charge's currency in the 201 body becomes the order's currency."""
    checkout = submitting()
    charges = [{"id": "ch-1", "state": "capturable", "amount": 5, "currency": "EUR"}]
    outcome = record_response(checkout, 201, created(payment={"charges": charges}), at=T1)
    assert isinstance(outcome, OrderCreated)
    assert outcome.order.charges[0].currency == "EUR"
    assert outcome.order.currency == "EUR"


def test_physical_from_the_older_sku_object() -> None:
    """Older API versions say ``sku.physical``; it is read like ``productDetails.physical``."""
    body = created(items=[{"id": "i", "quantity": 1, "sku": {"physical": True}}])
    outcome = record_response(submitting(), 201, body)
    assert isinstance(outcome, OrderCreated)
    assert outcome.order.items[0].physical is True


@pytest.mark.parametrize(
    ("code", "cause", "new_source"),
    [
        ("failed-request", RejectionCause.PAYMENT, True),
        ("source_expired", RejectionCause.PAYMENT, True),
        ("fraud_block", RejectionCause.FRAUD, False),
        ("order-fraud-failure", RejectionCause.FRAUD, False),
        ("do_not_honor", RejectionCause.UNKNOWN, True),
    ],
)
def test_409_rejects_the_checkout_for_good(
    code: str, cause: RejectionCause, new_source: bool
) -> None:
    """A 409 rejects the checkout; the outcome says a new checkout is needed, and why."""
    checkout = submitting()
    outcome = record_response(checkout, 409, errors("conflict", (code, "Payment failed.")))
    assert isinstance(outcome, SubmissionRejected)
    assert outcome.needs_new_checkout
    assert (outcome.cause, outcome.new_payment_source_advised) == (cause, new_source)
    assert outcome.customer_message == "Payment failed."
    assert code in outcome.operator_detail
    assert checkout.state is CheckoutState.REJECTED
    with pytest.raises(CheckoutRejected):
        begin_submission(checkout)


@pytest.mark.parametrize("status", [400, 401, 403, 422, 429])
def test_other_4xx_keeps_the_checkout_open(status: int) -> None:
    """Any 4xx but 404 and 409 leaves the checkout open: fix it and resubmit the same id."""
    checkout = submitting()
    body = errors("bad_request", ("invalid_parameter", "The address is incomplete."))
    outcome = record_response(checkout, status, body)
    assert isinstance(outcome, CheckoutNeedsChanges)
    assert outcome.customer_message == "The address is incomplete."
    assert "invalid_parameter" in outcome.operator_detail
    assert checkout.state is CheckoutState.OPEN
    assert begin_submission(checkout) == {"checkoutId": "chk-1"}
    assert_submission_invariants(checkout)


NOT_FOUND = json.dumps(
    {
        "type": "not_found",
        "errors": [{"code": "not_found", "parameter": "orderId", "message": "Order 7 not found"}],
    }
)


@pytest.mark.parametrize("body", [NOT_FOUND, errors("not_found"), errors("x", ("y", "Gone."))])
def test_a_404_leaves_the_checkout_in_doubt(body: str) -> None:
    """A 404, the provider's answer to a checkout already consumed, never reopens it."""
    checkout = submitting()
    outcome = record_response(checkout, 404, body, at=T1)
    assert isinstance(outcome, InDoubt)
    assert checkout.state is CheckoutState.IN_DOUBT
    assert checkout.attempts == [SubmissionAttempt(at=T0, status_code=404, body=body)]
    with pytest.raises(SubmissionInDoubt):
        begin_submission(checkout)
    assert "another POST /orders may have consumed the checkout" in outcome.operator_detail
    assert "look up orders by checkout id" in outcome.operator_detail
    assert outcome.customer_message == InDoubt("chk-1").customer_message
    assert "do not order again" in outcome.customer_message
    assert "try again" not in outcome.customer_message.lower()
    assert_submission_invariants(checkout)


def test_a_404_is_settled_by_the_lookup() -> None:
    """After a 404 the lookup by checkout id settles the checkout: consumed, or open again."""
    found = submitting()
    record_response(found, 404, NOT_FOUND)
    settle(found, Order.create("o-7", at=T1, checkout_id="chk-1"), at=T1)
    assert (found.state, found.order_id) == (CheckoutState.CONSUMED, "o-7")
    none = submitting()
    record_response(none, 404, NOT_FOUND)
    settle(none, None, at=T1)
    assert none.state is CheckoutState.OPEN


@pytest.mark.parametrize(
    ("status", "body", "kept"),
    [
        (500, errors("internal_server_error", ("server_error", "Try again later.")), True),
        (502, "<html>Bad gateway</html>", False),
        (503, "", False),
    ],
)
def test_5xx_puts_the_checkout_in_doubt(status: int, body: str, kept: bool) -> None:
    """A 5xx, whatever its body, leaves the checkout in doubt; its error message is kept."""
    checkout = submitting()
    outcome = record_response(checkout, status, body)
    assert isinstance(outcome, InDoubt)
    assert outcome.status_code == status
    assert checkout.state is CheckoutState.IN_DOUBT
    # For operators only: the customer sees the library's sentence, never "try again".
    assert ("'Try again later.'" in outcome.operator_detail) is kept
    assert outcome.customer_message == InDoubt("chk-1").customer_message
    assert str(outcome) == outcome.customer_message
    assert "try again" not in outcome.customer_message.lower()
    assert "look up orders by checkout id" in outcome.operator_detail
    with pytest.raises(SubmissionInDoubt):
        begin_submission(checkout)


def test_no_response_puts_the_checkout_in_doubt() -> None:
    """A timeout or lost connection: in doubt, and the attempt stays unanswered."""
    checkout = submitting()
    outcome = record_no_response(checkout, at=T1, reason="timeout after 30 s")
    assert outcome == InDoubt("chk-1", reason="timeout after 30 s")
    assert "timeout after 30 s (no response)" in outcome.operator_detail
    assert checkout.state is CheckoutState.IN_DOUBT
    assert checkout.attempts == [SubmissionAttempt(at=T0)]
    assert checkout.history[-1].at == T1


def test_settle_with_the_order_found_consumes() -> None:
    """A lookup that finds the order consumes the checkout, which names it."""
    checkout = checkout_in(CheckoutState.IN_DOUBT)
    step = settle(checkout, Order.create("o-9", checkout_id="chk-1"), at=T1)
    assert (step.event, step.dest) == (CheckoutEvent.ORDER_FOUND, CheckoutState.CONSUMED)
    assert checkout.order_id == "o-9"
    with pytest.raises(CheckoutAlreadyConsumed) as raised:
        begin_submission(checkout)
    assert raised.value.order_id == "o-9"


def test_settle_with_nothing_found_reopens() -> None:
    """A lookup that finds nothing reopens the checkout for a new submission."""
    checkout = checkout_in(CheckoutState.IN_DOUBT)
    settle(checkout, None)
    assert checkout.state is CheckoutState.OPEN
    begin_submission(checkout)
    assert len(checkout.attempts) == 2
    assert_submission_invariants(checkout)


@pytest.mark.parametrize(
    "state", [CheckoutState.OPEN, CheckoutState.SUBMITTING, CheckoutState.CONSUMED]
)
def test_settle_only_in_doubt(state: CheckoutState) -> None:
    """Settling a checkout that is not in doubt is refused; nothing changes."""
    checkout = checkout_in(state)
    before = copy.deepcopy(checkout)
    with pytest.raises(TransitionNotAllowed, match=f"when in {state}"):
        settle(checkout, None)
    assert checkout == before


def test_settle_refuses_another_checkouts_order() -> None:
    """An order of another checkout cannot settle this one; nothing changes."""
    checkout = checkout_in(CheckoutState.IN_DOUBT)
    before = copy.deepcopy(checkout)
    with pytest.raises(InvalidInput, match="belongs to checkout 'chk-2'"):
        settle(checkout, Order.create("o-9", checkout_id="chk-2"))
    with pytest.raises(WrongType, match="order must be the Order found, or None"):
        settle(checkout, "o-9")  # type: ignore[arg-type]
    assert checkout == before


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (201, "Created", "the body is not JSON"),
        (201, "", "the body is not JSON"),
        (201, "[1, 2]", "the body must be a JSON object, not an array"),
        (201, '{"id": "o1"}', "the order has no state"),
        (201, '{"id": "o1", "state": "shipped"}', "unknown order state 'shipped'"),
        (201, '{"id": "o1", "state": "blocked"}', "not in blocked"),
        (201, '{"state": "accepted"}', r"a 201 needs the order id \(id\)"),
        (201, '{"id": 7, "state": "accepted"}', "id must be a string, not a number"),
        (201, created(checkoutId="chk-2"), "it is the order of checkout 'chk-2'"),
        (201, created(fraudState="maybe"), "Unknown fraud state 'maybe'"),
        (
            201,
            created(items=[{"id": "i", "quantity": 1, "productDetails": {"physical": "yes"}}]),
            r"items\[0\]: productDetails.physical must be true, false or absent",
        ),
        (
            201,
            created(items=[{"id": "i", "quantity": 1.0, "productDetails": {"physical": True}}]),
            r"items\[0\]: item 'i'.quantity must be an int",
        ),
        (
            201,
            created(payment={"charges": [{"id": "c", "state": "paid", "amount": 1}]}),
            r"payment.charges\[0\]: Unknown charge state 'paid'",
        ),
        (
            201,
            created(payment={"charges": [{"id": "c", "state": "pending", "amount": -1}]}),
            "0 or more",
        ),
        (
            201,
            created(
                currency="EUR",
                payment={
                    "charges": [{"id": "c", "state": "pending", "amount": 1, "currency": "USD"}]
                },
            ),
            "one currency per order, got EUR, USD",
        ),
        (201, '{"id": "o1", "state": "accepted", "x": NaN}', "NaN is not a JSON number"),
        (201, "[" * 100_000, "nested too deeply"),
        (409, "<html>Conflict</html>", "the body is not JSON"),
        (409, '{"type": "conflict"}', r"an error body needs errors\[\]"),
        (400, '{"errors": {"code": "x"}}', "errors must be a JSON array"),
        (422, '{"errors": [{"code": 5}]}', r"errors\[0\].code must be a string"),
        (200, created(), "POST /orders answers 201, 4xx or 5xx, not 200"),
        (302, "", "not 302"),
    ],
)
def test_bad_responses_leave_the_checkout_in_doubt(status: int, body: str, problem: str) -> None:
    """A body not in the provider's shape: InvalidResponse says why; in doubt; raw body kept."""
    checkout = submitting()
    with pytest.raises(InvalidResponse, match=problem) as raised:
        record_response(checkout, status, body, at=T1)
    assert (raised.value.checkout_id, raised.value.status_code) == ("chk-1", status)
    assert "in doubt" in str(raised.value)
    assert checkout.state is CheckoutState.IN_DOUBT
    assert checkout.order_id is None
    assert checkout.attempts == [SubmissionAttempt(at=T0, status_code=status, body=body)]
    assert checkout.history[-1].event is CheckoutEvent.NO_RESPONSE
    assert_submission_invariants(checkout)


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (201, created(order_id="o\x00"), "id: the string holds a NUL character"),
        (201, created(order_id="o\ud800"), "id: the string holds a lone surrogate"),
        (
            201,
            created(items=[{"id": "i\x00", "quantity": 1}]),
            r"items\[0\].id: the string holds a NUL",
        ),
        (
            201,
            created(payment={"charges": [{"id": "\udfff", "state": "pending", "amount": 1}]}),
            r"payment.charges\[0\].id: the string holds a lone surrogate",
        ),
        (201, created(note={"\x00": 1}), "note: a key holds a NUL"),
        (201, '{"id": "o1", "state": "accepted", "x": "\ud800"}', "x: the string holds a lone"),
        (409, errors("conflict", ("failed-request", "Declined\x00")), r"errors\[0\].message"),
        (404, errors("not_found", ("not_found", "\ud800")), r"errors\[0\].message: the string"),
        (422, json.dumps({"type": "\x00", "errors": []}), "type: the string holds a NUL"),
    ],
)
def test_nul_and_lone_surrogates_are_invalid_responses(
    status: int, body: str, problem: str
) -> None:
    """A string with a NUL or a lone surrogate anywhere is not the provider's: in doubt, kept."""
    checkout = submitting()
    with pytest.raises(InvalidResponse, match=problem):
        record_response(checkout, status, body, at=T1)
    assert checkout.state is CheckoutState.IN_DOUBT
    assert checkout.attempts == [SubmissionAttempt(at=T0, status_code=status, body=body)]
    assert checkout.order_id is None


def test_a_5xx_with_unclean_errors_keeps_none_of_them() -> None:
    """A 5xx is in doubt whatever its body; errors holding a NUL are not kept."""
    outcome = record_response(submitting(), 503, errors("x", ("busy", "Busy\x00")))
    assert isinstance(outcome, InDoubt)
    assert outcome.errors == ()


@pytest.mark.parametrize(
    "error",
    [
        Overflow("above Emax"),
        ValueError("Exceeds the limit (4300 digits) for integer string conversion"),
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
        RecursionError("maximum recursion depth exceeded"),
        KeyError("id"),
    ],
)
def test_untyped_failures_while_reading_are_invalid_responses(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """Whatever reading a body raises becomes InvalidResponse: in doubt, raw kept, cause chained."""

    def failing_read(*_args: object) -> NoReturn:
        raise error

    monkeypatch.setattr(_responses, "read_order", failing_read)
    checkout = submitting()
    body = created()
    with pytest.raises(InvalidResponse, match=type(error).__name__) as raised:
        record_response(checkout, 201, body, at=T1)
    assert raised.value.__cause__ is error
    assert checkout.state is CheckoutState.IN_DOUBT
    assert checkout.attempts == [SubmissionAttempt(at=T0, status_code=201, body=body)]


@pytest.mark.parametrize(
    "status", [-1, 0, 99, 600, 10**30, 10**5000], ids=["-1", "0", "99", "600", "1e30", "1e5000"]
)
def test_status_codes_that_are_no_http_status_are_refused(status: int) -> None:
    """A status outside 100 to 599 is the caller's mistake: refused, nothing changes."""
    checkout = submitting()
    before = copy.deepcopy(checkout)
    with pytest.raises(InvalidInput, match="status_code must be an HTTP status code"):
        record_response(checkout, status, created())
    assert checkout == before


@given(response=hostile_responses("chk-1"))
def test_hostile_responses_give_only_typed_errors(response: tuple[int, str | bytes]) -> None:
    """Any status and body: an outcome or a typed error; never left submitting unless refused."""
    status, body = response
    checkout = submitting()
    before = copy.deepcopy(checkout)
    try:
        outcome = record_response(checkout, status, body, at=T1)
    except InvalidResponse:
        assert checkout.state is CheckoutState.IN_DOUBT
        assert checkout.attempts == [SubmissionAttempt(at=T0, status_code=status, body=body)]
        assert checkout.order_id is None
    except InvalidInput:
        assert status not in range(100, 600)
        assert checkout == before
    else:
        assert CHECKOUT_AFTER[type(outcome)] is checkout.state
        assert checkout.attempts == [SubmissionAttempt(at=T0, status_code=status, body=body)]
        for text in (str(outcome), outcome.customer_message, outcome.operator_detail):
            text.encode()  # no lone surrogate: printable, storable, showable
            assert "\x00" not in text
    assert_submission_invariants(checkout)


def test_bytes_bodies_are_read_and_kept_as_received() -> None:
    """A body in bytes is read as JSON and kept byte for byte, undecodable ones too."""
    checkout = submitting()
    record_response(checkout, 201, created().encode())
    assert checkout.attempts[-1].body == created().encode()
    other = submitting()
    raw = b'{"id": "o1", "state": "accepted\xff"}'
    with pytest.raises(InvalidResponse, match="the body is not JSON"):
        record_response(other, 201, bytearray(raw))
    assert other.attempts[-1].body == raw


@pytest.mark.parametrize("state", [CheckoutState.OPEN, CheckoutState.CONSUMED])
@pytest.mark.parametrize("body", [created(), "not JSON"])
def test_a_response_needs_a_submission_in_progress(state: CheckoutState, body: str) -> None:
    """Without a submission in progress a response is refused, even a bad one; nothing changes."""
    checkout = checkout_in(state)
    before = copy.deepcopy(checkout)
    with pytest.raises(TransitionNotAllowed, match=f"when in {state}"):
        record_response(checkout, 201, body)
    with pytest.raises(TransitionNotAllowed, match=f"when in {state}"):
        record_no_response(checkout)
    assert checkout == before


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: record_response(c, "201", created()), "status_code must be an int"),  # type: ignore[arg-type]
        (lambda c: record_response(c, True, created()), "status_code must be an int"),  # noqa: FBT003
        (lambda c: record_response(c, 201, {"id": "o1"}), "body must be the response body"),  # type: ignore[arg-type]
        (lambda c: record_response(c, 201, created(), at=T0.replace(tzinfo=None)), "at must be"),
        (lambda c: record_no_response(c, reason=""), "reason must be a non-empty str"),
        (lambda _c: record_response("chk-1", 201, created()), "checkout must be a Checkout"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_change_nothing(call: Any, message: str) -> None:
    """Arguments of the wrong type are refused before anything changes."""
    checkout = submitting()
    before = copy.deepcopy(checkout)
    with pytest.raises(WrongType, match=message):
        call(checkout)
    assert checkout == before


@pytest.mark.parametrize(
    ("outcome", "sentence"),
    [
        (SubmissionRejected("c", 409, "conflict", (ProviderError("fraud_block"),)), "another pay"),
        (CheckoutNeedsChanges("c", 400, "bad_request", ()), "review your details"),
        (InDoubt("c", 503), "could not confirm your order yet"),
    ],
)
def test_a_plain_sentence_when_the_provider_gives_no_message(
    outcome: SubmissionOutcome, sentence: str
) -> None:
    """Without a provider message the customer gets a plain sentence, never a code."""
    assert sentence in outcome.customer_message
    assert "fraud_block" not in outcome.customer_message


def test_customer_message_of_a_created_order() -> None:
    """A 201's message fits the order's state and adds a charge's failureMessage, not its code."""
    charge = {
        "id": "c",
        "state": "failed",
        "amount": 5,
        "failureCode": "insufficient_funds",
        "failureMessage": "Your card was declined.",
    }
    body = created(state="pending_payment", payment={"charges": [charge]})
    outcome = record_response(submitting(), 201, body)
    assert outcome.customer_message == (
        "Thank you, your order was placed; payment is not yet complete. Your card was declined."
    )
    assert "insufficient_funds" not in outcome.customer_message
    assert "insufficient_funds" in outcome.operator_detail


def test_messages_are_shown_once_each() -> None:
    """Repeated or blank provider messages are dropped from the customer message."""
    body = errors(
        "conflict", ("x1", "Declined."), ("x2", "Declined."), ("x3", "  "), ("x4", "Sorry.")
    )
    assert record_response(submitting(), 409, body).customer_message == "Declined. Sorry."


def test_checkout_names_an_order_only_when_consumed() -> None:
    """A checkout that is not consumed cannot name an order; the repr shows it when consumed."""
    with pytest.raises(InvalidInput, match="only a consumed checkout has an order"):
        Checkout("chk-1", order_id="o1")
    with pytest.raises(WrongType, match=r"Checkout.attempts\[\] must be a SubmissionAttempt"):
        Checkout("chk-1", attempts=["tried"])  # type: ignore[list-item]
    consumed = checkout_in(CheckoutState.CONSUMED)
    assert repr(consumed) == (
        "<Checkout(id='chk-1', state='consumed', order_id='190000000001', attempts=1)>"
    )


def test_attempt_values_are_checked() -> None:
    """An attempt's status is an int and its body text or bytes."""
    with pytest.raises(WrongType, match=r"SubmissionAttempt\.status_code must be an int or None"):
        SubmissionAttempt(at=T0, status_code="201")  # type: ignore[arg-type]
    with pytest.raises(WrongType, match=r"SubmissionAttempt\.body must be str, bytes or None"):
        SubmissionAttempt(at=T0, status_code=201, body={"id": "o1"})  # type: ignore[arg-type]


ENTRY_STATES = [OrderState.PENDING_PAYMENT, OrderState.IN_REVIEW, OrderState.ACCEPTED]
# The library's own sentences: a code that happens to be a word of them is no leak.
PLAIN_SENTENCES = [
    SubmissionRejected("c").customer_message,
    CheckoutNeedsChanges("c").customer_message,
    InDoubt("c").customer_message,
    *(OrderCreated("c", Order.create("o", s, at=T0)).customer_message for s in ENTRY_STATES),
]


# Any readable text: a NUL or a lone surrogate makes the body unreadable, which the hostile
# response tests cover; here the body must stay one the provider could send.
READABLE = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=12
)


def codes_for(messages: list[str]) -> st.SearchStrategy[str]:
    """Codes to put in a body: any readable text, or one of its messages, shouted or cut short."""
    if not messages:
        return READABLE
    echoed = st.sampled_from(messages).flatmap(
        lambda m: (
            st.sampled_from([m, m.upper(), f" {m.lower()} "])
            | st.integers(0, len(m)).flatmap(lambda i: st.just(m[i : i + 6]))
        )
    )
    return READABLE | echoed


@given(http_responses("chk-1"))
def test_an_outcome_in_doubt_shows_only_its_own_sentence(response: tuple[int, str]) -> None:
    """A 5xx or a 404, whatever its messages, shows the customer the in-doubt sentence."""
    status, body = response
    outcome = record_response(submitting(), status, body, at=T1)
    if isinstance(outcome, InDoubt):
        assert outcome.customer_message == InDoubt("c").customer_message
        for error in outcome.errors:  # the provider's words stay, for operators
            if error.message:
                assert repr(error.message) in outcome.operator_detail


@given(response=http_responses("chk-1"), codes=st.data())
def test_codes_never_reach_the_customer_message(
    response: tuple[int, str], codes: st.DataObject
) -> None:
    """No code reaches str() or the customer message, even in a message; repr keeps them."""
    status, body = response
    outcome = record_response(submitting(), status, body, at=T1)
    messages = messages_in(body)
    recoded = recode(body, lambda _code: codes.draw(codes_for(messages)))
    twin = record_response(submitting(), status, recoded, at=T1)
    assert type(twin) is type(outcome)
    assert str(twin) == twin.customer_message
    ours = " ".join(PLAIN_SENTENCES)
    for code in codes_in(recoded):
        if mentioned([code], ours):
            continue  # "order" is a code only a test would pick
        assert not mentioned([code], twin.customer_message), code
        assert repr(code) in repr(twin)
        if code.strip():
            assert code in twin.operator_detail
    # Changing codes that no text mentions changes nothing a customer sees.
    texts = " ".join([*messages, ours])
    if not mentioned(codes_in(body), texts) and not mentioned(codes_in(recoded), texts):
        assert twin.customer_message == outcome.customer_message


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (errors("bad_request", ("invalid_parameter", "invalid_parameter")), None),
        (errors("bad_request", ("invalid_parameter", "INVALID_PARAMETER")), None),
        (errors("bad_request", ("not_found", "Error not_found: no such order.")), None),
        (errors("bad_request", ("x9", "Fix it."), ("bad", "x9")), "Fix it."),
        (errors("bad_request", ("x9", "Fix it."), ("  ", "Check the address.")), "Fix it."),
    ],
)
def test_a_message_that_mentions_a_code_is_not_shown(body: str, shown: str | None) -> None:
    """A provider message that is, or contains, a code gives way to the plain sentence."""
    outcome = record_response(submitting(), 400, body)
    expected = CheckoutNeedsChanges("c").customer_message if shown is None else shown
    if shown == "Fix it." and "Check the address." in body:
        expected = "Fix it. Check the address."
    assert outcome.customer_message == expected
    assert str(outcome) == expected


def test_a_failure_message_that_mentions_its_failure_code_is_not_shown() -> None:
    """A charge's failureMessage containing its failureCode is left out of the 201's message."""
    charge = {
        "id": "c",
        "state": "failed",
        "amount": 5,
        "failureCode": "do_not_honor",
        "failureMessage": "Declined (DO_NOT_HONOR).",
    }
    outcome = record_response(submitting(), 201, created(payment={"charges": [charge]}))
    assert outcome.customer_message == "Thank you, your order is confirmed."
    assert "do_not_honor" in outcome.operator_detail
    assert "do_not_honor" in repr(outcome)


def test_refusals_hold_no_code() -> None:
    """What begin_submission raises for a checkout answered with codes names none of them."""
    body = errors("conflict", ("zz-fraud-7", "zz-fraud-7"))
    rejected = submitting()
    record_response(rejected, 409, body)
    consumed = submitting()
    record_response(consumed, 201, created(payment={"charges": [FAILED_CHARGE]}))
    doubtful = submitting()
    record_response(doubtful, 404, errors("not_found", ("zz-fraud-7", "zz-fraud-7")))
    for checkout in (rejected, consumed, doubtful):
        with pytest.raises(SubmissionRefused) as refused:
            begin_submission(checkout)
        assert not mentioned(["zz-fraud-7", "zz-declined-7"], str(refused.value))


FAILED_CHARGE = {
    "id": "c",
    "state": "failed",
    "amount": 5,
    "failureCode": "zz-declined-7",
    "failureMessage": "zz-declined-7",
}


@given(
    status=st.integers(100, 599),
    body=st.one_of(
        st.binary(max_size=40),
        st.text(max_size=40),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["id", "state", "errors", "items", "payment", "code"]),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=10,
        ).map(json.dumps),
    ),
)
def test_any_response_gives_an_outcome_or_invalid_response(status: int, body: str | bytes) -> None:
    """Random statuses and bodies yield an outcome or InvalidResponse, and a legal checkout."""
    checkout = submitting()
    try:
        outcome = record_response(checkout, status, body)
    except InvalidResponse:
        assert checkout.state is CheckoutState.IN_DOUBT
    else:
        assert CHECKOUT_AFTER[type(outcome)] is checkout.state
        assert isinstance(outcome.customer_message, str)
        assert outcome.customer_message
    assert checkout.attempts[-1].body == body
    assert_submission_invariants(checkout)


CHECKOUT_AFTER: dict[type[SubmissionOutcome], CheckoutState] = {
    OrderCreated: CheckoutState.CONSUMED,
    SubmissionRejected: CheckoutState.REJECTED,
    CheckoutNeedsChanges: CheckoutState.OPEN,
    InDoubt: CheckoutState.IN_DOUBT,
}

"""The local provider's answers, read by the library's own checkout and order readers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Checkout, OrderState
from order_lifecycle.checkout import (
    CheckoutNeedsChanges,
    InDoubt,
    OrderCreated,
    RejectionCause,
    SubmissionRejected,
    begin_submission,
    record_response,
)
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.provider import parse_order, parse_order_lookup
from order_lifecycle.sandbox import OUTCOMES, PREFIXES, LocalProvider, Outcome, read_script
from order_lifecycle.sandbox._provider import MAX_SUBMISSION, outcome_of
from order_lifecycle.testing import HOSTILE_TEXT, POISON, hostile_bodies

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@attrs.define
class Clock:
    """A clock the test moves."""

    now: datetime = START

    def __call__(self) -> datetime:
        """The time the test set."""
        return self.now


def submission(checkout_id: object) -> bytes:
    return json.dumps({"checkoutId": checkout_id}).encode()


def recorded(provider: LocalProvider, checkout: Checkout) -> object:
    """Submit ``checkout`` to the provider as a shop does; the outcome the library reads."""
    body = begin_submission(checkout)
    reply = provider.submit(json.dumps(body).encode())
    return record_response(checkout, reply.status, reply.raw())


@pytest.mark.parametrize(
    ("checkout_id", "state"),
    [
        ("accepted-1", "accepted"),
        ("pending-1", "pending_payment"),
        ("review-1", "in_review"),
        ("blocked-1", "in_review"),
        ("any-other-id", "accepted"),
        ("timeout-1", "accepted"),
        ("closed-1", "accepted"),
    ],
)
def test_a_created_order_is_a_201_the_library_reads(checkout_id: str, state: str) -> None:
    """Each creating prefix answers 201 with an order in its entry state, for this checkout."""
    checkout = Checkout(checkout_id)
    outcome = recorded(LocalProvider(), checkout)
    assert isinstance(outcome, OrderCreated)
    assert outcome.order.state is OrderState(state)
    assert outcome.order.checkout_id == checkout_id
    assert [i.physical for i in outcome.order.items] == [True, False]


@pytest.mark.parametrize(
    ("checkout_id", "cause"),
    [("declined-1", RejectionCause.PAYMENT), ("fraud-1", RejectionCause.FRAUD)],
)
def test_a_409_is_a_rejection_for_payment_or_fraud(checkout_id: str, cause: str) -> None:
    """declined- and fraud- answer the provider's 409 bodies: rejected, for the right cause."""
    outcome = recorded(LocalProvider(), Checkout(checkout_id))
    assert isinstance(outcome, SubmissionRejected)
    assert outcome.cause == cause
    assert outcome.customer_message  # the provider's message, safe to show


def test_invalid_and_error_answer_once_then_create() -> None:
    """invalid- answers 400 (fix and resubmit), error- 500 (in doubt); the next POST creates."""
    provider = LocalProvider()
    fixed = Checkout("invalid-1")
    assert isinstance(recorded(provider, fixed), CheckoutNeedsChanges)
    assert isinstance(recorded(provider, fixed), OrderCreated)
    assert provider.submit(submission("error-1")).status == 500
    assert provider.submit(submission("error-1")).status == 201


def test_a_retry_of_a_taken_submission_is_404_not_found() -> None:
    """A second POST of a checkout that became an order: 404 not_found, read as in doubt."""
    provider = LocalProvider()
    first = provider.submit(submission("closed-7"))
    assert first.close
    assert first.plan is not None
    retry = Checkout("closed-7")
    outcome = recorded(provider, retry)
    assert isinstance(outcome, InDoubt)
    assert outcome.status_code == 404
    assert first.plan.order_id in json.dumps(provider.submit(submission("closed-7")).body)


def test_a_timeout_is_held_and_the_order_exists() -> None:
    """timeout-: the answer is held for hold seconds; the order exists (a lookup finds it)."""
    provider = LocalProvider(hold=12.5)
    reply = provider.submit(submission("timeout-3"))
    assert (reply.status, reply.hold, reply.close) == (201, 12.5, False)
    found = parse_order_lookup(provider.lookup("timeout-3").raw())
    assert found is not None
    assert found.id == reply.body["id"]


def test_lookups_find_the_order_or_none() -> None:
    """GET /orders?checkoutId= finds the checkout's order, or none; both parse."""
    provider = LocalProvider()
    assert parse_order_lookup(provider.lookup("never").raw()) is None
    created = provider.submit(submission("pending-2")).body
    found = parse_order_lookup(provider.lookup("pending-2").raw())
    assert found is not None
    assert (found.id, found.checkout_id) == (created["id"], "pending-2")
    assert provider.order("nope").status == 404


def test_an_order_is_shown_as_of_its_last_event_created() -> None:
    """GET /orders/{id} follows the life on the clock: pending, then accepted a step later."""
    clock = Clock()
    provider = LocalProvider(step=timedelta(seconds=10), clock=clock)
    order_id = provider.submit(submission("pending-5")).body["id"]
    assert parse_order(provider.order(order_id).raw()).state == "pending_payment"
    clock.now = START + timedelta(seconds=29)
    assert parse_order(provider.order(order_id).raw()).state == "pending_payment"
    clock.now = START + timedelta(seconds=30)  # entered, sent, accepted, sent: 3 steps
    assert parse_order(provider.order(order_id).raw()).state == "accepted"


def test_every_prefix_names_an_outcome() -> None:
    """The prefix table maps to outcomes; any other prefix, or none, is accepted."""
    assert set(PREFIXES.values()) == set(OUTCOMES)
    for prefix, outcome in PREFIXES.items():
        assert outcome_of(f"{prefix}-x", {}).name == outcome
    assert outcome_of("chk_1", {}).name == "accepted"
    assert outcome_of("fraud-1", {"fraud-1": Outcome("in_review")}).name == "in_review"


def test_a_script_gives_outcomes_and_lives(tmp_path: Path) -> None:
    """A script maps checkout ids to an outcome, or to an outcome and the events after it."""
    path = tmp_path / "script.json"
    script = {"c1": "fraud", "c2": {"outcome": "accepted", "events": ["life:accepted-shipped"]}}
    path.write_text(json.dumps(script), encoding="utf-8")
    provider = LocalProvider(read_script(path))
    assert provider.submit(submission("c1")).status == 409
    plan = provider.submit(submission("c2")).plan
    assert plan is not None
    assert plan.state == "complete"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "is not JSON"),
        ("[]", "must be a JSON object"),
        ('{"c": "shipped"}', "the outcome must be one of"),
        ('{"c": {"outcome": "fraud", "events": ["order.accepted"]}}', "creates no order"),
        ('{"c": {"outcome": "accepted", "events": "order.accepted"}}', "must be a list"),
        ('{"c": {"outcome": "accepted", "events": ["order.nope"]}}', "neither an event type"),
        (
            '{"c": {"outcome": "in_review", "events": ["order.blocked", "order.accepted"]}}',
            "cannot come next",
        ),
    ],
)
def test_a_bad_script_is_refused_by_name(tmp_path: Path, content: str, problem: str) -> None:
    """A script that is not the documented shape: InvalidInput naming the checkout id."""
    path = tmp_path / "script.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput, match=problem):
        read_script(path)


WRONG_TYPES = st.one_of(
    st.integers() | st.floats() | st.booleans() | st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
HOSTILE_SUBMISSIONS = st.one_of(
    st.binary(max_size=200),
    hostile_bodies(st.fixed_dictionaries({"checkoutId": POISON | st.just("chk-1")})),
    WRONG_TYPES.map(lambda value: json.dumps(value).encode()),
    WRONG_TYPES.map(submission),
    (HOSTILE_TEXT | POISON).map(submission),
    st.sampled_from(
        [
            b'{"checkoutId": "a\\u0000b"}',
            b'{"checkoutId": "\\ud800"}',
            b'{"checkoutId": ' + b"9" * 5000 + b"}",
            b'{"checkoutId": 1e999999}',
            b"[" * 100_000,
            b'{"checkoutId": "' + b"x" * (MAX_SUBMISSION + 1) + b'"}',
        ]
    ),
)


@given(HOSTILE_SUBMISSIONS)
def test_hostile_submissions_get_the_providers_4xx_and_change_nothing(raw: bytes) -> None:
    """Any body: a 201 for a plain checkout id, else a 400/413 error body; nothing kept."""
    provider = LocalProvider()
    reply = provider.submit(raw)
    if reply.status == 201:  # a valid submission after all (a printable id)
        assert reply.checkout_id
        return
    assert reply.status in {400, 413}
    assert reply.plan is None
    assert reply.body["type"] == "bad_request"
    (error,) = reply.body["errors"]
    assert error["code"] in {"invalid_request", "invalid_parameter", "missing_parameter"}
    json.loads(reply.raw())  # the answer itself is JSON
    assert provider.submit(submission("closed-1")).status == 201  # nothing was taken before

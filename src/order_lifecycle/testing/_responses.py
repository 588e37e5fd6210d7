"""Strategies for the provider's answers to ``POST /orders``, as a checkout records them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs
from hypothesis import strategies as st

from order_lifecycle.checkout import SubmissionOutcome, record_no_response, record_response
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import ORDER_SPEC, FraudState, OrderState
from order_lifecycle.models import Checkout

from ._orders import IDS, charges, items

__all__ = [
    "FRAUD_CODES",
    "PAYMENT_CODES",
    "SubmissionResponse",
    "created_bodies",
    "error_bodies",
    "http_responses",
    "provider_errors",
    "submission_responses",
]

_IDS = IDS

# Any character but NUL and lone surrogates, which the provider never sends (a response
# holding one is invalid).
_TEXT = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
# Codes the provider documents for POST /orders, and arbitrary ones.
_ERROR_CODES = st.sampled_from(
    ["failed-request", "fraud_block", "order-fraud-failure", "invalid_parameter", "not_found"]
) | st.text(_TEXT, max_size=12)
_MESSAGES = st.text(_TEXT, max_size=30)
_ERROR_TYPES = st.sampled_from(["bad_request", "not_found", "conflict", "internal_server_error"])


def provider_errors() -> st.SearchStrategy[dict[str, str]]:
    """One entry of the provider's ``errors[]``; ``code``, ``message``, ``parameter`` optional."""
    return st.fixed_dictionaries(
        {},
        optional={
            "code": _ERROR_CODES,
            "message": _MESSAGES,
            "parameter": st.sampled_from(["checkoutId", "orderId", "sourceId"]),
        },
    )


def error_bodies(error_type: str | None = None) -> st.SearchStrategy[str]:
    """The JSON text of a provider error body: ``{"type": ..., "errors": [...]}``."""
    return st.fixed_dictionaries(
        {
            "type": _ERROR_TYPES if error_type is None else st.just(error_type),
            "errors": st.lists(provider_errors(), max_size=3),
        }
    ).map(json.dumps)


@st.composite
def _created_body(draw: st.DrawFn, checkout_id: str | None, states: tuple[OrderState, ...]) -> str:
    state = draw(st.sampled_from(states))
    body: dict[str, Any] = {"id": draw(_IDS), "state": str(state)}
    if checkout_id is not None:
        body["checkoutId"] = checkout_id
    fraud = draw(st.none() | st.sampled_from(FraudState))
    if fraud is not None:
        body["fraudState"] = str(fraud)
    drawn_items = draw(st.lists(items(), max_size=3, unique_by=lambda i: i.id))
    show_empty: bool = draw(st.booleans())  # an empty list, or the key absent
    if drawn_items or show_empty:
        body["items"] = [
            {
                "id": i.id,
                "quantity": i.quantity,
                # The flag comes only with expanded products; unknown means absent.
                "productDetails": {} if i.physical is None else {"physical": i.physical},
            }
            for i in drawn_items
        ]
    drawn_charges = draw(st.lists(charges(), max_size=2, unique_by=lambda c: c.id))
    if drawn_charges or show_empty:
        charge_bodies = []
        for charge in drawn_charges:
            # float(): JSON numbers as the provider writes them; 2-place amounts survive it.
            entry: dict[str, Any] = {
                "id": charge.id,
                "state": str(charge.state),
                "amount": float(charge.amount),
            }
            entry.update(
                draw(
                    st.fixed_dictionaries(
                        {}, optional={"failureCode": _ERROR_CODES, "failureMessage": _MESSAGES}
                    )
                )
            )
            charge_bodies.append(entry)
        body["payment"] = {"charges": charge_bodies}
    return json.dumps(body)


def created_bodies(
    checkout_id: str | None = None, states: Iterable[OrderState | str] | None = None
) -> st.SearchStrategy[str]:
    """The JSON text of a ``POST /orders`` 201 body: an order in an entry state.

    With items (``productDetails.physical``), charges (some with ``failureCode`` and
    ``failureMessage``) and ``fraudState``, any of them possibly absent; ``checkoutId`` is
    ``checkout_id`` when given; the state one of ``states`` (every entry state by default).

    Example::

        @given(created_bodies("chk-1", states=["accepted"]))
        def test_an_accepted_order_is_stored(body): ...
    """
    entry = ORDER_SPEC.entry_states
    chosen = entry if states is None else tuple(OrderState(s) for s in states)
    if not chosen or not set(chosen) <= set(entry):
        raise InvalidInput(f"states must be entry states of an order ({', '.join(entry)}).")
    return _created_body(checkout_id, chosen)


PAYMENT_CODES = (
    "failed-request",
    "payment_authorization_failed",
    "create-order-failed",
    "order_submit_failed",
    "source_not_chargeable",
    "source_expired",
)
"""Codes the provider documents for a 409 whose payment failed (``failed-request`` most often)."""
FRAUD_CODES = ("fraud_block", "order-fraud-failure")
"""Codes the provider documents for a 409 when it suspects fraud."""

_PAYMENT_MESSAGES = st.sampled_from(
    ["Failed to charge source.", "The payment was declined.", "Your card has expired."]
)
_FRAUD_MESSAGES = st.sampled_from(["The order could not be processed.", "Order blocked."])


def _conflict(codes: tuple[str, ...], messages: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    error = st.fixed_dictionaries({"code": st.sampled_from(codes)}, optional={"message": messages})
    return st.builds(
        lambda errors: json.dumps({"type": "conflict", "errors": errors}),
        st.lists(error, min_size=1, max_size=2),
    )


@st.composite
def _not_found_after_retry(draw: st.DrawFn) -> str:
    """The provider's 404 to a second ``POST /orders`` of a checkout it already consumed."""
    order_id = draw(st.integers(10**11, 10**12 - 1))
    error = {"code": "not_found", "parameter": draw(st.sampled_from(["orderId", "checkoutId"]))}
    if draw(st.booleans()):
        error["message"] = f"Order {order_id} not found"
    return json.dumps({"type": "not_found", "errors": [error]})


def http_responses(checkout_id: str | None = None) -> st.SearchStrategy[tuple[int, str]]:
    """A well-formed ``POST /orders`` response as ``(status code, JSON text)``.

    201 with an order; 409 with the payment and fraud codes the provider documents, or any
    codes; 404 as the provider answers a retried submission; another 4xx; or a 5xx (whose
    body may be anything). :func:`submission_responses` adds the lost answer.

    Example::

        @given(http_responses("chk-1"))
        def test_every_answer_is_recorded(response):
            status, body = response
            record_response(submitting_checkout(), status, body)
    """
    return st.one_of(
        st.tuples(st.just(201), created_bodies(checkout_id)),
        st.tuples(st.just(409), _conflict(PAYMENT_CODES, _PAYMENT_MESSAGES)),
        st.tuples(st.just(409), _conflict(FRAUD_CODES, _FRAUD_MESSAGES)),
        st.tuples(st.just(409), error_bodies("conflict")),
        st.tuples(st.just(404), _not_found_after_retry()),
        st.tuples(st.sampled_from([400, 401, 403, 404, 422, 429]), error_bodies()),
        st.tuples(st.sampled_from([500, 502, 503, 504]), error_bodies("internal_server_error")),
        st.tuples(st.sampled_from([500, 502]), st.text(max_size=20)),
    )


@attrs.frozen
class SubmissionResponse:
    """What came back from one ``POST /orders``: a status and body, or nothing at all.

    ``status_code`` is ``None`` when no answer came (a timeout, a lost connection);
    ``reason`` then says which, as :func:`order_lifecycle.checkout.record_no_response` takes it.
    """

    status_code: int | None
    body: str = ""
    reason: str = "no response"

    def record(self, checkout: Checkout, *, at: datetime | None = None) -> SubmissionOutcome:
        """Record this answer on ``checkout``, whose submission is in progress; its outcome."""
        if self.status_code is None:
            return record_no_response(checkout, at=at, reason=self.reason)
        return record_response(checkout, self.status_code, self.body, at=at)


_LOST = st.builds(
    SubmissionResponse,
    st.none(),
    reason=st.sampled_from(["timeout after 30 s", "connection reset", "no response"]),
)


def submission_responses(
    checkout_id: str | None = None,
) -> st.SearchStrategy[SubmissionResponse]:
    """Any answer a ``POST /orders`` can get, lost answers included, ready to record.

    :func:`http_responses` as :class:`SubmissionResponse` values, and timeouts and lost
    connections (``status_code`` ``None``).

    Example::

        @given(checkouts(), submission_responses())
        def test_my_submit(checkout, response):
            begin_submission(checkout)
            outcome = response.record(checkout)
            assert "failed-request" not in outcome.customer_message
            assert_submission_invariants(checkout)
    """
    answered = http_responses(checkout_id).map(lambda r: SubmissionResponse(r[0], r[1]))
    return answered | _LOST

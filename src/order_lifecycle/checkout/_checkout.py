"""Checkout consumption (DESIGN 1.1): a checkout becomes at most one order.

The shop's side of ``POST /orders``, in four calls, each moving the checkout only by firing
the checkout machine::

    body = begin_submission(checkout)          # open -> submitting, or refused
    response = http.post("/orders", json=body) # the shop's own HTTP client
    outcome = record_response(checkout, response.status_code, response.content)
    # ... or, on a timeout or a lost connection:
    outcome = record_no_response(checkout)     # submitting -> in_doubt
    # later, for a checkout in doubt, after GET /orders?checkoutId=...:
    settle(checkout, order_or_none)            # in_doubt -> consumed / open

Every call is all or nothing: a refusal or bad argument changes nothing. The one
deliberate exception is :class:`InvalidResponse`: a response that is not the provider's
shape, or that cannot be read at all, still moves the checkout to ``in_doubt`` (an order
may exist) and keeps the raw response on its attempt, and then raises. Once the request
was sent, a checkout is never left submitting by a failure to record its answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import attrs

from order_lifecycle.exceptions import (
    CheckoutAlreadyConsumed,
    InvalidInput,
    InvalidResponse,
    SubmissionRefused,
    WrongType,
)
from order_lifecycle.lifecycle import CheckoutEvent, CheckoutState, Step
from order_lifecycle.models import CHECKOUT_MACHINE, Checkout, Order, SubmissionAttempt

from ._observe import report_in_doubt, report_outcome, report_settled
from ._outcomes import InDoubt, OrderCreated, SubmissionOutcome
from ._responses import read_response

__all__ = [
    "begin_submission",
    "keep_in_doubt",
    "record_no_response",
    "record_response",
    "response_arguments",
    "settle",
]

_HTTP_STATUSES = range(100, 600)


def begin_submission(checkout: Checkout, *, at: datetime | None = None) -> dict[str, str]:
    """Claim ``checkout`` for one ``POST /orders``; the body to send it with.

    The checkout moves from open to submitting and gains an unanswered attempt stamped
    ``at`` (now by default). Only the checkout id is sent: the provider ignores anything
    else in the body.

    Raises:
        CheckoutAlreadyConsumed: it already became an order (``.order_id``).
        CheckoutRejected: a 409 rejected it; create a new checkout.
        SubmissionInDoubt: an earlier submission is in doubt; look it up and ``settle``.
        SubmissionInProgress: another submission awaits its response.
        WrongType: ``checkout`` or ``at`` has the wrong type.

    """
    _require_checkout(checkout)
    when = _moment(at)
    if not CHECKOUT_MACHINE.can_fire(checkout, CheckoutEvent.SUBMIT):
        raise _refusal(checkout)
    CHECKOUT_MACHINE.fire(checkout, CheckoutEvent.SUBMIT, at=when)
    checkout.attempts.append(SubmissionAttempt(at=when))
    return {"checkoutId": checkout.id}


def _refusal(checkout: Checkout) -> SubmissionRefused:
    """The submission's refusal in the checkout's state: the class the table names for it."""
    event, state = CheckoutEvent.SUBMIT, checkout.state
    reason = CHECKOUT_MACHINE.explain(checkout, event).reason
    refused_with = cast("type[SubmissionRefused]", CHECKOUT_MACHINE.refused_with(state, event))
    if issubclass(refused_with, CheckoutAlreadyConsumed):  # it names the order it became
        if checkout.order_id is not None:
            reason = f"{reason} ({checkout.order_id})"
        return refused_with(
            event, state, reason, checkout_id=checkout.id, order_id=checkout.order_id
        )
    return refused_with(event, state, reason, checkout_id=checkout.id)


def record_response(
    checkout: Checkout,
    status_code: int,
    body: str | bytes | bytearray,
    *,
    at: datetime | None = None,
) -> SubmissionOutcome:
    """Record the provider's answer to the submission in progress; what it came to.

    ``status_code`` and ``body`` are the response exactly as received (the body as text
    or bytes); both are kept on the checkout's attempt. The checkout moves by the outcome:

    - 201: :class:`OrderCreated` with the :class:`Order`; consumed, ``order_id`` set;
    - 409: :class:`SubmissionRejected`; rejected for good (a new checkout is needed);
    - 404: :class:`InDoubt`; the provider's answer to a checkout another ``POST /orders``
      already consumed (an automatic retry, another process): in doubt until :func:`settle`;
    - another 4xx: :class:`CheckoutNeedsChanges`; open again, to fix and resubmit;
    - 5xx: :class:`InDoubt`; in doubt until :func:`settle`.

    Raises:
        InvalidResponse: not the provider's shape (not JSON, no ``state``, an unknown
            state, a 201 without an order id, an id with a NUL, another status...), or a
            body that could not be read at all. The checkout is now in doubt and its
            attempt keeps the raw response.
        TransitionNotAllowed: no submission is in progress (call :func:`begin_submission`
            before sending); nothing changed.
        InvalidInput: ``status_code`` is not an HTTP status (100 to 599); nothing changed.
        WrongType: an argument of the wrong type; nothing changed.

    """
    _require_checkout(checkout)
    status_code, raw, when = response_arguments(status_code, body, at)
    try:
        outcome = read_response(checkout.id, status_code, raw, when)
    except InvalidResponse:
        _answer(checkout, CheckoutEvent.NO_RESPONSE, when, status_code, raw)
        report_in_doubt(checkout.id, f"HTTP {status_code}, not the provider's answer", status_code)
        raise
    _answer(checkout, outcome.event, when, status_code, raw)
    if isinstance(outcome, OrderCreated):
        checkout.order_id = outcome.order.id
    report_outcome(checkout.id, outcome)
    return outcome


def response_arguments(
    status_code: object, body: object, at: object
) -> tuple[int, str | bytes, datetime]:
    """The checked arguments of :func:`record_response`: status, raw body, moment.

    Raises:
        InvalidInput: ``status_code`` is not an HTTP status (100 to 599).
        WrongType: an argument of the wrong type.

    """
    if not isinstance(status_code, int) or isinstance(status_code, bool):
        raise WrongType("status_code", "an int", status_code)
    if status_code not in _HTTP_STATUSES:
        # Not a response an HTTP client can give (and too big an int is not even printable).
        shown = status_code if abs(status_code) < 10**9 else "a larger int"
        raise InvalidInput(
            f"status_code must be an HTTP status code, 100 to 599, got {shown}: "
            "record_no_response records a request that got no response."
        )
    raw = bytes(body) if isinstance(body, bytearray) else body
    if not isinstance(raw, (str, bytes)):
        raise WrongType("body", "the response body as str or bytes", body)
    return status_code, raw, _moment(at)


def keep_in_doubt(
    checkout: Checkout, status_code: int, body: str | bytes | None, at: datetime
) -> bool:
    """Move a submitting checkout to in doubt, keeping the response; whether it was submitting.

    What a ledger commits when recording a response failed after the request was sent: an
    order may exist, so the checkout must not stay submitting. ``body`` is ``None`` when
    the raw body itself could not be kept. A checkout no longer submitting (another call
    recorded its answer) is left as it is.
    """
    if checkout.state is not CheckoutState.SUBMITTING:
        return False
    _answer(checkout, CheckoutEvent.NO_RESPONSE, at, status_code, body)
    report_in_doubt(checkout.id, f"recording the HTTP {status_code} answer failed", status_code)
    return True


def record_no_response(
    checkout: Checkout, *, at: datetime | None = None, reason: str = "no response"
) -> InDoubt:
    """Record that the submission in progress got no answer (a timeout, a lost connection).

    The checkout moves to in doubt: an order may exist. ``reason`` is for operators
    ("timeout after 30 s").

    Raises:
        TransitionNotAllowed: no submission is in progress; nothing changed.
        WrongType: an argument of the wrong type; nothing changed.

    """
    _require_checkout(checkout)
    if not isinstance(reason, str) or not reason:
        raise WrongType("reason", "a non-empty str", reason)
    outcome = InDoubt(checkout.id, reason=reason)
    CHECKOUT_MACHINE.fire(checkout, outcome.event, at=_moment(at))
    report_in_doubt(checkout.id, reason)
    return outcome


def settle(
    checkout: Checkout, order: Order | None, *, at: datetime | None = None
) -> Step[CheckoutState, CheckoutEvent]:
    """Settle a checkout in doubt with what a lookup of orders by its id found.

    With the ``order`` found, the checkout is consumed and names it; with ``None``, it is
    open again and may be resubmitted.

    Raises:
        TransitionNotAllowed: the checkout is not in doubt; nothing changed.
        InvalidInput: ``order`` belongs to another checkout; nothing changed.
        WrongType: an argument of the wrong type; nothing changed.

    """
    _require_checkout(checkout)
    if order is not None and not isinstance(order, Order):
        raise WrongType("order", "the Order found, or None", order)
    if order is not None and order.checkout_id not in {None, checkout.id}:
        raise InvalidInput(
            f"order {order.id!r} belongs to checkout {order.checkout_id!r}, "
            f"not {checkout.id!r}: it cannot settle this one."
        )
    event = CheckoutEvent.NO_ORDER_FOUND if order is None else CheckoutEvent.ORDER_FOUND
    step = CHECKOUT_MACHINE.fire(checkout, event, at=_moment(at))
    if order is not None:
        checkout.order_id = order.id
    report_settled(checkout.id, None if order is None else order.id)
    return step


def _answer(
    checkout: Checkout,
    event: CheckoutEvent,
    when: datetime,
    status_code: int,
    body: str | bytes | None,
) -> None:
    """Fire ``event`` (refused unless submitting), then keep the response on the attempt."""
    CHECKOUT_MACHINE.fire(checkout, event, at=when)
    attempts = checkout.attempts
    if attempts and not attempts[-1].answered:
        attempts[-1] = attrs.evolve(attempts[-1], status_code=status_code, body=body)
    else:  # a checkout loaded in submitting without its attempt
        attempts.append(SubmissionAttempt(at=when, status_code=status_code, body=body))


def _require_checkout(checkout: object) -> None:
    if not isinstance(checkout, Checkout):
        raise WrongType("checkout", "a Checkout", checkout)


def _moment(at: object) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise WrongType("at", "a timezone-aware datetime", at)
    return at

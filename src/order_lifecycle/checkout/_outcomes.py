"""What a submission of a checkout came to: one typed outcome per kind of response.

Every outcome has ``customer_message``, safe to show to the shopper, and ``operator_detail``,
with the provider's codes; ``str()`` of an outcome is its customer message, and ``repr()``
shows every field. The provider allows its error ``message`` and a charge's
``failureMessage`` to be shown, never the error ``code`` or a charge's ``failureCode``
(DESIGN 1.4). So customer messages are made by :func:`_customer_text`, which shows message
texts only, and none that mentions a code (a provider message that just repeats its code,
``"invalid_parameter"``, is a code): then a plain sentence is shown instead. An outcome in
doubt (a 5xx, a 404, no answer) always shows its own plain sentence: the provider's text
there ("Try again later.") is about its servers, and would invite a second order.

Naming: :class:`InDoubt` is the *outcome* of a submission that got no usable answer; the
*exception* :class:`~order_lifecycle.exceptions.SubmissionInDoubt` is what
``begin_submission`` raises for a checkout left in that state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from enum import StrEnum
from typing import ClassVar

import attrs

from order_lifecycle.lifecycle import ORDER_SPEC, CheckoutEvent
from order_lifecycle.models import Order

__all__ = [
    "ChargeFailure",
    "CheckoutNeedsChanges",
    "InDoubt",
    "OrderCreated",
    "ProviderError",
    "RejectionCause",
    "SubmissionOutcome",
    "SubmissionRejected",
]


@attrs.frozen
class ProviderError:
    """One entry of the provider's ``errors[]``: ``message`` may be shown, ``code`` never."""

    code: str | None = None
    message: str | None = None
    parameter: str | None = None


@attrs.frozen
class ChargeFailure:
    """A charge's ``failureMessage`` (may be shown) and ``failureCode`` (operators only)."""

    charge_id: str
    code: str | None = None
    message: str | None = None


class RejectionCause(StrEnum):
    """What a 409's error codes point at: the payment, fraud, or nothing known."""

    PAYMENT = "payment"
    FRAUD = "fraud"
    UNKNOWN = "unknown"


# Codes documented for POST /orders 409 (dr-lifecycle-notes section 3); issuer declines
# come with further codes, so an unlisted code is UNKNOWN rather than guessed.
_FRAUD_CODES = frozenset({"fraud_block", "order-fraud-failure"})
_PAYMENT_CODES = frozenset(
    {
        "failed-request",
        "payment_authorization_failed",
        "create-order-failed",
        "order_submit_failed",
        "charge_not_capturable",
        "charge_expired",
        "source_not_chargeable",
        "source_expired",
    }
)


def _cause(errors: Iterable[ProviderError]) -> RejectionCause:
    codes = {e.code for e in errors if e.code is not None}
    if codes & _FRAUD_CODES:
        return RejectionCause.FRAUD
    if codes & _PAYMENT_CODES:
        return RejectionCause.PAYMENT
    return RejectionCause.UNKNOWN


def _customer_text(
    messages: Iterable[str | None], codes: Iterable[str | None], fallback: str
) -> str:
    """The messages the provider allows customers to see, once each; else ``fallback``.

    Shows message texts only, and none that mentions one of ``codes`` (case-insensitively):
    this is what makes customer messages safe. The joined text is checked too, since a
    code could span two messages.
    """
    mentioned = {c.strip().casefold() for c in codes if c is not None and c.strip()}
    shown = " ".join(
        dict.fromkeys(
            m.strip()
            for m in messages
            if m is not None and m.strip() and not _mentions(m, mentioned)
        )
    )
    return shown if shown and not _mentions(shown, mentioned) else fallback


def _mentions(text: str, codes: set[str]) -> bool:
    folded = text.casefold()
    return any(code in folded for code in codes)


def _listing(errors: Iterable[ProviderError]) -> str:
    parts = [
        f"{e.code or '(no code)'}"
        + (f" [{e.parameter}]" if e.parameter else "")
        + (f" {e.message!r}" if e.message else "")
        for e in errors
    ]
    return "; ".join(parts) if parts else "no errors listed"


@attrs.frozen
class SubmissionOutcome(ABC):
    """What one ``POST /orders`` of checkout ``checkout_id`` came to.

    ``event`` is the checkout machine's event the outcome fires.
    """

    event: ClassVar[CheckoutEvent]

    checkout_id: str

    @property
    @abstractmethod
    def customer_message(self) -> str:
        """A sentence safe to show the customer: provider messages only, never a code."""

    @property
    @abstractmethod
    def operator_detail(self) -> str:
        """What happened, with the provider's codes, for logs and operators."""

    def __str__(self) -> str:
        """The customer message: a shop may show ``str(outcome)``, so it holds no code."""
        return self.customer_message


@attrs.frozen
class OrderCreated(SubmissionOutcome):
    """201 Created: ``order`` exists in the state the provider gave; the checkout is consumed.

    ``charge_failures`` holds any charge failures the response reported.
    """

    event: ClassVar[CheckoutEvent] = CheckoutEvent.ORDER_CREATED

    order: Order
    charge_failures: tuple[ChargeFailure, ...] = ()

    @property
    def customer_message(self) -> str:
        """A sentence for the order's state, then any charge ``failureMessage``."""
        # The table's sentence for the state the order was created in.
        sentence = (
            ORDER_SPEC.state(self.order.state).customer or "Thank you, your order was placed."
        )
        codes = [f.code for f in self.charge_failures]
        failures = _customer_text((f.message for f in self.charge_failures), codes, "")
        # The sentence is ours; the check also covers a code spanning it and the failures.
        return _customer_text([f"{sentence} {failures}"], codes, sentence)

    @property
    def operator_detail(self) -> str:
        """The order's id, state, fraud state and charges, with failure codes."""
        order = self.order
        charges = ", ".join(f"{c.id} {c.state} {c.amount}" for c in order.charges) or "none"
        text = (
            f"checkout {self.checkout_id!r}: 201, order {order.id!r} {order.state}, "
            f"fraud state {order.fraud_state or 'absent'}, charges: {charges}"
        )
        for f in self.charge_failures:
            text += f"; charge {f.charge_id} failed: {f.code or '(no code)'} {f.message or ''}"
        return text.rstrip()


@attrs.frozen
class _ErrorOutcome(SubmissionOutcome):
    """An outcome carrying the provider's error body: its ``type`` and ``errors[]``."""

    fallback: ClassVar[str] = ""

    status_code: int | None = None
    error_type: str | None = None
    errors: tuple[ProviderError, ...] = ()

    @property
    def customer_message(self) -> str:
        """The provider's error messages, or a plain sentence when none may be shown."""
        return _customer_text(
            (e.message for e in self.errors), (e.code for e in self.errors), self.fallback
        )

    @property
    def operator_detail(self) -> str:
        """The status, error type and every error's code, parameter and message."""
        status = "no response" if self.status_code is None else f"HTTP {self.status_code}"
        kind = f" {self.error_type}" if self.error_type else ""
        return f"checkout {self.checkout_id!r}: {status}{kind}: {_listing(self.errors)}"


@attrs.frozen
class SubmissionRejected(_ErrorOutcome):
    """409 Conflict: payment or fraud; the checkout is rejected for good.

    The same checkout can never be submitted again: a new checkout is needed, and usually a
    new payment source (:attr:`new_payment_source_advised`, false when fraud is the cause).
    """

    event: ClassVar[CheckoutEvent] = CheckoutEvent.REJECTED
    fallback: ClassVar[str] = (
        "Your order could not be placed. Please check out again, with another payment method "
        "if you can."
    )
    needs_new_checkout: ClassVar[bool] = True

    @property
    def cause(self) -> RejectionCause:
        """Whether the error codes point at the payment or at fraud (or neither)."""
        return _cause(self.errors)

    @property
    def new_payment_source_advised(self) -> bool:
        """A new payment source may help: the cause is not fraud."""
        return self.cause is not RejectionCause.FRAUD

    @property
    def operator_detail(self) -> str:
        """The error listing, the cause, and what the shop must do next."""
        return f"{super().operator_detail}; cause: {self.cause}; needs a new checkout" + (
            " and a new payment source" if self.new_payment_source_advised else ""
        )


@attrs.frozen
class CheckoutNeedsChanges(_ErrorOutcome):
    """A 4xx other than 404 and 409: no order; fix the checkout and resubmit the same id."""

    event: ClassVar[CheckoutEvent] = CheckoutEvent.NEEDS_CHANGES
    fallback: ClassVar[str] = (
        "Your order could not be placed yet. Please review your details and try again."
    )


@attrs.frozen
class InDoubt(_ErrorOutcome):
    """5xx, 404, a timeout or a lost connection: an order may exist; the checkout is in doubt.

    ``status_code`` is ``None`` when no response came; ``reason`` says what happened. A 404
    is the provider's answer to a checkout another ``POST /orders`` already consumed (an
    automatic retry). Do not resubmit: look up orders by checkout id and ``settle`` it.
    """

    event: ClassVar[CheckoutEvent] = CheckoutEvent.NO_RESPONSE
    fallback: ClassVar[str] = (
        "We could not confirm your order yet. Please do not order again; "
        "we will let you know shortly."
    )

    reason: str = "no response"

    @property
    def customer_message(self) -> str:
        """The plain sentence, whatever the provider's messages say (operators see them)."""
        # A 5xx's "Try again later." and a 404's "Order ... not found" both read as a
        # failure to retry, yet an order may exist: the customer must not order again.
        return self.fallback

    @property
    def operator_detail(self) -> str:
        """The reason, the status and any errors, and what to do next."""
        status = "no response" if self.status_code is None else f"HTTP {self.status_code}"
        kind = f" {self.error_type}" if self.error_type else ""
        listing = f": {_listing(self.errors)}" if self.errors else ""
        return (
            f"checkout {self.checkout_id!r}: {self.reason} ({status}{kind}){listing}; "
            "in doubt: look up orders by checkout id, then settle"
        )

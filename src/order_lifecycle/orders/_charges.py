"""Capturing, cancelling and refunding charge amounts (DESIGN 1.2).

A charge's authorized ``amount`` is captured or cancelled in parts; once nothing is left
open it is ``complete`` (something was captured) or ``cancelled``. Which states allow each
operation (``capture``, ``cancel_charge``, ``refund``), and what each needs of the order's
data (something fulfilled before a capture, something captured before a refund), is the
order table's to say (``_tables``); here are the amounts. A refund takes only what was
captured and not refunded yet.
"""

from __future__ import annotations

from datetime import datetime
from decimal import MAX_EMAX, MIN_EMIN, Decimal, Inexact, localcontext
from typing import Any

import attrs

from order_lifecycle.exceptions import AmountTooLarge, InvalidAmount, RefundNotAllowed
from order_lifecycle.lifecycle import ORDER_SPEC, ChargeState, Operation
from order_lifecycle.models import ORDER_MACHINE, Charge, Order
from order_lifecycle.provider import AMOUNT_LIMIT

from ._apply import amount_of, charge_of, check_currency, commit, require

__all__ = ["RefundRequest", "cancel_charge", "capture", "refund"]

_OPEN_CHARGE = frozenset({ChargeState.CAPTURABLE, ChargeState.PROCESSING})


@attrs.frozen
class RefundRequest:
    """The body of the provider's ``POST /refunds`` for an order-level refund."""

    order_id: str
    amount: Decimal
    currency: str | None

    def as_json(self) -> dict[str, Any]:
        """``{"orderId", "currency", "amount"}``; the amount as a JSON number."""
        body: dict[str, Any] = {"orderId": self.order_id}
        if self.currency is not None:
            body["currency"] = self.currency
        body["amount"] = float(self.amount)
        return body


def capture(
    order: Order,
    charge_id: str,
    amount: Decimal | int | str,
    *,
    currency: str | None = None,
    at: datetime | None = None,
) -> Charge:
    """Record ``amount`` of a charge as captured; returns the charge as it is now.

    Capturing all that is left open completes the charge; when every charge is settled
    the order completes (the steps land in its history at ``at``).

    Raises:
        ChargeNotAllowed: the order is neither accepted nor fulfilled, or nothing has
            been fulfilled yet; says why.
        AmountTooLarge: more than is open on the charge (nothing is, unless it is
            ``capturable`` or ``processing``).
        UnknownCharge, InvalidAmount, CurrencyMismatch: bad input, naming charge and value.

    """
    charge, wanted = _checked(order, charge_id, amount, currency, Operation.CAPTURE)
    captured = _exactly(charge.captured, wanted, f"Charge {charge.id!r}", amount)
    return _commit(order, attrs.evolve(charge, captured=captured), Operation.CAPTURE, at)


def cancel_charge(
    order: Order,
    charge_id: str,
    amount: Decimal | int | str,
    *,
    currency: str | None = None,
    at: datetime | None = None,
) -> Charge:
    """Record ``amount`` of a charge as cancelled; returns the charge as it is now.

    Cancelling all that is left open settles the charge: ``complete`` if part of it was
    captured, else ``cancelled``.

    Raises:
        ChargeNotAllowed: the order is neither accepted nor fulfilled; says why.
        AmountTooLarge: more than is open on the charge.
        UnknownCharge, InvalidAmount, CurrencyMismatch: bad input, naming charge and value.

    """
    charge, wanted = _checked(order, charge_id, amount, currency, Operation.CANCEL_CHARGE)
    cancelled = _exactly(charge.cancelled, wanted, f"Charge {charge.id!r}", amount)
    return _commit(order, attrs.evolve(charge, cancelled=cancelled), Operation.CANCEL_CHARGE, at)


def refund(
    order: Order,
    amount: Decimal | int | str,
    *,
    currency: str | None = None,
) -> RefundRequest:
    """Record a refund of ``amount``, taken from the charges in order; returns its request.

    Refunds change no item or charge state, so never the order's state.

    Raises:
        RefundNotAllowed: in dispute (or another state without captures), or nothing
            captured yet.
        AmountTooLarge: more than captured minus refunded; ``available`` says how much may be.
        InvalidAmount, CurrencyMismatch: bad input, naming the order and the value
            (also an amount of 10^18 or more: no real one, and sums of it overflow; and one
            no refunded total can hold exactly, such as 1e-10000000).

    """
    what = f"Refund of order {order.id!r}"
    wanted = amount_of(amount, what)
    if wanted >= AMOUNT_LIMIT:
        raise InvalidAmount(what, amount)
    check_currency(order, None, currency, what)
    refusal = ORDER_MACHINE.operation_refusal(order, Operation.REFUND)
    # Charges may be absurdly large (9e999999 each): their sum must not overflow Decimal's
    # default exponent limit, and a wanted amount below AMOUNT_LIMIT compares with it.
    with localcontext(Emax=MAX_EMAX, Emin=MIN_EMIN):
        available = sum((c.refundable for c in order.charges), Decimal(0))
    if refusal is not None:
        # In a state the table refuses, nothing may be refunded; else nothing was captured.
        allowed_here = order.state in ORDER_SPEC.operation(Operation.REFUND).allowed_in
        raise RefundNotAllowed(
            Operation.REFUND, order.state, refusal, available if allowed_here else Decimal(0)
        )
    if wanted > available:
        raise AmountTooLarge(
            None,
            "refund",
            wanted,
            available,
            currency=order.currency,
            order_id=order.id,
            remains="captured minus refunded",
        )
    left, charges = wanted, []
    for charge in order.charges:
        part = min(left, charge.refundable)
        if part:
            # copy_negate, not ``-part``: unary minus rounds in the default context (a
            # tiny part would become -0, and the same amount be refunded twice).
            left = _exactly(left, part.copy_negate(), what, amount)
            charge = attrs.evolve(charge, refunded=_exactly(charge.refunded, part, what, amount))  # noqa: PLW2901 (the charge as refunded)
        charges.append(charge)
    order.charges = tuple(charges)
    return RefundRequest(order.id, wanted, order.currency or (currency and currency.upper()))


def _exactly(total: Decimal, part: Decimal, what: str, value: object) -> Decimal:
    """``total + part`` exactly, whatever their exponents; an amount no sum holds is refused.

    In ``Decimal``'s default context, ``0 + 1e-10000000`` is silently 0: a refund of it would
    be requested and never recorded.

    Raises:
        InvalidAmount: the sum cannot be exact (28 digits apart), naming ``what`` and ``value``.

    """
    with localcontext(Emax=MAX_EMAX, Emin=MIN_EMIN) as context:
        context.traps[Inexact] = True
        try:
            return total + part
        except Inexact:
            raise InvalidAmount(what, value) from None


def _checked(
    order: Order, charge_id: str, amount: object, currency: str | None, action: Operation
) -> tuple[Charge, Decimal]:
    """The charge and the amount to capture or cancel, once every check has passed."""
    charge = charge_of(order, charge_id)
    what = f"Charge {charge.id!r}"
    wanted = amount_of(amount, what)
    check_currency(order, charge, currency, what)
    require(order, action)
    available = charge.open_amount if charge.state in _OPEN_CHARGE else Decimal(0)
    if wanted > available:
        unit = charge.currency or order.currency
        verb = "capture" if action is Operation.CAPTURE else "cancel"
        raise AmountTooLarge(charge.id, verb, wanted, available, currency=unit)
    return charge, wanted


def _commit(order: Order, changed: Charge, action: Operation, at: datetime | None) -> Charge:
    """Replace the charge, settled once nothing is left open, and fire what that implies."""
    if not changed.open_amount:
        settled = ChargeState.COMPLETE if changed.captured else ChargeState.CANCELLED
        changed = attrs.evolve(changed, state=settled)
    charges = tuple(changed if c.id == changed.id else c for c in order.charges)
    commit(order, action, charges=charges, at=at)
    return changed

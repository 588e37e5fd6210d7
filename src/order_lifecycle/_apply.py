"""What every operation on items and charges shares: checking its input, then one commit.

An operation validates everything first (input, the order's state, what remains), computes
the new items and charges, and only then hands them to :func:`commit`, which tries the
events the new data implies (:func:`~order_lifecycle._derived.implied_state`) on a copy
first, so a refused operation changes nothing, and an accepted one moves the order only
through the machine, each step in its history.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

import attrs

from ._derived import implied_state
from ._lifecycle import ORDER_MACHINE
from ._machine import Step
from ._models import Charge, Item, Order
from ._tables import ORDER_SPEC
from ._vocabulary import OrderEvent, OrderState
from .exceptions import (
    CurrencyMismatch,
    InvalidAmount,
    InvalidInput,
    InvalidQuantity,
    TransitionNotAllowed,
    UnknownCharge,
    UnknownItem,
    WrongType,
)

__all__ = [
    "amount_of",
    "charge_of",
    "check_currency",
    "commit",
    "money",
    "quantities",
    "reason",
    "refuse",
]

Refusal = Callable[[str, str, str], TransitionNotAllowed]
"""A ``TransitionNotAllowed`` class (or factory) taking the action, the state and the reason."""

# The events that items and charges decide, in the order the provider announces them, each
# with the one target it may be fired towards: ``cancel`` (unguarded from pending_payment)
# and ``return`` (unguarded) only towards their own state; the others as their guards allow.
_DATA_EVENTS = {
    OrderEvent.CANCEL: frozenset({OrderState.CANCELLED}),
    OrderEvent.FULFIL: frozenset(OrderState),
    OrderEvent.COMPLETE: frozenset(OrderState),
    OrderEvent.RETURN: frozenset({OrderState.RETURNED}),
}


def refuse(order: Order, action: str, allowed: Collection[OrderState], error: Refusal) -> None:
    """Raise ``error`` unless the order is in one of ``allowed``, with its state's reason."""
    if order.state not in allowed:
        raise error(action, order.state, reason(order))


def reason(order: Order) -> str:
    """Why the order's state refuses what it refuses: the table's sentence for it."""
    return ORDER_SPEC.state(order.state).refusal


def quantities(order: Order, requested: object) -> dict[str, int]:
    """``requested`` (item id -> units) checked, in the order's item order.

    Raises:
        WrongType: ``requested`` is not a mapping.
        InvalidInput: it is empty.
        UnknownItem: an id the order does not have.
        InvalidQuantity: a quantity that is not an ``int`` of 1 or more.

    """
    if not isinstance(requested, Mapping):
        raise WrongType("quantities", "a mapping of item id to quantity", requested)
    if not requested:
        raise InvalidInput(f"order {order.id!r}: no item given; name at least one item id.")
    known = [item.id for item in order.items]
    for item_id, quantity in requested.items():
        if item_id not in known:
            raise UnknownItem(order.id, item_id, known)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise InvalidQuantity(item_id, quantity)
    return {item_id: requested[item_id] for item_id in known if item_id in requested}


def amount_of(value: object, what: str) -> Decimal:
    """``value`` as a finite ``Decimal`` above 0 (``bool`` is not an amount).

    Raises:
        InvalidAmount: anything else, naming ``what`` and the value.

    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise InvalidAmount(what, value)
    try:
        # str() first: a float like 27.01 means the decimal 27.01, not its binary neighbour.
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidAmount(what, value) from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidAmount(what, value)
    return amount


def check_currency(order: Order, charge: Charge | None, currency: object, what: str) -> None:
    """Refuse ``currency`` unless it is the charge's (or else the order's), when that is known.

    ``None`` means "in the order's currency". An order whose charges state no currency
    accepts any.

    Raises:
        WrongType: ``currency`` is not a string.
        CurrencyMismatch: it names another currency, naming ``what`` and the value.

    """
    if currency is None:
        return
    if not isinstance(currency, str):
        raise WrongType("currency", "a str such as 'USD'", currency)
    expected = (charge.currency if charge is not None else None) or order.currency
    if expected is not None and currency.upper() != expected:
        raise CurrencyMismatch(what, currency, expected)


def charge_of(order: Order, charge_id: object) -> Charge:
    """The order's charge with this id.

    Raises:
        UnknownCharge: the order has no such charge.

    """
    for charge in order.charges:
        if charge.id == charge_id:
            return charge
    raise UnknownCharge(order.id, charge_id, [c.id for c in order.charges])


def money(amount: Decimal, currency: str | None) -> str:
    """An amount for a message: ``"34.94 USD"``, or ``"34.94"`` with no currency known."""
    return f"{amount} {currency}" if currency else str(amount)


def commit(  # noqa: PLR0913 (the operation's name and error, its new data, its time)
    order: Order,
    action: str,
    error: Refusal,
    *,
    items: Iterable[Item] | None = None,
    charges: Iterable[Charge] | None = None,
    at: datetime | None = None,
) -> tuple[Step[OrderState, OrderEvent], ...]:
    """Give ``order`` its new items and charges, and fire the events they imply.

    The events are tried on a copy first; if the new data would leave the order in a state
    the table cannot take it to, ``error`` is raised and nothing changes.

    Returns:
        The steps fired, in order (often none).

    """
    new_items = order.items if items is None else tuple(items)
    new_charges = order.charges if charges is None else tuple(charges)
    trial = attrs.evolve(order.copy(), items=new_items, charges=new_charges)
    target = implied_state(new_items, new_charges)
    events: list[OrderEvent] = []
    while trial.state is not target:
        event = next(
            (
                e
                for e, targets in _DATA_EVENTS.items()
                if target in targets and ORDER_MACHINE.can_fire(trial, e)
            ),
            None,
        )
        if event is None:
            raise error(
                action,
                order.state,
                f"its items and charges would then say {target}, which the order can't reach",
            )
        ORDER_MACHINE.fire(trial, event, at=at)
        events.append(event)
    # The commit point: data first, then the steps; every guard passed on the same data.
    order.items, order.charges = new_items, new_charges
    return tuple(ORDER_MACHINE.fire(order, event, at=at) for event in events)

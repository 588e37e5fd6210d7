"""What every operation on items and charges shares: checking its input, then one commit.

An operation validates everything first (input, whether the order table allows it now,
what remains), computes the new items and charges, and only then hands them to
:func:`commit`, which tries the events leading to the state the new data implies (the
table's ``implied`` rule) on a copy first, so a refused operation changes nothing, and an
accepted one moves the order only through the machine, each step in its history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

import attrs

from order_lifecycle.exceptions import (
    CurrencyMismatch,
    InvalidAmount,
    InvalidInput,
    InvalidQuantity,
    UnknownCharge,
    UnknownItem,
    WrongType,
)
from order_lifecycle.lifecycle import ORDER_SPEC, Operation, OrderEvent, OrderState, Step
from order_lifecycle.models import ORDER_MACHINE, Charge, Item, Order, implied_state

__all__ = [
    "amount_of",
    "charge_of",
    "check_currency",
    "commit",
    "quantities",
    "require",
]

# The states the data decides: those of the implied rule's guarded rows.
_DECIDED = frozenset(i.state for i in ORDER_SPEC.implied if i.guard is not None)
# The events items and charges decide: every row of theirs leads into a state the data
# decides (cancel, fulfil, complete, return), in the provider's order of announcing them.
_DATA_EVENTS = tuple(
    e.value
    for e in ORDER_SPEC.events
    if all(r.dest in _DECIDED for r in ORDER_SPEC.transitions if r.event is e.value)
)
# For each state, the states the data events lead to from it (itself included).
_REACH = {
    state: ORDER_SPEC.reachable(state, skip=lambda row: row.event not in _DATA_EVENTS)
    for state in OrderState
}


def require(order: Order, operation: Operation) -> None:
    """Raise the operation's refusal unless the order table allows it in the order's state.

    Raises:
        OperationNotAllowed: the operation's own subclass, with the table's reason.

    """
    ORDER_MACHINE.require(order, operation)


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
        # (An int of more than 4,300 digits refuses str(): ValueError.)
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
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


def commit(
    order: Order,
    operation: Operation,
    *,
    items: Iterable[Item] | None = None,
    charges: Iterable[Charge] | None = None,
    at: datetime | None = None,
) -> tuple[Step[OrderState, OrderEvent], ...]:
    """Give ``order`` its new items and charges, and fire the events they imply.

    The events are tried on a copy first; if the new data would leave the order in a state
    the table cannot take it to, the operation's refusal is raised and nothing changes.

    Returns:
        The steps fired, in order (often none).

    """
    new_items = order.items if items is None else tuple(items)
    new_charges = order.charges if charges is None else tuple(charges)
    trial = attrs.evolve(order.copy(), items=new_items, charges=new_charges)
    target = implied_state(trial)
    events: list[OrderEvent] = []
    while trial.state is not target:
        event = next((e for e in _DATA_EVENTS if _leads(trial, e, target)), None)
        if event is None:
            raise ORDER_MACHINE.operation_refused(
                order,
                operation,
                f"its items and charges would then say {target}, which the order can't reach",
            )
        ORDER_MACHINE.fire(trial, event, at=at)
        events.append(event)
    # The commit point: data first, then the steps; every guard passed on the same data.
    order.items, order.charges = new_items, new_charges
    return tuple(ORDER_MACHINE.fire(order, event, at=at) for event in events)


def _leads(order: Order, event: OrderEvent, target: OrderState) -> bool:
    """Whether ``event`` fires now along a row from which the data events reach ``target``."""
    row = ORDER_MACHINE.row_for(order, event)
    return row is not None and target in _REACH[row.dest]

"""The two machines, bound to their guards, and the facade that picks one by model type."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast, overload

from order_lifecycle.exceptions import WrongType
from order_lifecycle.lifecycle import (
    CHECKOUT_SPEC,
    ORDER_SPEC,
    CheckoutEvent,
    CheckoutState,
    Explanation,
    Machine,
    Operation,
    OrderEvent,
    OrderState,
    Step,
    slot_setter,
)

from ._guards import ORDER_GUARDS
from ._models import Checkout, Order

__all__ = [
    "CHECKOUT_MACHINE",
    "ORDER_MACHINE",
    "allowed_events",
    "allowed_operations",
    "can_fire",
    "explain",
    "fire",
    "implied_state",
]

# Each machine writes its model's state slot directly: what it writes is a state of its own
# table, which the model's converter (run on every other assignment) would give back as is.
ORDER_MACHINE: Machine[OrderState, OrderEvent, Order] = Machine(
    ORDER_SPEC, ORDER_GUARDS, set_state=slot_setter(Order)
)
"""The order lifecycle (DESIGN 1.2) as a running machine."""

CHECKOUT_MACHINE: Machine[CheckoutState, CheckoutEvent, Checkout] = Machine(
    CHECKOUT_SPEC, {}, set_state=slot_setter(Checkout)
)
"""The checkout lifecycle (DESIGN 1.1) as a running machine."""


def _machine_for(model: object) -> Machine[Any, Any, Any]:
    if isinstance(model, Order):
        return ORDER_MACHINE
    if isinstance(model, Checkout):
        return CHECKOUT_MACHINE
    raise WrongType("model", "an Order or a Checkout", model)


@overload
def fire(
    model: Order,
    event: OrderEvent | str,
    *,
    at: datetime | None = ...,
    event_id: str | None = ...,
    implied: bool = ...,
) -> Step[OrderState, OrderEvent]: ...
@overload
def fire(
    model: Checkout,
    event: CheckoutEvent | str,
    *,
    at: datetime | None = ...,
    event_id: str | None = ...,
    implied: bool = ...,
) -> Step[CheckoutState, CheckoutEvent]: ...
def fire(
    model: Order | Checkout,
    event: OrderEvent | CheckoutEvent | str,
    *,
    at: datetime | None = None,
    event_id: str | None = None,
    implied: bool = False,
) -> Step[Any, Any]:
    """Move ``model`` along ``event`` and record the step; a refused event changes nothing.

    Raises:
        UnknownEvent: not an event of the model's machine.
        WrongType: a model, event or time of the wrong type.
        TransitionNotAllowed: refused in the current state (``FulfillmentNotAllowed`` for
            fulfilment); the message says why.

    """
    return _machine_for(model).fire(model, event, at=at, event_id=event_id, implied=implied)


def can_fire(model: Order | Checkout, event: OrderEvent | CheckoutEvent | str) -> bool:
    """Whether ``event`` would be accepted now; never changes anything."""
    return _machine_for(model).can_fire(model, event)


@overload
def allowed_events(model: Order) -> tuple[OrderEvent, ...]: ...
@overload
def allowed_events(model: Checkout) -> tuple[CheckoutEvent, ...]: ...
def allowed_events(model: Order | Checkout) -> tuple[Any, ...]:
    """Every event that would be accepted now, in the table's order."""
    return _machine_for(model).allowed_events(model)


def allowed_operations(order: Order) -> tuple[Operation, ...]:
    """Every merchant operation the order table allows the order now, in the table's order.

    Raises:
        WrongType: ``order`` is not an ``Order`` (a checkout has no operations).

    """
    if not isinstance(order, Order):
        raise WrongType("order", "an Order", order)
    return cast("tuple[Operation, ...]", ORDER_MACHINE.allowed_operations(order))


@overload
def explain(
    model: Order, subject: OrderEvent | Operation | str
) -> Explanation[OrderState, OrderEvent]: ...
@overload
def explain(
    model: Checkout, subject: CheckoutEvent | str
) -> Explanation[CheckoutState, CheckoutEvent]: ...
def explain(
    model: Order | Checkout, subject: OrderEvent | CheckoutEvent | Operation | str
) -> Explanation[Any, Any]:
    """Why an event (or, for an order, an operation) is refused now, and the shortest way on.

    A name is an event's when the machine has that event (``"fulfil"``: the provider's
    ``order.fulfilled``), else an operation's (``"fulfil_items"``).
    """
    return _machine_for(model).explain(model, subject)


def implied_state(order: Order) -> OrderState:
    """The state an accepted order's items and charges put it in (the table's ``implied`` rule).

    In order of precedence: ``cancelled`` when every item and charge is cancelled,
    ``returned`` when every fulfilled unit came back, ``complete`` when fulfilled with every
    charge settled, ``fulfilled`` when no unit is open, else ``accepted``. It holds for an
    order that was accepted and is not in dispute (in dispute, for the state it resumes).

    Raises:
        WrongType: ``order`` is not an ``Order``.

    """
    if not isinstance(order, Order):
        raise WrongType("order", "an Order", order)
    return cast("OrderState", ORDER_MACHINE.implied_state(order))

"""The one exception tree of order-lifecycle.

Every error the library raises on purpose derives from :class:`OrderLifecycleError`, so
callers can catch the library's refusals in one place without catching their own bugs::

    OrderLifecycleError
    ├── InvalidDefinition            a lifecycle spec is broken (found when it is built)
    ├── GraphvizMissing              SVG output needs Graphviz's `dot` program
    ├── InvalidInput (ValueError)    a value handed to the library is not one it knows
    │   ├── UnknownEvent             an event name the machine does not define
    │   ├── UnknownState             a state name the machine does not define
    │   ├── InvalidHistory           a recorded history that the table does not allow
    │   ├── WrongType (TypeError)    a value of the wrong type
    │   ├── UnknownItem              an item id the order does not have
    │   ├── UnknownCharge            a charge id the order does not have
    │   ├── InvalidQuantity          a quantity that is not a whole number of 1 or more
    │   ├── InvalidAmount            an amount that is not a finite number above 0
    │   ├── CurrencyMismatch         an amount in a currency other than the order's
    │   ├── QuantityTooLarge         more units than remain of an item (quantity_too_large)
    │   └── AmountTooLarge           more money than remains open on a charge
    └── TransitionNotAllowed         the event is known but refused in the current state
        ├── FulfillmentNotAllowed    fulfil, cancel or capture outside accepted, saying why
        ├── ReturnNotAllowed         a return before acceptance, or during a dispute
        └── RefundNotAllowed         a refund above captured minus refunded, or in dispute

A refused operation never changes the model it was asked to change.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AmountTooLarge",
    "CurrencyMismatch",
    "FulfillmentNotAllowed",
    "GraphvizMissing",
    "InvalidAmount",
    "InvalidDefinition",
    "InvalidHistory",
    "InvalidInput",
    "InvalidQuantity",
    "OrderLifecycleError",
    "QuantityTooLarge",
    "RefundNotAllowed",
    "ReturnNotAllowed",
    "TransitionNotAllowed",
    "UnknownCharge",
    "UnknownEvent",
    "UnknownItem",
    "UnknownState",
    "WrongType",
]


class OrderLifecycleError(Exception):
    """The root of every error order-lifecycle raises on purpose."""


class InvalidDefinition(OrderLifecycleError):
    """A lifecycle spec is inconsistent; the message names the offending ids and the fix."""


class GraphvizMissing(OrderLifecycleError):
    """SVG output needs Graphviz's ``dot`` program, which is not installed."""


class InvalidInput(OrderLifecycleError, ValueError):
    """A value handed to the library is not one it knows."""


class UnknownEvent(InvalidInput):
    """An event name the machine does not define."""

    def __init__(self, machine: str, value: object, known: Iterable[str]) -> None:
        self.machine = machine
        self.value = value
        self.known = tuple(known)
        super().__init__(
            f"Unknown {machine} event {value!r}: expected one of {', '.join(self.known)}."
        )


class UnknownState(InvalidInput):
    """A state name the machine does not define."""

    def __init__(self, machine: str, value: object, known: Iterable[str]) -> None:
        self.machine = machine
        self.value = value
        self.known = tuple(known)
        super().__init__(
            f"Unknown {machine} state {value!r}: expected one of {', '.join(self.known)}."
        )


class InvalidHistory(InvalidInput):
    """A recorded history that the table does not allow, naming the first bad step."""

    def __init__(self, machine: str, index: int, problem: str) -> None:
        self.machine = machine
        self.index = index
        super().__init__(f"The {machine} history is not legal at step {index}: {problem}.")


class WrongType(InvalidInput, TypeError):
    """A value of the wrong type, named with what was expected."""

    def __init__(self, what: str, expected: str, value: object) -> None:
        self.what = what
        self.expected = expected
        self.value = value
        super().__init__(f"{what} must be {expected}, got {type(value).__name__} {value!r}.")


class UnknownItem(InvalidInput):
    """An item id the order does not have."""

    def __init__(self, order_id: str, item_id: object, known: Iterable[str]) -> None:
        self.order_id = order_id
        self.item_id = item_id
        self.known = tuple(known)
        super().__init__(
            f"Order {order_id!r} has no item {item_id!r}: its items are "
            f"{', '.join(self.known) or 'none'}."
        )


class UnknownCharge(InvalidInput):
    """A charge id the order does not have."""

    def __init__(self, order_id: str, charge_id: object, known: Iterable[str]) -> None:
        self.order_id = order_id
        self.charge_id = charge_id
        self.known = tuple(known)
        super().__init__(
            f"Order {order_id!r} has no charge {charge_id!r}: its charges are "
            f"{', '.join(self.known) or 'none'}."
        )


class InvalidQuantity(InvalidInput):
    """A quantity that is not a whole number of units, 1 or more (``bool`` is not one)."""

    def __init__(self, item_id: str, value: object) -> None:
        self.item_id = item_id
        self.value = value
        super().__init__(
            f"Item {item_id!r}: the quantity must be a whole number, 1 or more, "
            f"got {type(value).__name__} {value!r}."
        )


class InvalidAmount(InvalidInput):
    """An amount that is not a finite number above 0; ``what`` names what it was for."""

    def __init__(self, what: str, value: object) -> None:
        self.what = what
        self.value = value
        super().__init__(
            f"{what}: the amount must be a finite number above 0, "
            f"got {type(value).__name__} {value!r}."
        )


class CurrencyMismatch(InvalidInput):
    """An amount in a currency other than the one its order or charge is in."""

    def __init__(self, what: str, value: object, expected: str) -> None:
        self.what = what
        self.value = value
        self.expected = expected
        super().__init__(f"{what}: the amount is in {value!r}, but the order is in {expected}.")


class QuantityTooLarge(InvalidInput):
    """More units than remain of an item; the provider's 409 ``quantity_too_large``.

    ``available`` is how many units the operation could still take.
    """

    code = "quantity_too_large"

    def __init__(self, item_id: str, action: str, value: int, available: int) -> None:
        self.item_id = item_id
        self.action = action
        self.value = value
        self.available = available
        super().__init__(
            f"Item {item_id!r}: can't {action} {value}, only {available} "
            f"{'unit is' if available == 1 else 'units are'} left to {action}."
        )


class AmountTooLarge(InvalidInput):
    """More money than remains open on a charge; ``available`` is what remains."""

    def __init__(self, charge_id: str, action: str, value: object, available: object) -> None:
        self.charge_id = charge_id
        self.action = action
        self.value = value
        self.available = available
        super().__init__(
            f"Charge {charge_id!r}: can't {action} {value}, only {available} is left to {action}."
        )


class TransitionNotAllowed(OrderLifecycleError):
    """The event is known but refused in the model's current state.

    ``event`` and ``state`` are the machine's own values (enum members); ``reason`` is the
    sentence after the colon, for callers that compose their own message.
    """

    def __init__(self, event: str, state: str, reason: str) -> None:
        self.event = event
        self.state = state
        self.reason = reason
        super().__init__(f"Can't {event} when in {state}: {reason}.")


class FulfillmentNotAllowed(TransitionNotAllowed):
    """Fulfilment refused: only an accepted order may be fulfilled.

    Also raised for what the provider does through a fulfilment: cancelling items, and
    capturing or cancelling charge amounts (those also while the order is fulfilled).
    """


class ReturnNotAllowed(TransitionNotAllowed):
    """A return refused by the order's state: before acceptance, in dispute, once returned."""


class RefundNotAllowed(TransitionNotAllowed):
    """A refund refused: nothing captured, more than captured minus refunded, or in dispute.

    ``available`` is the amount that could be refunded now (captured minus refunded; 0 in
    a state that refuses refunds).
    """

    def __init__(self, event: str, state: str, reason: str, available: object) -> None:
        self.available = available
        super().__init__(event, state, reason)

"""The one exception tree of order-lifecycle.

Every error the library raises on purpose derives from :class:`OrderLifecycleError`, so
callers can catch the library's refusals in one place without catching their own bugs::

    OrderLifecycleError
    ├── InvalidDefinition            a lifecycle spec is broken (found when it is built)
    ├── GraphvizMissing              SVG output needs Graphviz's `dot` program
    ├── InvalidSignature             a webhook delivery not signed by a known secret, in time
    ├── InvalidInput (ValueError)    a value handed to the library is not one it knows
    │   ├── UnknownEvent             an event name the machine does not define
    │   ├── UnknownState             a state name the machine does not define
    │   ├── InvalidHistory           a recorded history that the table does not allow
    │   └── WrongType (TypeError)    a value of the wrong type
    └── TransitionNotAllowed         the event is known but refused in the current state
        └── FulfillmentNotAllowed    fulfilment before acceptance, or after the order left it

A refused operation never changes the model it was asked to change.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "FulfillmentNotAllowed",
    "GraphvizMissing",
    "InvalidDefinition",
    "InvalidHistory",
    "InvalidInput",
    "InvalidSignature",
    "OrderLifecycleError",
    "TransitionNotAllowed",
    "UnknownEvent",
    "UnknownState",
    "WrongType",
]


class OrderLifecycleError(Exception):
    """The root of every error order-lifecycle raises on purpose."""


class InvalidDefinition(OrderLifecycleError):
    """A lifecycle spec is inconsistent; the message names the offending ids and the fix."""


class GraphvizMissing(OrderLifecycleError):
    """SVG output needs Graphviz's ``dot`` program, which is not installed."""


class InvalidSignature(OrderLifecycleError):
    """A webhook delivery not signed by a known secret within the age limit.

    The message is the same for every failure, on purpose: it must not tell a forger which
    secret, which signature or which part of the header was wrong.
    """

    def __init__(self) -> None:
        super().__init__("The webhook signature is not valid.")


class InvalidInput(OrderLifecycleError, ValueError):
    """A value handed to the library is not one it knows."""


class _UnknownName(InvalidInput):
    """A name the machine does not define; lists the ones it does."""

    kind = "name"

    def __init__(self, machine: str, value: object, known: Iterable[str]) -> None:
        self.machine = machine
        self.value = value
        self.known = tuple(known)
        super().__init__(
            f"Unknown {machine} {self.kind} {value!r}: expected one of {', '.join(self.known)}."
        )


class UnknownEvent(_UnknownName):
    """An event name the machine does not define."""

    kind = "event"


class UnknownState(_UnknownName):
    """A state name the machine does not define."""

    kind = "state"


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
    """Fulfilment refused: only an accepted order may be fulfilled."""

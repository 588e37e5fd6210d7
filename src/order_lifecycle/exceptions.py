"""The one exception tree of order-lifecycle.

Every error the library raises on purpose derives from :class:`OrderLifecycleError`, so
callers can catch the library's refusals in one place without catching their own bugs::

    OrderLifecycleError
    ├── InvalidDefinition            a lifecycle spec is broken (found when it is built)
    ├── GraphvizMissing              SVG output needs Graphviz's `dot` program
    ├── InvalidInput (ValueError)    the caller handed the library a value it does not accept
    │   ├── UnknownEvent             an event name the machine does not define
    │   ├── UnknownOperation         an operation name the order table does not declare
    │   ├── UnknownState             a state name the machine does not define
    │   ├── InvalidHistory           a recorded history that the table does not allow
    │   ├── WrongType (TypeError)    a value of the wrong type
    │   ├── InvalidQuantity          a quantity that is not a whole number of 1 or more
    │   ├── InvalidAmount            an amount that is not a finite number above 0
    │   └── CurrencyMismatch         an amount in a currency other than the order's
    ├── NotFound (LookupError)       an id the library (or the order) has never seen
    │   ├── UnknownCheckout          a checkout id the ledger has never seen
    │   ├── UnknownOrder             an order id the store has never seen
    │   ├── UnknownItem              an item id the order does not have
    │   ├── UnknownCharge            a charge id the order does not have
    │   ├── UnknownAction            an action key the store's outbox does not hold
    │   └── UnknownDelivery          a delivery number the store's inbox does not hold
    ├── InvalidProviderData (ValueError)  the provider's data, which the library cannot read
    │   ├── InvalidResponse          a POST /orders response not in the provider's shape
    │   ├── InvalidEvent             a webhook delivery not in the provider's event shape
    │   └── InvalidOrderBody         a GET /orders body not in the provider's order shape
    ├── InvalidSignature             a webhook delivery not signed by a known secret, in time
    ├── EventConflict                a webhook event the order cannot be reconciled with
    ├── Refused                      a well-formed request the order's state or data says no to
    │   ├── TransitionNotAllowed     an event known, but refused in the current state
    │   │   └── SubmissionRefused    a checkout that must not be sent now (nothing was sent)
    │   │       ├── CheckoutAlreadyConsumed  it became an order; the provider would answer 404
    │   │       ├── CheckoutRejected         a 409 rejected it: create a new checkout
    │   │       ├── SubmissionInDoubt        a lost submission: look it up and settle it first
    │   │       └── SubmissionInProgress     another submission of it awaits its response
    │   ├── OperationNotAllowed      a merchant operation the order's state (or data) refuses
    │   │   ├── FulfillmentNotAllowed    fulfil_items or cancel_items outside accepted
    │   │   ├── ChargeNotAllowed         capture or cancel_charge outside accepted or fulfilled
    │   │   ├── ReturnNotAllowed         return_items before acceptance, or during a dispute
    │   │   └── RefundNotAllowed         a refund before anything was captured, or in dispute
    │   ├── ActionNotRetryable       an outbox action no retry may revive (cancelled, done)
    │   └── LimitExceeded            more than remains: nothing was done
    │       ├── QuantityTooLarge     more units than remain of an item (quantity_too_large)
    │       └── AmountTooLarge       more money than remains: to capture or cancel on a
    │                                charge, or to refund (captured minus refunded)
    └── StoreError                   a store could not do what was asked; it wrote nothing
        ├── StoreUnavailable         the database cannot be opened or reached
        │   └── MigrationNeeded      no tables, or older ones: run order-lifecycle migrate
        ├── StoreCorrupt             a damaged database, or data the code cannot read back
        ├── StoreReadOnly            a write to a store opened read-only
        ├── SchemaTooNew             the database was set up by a newer order-lifecycle
        ├── OrderExists              create_order for an order id the store already has
        ├── StaleOrder               another writer updated the order first: reload and retry
        └── DuplicateEvent           the event id was applied before: the update did nothing

Each branch means what its name says: ``InvalidInput`` is the caller's mistake, fixed by
calling differently; ``InvalidProviderData`` is the provider's, kept for an operator;
``Refused`` is neither, the order's rules at work.

A refused operation never changes the model it was asked to change, and a failed store
operation never commits part of its change.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

__all__ = [
    "ActionNotRetryable",
    "AmountTooLarge",
    "ChargeNotAllowed",
    "CheckoutAlreadyConsumed",
    "CheckoutRejected",
    "CurrencyMismatch",
    "DuplicateEvent",
    "EventConflict",
    "FulfillmentNotAllowed",
    "GraphvizMissing",
    "InvalidAmount",
    "InvalidDefinition",
    "InvalidEvent",
    "InvalidHistory",
    "InvalidInput",
    "InvalidOrderBody",
    "InvalidProviderData",
    "InvalidQuantity",
    "InvalidResponse",
    "InvalidSignature",
    "LimitExceeded",
    "MigrationNeeded",
    "NotFound",
    "OperationNotAllowed",
    "OrderExists",
    "OrderLifecycleError",
    "QuantityTooLarge",
    "RefundNotAllowed",
    "Refused",
    "ReturnNotAllowed",
    "SchemaTooNew",
    "StaleOrder",
    "StoreCorrupt",
    "StoreError",
    "StoreReadOnly",
    "StoreUnavailable",
    "SubmissionInDoubt",
    "SubmissionInProgress",
    "SubmissionRefused",
    "TransitionNotAllowed",
    "UnknownAction",
    "UnknownCharge",
    "UnknownCheckout",
    "UnknownDelivery",
    "UnknownEvent",
    "UnknownItem",
    "UnknownOperation",
    "UnknownOrder",
    "UnknownState",
    "WrongType",
]


def _shown(value: object) -> str:
    """``repr(value)`` for a message: an int past ``str()``'s limit by its size, long ones cut."""
    if isinstance(value, int) and value.bit_length() > 10_000:
        return f"<an int of {value.bit_length()} bits>"  # repr() refuses ints of 4,300+ digits
    shown = repr(value)
    return shown if len(shown) <= 200 else f"{shown[:200]}... ({len(shown)} characters)"


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


class EventConflict(OrderLifecycleError):
    """A webhook event whose snapshot the order cannot be reconciled with; nothing changed.

    The payload's state is neither reachable from the order's by legal transitions nor
    behind it, or its data contradicts the order's (another checkout, a changed quantity,
    a complete order with an open charge...). Keep the event for an operator. ``state`` is
    the order's state (``None`` when the order is not known), ``payload_state`` the one the
    event reports (``None`` for a charge event); ``reason`` says what does not fit.
    """

    def __init__(  # noqa: PLR0913 (what an operator needs to find and judge the event)
        self,
        event_id: str,
        event_type: str,
        order_id: str,
        *,
        state: str | None,
        payload_state: str | None,
        reason: str,
    ) -> None:
        self.event_id = event_id
        self.event_type = event_type
        self.order_id = order_id
        self.state = state
        self.payload_state = payload_state
        self.reason = reason
        where = "which is not known here" if state is None else f"in {state}"
        super().__init__(
            f"Event {event_id!r} ({event_type}) conflicts with order {order_id!r}, {where}: "
            f"{reason}. The order is unchanged; keep the event for an operator."
        )


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


class UnknownOperation(_UnknownName):
    """An operation name the machine's table does not declare."""

    kind = "operation"


class UnknownState(_UnknownName):
    """A state name the machine does not define."""

    kind = "state"


class InvalidHistory(InvalidInput):
    """A recorded history that the table does not allow, naming the first bad step."""

    def __init__(self, machine: str, index: int, problem: str) -> None:
        self.machine = machine
        self.index = index
        super().__init__(f"The {machine} history is not legal at step {index}: {problem}.")


class InvalidProviderData(OrderLifecycleError, ValueError):
    """Data from the provider that the library cannot read; keep it for an operator."""


class InvalidResponse(InvalidProviderData):
    """A ``POST /orders`` response that is not the provider's shape, saying what is wrong.

    The checkout it answered is left in doubt, not open (an order may exist), and the raw
    response is kept on its last attempt; a lookup by checkout id settles it.
    """

    def __init__(self, checkout_id: str, status_code: int, problem: str) -> None:
        self.checkout_id = checkout_id
        self.status_code = status_code
        self.problem = problem
        super().__init__(
            f"The POST /orders response for checkout {checkout_id!r} (HTTP {status_code}) is "
            f"not the provider's shape: {problem}. The checkout is in doubt until a lookup of "
            "orders by checkout id settles it."
        )


class InvalidEvent(InvalidProviderData):
    """A webhook delivery that is not a provider event, naming the field that is wrong.

    ``field`` is the JSON path (``data.object.items[0].quantity``; empty when the body as a
    whole is wrong), ``problem`` what is wrong, a phrase naming the field, and ``event_id``
    the event's id when it could be read.
    """

    def __init__(self, field: str, problem: str, event_id: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.event_id = event_id
        which = "" if event_id is None else f" {event_id!r}"
        super().__init__(f"The webhook event{which} is not the provider's shape: {problem}.")


class InvalidOrderBody(InvalidProviderData):
    """An order the shop fetched (``GET /orders``) that is not the provider's shape.

    ``field`` is the JSON path (``items[0].quantity``; empty when the body as a whole is
    wrong) and ``problem`` what is wrong, a phrase naming the field.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"The order body is not the provider's shape: {problem}.")


class NotFound(OrderLifecycleError, LookupError):
    """An id the library, or the order asked about, has never seen."""


class UnknownCheckout(NotFound):
    """A checkout id the ledger has never seen."""

    def __init__(self, checkout_id: object) -> None:
        self.checkout_id = checkout_id
        super().__init__(
            f"Unknown checkout {checkout_id!r}: the ledger has never seen it; "
            "begin_submission registers a new one."
        )


class UnknownOrder(NotFound):
    """An order id the store has never seen."""

    def __init__(self, order_id: object) -> None:
        self.order_id = order_id
        super().__init__(
            f"Unknown order {order_id!r}: the store has never seen it; create_order stores one."
        )


class WrongType(InvalidInput, TypeError):
    """A value of the wrong type, named with what was expected."""

    def __init__(self, what: str, expected: str, value: object) -> None:
        self.what = what
        self.expected = expected
        self.value = value
        super().__init__(f"{what} must be {expected}, got {type(value).__name__} {_shown(value)}.")


class UnknownItem(NotFound):
    """An item id the order does not have."""

    def __init__(self, order_id: str, item_id: object, known: Iterable[str]) -> None:
        self.order_id = order_id
        self.item_id = item_id
        self.known = tuple(known)
        super().__init__(
            f"Order {order_id!r} has no item {item_id!r}: its items are "
            f"{', '.join(self.known) or 'none'}."
        )


class UnknownAction(NotFound):
    """An action key the store's outbox does not hold."""

    def __init__(self, key: object) -> None:
        self.key = key
        super().__init__(f"Unknown action {key!r}: the store's outbox does not hold it.")


class UnknownDelivery(NotFound):
    """A delivery number (``seq``) the store's inbox does not hold."""

    def __init__(self, seq: int) -> None:
        self.seq = seq
        super().__init__(f"Unknown delivery {seq!r}: the store's inbox does not hold it.")


class UnknownCharge(NotFound):
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
            f"got {type(value).__name__} {_shown(value)}."
        )


class InvalidAmount(InvalidInput):
    """An amount that is not a finite number above 0; ``what`` names what it was for."""

    def __init__(self, what: str, value: object) -> None:
        self.what = what
        self.value = value
        super().__init__(
            f"{what}: the amount must be a finite number above 0, "
            f"got {type(value).__name__} {_shown(value)}."
        )


class CurrencyMismatch(InvalidInput):
    """An amount in a currency other than the one its order or charge is in."""

    def __init__(self, what: str, value: object, expected: str) -> None:
        self.what = what
        self.value = value
        self.expected = expected
        super().__init__(f"{what}: the amount is in {value!r}, but the order is in {expected}.")


class Refused(OrderLifecycleError):
    """A well-formed request that the order's state or data says no to; nothing changed."""


class ActionNotRetryable(Refused):
    """An operator's retry of an outbox action that is not dead or failed: nothing changed.

    A cancelled one lost its reason (the order was cancelled, its item has no open units),
    so it is never run again; a done one ran; a pending or claimed one is due anyway.
    ``key``, ``state`` and ``reason`` say which and why.
    """

    def __init__(self, key: str, state: str, reason: str) -> None:
        self.key = key
        self.state = state
        self.reason = reason
        super().__init__(f"Can't retry action {key} when {state}: {reason}.")


class LimitExceeded(Refused):
    """More units or money than remain; ``available`` is what remains."""


class QuantityTooLarge(LimitExceeded):
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


class AmountTooLarge(LimitExceeded):
    """More money than remains: to capture or cancel on a charge, or to refund on an order.

    ``charge_id`` names the charge (``None`` for a refund, which is the order's);
    ``value`` is the amount asked for and ``available`` what remains, both ``Decimal`` (as
    :attr:`RefundNotAllowed.available` is), in ``currency`` (``None`` when not known).
    """

    def __init__(  # noqa: PLR0913 (what the caller needs to ask for less)
        self,
        charge_id: str | None,
        action: str,
        value: Decimal,
        available: Decimal,
        *,
        currency: str | None = None,
        order_id: str | None = None,
        remains: str = "",
    ) -> None:
        self.charge_id = charge_id
        self.order_id = order_id
        self.action = action
        self.value = value
        self.available = available
        self.currency = currency
        what = f"Charge {charge_id!r}" if charge_id is not None else f"Order {order_id!r}"
        left = f" ({remains})" if remains else ""
        unit = f" {currency}" if currency else ""
        super().__init__(
            f"{what}: can't {action} {value}{unit}, only {available}{unit} is left to "
            f"{action}{left}."
        )


class _StateRefusal(Refused):
    """A refusal in the model's current state: "Can't X when in Y: why."."""

    def __init__(self, event: str, state: str, reason: str) -> None:
        self.event = event
        self.state = state
        self.reason = reason
        super().__init__(f"Can't {event} when in {state}: {reason}.")


class TransitionNotAllowed(_StateRefusal):
    """The event is known but refused in the model's current state.

    ``event`` and ``state`` are the machine's own values (enum members); ``reason`` is the
    sentence after the colon, for callers that compose their own message.
    """


class OperationNotAllowed(_StateRefusal):
    """A merchant operation refused: the order's table does not allow it in this state.

    ``operation`` is the refused ``Operation``; the reason is the table's sentence for the
    state, or the condition on the order's data that does not hold.
    """

    @property
    def operation(self) -> str:
        """The operation refused (the same value as ``event``)."""
        return self.event


class FulfillmentNotAllowed(OperationNotAllowed):
    """Fulfilling or cancelling items refused: only an accepted order's items may be.

    (Cancelling every item at once is also allowed pending payment.)
    """


class ChargeNotAllowed(OperationNotAllowed):
    """Capturing or cancelling a charge amount refused by the order table.

    Outside accepted or fulfilled, or a capture before anything was fulfilled.
    """


class ReturnNotAllowed(OperationNotAllowed):
    """A return refused by the order's state: before acceptance, in dispute, once returned."""


class RefundNotAllowed(OperationNotAllowed):
    """A refund refused by the order's state (in dispute...), or before anything was captured.

    A refund of more than captured minus refunded is an :class:`AmountTooLarge`.

    ``available`` is the amount that could be refunded now (captured minus refunded; 0 in
    a state that refuses refunds, the default).
    """

    def __init__(
        self, event: str, state: str, reason: str, available: Decimal = Decimal(0)
    ) -> None:
        self.available = available
        super().__init__(event, state, reason)


class SubmissionRefused(TransitionNotAllowed):
    """A checkout that must not be submitted now; nothing was sent and nothing changed.

    The provider would refuse it (consumed, rejected), or an earlier submission's fate is
    unknown (in doubt) or still pending (in progress). ``checkout_id`` names the checkout
    when the refusal came from ``begin_submission``.
    """

    def __init__(
        self, event: str, state: str, reason: str, *, checkout_id: str | None = None
    ) -> None:
        self.checkout_id = checkout_id
        super().__init__(event, state, reason)


class CheckoutAlreadyConsumed(SubmissionRefused):
    """The checkout already became an order (``order_id``, when known).

    The provider answers a resubmission with 404 ``not_found``;
    :meth:`as_provider_error` renders that body for a shop that mirrors the provider.
    """

    status_code: ClassVar[int] = 404

    def __init__(
        self,
        event: str,
        state: str,
        reason: str,
        *,
        checkout_id: str | None = None,
        order_id: str | None = None,
    ) -> None:
        self.order_id = order_id
        super().__init__(event, state, reason, checkout_id=checkout_id)

    def as_provider_error(self) -> dict[str, Any]:
        """The body of the provider's 404 for a reused checkout, naming the order it became."""
        subject = (
            f"Order {self.order_id}"
            if self.order_id is not None
            else f"Order of checkout {self.checkout_id}"
        )
        return {
            "type": "not_found",
            "errors": [
                {"code": "not_found", "parameter": "orderId", "message": f"{subject} not found"}
            ],
        }


class CheckoutRejected(SubmissionRefused):
    """A 409 rejected the checkout for good: create a new checkout (usually a new payment)."""


class SubmissionInDoubt(SubmissionRefused):
    """An earlier submission got no usable answer, so an order may exist.

    Look up orders by checkout id and ``settle`` the checkout before submitting it again.
    (Not to be confused with :class:`~order_lifecycle.checkout.InDoubt`, the *outcome* recorded
    when that earlier submission went unanswered.)
    """


class SubmissionInProgress(SubmissionRefused):
    """Another submission of the checkout is under way; record its response first."""


class StoreError(OrderLifecycleError):
    """A store could not do what was asked; the operation committed nothing."""


class StoreUnavailable(StoreError):
    """The database cannot be opened or reached; the message says why.

    A path that cannot be opened, a DSN that does not connect, a database locked for too
    long, the PostgreSQL driver not installed, or no store where one must already exist.
    """


class MigrationNeeded(StoreUnavailable):
    """The database holds no store, or one at an older schema version, and may not change.

    Opening a store never creates or changes its tables unless asked (``create=True``,
    ``migrate=True``); ``order-lifecycle migrate --db URL`` does both, as a role that may
    (``order-lifecycle schema`` prints the SQL for a DBA). ``found`` is the version found
    (``None``: no tables), ``supported`` the one this code needs, ``reason`` why a
    migration that was asked for could not run (``None`` when none was asked for).
    Nothing was written.
    """

    def __init__(
        self, where: str, found: int | None, supported: int, *, db: str, reason: str | None = None
    ) -> None:
        self.where = where
        self.found = found
        self.supported = supported
        self.reason = reason
        command = f"order-lifecycle migrate --db {db}"
        if found is None:
            what = f"There is no order-lifecycle store in {where}"
            asked = "open it with create=True"
        else:
            what = (
                f"The order-lifecycle store in {where} is at schema version {found}, this "
                f"order-lifecycle needs version {supported}"
            )
            asked = "open it with migrate=True"
        if reason is None:
            how = (
                f"opening a store never changes its tables unless asked: run `{command}` "
                f"(with the right to create tables there), or {asked}"
            )
        else:
            how = (
                f"its tables could not be made ({reason.rstrip('.')}): run `{command}` as a "
                "role that may create tables there, or have a DBA run the SQL that "
                "`order-lifecycle schema` prints"
            )
        super().__init__(f"{what}; {how}. Nothing was written.")


class StoreCorrupt(StoreError):
    """The database is damaged, or holds data this code cannot read back.

    Not a SQLite file, a malformed page, or a stored value the models refuse; the message
    names what and where.
    """


class StoreReadOnly(StoreError):
    """A write to a store opened read-only (``read_only=True``); nothing was written."""


class SchemaTooNew(StoreError):
    """The database's schema is newer than this code knows; upgrade order-lifecycle.

    Nothing was written: an older version must not touch tables a newer one laid out.
    """

    def __init__(self, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(
            f"The store's schema is version {found}, but this order-lifecycle knows versions up "
            f"to {supported}: a newer order-lifecycle set it up. Upgrade order-lifecycle; "
            "nothing was written."
        )


class OrderExists(StoreError):
    """``create_order`` for an order id the store already has."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(
            f"Order {order_id!r} is already stored: update_order changes it, "
            "create_order only stores new ones."
        )


class StaleOrder(StoreError):
    """Another writer committed an update of the order first; this one committed nothing.

    Reload and re-apply the change (``Store.update_order_retrying`` does).
    """

    def __init__(self, order_id: str, version: int | None = None) -> None:
        self.order_id = order_id
        self.version = version
        read = "" if version is None else f" (version {version})"
        super().__init__(
            f"Order {order_id!r} changed after this update read it{read}: "
            "nothing was written; reload and apply the change again."
        )


class DuplicateEvent(StoreError):
    """The event id was applied before (to ``order_id``); the update did nothing.

    Webhooks arrive at least once: a duplicate is expected, not a failure of the delivery.
    """

    def __init__(self, event_id: str, order_id: str | None) -> None:
        self.event_id = event_id
        self.order_id = order_id
        where = "" if order_id is None else f" to order {order_id!r}"
        super().__init__(f"Event {event_id!r} was already applied{where}: nothing changed.")

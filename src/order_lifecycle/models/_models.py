"""The models: ``Order`` and ``Checkout`` (mutable, moved only by a machine) and their values.

Values are frozen. Every field is checked when set, so a model never holds a state, quantity
or amount the provider could not have sent; bad values raise from the ``InvalidInput``
family, naming the field and the value.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

import attrs

from order_lifecycle.exceptions import InvalidHistory, InvalidInput, UnknownState, WrongType
from order_lifecycle.lifecycle import (
    CHECKOUT_SPEC,
    ORDER_SPEC,
    ChargeState,
    CheckoutEvent,
    CheckoutState,
    FraudState,
    History,
    MachineSpec,
    OrderEvent,
    OrderState,
    Step,
    coerce,
)

__all__ = [
    "Charge",
    "Checkout",
    "Item",
    "Order",
    "SnapshotMark",
    "SubmissionAttempt",
    "currency_code",
    "marked_charge",
]

T = TypeVar("T")
V = TypeVar("V", bound=StrEnum)


# attrs converters: named functions, so that mypy's attrs plugin sees their types. Each
# parameter is typed as what a caller should pass (the constructors take these types, so a
# type checker refuses ``Order("1", state=3.5)``); each still checks at run time, for
# callers without one.
def _order_state(value: OrderState | str) -> OrderState:
    return coerce(OrderState, value, "order", UnknownState)


def _checkout_state(value: CheckoutState | str) -> CheckoutState:
    return coerce(CheckoutState, value, "checkout", UnknownState)


def _charge_state(value: ChargeState | str) -> ChargeState:
    return coerce(ChargeState, value, "charge", UnknownState)


def _fraud_state(value: FraudState | str | None) -> FraudState | None:
    return None if value is None else coerce(FraudState, value, "fraud", UnknownState)


def _items(values: Iterable[Item]) -> tuple[Item, ...]:
    return _values_of(Item, values)


def _charges(values: Iterable[Charge]) -> tuple[Charge, ...]:
    return _values_of(Charge, values)


def _values_of(kind: type[T], values: object) -> tuple[T, ...]:
    if type(values) is tuple and all(type(value) is kind for value in values):
        return values  # the common case (a tuple of the exact class): nothing to copy
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise WrongType(
            f"Order.{kind.__name__.lower()}s", f"an iterable of {kind.__name__}", values
        )
    collected = tuple(values)
    for value in collected:
        if not isinstance(value, kind):
            raise WrongType(f"Order.{kind.__name__.lower()}s[]", f"of type {kind.__name__}", value)
    return collected


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: a non-empty string."""
    if not isinstance(value, str) or not value:
        owner = type(instance).__name__
        raise WrongType(f"{owner}.{attribute.name}", "a non-empty str", value)


def _optional_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _text(instance, attribute, value)


def _count(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: a whole number of units, zero or more (``bool`` is not a count)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise WrongType(f"{_owner(instance)}.{attribute.name}", "an int", value)
    if value < 0:
        raise InvalidInput(f"{_owner(instance)}.{attribute.name} must be 0 or more, got {value}.")


def _physical_flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An attrs validator: ``True``, ``False`` or ``None`` (not said), nothing truthy."""
    if value is not None and not isinstance(value, bool):
        raise WrongType(f"{_owner(instance)}.{attribute.name}", "True, False or None", value)


def _owner(instance: object) -> str:
    item_id = getattr(instance, "id", None)
    return f"item {item_id!r}" if isinstance(instance, Item) else type(instance).__name__


# The zeros a charge's amounts are most often, one object each for every charge: a live order
# holds thousands of amounts, most of them zero. Decimal is immutable, so sharing is safe; a
# zero is shared only with the one spelled alike (``0.00`` stays ``0.00``).
_ZERO = Decimal(0)
# Keyed by the spelling: ``str`` of a zero is quick (``as_tuple`` builds a named tuple, ~6x).
_ZEROS = {str(zero): zero for zero in (_ZERO, Decimal("0.0"), Decimal("0.00"))}


def _amount(value: Decimal | int) -> Decimal:
    """An attrs converter: a finite, non-negative money amount as ``Decimal``.

    Typed as what money should be passed as; at run time a ``float`` or a numeric ``str``
    is taken too (by its ``str``: ``27.01`` is the decimal 27.01), for untyped callers.
    """
    if type(value) is Decimal and value.is_finite() and value >= 0:
        # As Decimal(str(value)) would give it back: a checked value, kept (a zero shared).
        return value if value or value is _ZERO else _ZEROS.get(str(value), value)
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise WrongType("amount", "a Decimal, int, float or numeric str", value)
    try:
        # str() first: a float like 27.01 means the decimal 27.01, not its binary neighbour.
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"amount must be a number, got {value!r}.") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(f"amount must be a finite number, 0 or more, got {value!r}.")
    return amount or _ZEROS.get(str(amount), amount)


def _same(value: Decimal, amount: Decimal) -> bool:
    """Whether ``value`` is ``amount`` spelled alike (equal, and the same exponent)."""
    return value == amount and not value.compare_total(amount)


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise WrongType(f"{type(instance).__name__}.{attribute.name}", "an aware datetime", value)


def _optional_mark(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, SnapshotMark):
        raise WrongType(
            f"{type(instance).__name__}.{attribute.name}", "a SnapshotMark or None", value
        )


@attrs.frozen(weakref_slot=False, init=False)  # a value: nothing refers to it weakly
class SnapshotMark:
    """The provider event a snapshot of data came from: its ``createdTime``, then its id.

    Marks order by time (the id breaks ties), so the newer of two snapshots is the greater
    mark; webhook reconciliation keeps the data of the newest snapshot it has applied.
    """

    at: datetime = attrs.field(validator=_aware)
    event_id: str = attrs.field(validator=_text)

    def __init__(self, at: datetime, event_id: str) -> None:
        # Written out (every delivery's event makes one): a value of the exact type is
        # taken at once; anything else goes to the fields' own validators.
        if type(at) is not datetime or at.tzinfo is None:
            _aware(self, _MARK.at, at)
        if type(event_id) is not str or not event_id:
            _text(self, _MARK.event_id, event_id)
        setattr_ = object.__setattr__
        setattr_(self, "at", at)
        setattr_(self, "event_id", event_id)

    def __str__(self) -> str:
        return f"event {self.event_id!r} of {self.at.isoformat()}"

    # The order attrs' ``order=True`` gives, written out: each delivery compares marks a few
    # times, and attrs' methods build two tuples through a generic helper for each.
    def __lt__(self, other: object) -> bool:
        if type(other) is not SnapshotMark:
            return NotImplemented
        return (self.at, self.event_id) < (other.at, other.event_id)

    def __le__(self, other: object) -> bool:
        if type(other) is not SnapshotMark:
            return NotImplemented
        return (self.at, self.event_id) <= (other.at, other.event_id)

    def __gt__(self, other: object) -> bool:
        if type(other) is not SnapshotMark:
            return NotImplemented
        return (self.at, self.event_id) > (other.at, other.event_id)

    def __ge__(self, other: object) -> bool:
        if type(other) is not SnapshotMark:
            return NotImplemented
        return (self.at, self.event_id) >= (other.at, other.event_id)


_MARK = attrs.fields(SnapshotMark)


@attrs.frozen(weakref_slot=False)
class Item:
    """A line item: ``quantity`` ordered, and how many units were fulfilled, cancelled, returned.

    ``physical`` is the provider's ``productDetails.physical``: ship it (``True``), or
    deliver it digitally (``False``); ``None`` when the provider has not said (it sends the
    flag with expanded products, as in ``order.accepted``). ``sku`` is the provider's
    ``skuId`` (or its product's id), when it sends one: what a shop's classifier reads
    (:class:`~order_lifecycle.actions.ActionPolicy`).
    """

    id: str = attrs.field(validator=_text)
    quantity: int = attrs.field(validator=_count)
    physical: bool | None = attrs.field(validator=_physical_flag)
    fulfilled: int = attrs.field(default=0, validator=_count)
    cancelled: int = attrs.field(default=0, validator=_count)
    returned: int = attrs.field(default=0, validator=_count)
    sku: str | None = attrs.field(default=None, validator=_optional_text)

    def __attrs_post_init__(self) -> None:
        if self.quantity == 0:
            raise InvalidInput(f"item {self.id!r}: quantity must be 1 or more, got 0.")
        if self.fulfilled + self.cancelled > self.quantity:
            raise InvalidInput(
                f"item {self.id!r}: fulfilled ({self.fulfilled}) + cancelled ({self.cancelled}) "
                f"exceed the quantity ordered ({self.quantity})."
            )
        if self.returned > self.fulfilled:
            raise InvalidInput(
                f"item {self.id!r}: returned ({self.returned}) exceeds fulfilled "
                f"({self.fulfilled})."
            )

    @classmethod
    def ordered(
        cls,
        id: str,  # noqa: A002 (the provider's name for it)
        quantity: int,
        physical: bool | None,  # noqa: FBT001 (the constructor's order: Item(id, quantity, physical))
        sku: str | None = None,
    ) -> Item:
        """``Item(id, quantity, physical, sku=sku)``: an item as ordered, no unit closed yet.

        The same checks and errors, at half the cost when the values are plainly right (of
        the exact types): every order snapshot a webhook carries builds its items so.

        Raises:
            WrongType: a value of the wrong type.
            InvalidInput: a quantity of 0, or below.

        """
        if (
            cls is Item
            and type(id) is str
            and id
            and type(quantity) is int
            and quantity > 0
            and (physical is None or type(physical) is bool)
            and (sku is None or (type(sku) is str and sku))
        ):
            made = object.__new__(Item)
            # By the slots' descriptors: half the cost of object.__setattr__ (its type checks).
            (
                set_id,
                set_quantity,
                set_physical,
                set_fulfilled,
                set_cancelled,
                set_returned,
                set_sku,
            ) = _ITEM_SLOTS
            set_id(made, id)
            set_quantity(made, quantity)
            set_physical(made, physical)
            set_fulfilled(made, 0)
            set_cancelled(made, 0)
            set_returned(made, 0)
            set_sku(made, sku)
            return made
        return cls(id, quantity, physical, sku=sku)

    @property
    def open_quantity(self) -> int:
        """Units neither fulfilled nor cancelled yet."""
        return self.quantity - self.fulfilled - self.cancelled

    @property
    def returnable_quantity(self) -> int:
        """Units fulfilled and not returned yet."""
        return self.fulfilled - self.returned


# An item's fields set one by one, by their slots' descriptors, in the order attrs declares them.
_ITEM_SLOTS = tuple(Item.__dict__[field.name].__set__ for field in attrs.fields(Item))


def currency_code(value: str | None) -> str | None:
    """An ISO 4217 code (``"usd"`` becomes ``"USD"``), or ``None``; an attrs converter.

    Raises:
        WrongType: not a str (nor ``None``).
        InvalidInput: not three ASCII letters.

    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise WrongType("currency", "a str such as 'USD'", value)
    if len(value) != 3 or not value.isascii() or not value.isalpha():
        raise InvalidInput(f"currency must be a three-letter ISO 4217 code, got {value!r}.")
    # Interned: every charge and order of a currency holds one string (at most 26**3 exist).
    return sys.intern(value if value.isupper() else value.upper())


@attrs.frozen(weakref_slot=False)
class Charge:
    """A payment charge: its provider ``state``, and what became of its authorized ``amount``.

    ``amount`` is the amount authorized (also :attr:`authorized`). Of it, ``captured`` and
    ``cancelled`` never exceed ``amount`` together, and ``refunded`` never exceeds
    ``captured``. ``currency`` is the provider's code (``"USD"``); ``None`` when not stated.
    ``as_of`` marks the provider snapshot (a webhook event) the charge was last read from;
    ``None`` when no event has told about it.
    """

    id: str = attrs.field(validator=_text)
    state: ChargeState = attrs.field(converter=_charge_state)
    amount: Decimal = attrs.field(converter=_amount)
    currency: str | None = attrs.field(default=None, converter=currency_code)
    captured: Decimal = attrs.field(default=_ZERO, converter=_amount)
    cancelled: Decimal = attrs.field(default=_ZERO, converter=_amount)
    refunded: Decimal = attrs.field(default=_ZERO, converter=_amount)
    as_of: SnapshotMark | None = attrs.field(default=None, validator=_optional_mark, kw_only=True)

    def __attrs_post_init__(self) -> None:
        amount, captured, cancelled = self.amount, self.captured, self.cancelled
        if captured + cancelled > amount:
            raise InvalidInput(
                f"charge {self.id!r}: captured ({captured}) + cancelled ({cancelled}) "
                f"exceed the amount authorized ({amount})."
            )
        refunded = self.refunded
        if refunded > captured:
            raise InvalidInput(
                f"charge {self.id!r}: refunded ({refunded}) exceeds captured ({captured})."
            )
        # One object for equal amounts spelled alike (a full capture, a full refund):
        # Decimals are immutable and big (104 bytes), and a live order is mostly its values.
        if captured is not amount and _same(captured, amount):
            object.__setattr__(self, "captured", amount)
            captured = amount
        if cancelled is not amount and _same(cancelled, amount):
            object.__setattr__(self, "cancelled", amount)
        if refunded is not captured and _same(refunded, captured):
            object.__setattr__(self, "refunded", captured)

    @property
    def authorized(self) -> Decimal:
        """The amount authorized: the provider's ``amount``."""
        return self.amount

    @property
    def open_amount(self) -> Decimal:
        """The part of the authorized amount neither captured nor cancelled yet."""
        return self.amount - self.captured - self.cancelled

    @property
    def refundable(self) -> Decimal:
        """Captured minus refunded: what a refund may still take from this charge."""
        return self.captured - self.refunded


def marked_charge(charge: Charge, mark: SnapshotMark | None) -> Charge:
    """``charge`` with ``as_of`` set to ``mark``; its other values were checked, so not again.

    ``attrs.evolve`` would run every converter and the cross-checks anew: a delivery marks
    each charge it reports, and these checks were most of its charges' cost.

    Raises:
        WrongType: ``charge`` is not a ``Charge``, or ``mark`` not a ``SnapshotMark`` or ``None``.

    """
    if type(charge) is not Charge:
        raise WrongType("charge", "a Charge", charge)
    _optional_mark(charge, _AS_OF, mark)
    made = object.__new__(Charge)
    # Written out, not a loop over the fields: every charge a delivery reports comes here.
    setattr_ = object.__setattr__
    setattr_(made, "id", charge.id)
    setattr_(made, "state", charge.state)
    setattr_(made, "amount", charge.amount)
    setattr_(made, "currency", charge.currency)
    setattr_(made, "captured", charge.captured)
    setattr_(made, "cancelled", charge.cancelled)
    setattr_(made, "refunded", charge.refunded)
    setattr_(made, "as_of", mark)
    return made


_AS_OF = attrs.fields(Charge).as_of


def _status_code(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise WrongType(f"{type(instance).__name__}.{attribute.name}", "an int or None", value)


def _raw_body(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, (str, bytes)):
        raise WrongType(f"{type(instance).__name__}.{attribute.name}", "str, bytes or None", value)


@attrs.frozen(weakref_slot=False)
class SubmissionAttempt:
    """One ``POST /orders`` of a checkout: when it was sent, and the raw response.

    ``status_code`` and ``body`` are exactly what came back (``body`` as the text or bytes
    received), or ``None`` while no response came: still awaited, or lost.
    """

    at: datetime = attrs.field(validator=_aware)
    status_code: int | None = attrs.field(default=None, validator=_status_code)
    body: str | bytes | None = attrs.field(default=None, validator=_raw_body)

    @property
    def answered(self) -> bool:
        """Whether a response (any status, any body) was recorded."""
        return self.status_code is not None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _created_at(state_field: str) -> Callable[[Any], list[Step[Any, Any]]]:
    """A default history: one creation step into the model's state, now."""
    return lambda self: History([Step(None, None, getattr(self, state_field), _utc_now())])


def _check_history(
    spec: MachineSpec[Any, Any], state: StrEnum, history: list[Step[Any, Any]]
) -> None:
    """The history starts with a creation in an entry state and ends in the current state."""
    if not history:
        raise InvalidInput(f"a {spec.name} needs a history; at least the step that created it.")
    first = history[0]
    if first.event is not None or first.dest not in spec.entry_states:
        entries = ", ".join(str(s) for s in spec.entry_states)
        raise InvalidInput(
            f"a {spec.name}'s history must start with its creation in one of {entries}; "
            f"it starts with {first.event or 'creation'} into {first.dest}. "
            f"A {spec.name} in {state} needs the history that led there."
        )
    if history[-1].dest != state:
        raise InvalidInput(f"a {spec.name} in {state} has a history ending in {history[-1].dest}.")


def _first_entries(history: Iterable[Step[V, Any]]) -> Mapping[V, datetime]:
    entered: dict[V, datetime] = {}
    for step in history:
        dest = step.dest
        if dest not in entered:  # a step's time read only for a first entry (datetimes cost)
            entered[dest] = step.at
    return entered


@attrs.define(repr=False)
class Order:
    """An order as the provider reports it, with the full history of how it got here.

    Move it with :func:`order_lifecycle.fire`, never by assigning ``state``: the machine
    checks the table and the guards and records each step. ``as_of`` marks the provider
    snapshot (a webhook event) its state, fraud state and items were last reconciled with;
    ``None`` until a webhook event is applied (:func:`order_lifecycle.webhooks.apply_event`).
    """

    id: str = attrs.field(validator=_text)
    state: OrderState = attrs.field(converter=_order_state)
    checkout_id: str | None = attrs.field(default=None, validator=_optional_text)
    fraud_state: FraudState | None = attrs.field(default=None, converter=_fraud_state)
    items: tuple[Item, ...] = attrs.field(default=(), converter=_items)
    charges: tuple[Charge, ...] = attrs.field(default=(), converter=_charges)
    history: list[Step[OrderState, OrderEvent]] = attrs.field(
        default=attrs.Factory(_created_at("state"), takes_self=True)
    )
    currency: str | None = attrs.field(default=None, converter=currency_code)
    as_of: SnapshotMark | None = attrs.field(default=None, validator=_optional_mark, kw_only=True)

    def __attrs_post_init__(self) -> None:
        _check_history(ORDER_SPEC, self.state, self.history)
        self._check_parts()

    def _check_parts(self) -> None:
        """The order's own rules on its parts: item and charge ids unique, one currency."""
        # Every delivery checks its trial order: one part of a kind needs no set built.
        items, charges = self.items, self.charges
        if len(items) > 1 and len({p.id for p in items}) != len(items):
            raise _duplicates(self.id, "item", items)
        if len(charges) > 1 and len({p.id for p in charges}) != len(charges):
            raise _duplicates(self.id, "charge", charges)
        # One currency: the order's, or the first a charge states; a loop, not a set, as a
        # delivery's order has one charge or two, most often in the order's currency.
        currency = self.currency
        for charge in charges:
            code = charge.currency
            if code is not None and code != currency:
                if currency is not None:
                    stated = {c.currency for c in charges if c.currency is not None}
                    stated.add(currency)
                    raise InvalidInput(
                        f"order {self.id!r}: one currency per order, "
                        f"got {', '.join(sorted(stated))}."
                    )
                currency = code
        if self.currency is None and currency is not None:
            self.currency = currency

    @classmethod
    def create(  # noqa: PLR0913 (an order has this many parts)
        cls,
        id: str,  # noqa: A002 (the provider's name for it)
        state: OrderState | str = OrderState.PENDING_PAYMENT,
        *,
        at: datetime | None = None,
        checkout_id: str | None = None,
        fraud_state: FraudState | str | None = None,
        items: Iterable[Item] = (),
        charges: Iterable[Charge] = (),
        event_id: str | None = None,
        currency: str | None = None,
    ) -> Order:
        """An order just created by the provider (a ``POST /orders`` 201, or its webhook).

        ``currency`` defaults to the one its charges state.

        Raises:
            InvalidInput: ``state`` is not one an order is created in, a value is bad, or
                the charges (and ``currency``) name more than one currency.

        """
        when = _utc_now() if at is None else at
        entered = _order_state(state)
        return cls(
            id=id,
            state=entered,
            checkout_id=checkout_id,
            fraud_state=_fraud_state(fraud_state),
            items=_items(items),
            charges=_charges(charges),
            history=History([Step(None, None, entered, when, event_id)]),
            currency=currency,
        )

    def __repr__(self) -> str:
        return (
            f"<Order(id={self.id!r}, state={str(self.state)!r}, items={len(self.items)}, "
            f"charges={len(self.charges)}, steps={len(self.history)})>"
        )

    def copy(self) -> Order:
        """An independent copy: a new history list; everything else is frozen or replaced.

        The new list is a :class:`~order_lifecycle.lifecycle.History` (a ``list``), which
        shares the history's index, if it has one, read-only.
        """
        return self._clone()

    def _clone(self) -> Order:
        # Field by field, past the converters and validators: the order is valid already,
        # and copies are on the hot path of every store read and write.
        steps = self.history
        history = steps.copy() if type(steps) is History else History(steps)
        if type(self) is not Order:  # a subclass may have fields of its own
            return attrs.evolve(self, history=history)
        # Written out, not a loop over the fields: two calls a field fewer.
        clone = object.__new__(Order)
        setattr_ = object.__setattr__
        setattr_(clone, "id", self.id)
        setattr_(clone, "state", self.state)
        setattr_(clone, "checkout_id", self.checkout_id)
        setattr_(clone, "fraud_state", self.fraud_state)
        setattr_(clone, "items", self.items)
        setattr_(clone, "charges", self.charges)
        setattr_(clone, "history", history)
        setattr_(clone, "currency", self.currency)
        setattr_(clone, "as_of", self.as_of)
        return clone

    def evolved(  # noqa: PLR0913 (the parts a snapshot sets)
        self,
        *,
        fraud_state: FraudState | None,
        items: tuple[Item, ...],
        charges: tuple[Charge, ...],
        checkout_id: str | None,
        currency: str | None,
        as_of: SnapshotMark | None,
    ) -> Order:
        """A copy holding a snapshot's parts, each a checked value of its field's type already.

        What ``attrs.evolve`` would give for these, without running every converter and
        the history's check again (the history is the order's own, copied): only the
        order's rules on its parts are checked (ids unique, one currency).

        Raises:
            InvalidInput: an item or charge id twice, or two currencies.

        """
        if type(self) is not Order:  # a subclass may have fields of its own
            clone = self._clone()
        else:  # the one new order (the trial), each field set once, written out
            steps = self.history
            clone = object.__new__(Order)
            setattr_ = object.__setattr__
            setattr_(clone, "id", self.id)
            setattr_(clone, "state", self.state)
            setattr_(clone, "history", steps.copy() if type(steps) is History else History(steps))
        setattr_ = object.__setattr__
        setattr_(clone, "fraud_state", fraud_state)
        setattr_(clone, "items", items)
        setattr_(clone, "charges", charges)
        setattr_(clone, "checkout_id", checkout_id)
        setattr_(clone, "currency", currency)
        setattr_(clone, "as_of", as_of)
        clone._check_parts()
        return clone

    @property
    def state_transitions(self) -> Mapping[OrderState, datetime]:
        """The first time each state was entered, as the provider's ``stateTransitions``."""
        return _first_entries(self.history)

    @property
    def state_before_dispute(self) -> OrderState | None:
        """The state a resolved dispute returns to; ``None`` unless the order is in dispute.

        Raises:
            InvalidHistory: in dispute, but no step of the history enters it (a caller cut
                it): there is no state to return to, so no resolution can apply.
        """
        if self.state is not OrderState.DISPUTE:
            return None
        for step in reversed(self.history):
            if step.dest is OrderState.DISPUTE:
                return step.source
        raise InvalidHistory(
            ORDER_SPEC.name,
            len(self.history),
            f"order {self.id} is in dispute, but no step of its history enters it",
        )


def _duplicates(
    order_id: str, kind: str, parts: tuple[Item, ...] | tuple[Charge, ...]
) -> InvalidInput:
    ids = [p.id for p in parts]
    return InvalidInput(f"order {order_id!r}: duplicate {kind} ids in {ids}.")


@attrs.define(repr=False)
class Checkout:
    """A checkout on its way to becoming at most one order, with every submission attempt.

    Move it with the functions of :mod:`order_lifecycle` (``begin_submission``,
    ``record_response``, ``record_no_response``, ``settle``), which fire the checkout machine
    and keep ``attempts`` and ``order_id`` in step with it. ``order_id`` is the order the
    checkout became; only a consumed checkout has one.
    """

    id: str = attrs.field(validator=_text)
    state: CheckoutState = attrs.field(default=CheckoutState.OPEN, converter=_checkout_state)
    order_id: str | None = attrs.field(default=None, validator=_optional_text, kw_only=True)
    attempts: list[SubmissionAttempt] = attrs.field(factory=list)
    history: list[Step[CheckoutState, CheckoutEvent]] = attrs.field(
        default=attrs.Factory(_created_at("state"), takes_self=True)
    )

    def __attrs_post_init__(self) -> None:
        _check_history(CHECKOUT_SPEC, self.state, self.history)
        for attempt in self.attempts:
            if not isinstance(attempt, SubmissionAttempt):
                raise WrongType("Checkout.attempts[]", "a SubmissionAttempt", attempt)
        if self.order_id is not None and self.state is not CheckoutState.CONSUMED:
            raise InvalidInput(
                f"checkout {self.id!r} is {self.state} but names order {self.order_id!r}: "
                "only a consumed checkout has an order."
            )

    def __repr__(self) -> str:
        order = "" if self.order_id is None else f", order_id={self.order_id!r}"
        return (
            f"<Checkout(id={self.id!r}, state={str(self.state)!r}{order}, "
            f"attempts={len(self.attempts)})>"
        )

    def copy(self) -> Checkout:
        """An independent copy: new attempt and history lists; their entries are frozen."""
        return attrs.evolve(self, attempts=list(self.attempts), history=list(self.history))

    @property
    def state_transitions(self) -> Mapping[CheckoutState, datetime]:
        """The first time each state was entered."""
        return _first_entries(self.history)

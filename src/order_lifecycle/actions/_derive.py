"""What a change of an order asks the shop to do: the actions it creates and those it cancels.

A pure function of the order before the change (``None`` for a new order) and after it,
read from the order table's :class:`~order_lifecycle.lifecycle.ActionSpec` rows: entering a
state (each step the change appended, implied ones included) or applying an operation
creates the actions declared on it, one per subject (the order, an item, a charge) whose
reason holds in the order after the change. Each action has a stable key (the order's id,
the kind and the subject), so deriving the same change twice, or a redelivered webhook,
names the same actions. A change also cancels the pending actions whose reason it took
away: the order left the states that keep them, an item has no open units any more, a
charge nothing left to capture.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from typing import Any

import attrs

from order_lifecycle.exceptions import WrongType
from order_lifecycle.lifecycle._spec import ActionScope, ActionSpec, MachineSpec
from order_lifecycle.lifecycle._tables import ORDER_SPEC, ActionKind
from order_lifecycle.lifecycle._vocabulary import Operation, OrderEvent, OrderState
from order_lifecycle.models._models import Order

__all__ = ["Action", "Derived", "action_key", "derive_actions"]

Spec = MachineSpec[OrderState, OrderEvent]

_quoted = json.encoder.encode_basestring  # one JSON string, quoted, non-ASCII kept

_ITEM_SCOPES = {
    ActionScope.PHYSICAL_ITEM: True,
    ActionScope.DIGITAL_ITEM: False,
    ActionScope.UNKNOWN_ITEM: None,
}


@attrs.frozen
class Action:
    """One thing the shop must do, keyed so that its handler can be idempotent.

    ``subject`` is the item's or charge's id (or, for an order-wide action, which entry
    into its state made it: ``"dispute#2"``); ``payload`` what the handler needs, as JSON.
    """

    key: str
    order_id: str
    kind: ActionKind
    subject: str
    payload: dict[str, Any] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class Derived:
    """The actions a change creates, and the keys of the pending actions it cancels."""

    created: tuple[Action, ...] = ()
    cancelled: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.created or self.cancelled)


def action_key(order_id: str, kind: StrEnum | str, subject: str) -> str:
    """The stable idempotency key of an action: its order, kind and subject, as JSON text."""
    # What json.dumps([...], ensure_ascii=False, separators=(",", ":")) writes, a fifth the cost.
    return f"[{_quoted(order_id)},{_quoted(str(kind))},{_quoted(subject)}]"


def derive_actions(
    before: Order | None,
    after: Order,
    operation: Operation | None = None,
    *,
    spec: Spec = ORDER_SPEC,
) -> Derived:
    """The actions the change from ``before`` to ``after`` creates and cancels.

    Operations are also read from the data (a charge's refunded amount grew: a refund),
    so a store can derive the actions of a change it did not see being made;
    ``operation`` names one more.

    Raises:
        WrongType: ``before`` is not an ``Order`` or ``None``, or ``after`` not an ``Order``.

    """
    if not isinstance(after, Order):
        raise WrongType("after", "an Order", after)
    if before is not None and not isinstance(before, Order):
        raise WrongType("before", "an Order or None", before)
    if operation is not None and not isinstance(operation, Operation):
        raise WrongType("operation", "an Operation or None", operation)
    if _quiet(_plan(spec), before, after, operation):
        return _NOTHING
    return _derived(before, after, operation, spec)


def _derived(
    before: Order | None, after: Order, operation: Operation | None, spec: Spec
) -> Derived:
    """The full derivation (the fast path in :func:`derive_actions` skips it when quiet)."""
    known = len(before.history) if before is not None else 0
    triggers: dict[StrEnum, None] = dict.fromkeys(step.dest for step in after.history[known:])
    if operation is not None:
        triggers[operation] = None
    if before is not None and any(
        charge.refunded > _refunded(before, charge.id) for charge in after.charges
    ):
        triggers[Operation.REFUND] = None
    created: dict[str, Action] = {}
    for trigger in triggers:
        for declared in spec.actions_on(trigger):
            if declared.while_in is None or after.state in declared.while_in:
                for action in _subjects(declared, before, after):
                    created.setdefault(action.key, action)
    cancelled = [
        key for key in dict.fromkeys(_cancelled(spec, before, after)) if key not in created
    ]
    return Derived(tuple(created.values()), tuple(cancelled))


_NOTHING = Derived()


@attrs.frozen
class _Plan:
    """What of an order the spec's actions read: the change's fast path looks only there."""

    spec: Spec
    triggers: frozenset[StrEnum]
    """The states and operations some action is declared on."""
    kept_in: dict[OrderState, tuple[frozenset[OrderState], ...]]
    """For each state, the ``while_in`` sets that hold it: leaving them cancels."""
    items: bool
    """Some action is per item (an item losing its open units cancels it)."""
    charges: bool
    """Some action is per uncaptured charge (a charge settled cancels it)."""


_PLANS: dict[int, _Plan] = {}
_PLANS_KEPT = 16


def _plan(spec: Spec) -> _Plan:
    """The spec's plan, made once per spec (keyed by identity: specs are built once)."""
    found = _PLANS.get(id(spec))
    if found is None or found.spec is not spec:
        kept_in: dict[OrderState, list[frozenset[OrderState]]] = {}
        for declared in spec.actions:
            if declared.while_in is not None:
                for state in declared.while_in:
                    kept_in.setdefault(state, []).append(frozenset(declared.while_in))
        scopes = {declared.for_each for declared in spec.actions}
        found = _Plan(
            spec,
            frozenset(declared.on for declared in spec.actions),
            {state: tuple(sets) for state, sets in kept_in.items()},
            items=any(scope in _ITEM_SCOPES for scope in scopes),
            charges=ActionScope.UNCAPTURED_CHARGE in scopes,
        )
        if len(_PLANS) >= _PLANS_KEPT:
            _PLANS.clear()  # specs are few; many means made on the fly: keep none alive
        _PLANS[id(spec)] = found
    return found


def _quiet(plan: _Plan, before: Order | None, after: Order, operation: Operation | None) -> bool:
    """Whether the change touches nothing an action depends on (then it derives nothing).

    Conservative: ``False`` sends the change through the full derivation, which decides.
    """
    if operation is not None and operation in plan.triggers:
        return False
    history = after.history
    known = len(before.history) if before is not None else 0
    if any(history[index].dest in plan.triggers for index in range(known, len(history))):
        return False
    return before is None or _nothing_lost(plan, before, after)


def _nothing_lost(plan: _Plan, before: Order, after: Order) -> bool:
    """No action's reason went away and no charge was refunded between the two orders."""
    if before.state != after.state and any(
        after.state not in kept for kept in plan.kept_in.get(before.state, ())
    ):
        return False
    charges_changed = before.charges is not after.charges
    if (
        charges_changed
        and Operation.REFUND in plan.triggers
        and any(charge.refunded > _refunded(before, charge.id) for charge in after.charges)
    ):
        return False
    if plan.items and before.items is not after.items:
        was_open = {item.id for item in before.items if item.open_quantity > 0}
        if any(item.id in was_open and item.open_quantity == 0 for item in after.items):
            return False
    if plan.charges and charges_changed:
        was_open = {charge.id for charge in before.charges if charge.open_amount > 0}
        return not any(c.id in was_open and c.open_amount == 0 for c in after.charges)
    return True


def _refunded(order: Order, charge_id: str) -> Decimal:
    return next((c.refunded for c in order.charges if c.id == charge_id), Decimal(0))


def _subjects(  # noqa: C901 (one branch per scope)
    declared: ActionSpec[Any], before: Order | None, after: Order
) -> Iterator[Action]:
    """The actions ``declared`` makes for ``after``: one per subject whose reason holds."""
    kind = ActionKind(declared.kind)
    scope = declared.for_each
    if scope is ActionScope.ORDER:
        subject = _entry(after, declared.on)
        payload: dict[str, Any] = {"state": str(after.state)}
        if declared.message is not None:
            payload["message"] = declared.message
        yield _action(after.id, kind, subject, payload)
    elif scope in _ITEM_SCOPES:
        for item in after.items:
            if item.physical is _ITEM_SCOPES[scope] and item.open_quantity > 0:
                payload = {"item_id": item.id, "quantity": item.open_quantity}
                yield _action(after.id, kind, item.id, payload)
    elif scope is ActionScope.UNCAPTURED_CHARGE:
        for charge in after.charges:
            if charge.open_amount > 0:
                payload = {
                    "charge_id": charge.id,
                    "amount": str(charge.open_amount),
                    "currency": charge.currency or after.currency,
                }
                yield _action(after.id, kind, charge.id, payload)
    elif scope is ActionScope.REFUNDED_CHARGE and before is not None:
        for charge in after.charges:
            earlier = _refunded(before, charge.id)
            if charge.refunded > earlier:
                payload = {
                    "charge_id": charge.id,
                    "amount": str(charge.refunded - earlier),
                    "refunded": str(charge.refunded),
                    "currency": charge.currency or after.currency,
                }
                yield _action(after.id, kind, f"{charge.id}@{charge.refunded}", payload)


def _entry(order: Order, state: StrEnum) -> str:
    """Which entry into ``state`` the order's history is at: ``"dispute#2"``."""
    return f"{state}#{sum(1 for step in order.history if step.dest == state)}"


def _action(order_id: str, kind: ActionKind, subject: str, payload: dict[str, Any]) -> Action:
    return Action(action_key(order_id, kind, subject), order_id, kind, subject, payload)


def _cancelled(  # noqa: C901 (one branch per scope)
    spec: Spec, before: Order | None, after: Order
) -> Iterator[str]:
    """The keys of the actions whose reason the change took away (pending or not)."""
    if before is None:
        return
    left_state = before.state != after.state
    was_open = {item.id: item.open_quantity > 0 for item in before.items}
    was_uncaptured = {charge.id: charge.open_amount > 0 for charge in before.charges}
    for declared in spec.actions:
        kind, scope = declared.kind, declared.for_each
        gone = (
            left_state
            and declared.while_in is not None
            and before.state in declared.while_in
            and after.state not in declared.while_in
        )
        if scope is ActionScope.ORDER:
            if gone and isinstance(declared.on, OrderState):
                yield action_key(after.id, kind, _entry(before, declared.on))
        elif scope in _ITEM_SCOPES:
            for item in after.items:
                closed = was_open.get(item.id, False) and item.open_quantity == 0
                if item.physical is _ITEM_SCOPES[scope] and (gone or closed):
                    yield action_key(after.id, kind, item.id)
        elif scope is ActionScope.UNCAPTURED_CHARGE:
            for charge in after.charges:
                settled = was_uncaptured.get(charge.id, False) and charge.open_amount == 0
                if gone or settled:
                    yield action_key(after.id, kind, charge.id)

"""What a change of an order asks the shop to do: the actions it creates, rewrites and cancels.

A function of the order before the change (``None`` for a new order) and after it, read
from the order table's :class:`~order_lifecycle.lifecycle.ActionSpec` rows: entering a
state (each step the change appended, implied ones included) or applying an operation
creates the actions declared on it, one per subject (the order, an item, a charge) whose
reason holds in the order after the change; an entry from a state that keeps an action
(back from a dispute) creates nothing, the action made before still standing. Each action
has a stable key (the order's id, the kind and the subject), so deriving the same change
twice, or a redelivered webhook, names the same actions. A change also rewrites what a
written action covers (a partial cancellation leaves fewer units to ship, a partial
capture less to capture), and cancels the actions whose reason it took away: the order
left the states that keep them, an item has no open units any more, a charge nothing left
to capture. Items are physical or digital as the provider says, or as the shop's
:class:`~order_lifecycle.actions.ActionPolicy` classifies them; an item's cancellation and
rewrite name every item kind, so they reach its action however it was classified. The
policy's listeners hear each step the change appended: one action of the listener's kind
per step it hears, keyed by the step's number in the history.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

import attrs

from order_lifecycle.exceptions import WrongType
from order_lifecycle.lifecycle import (
    ORDER_SPEC,
    ActionKind,
    ActionScope,
    ActionSpec,
    MachineSpec,
    Operation,
    OrderEvent,
    OrderState,
    entries,
)
from order_lifecycle.models import Charge, Item, Order

from ._policy import DEFAULT_POLICY, ActionPolicy
from ._requests import TRANSITIONED

__all__ = ["Action", "Derived", "RefundSettlement", "action_key", "derive_actions"]

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
    into its state made it: ``"dispute#2"``; for a subscription, the event's id; for a
    listener, the step: ``"step#3"``); ``payload`` what the handler needs, as JSON.
    ``kind`` is a kind of the order table, or one of the shop's (a plain ``str``).
    """

    key: str
    order_id: str
    kind: ActionKind | str
    subject: str
    payload: dict[str, Any] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class RefundSettlement:
    """The provider's report that a refund (on one of its charges) settled: complete or failed.

    What settles the order's ``confirm_refund`` for that charge and amount (the store
    matches it, see ``order_lifecycle.store``): ``confirmed`` for ``refund.complete``,
    else ``refund.failed`` with the provider's ``failure_reason``, if it gave one.
    ``charge_id`` is ``None`` when the refund named no charge (then the amount alone
    matches).
    """

    order_id: str
    event_id: str
    event_type: str
    refund_id: str
    charge_id: str | None
    amount: Decimal
    currency: str | None
    confirmed: bool
    failure_reason: str | None = None

    @property
    def reason(self) -> str:
        """What settled the action, in words (kept with it)."""
        said = "complete" if self.confirmed else "failed"
        why = f": {self.failure_reason}" if self.failure_reason else ""
        return (
            f"the provider reported refund {self.refund_id} {said}{why} "
            f"({self.event_type}, event {self.event_id})"
        )


@attrs.frozen
class Derived:
    """The actions a change creates, those whose payload it rewrites, and those it cancels.

    ``updated`` holds actions by key with the payload fields the change rewrites (an item's
    open ``quantity``, a charge's uncaptured ``amount``): a store rewrites them in the
    actions it holds under those keys that are not finished, and ignores the others.
    ``cancelled`` are keys; ``reasons`` says, for each, why its reason went away.
    ``settlements`` are the provider's reports of refunds that settle ``confirm_refund``
    actions (a delivery's, not a change's).
    """

    created: tuple[Action, ...] = ()
    cancelled: tuple[str, ...] = ()
    updated: tuple[Action, ...] = ()
    reasons: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    settlements: tuple[RefundSettlement, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.created or self.cancelled or self.updated or self.settlements)

    def why(self, key: str) -> str:
        """Why the action under ``key`` was cancelled (in words, for its result and the log).

        Raises:
            WrongType: ``key`` is not a str.

        """
        if not isinstance(key, str):
            raise WrongType("key", "an action's key (a str)", key)
        return self.reasons.get(key, "its reason went away")


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
    policy: ActionPolicy | None = None,
) -> Derived:
    """The actions the change from ``before`` to ``after`` creates, rewrites and cancels.

    Operations are also read from the data (a charge's refunded amount grew: a refund),
    so a store can derive the actions of a change it did not see being made;
    ``operation`` names one more. ``policy`` classifies the items the provider did not
    say are physical or digital (the shop's :class:`ActionPolicy`; by default none is).

    Raises:
        WrongType: ``before`` is not an ``Order`` or ``None``, ``after`` not an ``Order``,
            ``policy`` not an ``ActionPolicy`` or ``None``.

    """
    if not isinstance(after, Order):
        raise WrongType("after", "an Order", after)
    if before is not None and not isinstance(before, Order):
        raise WrongType("before", "an Order or None", before)
    if operation is not None and not isinstance(operation, Operation):
        raise WrongType("operation", "an Operation or None", operation)
    if policy is not None and not isinstance(policy, ActionPolicy):
        raise WrongType("policy", "an ActionPolicy or None", policy)
    policy = policy or DEFAULT_POLICY
    derived = (
        _NOTHING
        if _quiet(_plan(spec), before, after, operation)
        else _derived(before, after, operation, spec, policy)
    )
    if not policy.listen:
        return derived
    heard = tuple(_heard(before, after, policy))
    if not heard:
        return derived
    return attrs.evolve(derived, created=derived.created + heard)


def _heard(before: Order | None, after: Order, policy: ActionPolicy) -> Iterator[Action]:
    """An action of each listener's kind for each step the change appended that it hears."""
    history = after.history
    for index in range(len(before.history) if before is not None else 0, len(history)):
        step = history[index]
        for kind, listener in policy.listen.items():
            if listener.hears(step):
                payload = {
                    "request": TRANSITIONED,
                    "step": index,
                    "event": None if step.event is None else str(step.event),
                    "source": None if step.source is None else str(step.source),
                    "dest": str(step.dest),
                    "at": step.at.isoformat(),
                    "implied": step.implied,
                    "event_id": step.event_id,
                }
                yield _action(after.id, kind, f"step#{index}", payload)


def _derived(
    before: Order | None,
    after: Order,
    operation: Operation | None,
    spec: Spec,
    policy: ActionPolicy = DEFAULT_POLICY,
) -> Derived:
    """The full derivation (the fast path in :func:`derive_actions` skips it when quiet)."""
    known = len(before.history) if before is not None else 0
    # Each trigger with the states its new entries came from (None: the order was created).
    triggers: dict[StrEnum, set[StrEnum | None]] = {}
    for step in after.history[known:]:
        triggers.setdefault(step.dest, set()).add(step.source)
    if operation is not None:
        triggers[operation] = {None}
    if before is not None and _refund_grew(before, after):
        triggers[Operation.REFUND] = {None}
    created: dict[str, Action] = {}
    fulfilment = _classified(after, policy)
    on = _plan(spec).on
    for trigger, sources in triggers.items():
        for declared in on.get(trigger, ()):
            kept = declared.while_in
            if kept is not None and (after.state not in kept or sources.issubset(kept)):
                continue  # no reason now, or an entry back from a state that kept the action
            for action in _subjects(spec, declared, before, after, fulfilment):
                created.setdefault(action.key, action)
    parts = _UNCHANGED if before is None else _parts(before, after)  # each open value read once
    reasons = {k: why for k, why in _cancelled(spec, before, after, parts) if k not in created}
    updated = {a.key: a for a in _updated(spec, after, parts) if a.key not in created}
    return Derived(tuple(created.values()), tuple(reasons), tuple(updated.values()), reasons)


Fulfilment = Callable[[Item], tuple[bool | None, dict[str, str]]]


def _classified(order: Order, policy: ActionPolicy) -> Fulfilment:
    """Each item's fulfilment by ``policy``, asked once per item for one derivation."""
    known: dict[str, tuple[bool | None, dict[str, str]]] = {}

    def fulfilment(item: Item) -> tuple[bool | None, dict[str, str]]:
        found = known.get(item.id)
        if found is None:
            found = known[item.id] = policy.fulfilment(item, order.id)
        return found

    return fulfilment


_NOTHING = Derived()


@attrs.frozen
class _Plan:
    """What of an order the spec's actions read: the change's fast path looks only there."""

    spec: Spec
    triggers: frozenset[StrEnum]
    """The states and operations some action is declared on."""
    on: dict[StrEnum, tuple[ActionSpec[Any], ...]]
    """The actions declared on each of them, in the table's order (``spec.actions_on``)."""
    kept_in: dict[OrderState, tuple[frozenset[OrderState], ...]]
    """For each state, the ``while_in`` sets that hold it: leaving them cancels."""
    items: bool
    """Some action is per item (an item losing its open units cancels it)."""
    charges: bool
    """Some action is per uncaptured charge (a charge settled cancels it)."""
    cancels: dict[tuple[OrderState, OrderState], tuple[_Cancellable, ...]] = attrs.field(
        factory=dict, eq=False
    )
    """For a move between two states, the actions a change may cancel (see :func:`_cancelled`)."""


_ORDER, _ITEMS, _CHARGES = "order", "items", "charges"


@attrs.frozen
class _Cancellable:
    """An action a change between two states may cancel: its kind, what it is per, whether gone.

    ``gone``: the change left the states that keep it (every subject's is cancelled); else
    only the subjects the change closed are. An order-wide action is listed only when gone.
    """

    kind: ActionKind | str
    per: str
    gone: bool
    on: OrderState | None = None


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
        on: dict[StrEnum, list[ActionSpec[Any]]] = {}
        for declared in spec.actions:
            on.setdefault(declared.on, []).append(declared)
        found = _Plan(
            spec,
            frozenset(declared.on for declared in spec.actions),
            {trigger: tuple(declared) for trigger, declared in on.items()},
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
    """No action's reason went away or changed, no charge refunded, between the two orders."""
    if before.state != after.state and any(
        after.state not in kept for kept in plan.kept_in.get(before.state, ())
    ):
        return False
    charges_changed = before.charges is not after.charges
    if charges_changed and Operation.REFUND in plan.triggers and _refund_grew(before, after):
        return False
    # Each part's open units or money computed once (a charge's is two Decimal subtractions).
    if plan.items and before.items is not after.items:
        units = {item.id: n for item in before.items if (n := item.open_quantity) > 0}
        for item in after.items:
            was = units.get(item.id)
            if was is not None and item.open_quantity != was:
                return False
    if plan.charges and charges_changed:
        money = {c.id: m for c in before.charges if (m := c.open_amount) > 0}
        for charge in after.charges:
            held = money.get(charge.id)
            if held is not None and charge.open_amount != held:
                return False
    return True


def _refund_grew(before: Order, after: Order) -> bool:
    """Whether a charge's refunded amount grew: a refund (only a refunded charge can show one).

    Amounts are never negative, so a charge refunded nothing (most) is not looked up.
    """
    if before.charges is after.charges:
        return False
    return any(c.refunded and c.refunded > _refunded(before, c.id) for c in after.charges)


def _refunded(order: Order, charge_id: str) -> Decimal:
    return next((c.refunded for c in order.charges if c.id == charge_id), Decimal(0))


def _subjects(
    spec: Spec,
    declared: ActionSpec[Any],
    before: Order | None,
    after: Order,
    fulfilment: Fulfilment,
) -> Iterator[Action]:
    """The actions ``declared`` makes for ``after``: one per subject whose reason holds."""
    kind = _kind(declared)
    scope = declared.for_each
    if scope is ActionScope.ORDER:
        subject = _entry(after, declared.on)
        payload: dict[str, Any] = {"state": str(after.state)}
        if declared.tells_customer:  # the table's customer sentence for that state
            payload["message"] = spec.state(OrderState(declared.on)).customer
        yield _action(after.id, kind, subject, payload)
    elif scope in _ITEM_SCOPES:
        yield from _item_actions(kind, _ITEM_SCOPES[scope], after, fulfilment)
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


def _item_actions(
    kind: ActionKind,
    physical: bool | None,  # noqa: FBT001 (an item's flag, as Item.physical)
    order: Order,
    fulfilment: Fulfilment,
) -> Iterator[Action]:
    """One action of ``kind`` for each item with open units whose fulfilment is ``physical``."""
    for item in order.items:
        units = item.open_quantity
        if units > 0:
            found, note = fulfilment(item)
            if found is physical:
                payload: dict[str, Any] = {"item_id": item.id, "quantity": units}
                if item.sku is not None:
                    payload["sku"] = item.sku
                yield _action(order.id, kind, item.id, payload | note)


def _entry(order: Order, state: StrEnum) -> str:
    """Which entry into ``state`` the order's history is at: ``"dispute#2"``."""
    return f"{state}#{entries(order.history, state)}"


def _action(order_id: str, kind: StrEnum | str, subject: str, payload: dict[str, Any]) -> Action:
    return Action(action_key(order_id, kind, subject), order_id, kind, subject, payload)


def _cancelled(  # noqa: C901 (one branch per scope)
    spec: Spec, before: Order | None, after: Order, parts: _Parts | None = None
) -> Iterator[tuple[str, str]]:
    """The keys of the actions whose reason the change took away (in any state), and why."""
    if before is None:
        return
    closed_items, settled = (_parts(before, after) if parts is None else parts).closed
    if before.state == after.state and not (closed_items or settled):
        return
    left = f"the order left {before.state} for {after.state}"
    order = _quoted(after.id)
    for action in _cancellable(_plan(spec), before.state, after.state):
        gone, per = action.gone, action.per
        if not (gone or (closed_items if per is _ITEMS else settled if per is _CHARGES else 0)):
            continue
        # Each key is action_key's text: its order and kind quoted once for all its subjects.
        head = f"[{order},{_quoted(str(action.kind))},"
        if per is _ORDER:
            yield f"{head}{_quoted(_entry(before, action.on))}]", left  # type: ignore[arg-type]
        elif per is _ITEMS:  # every item kind: however the item was classified
            for item in after.items:
                if gone or item.id in closed_items:
                    why = left if gone else f"item {item.id!r} has no open units any more"
                    yield f"{head}{_quoted(item.id)}]", why
        else:
            for charge in after.charges:
                if gone or charge.id in settled:
                    why = left if gone else f"charge {charge.id!r} has nothing left to capture"
                    yield f"{head}{_quoted(charge.id)}]", why


def _cancellable(plan: _Plan, was: OrderState, now: OrderState) -> tuple[_Cancellable, ...]:
    """The actions a change from ``was`` to ``now`` may cancel, in the table's order; made once.

    Of every declared action: an order-wide one left (the order left the states keeping
    it, and it is declared on a state), each per item or per uncaptured charge (gone, or
    cancelled for the parts the change closes); no other can be.
    """
    found = plan.cancels.get((was, now))
    if found is None:
        rows = []
        for declared in plan.spec.actions:
            kept, scope = declared.while_in, declared.for_each
            gone = was != now and kept is not None and was in kept and now not in kept
            if scope is ActionScope.ORDER:
                if gone and isinstance(declared.on, OrderState):
                    rows.append(_Cancellable(declared.kind, _ORDER, gone, declared.on))
            elif scope in _ITEM_SCOPES:
                rows.append(_Cancellable(declared.kind, _ITEMS, gone))
            elif scope is ActionScope.UNCAPTURED_CHARGE:
                rows.append(_Cancellable(declared.kind, _CHARGES, gone))
        found = plan.cancels[was, now] = tuple(rows)
    return found


class _Parts(NamedTuple):
    """What a change did to an order's items and charges, each part's open value read once."""

    closed: tuple[AbstractSet[str], AbstractSet[str]]
    """The items and charges the change closed (open before, none after)."""
    moved: tuple[list[Item], list[Charge]]
    """The items and charges open before and after, by another amount."""


_UNCHANGED = _Parts((frozenset(), frozenset()), ([], []))


def _parts(before: Order, after: Order) -> _Parts:
    """The parts the change closed and those whose open units or money moved, found once.

    Parts the change left as they were (the same tuple) closed and moved nothing. Each
    part's open units or money is computed once for both (a charge's is two ``Decimal``
    subtractions). Items and charges are written out alike: one helper for both, given
    the property to read, cost 2,000 instructions a delivery more.
    """
    if before.items is after.items and before.charges is after.charges:
        return _UNCHANGED
    closed_items: set[str] = set()
    moved_items: list[Item] = []
    if before.items is not after.items:
        units = {item.id: item.open_quantity for item in before.items}
        for item in after.items:
            was, now = units.get(item.id, 0), item.open_quantity
            if was > 0 and now == 0:
                closed_items.add(item.id)
            elif _moved(was, now):
                moved_items.append(item)
    settled: set[str] = set()
    moved_charges: list[Charge] = []
    if before.charges is not after.charges:
        money = {charge.id: charge.open_amount for charge in before.charges}
        for charge in after.charges:
            held, left = money.get(charge.id, 0), charge.open_amount
            if held > 0 and left == 0:
                settled.add(charge.id)
            elif _moved(held, left):
                moved_charges.append(charge)
    return _Parts((closed_items, settled), (moved_items, moved_charges))


def _updated(spec: Spec, after: Order, parts: _Parts) -> Iterator[Action]:
    """What the change rewrites in the actions it leaves standing: units and money still open."""
    items, charges = parts.moved
    if not items and not charges:
        return
    for declared in spec.actions:
        if declared.while_in is not None and after.state not in declared.while_in:
            continue  # cancelled by this change, if it was standing
        if declared.for_each in _ITEM_SCOPES:
            for item in items:
                quantity: dict[str, Any] = {"quantity": item.open_quantity}
                yield _action(after.id, _kind(declared), item.id, quantity)
        elif declared.for_each is ActionScope.UNCAPTURED_CHARGE:
            for charge in charges:
                amount: dict[str, Any] = {"amount": str(charge.open_amount)}
                yield _action(after.id, _kind(declared), charge.id, amount)


def _moved(was: Decimal | int, now: Decimal | int) -> bool:
    """Open before and after, by another amount: what an action standing covers changed."""
    return was > 0 and now > 0 and now != was


def _kind(declared: ActionSpec[Any]) -> ActionKind:
    """The declaration's kind as an :class:`ActionKind` (most are one already: no lookup)."""
    kind = declared.kind
    return kind if type(kind) is ActionKind else ActionKind(kind)

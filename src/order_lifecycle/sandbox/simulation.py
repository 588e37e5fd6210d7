"""The provider simulated: one order's life, move by move, and the events each move sends.

A :class:`Life` is an order at the provider: created in an entry state, then moved the ways
the provider's rules allow (review, acceptance, blocks, expiry, fulfilments and
cancellations of items, captures and cancels of charges, refunds, returns, disputes and
their resolutions, including the [X] one back to ``accepted``). Each move emits the events
the provider would: order events with the whole snapshot, charge events with the charge.
Event times strictly increase, and the data always satisfies the order table's guards, so a
reconciler that follows the table accepts the stream in order.

What is left open (how long passes between moves, which item a fulfilment takes, whether
an object shows its ``fraudState``) is asked of a :class:`Choices`: the testing kit draws
the answers with hypothesis (random lives); :class:`Scripted` answers the same every time
(the local provider's lives).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import attrs

from . import shapes as ev

__all__ = [
    "ENTRY_TYPES",
    "RARE_MOVES",
    "Charge",
    "Choices",
    "Item",
    "Life",
    "Scripted",
]

T = TypeVar("T")
Json = dict[str, Any]

_FRAUD = {
    "pending_payment": None,
    "in_review": "review_opened",
    "accepted": "passed",
    "blocked": "blocked",
    "cancelled": "passed",
    "dispute": "review_opened",
}
ENTRY_TYPES = {
    "pending_payment": ("order.pending_payment",),
    "in_review": ("order.review_opened",),
    "accepted": ("order.accepted", "checkout_session.order.created"),
}
"""The event types announcing an order created in each entry state."""
_STATE_TYPES = {
    "in_review": "order.review_opened",
    "accepted": "order.accepted",
    "blocked": "order.blocked",
    "cancelled": "order.cancelled",
    "fulfilled": "order.fulfilled",
    "complete": "order.complete",
    "returned": "order.refunded",
    "dispute": "order.dispute",
}

RARE_MOVES = frozenset({"touch", "block", "expire", "cancel_item", "cancel_charge", "dispute"})
"""Moves that end or pause a life, or change nothing: taken less often than the others."""


class Choices(Protocol):
    """What a life leaves open, answered by whoever runs it (hypothesis, or a script)."""

    def pause(self) -> timedelta:
        """How long passes before the provider's next step."""

    def pick(self, options: Sequence[T]) -> T:
        """One of ``options`` (never empty): the item fulfilled, the charge captured..."""

    def shows_fraud_state(self) -> bool:
        """Whether an order object shows its ``fraudState`` (the provider leaves some out)."""


@attrs.frozen
class Scripted:
    """Choices made the same way every time: ``step`` between steps, the first option."""

    step: timedelta

    def pause(self) -> timedelta:
        """Always ``step``."""
        return self.step

    def pick(self, options: Sequence[T]) -> T:
        """Always the first option."""
        return options[0]

    def shows_fraud_state(self) -> bool:
        """Always: the object shows its fraud state."""
        return True


@attrs.define
class Charge:
    """A charge of a simulated order, with its captures, cancels and refunds."""

    id: str
    amount: float
    state: str
    created: datetime = ev.T0
    captures: list[Json] = attrs.Factory(list)
    cancels: list[Json] = attrs.Factory(list)
    refunds: list[Json] = attrs.Factory(list)

    def body(self, order_id: str | None = None) -> Json:
        """The charge as the provider shows it; a charge event's object with ``order_id``."""
        return ev.charge(
            self.id,
            self.state,
            self.amount,
            captures=self.captures,
            cancels=self.cancels,
            refunds=self.refunds,
            order_id=order_id,
            created=self.created,
        )


@attrs.define
class Item:
    """A line item of a simulated order."""

    id: str
    quantity: int
    physical: bool | None
    state: str = "created"
    created: datetime = ev.T0

    def body(self) -> Json:
        """The item as an order object lists it."""
        return ev.item(
            self.id, self.quantity, state=self.state, physical=self.physical, created=self.created
        )


@attrs.define
class Life:
    """One order's life at the provider, and the events it sent, as it is simulated.

    ``clock`` is when the life begins; ``event_prefix`` starts every event id (the order's
    id by default); ``checkout_id`` is the checkout the order came from (``chk-<order id>``
    by default). With ``refund_events``, a refund is followed by ``refund.complete``
    (a move random lives never make: their events are all order and charge events).
    """

    order_id: str
    state: str
    items: list[Item]
    charges: list[Charge]
    clock: datetime
    choices: Choices
    events: list[Json] = attrs.Factory(list)
    firsts: dict[str, datetime] = attrs.Factory(dict)
    fraud: str | None = None
    fraud_firsts: dict[str, datetime] = attrs.Factory(dict)
    before_dispute: str | None = None
    version: str = ev.VERSION
    event_prefix: str = ""
    refund_events: bool = False
    checkout_id: str | None = None
    unconfirmed: list[tuple[str, Json]] = attrs.Factory(list)

    def fork(self) -> Life:
        """A copy to move on separately (the JSON already emitted is shared: it never changes)."""
        return attrs.evolve(
            self,
            items=[attrs.evolve(item) for item in self.items],
            charges=[
                attrs.evolve(
                    charge,
                    captures=list(charge.captures),
                    cancels=list(charge.cancels),
                    refunds=list(charge.refunds),
                )
                for charge in self.charges
            ],
            events=list(self.events),
            firsts=dict(self.firsts),
            fraud_firsts=dict(self.fraud_firsts),
            unconfirmed=list(self.unconfirmed),
        )

    def tick(self) -> datetime:
        """Time passes."""
        self.clock += self.choices.pause()
        return self.clock

    def enter(self, state: str, fraud: str | None = None) -> None:
        """The order enters ``state``; its fraud state follows (or is ``fraud``)."""
        moment = self.tick()
        self.state = state
        self.firsts.setdefault(state, moment)
        self.set_fraud(fraud if fraud is not None else _FRAUD.get(state, self.fraud), moment)

    def set_fraud(self, fraud: str | None, moment: datetime) -> None:
        """The fraud state changes, its first entry remembered."""
        self.fraud = fraud
        if fraud is not None:
            self.fraud_firsts.setdefault(fraud, moment)

    def snapshot(self) -> Json:
        """The order object as the provider shows it now, in the life's API version."""
        if self.version == ev.LEGACY_VERSION:
            return ev.legacy_order(
                self.order_id,
                self.state,
                transitions=self.firsts,
                fraud=self.fraud,
                items=[i.body() for i in self.items],
                charges=[c.body() for c in self.charges] if self.charges else None,
            )
        body = ev.order(
            self.order_id,
            self.state,
            transitions=self.firsts,
            fraud=self.fraud,
            fraud_transitions=self.fraud_firsts,
            items=[i.body() for i in self.items],
            charges=[c.body() for c in self.charges] if self.charges else None,
            checkout_id=self.checkout_id,
        )
        if self.fraud is not None and not self.choices.shows_fraud_state():
            del body["fraudState"]  # the provider leaves it out of some objects
        return body

    def record(self, event_type: str, obj: Json, moment: datetime) -> None:
        """The provider sends an event of ``event_type`` with ``obj``, created at ``moment``."""
        prefix = self.event_prefix or f"evt-{self.order_id}"
        event_id = f"{prefix}-{len(self.events)}"
        self.events.append(ev.event(event_id, event_type, obj, moment, version=self.version))

    def emit_order(self, event_type: str) -> None:
        """The provider sends an order event with the whole order."""
        moment = self.tick()
        self.record(event_type, self.snapshot(), moment)

    def emit_charge(self, charge: Charge, event_type: str) -> None:
        """The provider sends a charge event with the charge."""
        moment = self.tick()
        self.record(event_type, charge.body(self.order_id), moment)

    def open_items(self) -> list[Item]:
        """Items neither fulfilled nor cancelled."""
        return [i for i in self.items if i.state == "created"]

    def capturable(self) -> list[Charge]:
        """Charges that may still be captured or cancelled."""
        return [c for c in self.charges if c.state == "capturable"]

    def moves(self) -> list[str]:  # noqa: C901 (one branch per state, as the table)
        """The moves the provider's rules allow now."""
        state, moves = self.state, ["touch"]
        if state == "pending_payment":
            moves += ["review", "accept", "block"] + ([] if self.charges else ["expire"])
        elif state == "in_review":
            moves += ["accept", "block"]
        elif state == "accepted":
            if self.open_items():
                moves += ["fulfil_item", "cancel_item"]
            if self.capturable() and any(i.state == "fulfilled" for i in self.items):
                moves += ["capture"]
            moves += ["dispute"]
        elif state == "fulfilled":
            if self.capturable():
                moves += ["capture", "cancel_charge"]
            moves += ["dispute"]
        elif state == "complete":
            moves += ["refund", "return", "dispute"]
        elif state == "returned":
            moves += ["dispute"]
        elif state == "dispute":
            moves += ["resolve"]
            if self.before_dispute == "complete":
                moves += ["resolve_to_accepted"]
        if self.unconfirmed:
            moves += ["refund_complete"]
        return moves

    def move(self, name: str) -> None:  # noqa: C901, PLR0912 (one branch per move)
        """Make one move, emitting the events the provider would."""
        if name == "touch":
            self.emit_order("order.updated")
        elif name in {"review", "accept"}:
            for charge in self.charges:
                charge.state = "capturable"
            self.enter("in_review" if name == "review" else "accepted")
            self.emit_order(_STATE_TYPES[self.state])
        elif name == "block":
            self.cancel_charges(announce=False)
            for item in self.items:
                item.state = "blocked"
            self.enter("blocked")
            self.emit_order("order.blocked")
        elif name == "expire":
            for item in self.items:
                item.state = "cancelled"
            self.enter("cancelled")
            self.emit_order("order.cancelled")
        elif name in {"fulfil_item", "cancel_item"}:
            item = self.choices.pick(self.open_items())
            item.state = "fulfilled" if name == "fulfil_item" else "cancelled"
            self.after_items()
        elif name in {"capture", "cancel_charge"}:
            self.settle_charge(self.choices.pick(self.capturable()), capture=name == "capture")
            self.after_charges()
        elif name == "refund":
            self.refund()
        elif name == "refund_complete":
            charge_id, operation = self.unconfirmed.pop(0)
            refund_id = f"{self.order_id}-{charge_id}-{operation['id']}"
            obj = ev.refund(refund_id, self.order_id, charge_id, operation)
            self.record("refund.complete", obj, self.tick())
        elif name == "return":
            for item in self.items:
                if item.state == "fulfilled":
                    item.state = "returned"
            self.enter("returned")
            self.emit_order("order.refunded")
        elif name == "dispute":
            self.before_dispute = self.state
            self.enter("dispute")
            self.emit_order("order.dispute")
        elif name in {"resolve", "resolve_to_accepted"}:
            back = "accepted" if name == "resolve_to_accepted" else self.before_dispute
            if back is None:  # a dispute always remembers what it interrupted
                raise AssertionError("a dispute without the state before it")
            self.enter(back, fraud="passed")
            self.before_dispute = None
            self.emit_order("order.dispute.resolved")

    def settle_charge(self, charge: Charge, *, capture: bool) -> None:
        """Capture or cancel what is open of ``charge``, announced by a charge event."""
        if capture:
            charge.captures.append(
                ev.operation(f"cp-{charge.id}", charge.amount, "complete", self.clock)
            )
            charge.state = "complete"
            self.emit_charge(charge, "order.charge.capture.complete")
        else:
            charge.cancels.append(
                ev.operation(f"cx-{charge.id}", charge.amount, "complete", self.clock)
            )
            charge.state = "cancelled"
            self.emit_charge(charge, "order.charge.cancel.complete")

    def cancel_charges(self, *, announce: bool) -> None:
        """Cancel every charge not cancelled yet (a charge event each when ``announce``)."""
        for charge in self.charges:
            if charge.state == "cancelled":
                continue
            if announce:
                self.settle_charge(charge, capture=False)
            else:
                charge.cancels.append(
                    ev.operation(f"cx-{charge.id}", charge.amount, "complete", self.clock)
                )
                charge.state = "cancelled"

    def refund(self) -> None:
        """A part of a captured charge is refunded; the provider sends ``order.refunded``."""
        refunded = next((c for c in self.charges if c.state == "complete"), None)
        if refunded is not None:
            operation = ev.operation(f"re-{len(refunded.refunds)}", 0.01, "complete", self.clock)
            refunded.refunds.append(operation)
            if self.refund_events:
                self.unconfirmed.append((refunded.id, operation))
        self.emit_order("order.refunded")

    def after_items(self) -> None:
        """The provider's follow-ups once units close: fulfilled, or cancelled everything."""
        if self.open_items():
            return
        if any(i.state == "fulfilled" for i in self.items):
            self.enter("fulfilled")
            self.emit_order("order.fulfilled")
            self.after_charges()
            return
        self.cancel_charges(announce=True)
        self.enter("cancelled")
        self.emit_order("order.cancelled")

    def after_charges(self) -> None:
        """A fulfilled order whose charges are settled, one captured, completes."""
        settled = all(c.state in {"complete", "cancelled"} for c in self.charges)
        captured = any(c.state == "complete" for c in self.charges)
        if self.state == "fulfilled" and settled and captured:
            self.enter("complete")
            self.emit_order("order.complete")

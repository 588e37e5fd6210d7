"""Valid lives of an order at the provider, as the signed deliveries it posts.

:func:`order_lives` simulates the provider: an order created in an entry state, then moves
the provider's rules allow (review, acceptance, blocks, expiry, fulfilments and
cancellations of items, captures and cancels of charges, refunds, returns, disputes and
their resolutions, including the [X] one back to ``accepted``). Each move emits the events
the provider would: order events with the whole snapshot, charge events with the charge.
Event times strictly increase. The data always satisfies the order table's guards, so a
reconciler that follows the table must accept the stream in order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import OrderState
from order_lifecycle.models import Charge, Item, Order

from . import _shapes as ev
from ._deliveries import TEST_SECRET, SignedDelivery, signed_delivery

__all__ = ["OrderLife", "order_lives", "shuffled_deliveries"]

Json = dict[str, Any]

_FRAUD = {
    "pending_payment": None,
    "in_review": "review_opened",
    "accepted": "passed",
    "blocked": "blocked",
    "cancelled": "passed",
    "dispute": "review_opened",
}
_ENTRY_TYPES = {
    "pending_payment": ["order.pending_payment"],
    "in_review": ["order.review_opened"],
    "accepted": ["order.accepted", "checkout_session.order.created"],
}
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


_RARE = frozenset({"touch", "block", "expire", "cancel_item", "cancel_charge", "dispute"})


@attrs.define
class _Charge:
    id: str
    amount: float
    state: str
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
        )


@attrs.define
class _Item:
    id: str
    quantity: int
    physical: bool | None
    state: str = "created"

    def body(self) -> Json:
        """The item as an order object lists it."""
        return ev.item(self.id, self.quantity, state=self.state, physical=self.physical)


@attrs.define
class _Life:
    """One order's life at the provider, and the events it sent, as it is simulated."""

    order_id: str
    state: str
    items: list[_Item]
    charges: list[_Charge]
    clock: datetime
    events: list[Json] = attrs.Factory(list)
    firsts: dict[str, datetime] = attrs.Factory(dict)
    fraud: str | None = None
    fraud_firsts: dict[str, datetime] = attrs.Factory(dict)
    before_dispute: str | None = None
    version: str = ev.VERSION

    def tick(self, draw: st.DrawFn) -> datetime:
        """Time passes: a second to an hour."""
        self.clock += timedelta(seconds=draw(st.integers(1, 3600)), microseconds=1)
        return self.clock

    def enter(self, state: str, draw: st.DrawFn, fraud: str | None = None) -> None:
        """The order enters ``state``; its fraud state follows (or is ``fraud``)."""
        moment = self.tick(draw)
        self.state = state
        self.firsts.setdefault(state, moment)
        self.set_fraud(fraud if fraud is not None else _FRAUD.get(state, self.fraud), moment)

    def set_fraud(self, fraud: str | None, moment: datetime) -> None:
        """The fraud state changes, its first entry remembered."""
        self.fraud = fraud
        if fraud is not None:
            self.fraud_firsts.setdefault(fraud, moment)

    def snapshot(self, draw: st.DrawFn) -> Json:
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
        )
        if self.fraud is not None and draw(st.integers(0, 9)) == 0:
            del body["fraudState"]  # the provider leaves it out of some objects
        return body

    def emit_order(self, event_type: str, draw: st.DrawFn) -> None:
        """The provider sends an order event with the whole order."""
        moment = self.tick(draw)
        event_id = f"evt-{self.order_id}-{len(self.events)}"
        self.events.append(
            ev.event(event_id, event_type, self.snapshot(draw), moment, version=self.version)
        )

    def emit_charge(self, charge: _Charge, event_type: str, draw: st.DrawFn) -> None:
        """The provider sends a charge event with the charge."""
        moment = self.tick(draw)
        event_id = f"evt-{self.order_id}-{len(self.events)}"
        obj = charge.body(self.order_id)
        self.events.append(ev.event(event_id, event_type, obj, moment, version=self.version))

    def open_items(self) -> list[_Item]:
        """Items neither fulfilled nor cancelled."""
        return [i for i in self.items if i.state == "created"]

    def capturable(self) -> list[_Charge]:
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
        return moves

    def move(self, name: str, draw: st.DrawFn) -> None:  # noqa: C901, PLR0912, PLR0915 (one per move)
        """Make one move, emitting the events the provider would."""
        if name == "touch":
            self.emit_order("order.updated", draw)
        elif name in {"review", "accept"}:
            for charge in self.charges:
                charge.state = "capturable"
            self.enter("in_review" if name == "review" else "accepted", draw)
            self.emit_order(_STATE_TYPES[self.state], draw)
        elif name == "block":
            for charge in self.charges:
                charge.cancels.append(
                    ev.operation(f"cx-{charge.id}", charge.amount, "complete", self.clock)
                )
                charge.state = "cancelled"
            for item in self.items:
                item.state = "blocked"
            self.enter("blocked", draw)
            self.emit_order("order.blocked", draw)
        elif name == "expire":
            for item in self.items:
                item.state = "cancelled"
            self.enter("cancelled", draw)
            self.emit_order("order.cancelled", draw)
        elif name in {"fulfil_item", "cancel_item"}:
            item = draw(st.sampled_from(self.open_items()))
            item.state = "fulfilled" if name == "fulfil_item" else "cancelled"
            self.after_items(draw)
        elif name in {"capture", "cancel_charge"}:
            charge = draw(st.sampled_from(self.capturable()))
            if name == "capture":
                charge.captures.append(
                    ev.operation(f"cp-{charge.id}", charge.amount, "complete", self.clock)
                )
                charge.state = "complete"
                self.emit_charge(charge, "order.charge.capture.complete", draw)
            else:
                charge.cancels.append(
                    ev.operation(f"cx-{charge.id}", charge.amount, "complete", self.clock)
                )
                charge.state = "cancelled"
                self.emit_charge(charge, "order.charge.cancel.complete", draw)
            self.after_charges(draw)
        elif name == "refund":
            refunded = next((c for c in self.charges if c.state == "complete"), None)
            if refunded is not None:
                refunded.refunds.append(
                    ev.operation(f"re-{len(refunded.refunds)}", 0.01, "complete", self.clock)
                )
            self.emit_order("order.refunded", draw)
        elif name == "return":
            for item in self.items:
                if item.state == "fulfilled":
                    item.state = "returned"
            self.enter("returned", draw)
            self.emit_order("order.refunded", draw)
        elif name == "dispute":
            self.before_dispute = self.state
            self.enter("dispute", draw)
            self.emit_order("order.dispute", draw)
        elif name in {"resolve", "resolve_to_accepted"}:
            back = "accepted" if name == "resolve_to_accepted" else self.before_dispute
            if back is None:  # a dispute always remembers what it interrupted
                raise AssertionError("a dispute without the state before it")
            self.enter(back, draw, fraud="passed")
            self.before_dispute = None
            self.emit_order("order.dispute.resolved", draw)

    def after_items(self, draw: st.DrawFn) -> None:
        """The provider's follow-ups once units close: fulfilled, or cancelled everything."""
        if self.open_items():
            return
        if any(i.state == "fulfilled" for i in self.items):
            self.enter("fulfilled", draw)
            self.emit_order("order.fulfilled", draw)
            self.after_charges(draw)
            return
        for charge in self.charges:
            if charge.state != "cancelled":
                charge.cancels.append(
                    ev.operation(f"cx-{charge.id}", charge.amount, "complete", self.clock)
                )
                charge.state = "cancelled"
                self.emit_charge(charge, "order.charge.cancel.complete", draw)
        self.enter("cancelled", draw)
        self.emit_order("order.cancelled", draw)

    def after_charges(self, draw: st.DrawFn) -> None:
        """A fulfilled order whose charges are settled, one captured, completes."""
        settled = all(c.state in {"complete", "cancelled"} for c in self.charges)
        captured = any(c.state == "complete" for c in self.charges)
        if self.state == "fulfilled" and settled and captured:
            self.enter("complete", draw)
            self.emit_order("order.complete", draw)


@attrs.frozen
class OrderLife:
    """One valid life of an order at the provider: the deliveries it posted, in order.

    ``final_state`` is the state the last order snapshot reports; ``version`` the API
    version of the shapes (``2021-12-13``, or ``2020-01-07`` with top-level ``charges[]``).
    Every delivery is signed with ``secret`` when its event was sent, and received a second
    later. ``snapshot`` is the order object as the provider shows it once the life is over:
    what a ``GET /orders/{id}`` would return (for testing polling against webhooks).
    """

    order_id: str
    final_state: OrderState
    version: str
    deliveries: tuple[SignedDelivery, ...]
    snapshot: Json = attrs.field(repr=False)
    secret: str | bytes = attrs.field(default=TEST_SECRET, repr=False)

    @property
    def events(self) -> list[Json]:
        """Each delivery's event, parsed afresh (for a test that makes variants of them)."""
        return [delivery.payload() for delivery in self.deliveries]

    def as_created(self) -> Order:
        """The order as its ``POST /orders`` 201 would have created it, before any delivery."""
        first = self.deliveries[0].payload()["data"]["object"]
        charges = first.get("charges") or first.get("payment", {}).get("charges") or []
        return Order.create(
            self.order_id,
            first["state"],
            at=ev.T0,
            checkout_id=first.get("checkoutId"),
            items=[
                Item(i["id"], i["quantity"], physical=i["productDetails"].get("physical"))
                for i in first["items"]
            ],
            charges=[
                Charge(c["id"], c["state"], Decimal(str(c["amount"])), c["currency"])
                for c in charges
            ],
        )


_VERSIONS = (ev.VERSION, ev.LEGACY_VERSION)


@st.composite
def _lives(
    draw: st.DrawFn, order_id: str, max_moves: int, secret: str | bytes, versions: tuple[str, ...]
) -> OrderLife:
    version = draw(st.sampled_from(versions))
    entry = draw(st.sampled_from(["pending_payment", "in_review", "accepted"]))
    items = [
        _Item(
            f"{order_id}-i{n}", draw(st.integers(1, 3)), draw(st.sampled_from([True, False, None]))
        )
        for n in range(draw(st.integers(1, 3)))
    ]
    wire = entry == "pending_payment" and draw(st.booleans())
    charges = [
        _Charge(
            f"{order_id}-c{n}",
            float(draw(st.integers(1, 500))),
            "pending" if entry == "pending_payment" else "capturable",
        )
        for n in range(0 if wire else draw(st.integers(1, 2)))
    ]
    life = _Life(order_id, entry, items, charges, clock=ev.T0, version=version)
    life.enter(entry, draw)
    entry_types = _ENTRY_TYPES[entry]
    if version == ev.LEGACY_VERSION:  # checkout sessions came with the newer API
        entry_types = [t for t in entry_types if not t.startswith("checkout_session.")]
    life.emit_order(draw(st.sampled_from(entry_types)), draw)
    for _ in range(draw(st.integers(0, max_moves))):
        # Moves that end or pause a life are drawn less often, so lives reach far.
        weighted = [m for m in life.moves() for _ in range(1 if m in _RARE else 4)]
        life.move(draw(st.sampled_from(weighted)), draw)
    deliveries = tuple(
        signed_delivery(ev.raw(event), at=_sent(event), secret=secret) for event in life.events
    )
    return OrderLife(
        order_id, OrderState(life.state), version, deliveries, life.snapshot(draw), secret
    )


def _sent(event: Json) -> datetime:
    """When the provider signed an event's delivery: as it created the event."""
    return datetime.fromisoformat(event["createdTime"])


def order_lives(
    order_id: str = "o1",
    *,
    max_moves: int = 14,
    secret: str | bytes = TEST_SECRET,
    versions: tuple[str, ...] = _VERSIONS,
) -> st.SearchStrategy[OrderLife]:
    """A valid life of order ``order_id``, as the signed deliveries the provider posted.

    In the provider's shapes, in one of ``versions`` (both API generations the parser reads,
    by default): an entry event, then up to ``max_moves`` moves. Fed in order to an
    :class:`~order_lifecycle.Inbox` (``secrets=[secret]``), every delivery applies and the
    order ends in :attr:`OrderLife.final_state`.

    Example::

        @given(order_lives())
        def test_my_endpoint_accepts_every_life(life):
            for delivery in life.deliveries:
                response = client.post("/hook", content=delivery.body, headers=delivery.headers)
                assert 200 <= response.status_code < 300
    """
    if not order_id or max_moves < 0 or not set(versions) <= set(_VERSIONS) or not versions:
        raise InvalidInput(
            f"order_lives needs an order id, max_moves of 0 or more and versions among "
            f"{', '.join(_VERSIONS)}; got {order_id!r}, {max_moves!r}, {versions!r}."
        )
    return _lives(order_id, max_moves, secret, tuple(versions))


_HOUR = timedelta(hours=1)


@st.composite
def _shuffled(draw: st.DrawFn, life: OrderLife, max_duplicates: int) -> list[SignedDelivery]:
    originals = list(life.deliveries)
    again = draw(st.lists(st.sampled_from(originals), max_size=max_duplicates))
    # The provider retries for days: a redelivery is signed anew, when it is sent again.
    redelivered = [
        signed_delivery(
            d.body,
            at=(d.received_at or ev.T0) + _HOUR * draw(st.integers(1, 72)),
            secret=life.secret,
            kind="redelivery",
        )
        for d in again
    ]
    return draw(st.permutations(originals + redelivered))


def shuffled_deliveries(
    life: OrderLife, *, max_duplicates: int = 4
) -> st.SearchStrategy[list[SignedDelivery]]:
    """``life``'s deliveries in any order, up to ``max_duplicates`` of them delivered again.

    The provider documents no ordering and delivers at least once (a redelivery is the same
    body, signed anew when sent again). Received in this order, in one batch, or one at a
    time (a delivery that cannot apply yet, such as a charge event before anything made its
    order known, waits in the inbox and applies with its order's next delivery, or when a
    reconciler tries it again), the deliveries leave the order as the life in order does
    (state, fraud state, items, charges); only the history may differ (steps implied
    rather than announced).

    Example::

        @given(order_lives().flatmap(shuffled_deliveries))
        def test_my_endpoint_takes_any_order(deliveries):
            for delivery in deliveries:
                client.post("/hook", content=delivery.body, headers=delivery.headers)
    """
    if not life.deliveries:
        return st.just([])
    return _shuffled(life, max_duplicates)

"""Scripted lives: the provider's events for an order, from event types or a named life.

Each event type asked for moves the simulated order (:mod:`.simulation`) the way the
provider's rules allow, by the fewest steps that make the provider send an event of that
type (rarer steps, such as a block, a cancellation or a dispute, count as four); every event
those steps send belongs to the life. So ``order.fulfilled`` for a new order sends
``order.accepted`` first, and the capture that settles a fulfilled order's last charge is
followed by ``order.complete``, as the provider does. The order has a physical and a digital
item and one charge; times start at ``created`` and advance by ``step`` per step.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from order_lifecycle.exceptions import InvalidInput, WrongType

from . import shapes as ev
from . import simulation as sim

__all__ = ["EVENT_TYPES", "LIVES", "Plan", "PlannedEvent", "expand", "plan_life"]

Json = dict[str, Any]

EVENT_TYPES = (
    "order.pending_payment",
    "order.review_opened",
    "order.accepted",
    "checkout_session.order.created",
    "order.blocked",
    "order.cancelled",
    "order.fulfilled",
    "order.charge.capture.complete",
    "order.charge.cancel.complete",
    "order.complete",
    "order.refunded",
    "refund.complete",
    "order.dispute",
    "order.dispute.resolved",
    "order.updated",
)
"""The event types a scripted life can send."""

LIVES: dict[str, tuple[str, ...]] = {
    "accepted": ("order.accepted",),
    "pending-accepted": ("order.pending_payment", "order.accepted"),
    "review-accepted": ("order.review_opened", "order.accepted"),
    "blocked": ("order.review_opened", "order.blocked"),
    "cancelled": ("order.accepted", "order.cancelled"),
    "accepted-shipped": ("order.accepted", "order.fulfilled", "order.complete"),
    "refunded": ("order.accepted", "order.fulfilled", "order.complete", "refund.complete"),
    "dispute": (
        "order.accepted",
        "order.fulfilled",
        "order.complete",
        "order.dispute",
        "order.dispute.resolved",
    ),
}
"""Named lives (``life:NAME``), each the event types it asks for, in order."""

_LIFE = "life:"
_ENTRY_COSTS = {"accepted": 1, "in_review": 2, "pending_payment": 3}
_RARE_COST = 4
_MAX_COST = 40  # far more than any life of the table needs
_SHOWN = 60  # characters of a bad token shown in an error


@attrs.frozen
class PlannedEvent:
    """One event of a scripted life: its id, type, creation time and raw body.

    ``order`` is the order object it carries (``None`` for a charge or refund event).
    """

    id: str
    type: str
    created: datetime
    body: bytes = attrs.field(repr=False)
    order: Json | None = attrs.field(repr=False)


@attrs.frozen
class Plan:
    """A scripted life of order ``order_id``: its events in the order the provider sent them."""

    order_id: str
    state: str
    events: tuple[PlannedEvent, ...]

    @property
    def created(self) -> Json:
        """The order as it was created: the object of the first event (a ``201``'s body)."""
        first = self.events[0].order
        if first is None:  # a life always starts with an order event
            raise AssertionError("a life that does not start with its order")
        return first


def expand(tokens: Sequence[str]) -> list[str]:
    """The event types ``tokens`` ask for: event types as they are, ``life:NAME`` expanded.

    Raises:
        InvalidInput: a token is neither an event type of :data:`EVENT_TYPES` nor a life
            of :data:`LIVES`.
        WrongType: ``tokens`` is not a list of str.

    """
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise WrongType("tokens", "a list of event types or life:NAME", tokens)
    types: list[str] = []
    for token in tokens:
        if not isinstance(token, str):
            raise WrongType("tokens", "event types or life:NAME, each a str", token)
        if token.startswith(_LIFE) and token[len(_LIFE) :] in LIVES:
            types += LIVES[token[len(_LIFE) :]]
        elif token in EVENT_TYPES:
            types.append(token)
        else:
            shown = token if len(token) <= _SHOWN else f"{token[:_SHOWN]}..."
            raise InvalidInput(
                f"{shown!r} is neither an event type the local provider sends "
                f"({', '.join(EVENT_TYPES)}) nor a life "
                f"({', '.join(_LIFE + name for name in LIVES)})."
            )
    return types


def plan_life(  # noqa: PLR0913 (what a life is made of)
    order_id: str,
    tokens: Sequence[str],
    *,
    created: datetime,
    step: timedelta = timedelta(seconds=1),
    entry: str | None = None,
    event_prefix: str = "",
    checkout_id: str | None = None,
) -> Plan:
    """The life of ``order_id`` that sends the events ``tokens`` ask for, in that order.

    ``tokens`` are event types or ``life:NAME`` (see :func:`expand`); ``entry`` forces the
    state the order is created in (``pending_payment``, ``in_review`` or ``accepted``), as a
    ``POST /orders`` answered; with no tokens the life is then its creation alone. Event
    ids are ``<event_prefix>-<n>`` (``evt-<order_id>-<n>`` by default); the order names
    ``checkout_id`` (``chk-<order_id>`` by default).

    Raises:
        InvalidInput: a token is unknown, or its event cannot come at that point of the
            life (``order.accepted`` after ``order.fulfilled``); or nothing was asked for.
        WrongType: an argument of the wrong type (an order id that is not a non-empty
            str, a naive ``created``, a negative ``step``...).

    """
    if not isinstance(order_id, str) or not order_id:
        raise WrongType("order_id", "a non-empty str", order_id)
    if not isinstance(created, datetime) or created.tzinfo is None:
        raise WrongType("created", "an aware datetime", created)
    if not isinstance(step, timedelta) or step < timedelta(0):
        raise WrongType("step", "a timedelta of 0 or more", step)
    if entry is not None and entry not in _ENTRY_COSTS:
        raise InvalidInput(f"entry must be one of {', '.join(_ENTRY_COSTS)}, not {entry!r}.")
    types = expand(tokens)
    if not types and entry is None:
        raise InvalidInput("give at least one event type or life to send.")
    begin = _Begin(order_id, created, sim.Scripted(step), entry, event_prefix, checkout_id)
    life: sim.Life | None = None
    for wanted in types:
        life = _search(life, wanted, begin)
    if life is None:  # only the creation was asked for
        life = next(begin.entries())[1]
    events = tuple(
        PlannedEvent(
            event["id"],
            event["type"],
            datetime.fromisoformat(event["createdTime"]),
            ev.raw(event),
            # Charge and refund objects name their order; an order object is the order.
            None if "orderId" in event["data"]["object"] else event["data"]["object"],
        )
        for event in life.events
    )
    return Plan(order_id, life.state, events)


@attrs.frozen
class _Begin:
    """How a life begins: its order, when, its choices, and ids."""

    order_id: str
    created: datetime
    choices: sim.Scripted
    entry: str | None
    event_prefix: str
    checkout_id: str | None

    def life(self, state: str) -> sim.Life:
        """A new life of the order, in ``state`` before it is entered."""
        order_id, created = self.order_id, self.created
        charge_state = "pending" if state == "pending_payment" else "capturable"
        return sim.Life(
            order_id,
            state,
            items=[
                sim.Item(f"{order_id}-i0", 1, physical=True, created=created),
                sim.Item(f"{order_id}-i1", 1, physical=False, created=created),
            ],
            charges=[sim.Charge(f"{order_id}-c0", 20.0, charge_state, created=created)],
            # Entering the first state takes a step: it is entered at ``created``.
            clock=created - self.choices.step,
            choices=self.choices,
            event_prefix=self.event_prefix,
            refund_events=True,
            checkout_id=self.checkout_id,
        )

    def entries(self) -> Iterator[tuple[int, sim.Life]]:
        """Each way the order can be created (only in ``entry``, if given), with its cost."""
        for state, cost in _ENTRY_COSTS.items():
            if self.entry is not None and state != self.entry:
                continue
            for entry_type in sim.ENTRY_TYPES[state]:
                life = self.life(state)
                life.enter(state)
                life.emit_order(entry_type)
                yield cost, life


def _search(life: sim.Life | None, wanted: str, begin: _Begin) -> sim.Life:
    """The cheapest continuation of ``life`` (``None``: not created yet) that sends ``wanted``."""
    seen = 0 if life is None else len(life.events)
    queue: list[tuple[int, int, sim.Life]] = []
    for cost, begun in begin.entries() if life is None else [(0, life)]:
        queue.append((cost, len(queue), begun))
    counter = len(queue)
    settled: set[tuple[Any, ...]] = set()
    while queue:
        cost, _, node = heapq.heappop(queue)
        if any(event["type"] == wanted for event in node.events[seen:]):
            return node
        if (key := _key(node)) in settled:
            continue  # reached as cheaply before: what can follow is the same
        settled.add(key)
        for move in node.moves():
            if move == "touch" and wanted != "order.updated":
                continue
            price = cost + (_RARE_COST if move in sim.RARE_MOVES else 1)
            if price > _MAX_COST:
                continue
            after = node.fork()
            after.move(move)
            counter += 1
            heapq.heappush(queue, (price, counter, after))
    where = "a new order" if life is None else f"an order in {life.state}"
    raise InvalidInput(f"{wanted} cannot come next for {where}: no step of the provider sends it.")


def _key(life: sim.Life) -> tuple[Any, ...]:
    """What decides the moves a life can make next (not its history or times)."""
    return (
        life.state,
        life.before_dispute,
        tuple(item.state for item in life.items),
        tuple(charge.state for charge in life.charges),
        bool(life.unconfirmed),
    )

"""Valid lives of an order at the provider, as the signed deliveries it posts.

:func:`order_lives` draws a life of the simulated provider
(:class:`order_lifecycle.sandbox.simulation.Life`, which the local provider runs with
scripted choices): an order created in an entry state, then moves the provider's rules
allow, each emitting the events the provider would. Event times strictly increase. The
data always satisfies the order table's guards, so a reconciler that follows the table must
accept the stream in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import attrs
from hypothesis import strategies as st

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import OrderState
from order_lifecycle.models import Charge, Item, Order
from order_lifecycle.sandbox import TEST_SECRET, SignedDelivery, signed_delivery
from order_lifecycle.sandbox import shapes as ev
from order_lifecycle.sandbox import simulation as sim

__all__ = ["OrderLife", "order_lives", "shuffled_deliveries"]

Json = dict[str, Any]
T = TypeVar("T")


@attrs.frozen
class _Drawn:
    """A life's open choices, drawn by hypothesis."""

    draw: st.DrawFn

    def pause(self) -> timedelta:
        """A second to an hour."""
        return timedelta(seconds=self.draw(st.integers(1, 3600)), microseconds=1)

    def pick(self, options: Sequence[T]) -> T:
        """Any of ``options``."""
        return self.draw(st.sampled_from(options))

    def shows_fraud_state(self) -> bool:
        """Nine times in ten."""
        return self.draw(st.integers(0, 9)) != 0


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
def _lives(  # noqa: PLR0913, PLR0917 (the choices order_lives passes on)
    draw: st.DrawFn,
    order_id: str,
    max_moves: int,
    secret: str | bytes,
    versions: tuple[str, ...],
    refund_events: bool,  # noqa: FBT001 (order_lives' flag, passed on)
) -> OrderLife:
    version = draw(st.sampled_from(versions))
    entry = draw(st.sampled_from(["pending_payment", "in_review", "accepted"]))
    items = [
        sim.Item(
            f"{order_id}-i{n}", draw(st.integers(1, 3)), draw(st.sampled_from([True, False, None]))
        )
        for n in range(draw(st.integers(1, 3)))
    ]
    wire = entry == "pending_payment" and draw(st.booleans())
    charges = [
        sim.Charge(
            f"{order_id}-c{n}",
            float(draw(st.integers(1, 500))),
            "pending" if entry == "pending_payment" else "capturable",
        )
        for n in range(0 if wire else draw(st.integers(1, 2)))
    ]
    choices = _Drawn(draw)
    refunds = refund_events
    life = sim.Life(
        order_id, entry, items, charges, ev.T0, choices, version=version, refund_events=refunds
    )
    life.enter(entry)
    entry_types = list(sim.ENTRY_TYPES[entry])
    if version == ev.LEGACY_VERSION:  # checkout sessions came with the newer API
        entry_types = [t for t in entry_types if not t.startswith("checkout_session.")]
    life.emit_order(draw(st.sampled_from(entry_types)))
    for _ in range(draw(st.integers(0, max_moves))):
        # Moves that end or pause a life are drawn less often, so lives reach far.
        weighted = [m for m in life.moves() for _ in range(1 if m in sim.RARE_MOVES else 4)]
        life.move(draw(st.sampled_from(weighted)))
    deliveries = tuple(
        signed_delivery(ev.raw(event), at=_sent(event), secret=secret) for event in life.events
    )
    return OrderLife(order_id, OrderState(life.state), version, deliveries, life.snapshot(), secret)


def _sent(event: Json) -> datetime:
    """When the provider signed an event's delivery: as it created the event."""
    return datetime.fromisoformat(event["createdTime"])


def order_lives(
    order_id: str = "o1",
    *,
    max_moves: int = 14,
    secret: str | bytes = TEST_SECRET,
    versions: tuple[str, ...] = _VERSIONS,
    refund_events: bool = False,
) -> st.SearchStrategy[OrderLife]:
    """A valid life of order ``order_id``, as the signed deliveries the provider posted.

    In the provider's shapes, in one of ``versions`` (both API generations the parser reads,
    by default): an entry event, then up to ``max_moves`` moves. Fed in order to an
    :class:`~order_lifecycle.Inbox` (``secrets=[secret]``), every delivery applies and the
    order ends in :attr:`OrderLife.final_state`. With ``refund_events``, each refund is
    later confirmed by the provider's ``refund.complete`` (a Refunds API object, which the
    order table does not model: a shop subscribes to it), at any later move.

    Example::

        @given(order_lives())
        def test_my_endpoint_accepts_every_life(life):
            for delivery in life.deliveries:
                response = client.post("/hook", content=delivery.body, headers=delivery.headers)
                assert 200 <= response.status_code < 300
    """
    if (
        not order_id
        or max_moves < 0
        or not set(versions) <= set(_VERSIONS)
        or not versions
        or not isinstance(refund_events, bool)
    ):
        raise InvalidInput(
            f"order_lives needs an order id, max_moves of 0 or more, versions among "
            f"{', '.join(_VERSIONS)} and refund_events a bool; got {order_id!r}, "
            f"{max_moves!r}, {versions!r}, {refund_events!r}."
        )
    return _lives(order_id, max_moves, secret, tuple(versions), refund_events)


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

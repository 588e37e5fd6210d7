"""The demo's day: checkouts submitted with every outcome, orders moved by signed webhooks.

Each story is one shopper's checkout: what ``POST /orders`` answered, the webhooks the
provider posted (through the real :class:`~order_lifecycle.Inbox`, signed, some twice, some
late: each batch stored, then reconciled inline), and what the shop did: its action worker
ships, e-mails, notifies and captures what the changes asked for (``_shop``), and the shop
cancels and refunds by hand, each through the store as an app server would. Refusals are
expected: they are what the library is for, and the day collects them with their reasons.
Only the command line imports this module.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from order_lifecycle.checkout import OrderCreated, read_response
from order_lifecycle.exceptions import OrderLifecycleError
from order_lifecycle.models import Order
from order_lifecycle.orders import cancel_charge, cancel_items, fulfil_items, refund
from order_lifecycle.store import Store
from order_lifecycle.webhooks import Delivery, DeliveryResult, Inbox

from ._provider import SECRET, Line, error_body, event, order_object
from ._shop import DemoShop

__all__ = ["START", "STORIES", "Day", "Refusal"]

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""When the demo's day begins."""


@attrs.frozen
class Refusal:
    """Something the day tried that the library refused: on what, what, and why."""

    subject: str
    attempt: str
    error: str
    reason: str


@attrs.define
class Day:
    """The day's store, inbox, shop and tallies: deliveries by outcome, refusals, orders made."""

    store: Store
    seed: int
    prefix: str = ""
    rng: random.Random = attrs.field(init=False)
    inbox: Inbox = attrs.field(init=False)
    shop: DemoShop = attrs.field(init=False)
    results: list[DeliveryResult] = attrs.Factory(list)
    sent: list[Delivery] = attrs.Factory(list)
    refusals: list[Refusal] = attrs.Factory(list)
    submissions: Counter[str] = attrs.Factory(Counter)
    orders: list[str] = attrs.Factory(list)
    stories: dict[str, str] = attrs.Factory(dict)

    def __attrs_post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 (a deterministic demo, not crypto)
        self.inbox = Inbox(self.store, secrets=[SECRET])
        self.shop = DemoShop(self.store, START)

    def deliver(self, *deliveries: Delivery) -> list[DeliveryResult]:
        """Post ``deliveries`` to the inbox, in this order, as one batch."""
        results = self.inbox.receive(deliveries)
        self.sent.extend(d for d in deliveries)
        self.results.extend(results)
        return results

    def attempt(self, subject: str, attempt: str, change: Callable[[], object]) -> bool:
        """Run ``change``; on a refusal, note it (with its reason); whether it went through."""
        try:
            change()
        except OrderLifecycleError as error:
            self.refusals.append(Refusal(subject, attempt, type(error).__name__, str(error)))
            return False
        return True

    def redeliver(self) -> None:
        """The provider's retries: a fifth of the day's deliveries posted again, shuffled."""
        again = self.rng.sample(self.sent, max(1, len(self.sent) // 5))
        self.results.extend(self.inbox.receive(again))


@attrs.define
class _Shopper:
    """One checkout's story: its ids, its time, and what it bought."""

    day: Day
    number: int
    lines: tuple[Line, ...]
    checkout: int = 1  # which of its checkouts became the order

    @property
    def order_id(self) -> str:
        return f"{self.day.prefix}ord-{1000 + self.number}"

    def checkout_id(self, attempt: int = 1) -> str:
        suffix = "" if attempt == 1 else f"-{attempt}"
        return f"{self.day.prefix}chk-{1000 + self.number}{suffix}"

    def at(self, minutes: float) -> datetime:
        return START + timedelta(minutes=17 * self.number + minutes)

    def obj(self, state: str, minutes: float, **fields: Any) -> dict[str, Any]:  # noqa: ANN401
        """The provider's order object for this shopper's order, in ``state``."""
        checkout_id = self.checkout_id(self.checkout)
        return order_object(
            self.order_id, checkout_id, state, self.lines, at=self.at(minutes), **fields
        )

    def submit(
        self, status: int, body: str, outcome: str, checkout: int = 1, minutes: float = 0
    ) -> None:
        """``POST /orders`` for the checkout, answered with ``status`` and ``body``."""
        store, checkout_id = self.day.store, self.checkout_id(checkout)
        store.begin_submission(checkout_id, at=self.at(minutes))
        store.record_response(checkout_id, status, body, at=self.at(minutes + 0.1))
        self.day.submissions[outcome] += 1

    def created(
        self, state: str, checkout: int = 1, *, fraud: str | None = None, minutes: float = 0
    ) -> None:
        """A 201 in ``state``: the order is stored with the checkout it consumed."""
        charge = "capturable" if state == "accepted" else "pending"
        self.checkout = checkout
        body = self.obj(state, minutes, fraud=fraud, charge_state=charge)
        self.submit(201, _json(body), f"201 {state}", checkout, minutes)
        self.day.orders.append(self.order_id)

    def accepted(self, minutes: float, event_id: str | None = None) -> Delivery:
        obj = self.obj("accepted", minutes, fraud="passed")
        return event(
            event_id or f"evt-{self.order_id}-accepted", "order.accepted", obj, self.at(minutes)
        )

    def shop_works(self, minutes: float) -> None:
        """The shop's worker ships and e-mails every unit, then captures; the provider says so."""
        order_id = self.order_id
        self.day.shop.work(self.at(minutes))
        total = sum(line.quantity * line.unit_price for line in self.lines)
        captured = float(total)
        done: dict[str, Any] = {"item_state": "fulfilled", "fraud": "passed"}
        self.day.deliver(
            event(
                f"evt-{order_id}-fulfilled",
                "order.fulfilled",
                self.obj("fulfilled", minutes + 1, **done),
                self.at(minutes + 1),
            ),
            event(
                f"evt-{order_id}-complete",
                "order.complete",
                self.obj(
                    "complete", minutes + 2, charge_state="complete", captured=captured, **done
                ),
                self.at(minutes + 2),
            ),
        )


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body)


# --- the stories ---------------------------------------------------------------------------------


def accepted_at_once(s: _Shopper) -> None:
    """201 accepted; ``order.accepted`` delivered twice; shipped, e-mailed and captured."""
    s.created("accepted", fraud="passed")
    s.day.deliver(s.accepted(1), s.accepted(1))
    s.shop_works(30)


def review_reordered(s: _Shopper) -> None:
    """201 pending payment; shipping refused; ``order.accepted`` before the late review event."""
    s.created("pending_payment")
    units = {line.id: line.quantity for line in s.lines}
    s.day.attempt(
        s.order_id,
        "ship before acceptance",
        lambda: s.day.store.update_order(s.order_id, lambda o: fulfil_items(o, units, at=s.at(1))),
    )
    review = event(
        f"evt-{s.order_id}-review",
        "order.review_opened",
        s.obj("in_review", 2, fraud="review_opened", charge_state="pending"),
        s.at(2),
    )
    s.day.deliver(s.accepted(9), review)
    s.shop_works(40)


def blocked_in_review(s: _Shopper) -> None:
    """201 in review; the fraud review blocks it: ``order.blocked``."""
    s.created("in_review", fraud="review_opened")
    blocked = s.obj("blocked", 20, fraud="blocked", charge_state="cancelled", item_state="blocked")
    s.day.deliver(event(f"evt-{s.order_id}-blocked", "order.blocked", blocked, s.at(20)))
    s.day.shop.work(s.at(21))  # the customer is told


def payment_declined(s: _Shopper) -> None:
    """409 payment declined: resubmitting is refused; a new checkout with another card: 201."""
    s.submit(
        409, error_body("conflict", "failed-request", "Your card was declined."), "409 payment"
    )
    s.day.attempt(
        s.checkout_id(),
        "resubmit a rejected checkout",
        lambda: s.day.store.begin_submission(s.checkout_id(), at=s.at(1)),
    )
    s.created("accepted", 2, fraud="passed", minutes=2)
    s.day.deliver(s.accepted(3))
    s.shop_works(35)


def fraud_rejected(s: _Shopper) -> None:
    """409 fraud suspected: the checkout is rejected for good, no order."""
    s.submit(409, error_body("conflict", "fraud_block", "We could not process it."), "409 fraud")


def fixed_and_resubmitted(s: _Shopper) -> None:
    """400: the same checkout fixed and resubmitted; 201 pending payment, then accepted."""
    body = error_body("bad_request", "invalid_parameter", "Please check the address.")
    s.submit(400, body, "400 fixed, resubmitted")
    s.created("pending_payment", minutes=5)
    s.day.deliver(s.accepted(6))
    s.shop_works(50)


def _found_by_lookup(s: _Shopper, minutes: float) -> None:
    """``GET /orders?checkoutId=...`` finds the order: the checkout is settled with it."""
    body = _json(s.obj("accepted", minutes, fraud="passed"))
    found = read_response(s.checkout_id(), 201, body, s.at(minutes))
    assert isinstance(found, OrderCreated)  # noqa: S101 (the demo's own 201 body)
    s.day.store.settle(s.checkout_id(), found.order, at=s.at(minutes))
    s.day.orders.append(s.order_id)


def timed_out(s: _Shopper) -> None:
    """No answer in 30 s: in doubt until a lookup by checkout id finds the order."""
    store = s.day.store
    store.begin_submission(s.checkout_id(), at=s.at(0))
    store.record_no_response(s.checkout_id(), at=s.at(0.5), reason="timeout after 30 s")
    s.day.submissions["timeout, settled by lookup"] += 1
    s.day.attempt(
        s.checkout_id(),
        "resubmit a checkout in doubt",
        lambda: store.begin_submission(s.checkout_id(), at=s.at(1)),
    )
    _found_by_lookup(s, 3)
    s.day.deliver(s.accepted(4))
    s.shop_works(45)


def retried_404(s: _Shopper) -> None:
    """The HTTP client retried: the retry got 404 (the first consumed it); a lookup settles it."""
    body = error_body("not_found", "not_found", "Checkout not found.")
    s.submit(404, body, "404 after a client retry, settled by lookup")
    _found_by_lookup(s, 2)
    s.shop_works(25)


def partly_cancelled(s: _Shopper) -> None:
    """Accepted; one unit cancelled (the order stays accepted), the rest shipped and captured."""
    s.created("accepted", fraud="passed")
    s.day.deliver(s.accepted(1))
    first = s.lines[0]
    store, order_id = s.day.store, s.order_id
    store.update_order(order_id, lambda o: cancel_items(o, {first.id: 1}, at=s.at(10)))
    charge = f"ch-{order_id}"
    store.update_order(
        order_id, lambda o: cancel_charge(o, charge, str(first.unit_price), at=s.at(10))
    )
    s.day.shop.work(s.at(20))  # ships the rest (fulfilled: the rest was cancelled), captures


def refunded(s: _Shopper) -> None:
    """Shipped and captured; the shopper sends one unit's price back: a refund."""
    accepted_at_once(s)
    price = s.lines[0].unit_price
    s.day.store.update_order(s.order_id, lambda o: refund(o, str(price)))


def disputed(s: _Shopper) -> None:
    """Complete; the bank opens a dispute (a refund is refused meanwhile); it is resolved."""
    accepted_at_once(s)
    total = float(sum(line.quantity * line.unit_price for line in s.lines))
    done: dict[str, Any] = {
        "item_state": "fulfilled",
        "charge_state": "complete",
        "captured": total,
    }
    dispute = s.obj("dispute", 90, fraud="review_opened", **done)
    s.day.deliver(event(f"evt-{s.order_id}-dispute", "order.dispute", dispute, s.at(90)))
    s.day.attempt(
        s.order_id,
        "refund during the dispute",
        lambda: s.day.store.update_order(s.order_id, lambda o: refund(o, "1")),
    )
    resolved = s.obj("complete", 200, fraud="passed", **done)
    s.day.deliver(
        event(f"evt-{s.order_id}-resolved", "order.dispute.resolved", resolved, s.at(200))
    )
    s.day.stories["pictured"] = s.order_id


STORIES: tuple[Callable[[_Shopper], None], ...] = (
    accepted_at_once,
    review_reordered,
    blocked_in_review,
    payment_declined,
    fraud_rejected,
    fixed_and_resubmitted,
    timed_out,
    retried_404,
    partly_cancelled,
    refunded,
    disputed,
)
"""Every story once, in this order; the rest of the day's checkouts are drawn from them."""

_CATALOGUE = (
    Line("mug", 2, 12, physical=True),
    Line("poster", 1, 25, physical=True),
    Line("ebook", 1, 9, physical=False),
    Line("album", 1, 11, physical=False),
)


def trouble(day: Day, pictured: Order) -> None:
    """The deliveries nobody wants: a forgery, an unknown event type, one that cannot apply."""
    forged = order_object(pictured.id, pictured.checkout_id or "", "cancelled", (), at=START)
    at = START + timedelta(hours=9)
    day.deliver(event("evt-forged-1", "order.cancelled", forged, at, forged=True))
    invoice = {"id": "inv-1", "orderId": pictured.id, "state": "paid"}
    day.deliver(event("evt-invoice-1", "invoice.created", invoice, at))
    late = order_object(
        pictured.id, pictured.checkout_id or "", "blocked", (), at=at, fraud="blocked"
    )
    day.deliver(event("evt-late-blocked", "order.blocked", late, at))


def run_day(day: Day, orders: int, step: Callable[[], None]) -> None:
    """Every story once, then ``orders - len(STORIES)`` drawn at random; retries; trouble."""
    for number in range(1, orders + 1):
        story = STORIES[number - 1] if number <= len(STORIES) else day.rng.choice(STORIES)
        picks = day.rng.sample(_CATALOGUE, day.rng.randint(2, 3))
        lines = tuple(sorted(picks, key=lambda line: (not line.physical, line.id)))
        story(_Shopper(day, number, lines))
        day.stories[_Shopper(day, number, lines).order_id] = story.__name__
        step()
    day.redeliver()
    trouble(day, day.store.get_order(day.stories["pictured"]))
    day.shop.work(START + timedelta(hours=10))  # what the late deliveries asked for, if any

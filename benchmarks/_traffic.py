"""Signed webhook traffic for the benchmarks: a deterministic stream of provider deliveries.

:func:`deliveries` yields ``count`` deliveries, the same ones for the same ``seed``, one at a
time (memory stays flat whatever ``count``). Each order lives one of a few plausible lives,
told by the events the provider would post (order events carry the whole order object,
charge events the charge), in the provider's shapes with made-up values: 2 items, 1 charge,
about 5 deliveries per order.

- **lives** (share of orders): shipped (55%: accepted, fulfilled, capture pending, capture
  complete, complete); reviewed then shipped (17%: review opened first); disputed (10%:
  shipped, then dispute and dispute resolved); cancelled (8%: accepted, charge cancelled,
  cancelled); blocked (6%: review opened, blocked); expired (4%: pending payment,
  cancelled with no charge).
- **duplicates**: ``duplicates`` (10%) of the deliveries are redeliveries of an earlier one:
  the same body, signed again a few minutes later, as the provider's retries are.
- **reordering**, bounded: the orders' lives follow one another, and ``late`` (20%) of the
  deliveries (redeliveries all) are held back by up to ``window`` (256) positions. So most
  events of an order still arrive together and in order, some overtake one another (stale
  snapshots, charge events before their order), and at most ``window`` deliveries wait.
- **signatures**: each delivery is signed with :func:`order_lifecycle.webhooks.sign` and ``SECRET``
  a second or so after its event, and ``received_at`` is shortly after that, so the
  signature's age check passes.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from order_lifecycle.webhooks import sign

__all__ = ["SECRET", "Signed", "deliveries"]

SECRET = "whsec_bench_0123456789abcdef"  # noqa: S105 (a benchmark's made-up secret)
"""The webhook signing secret every delivery is signed with."""

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
API_VERSION = "2023-08-01"

Json = dict[str, Any]

_LIVES = (
    ("shipped", 55),
    ("reviewed", 17),
    ("disputed", 10),
    ("cancelled", 8),
    ("blocked", 6),
    ("expired", 4),
)
_PRODUCTS = (
    ("Trail Mug", "Enamel camping mug, 350 ml", True, 1450),
    ("Photo Editor Pro", "Perpetual licence, one seat", False, 4900),
    ("USB-C Hub", "Seven ports, aluminium body", True, 3999),
    ("Field Notes", "Pack of three pocket notebooks", True, 1200),
    ("Typing Course", "Twelve video lessons", False, 2500),
    ("Desk Lamp", "LED, dimmable, warm white", True, 5600),
)
_PLACES = (
    ("Maple Street", "Springfield", "62701", "IL"),
    ("Harbour Road", "Portland", "04101", "ME"),
    ("Cedar Avenue", "Austin", "78701", "TX"),
    ("Lakeview Drive", "Madison", "53703", "WI"),
)
_NAMES = ("Ada Byrne", "Luis Ortega", "Mina Park", "Tom Weller", "Ines Duarte")


@attrs.frozen
class Signed:
    """One delivery as it reaches the inbox: raw body, signature header, arrival time.

    ``duplicate`` marks a redelivery of an event delivered before.
    """

    body: bytes
    signature: str
    received_at: datetime
    event_id: str
    duplicate: bool = False


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(cents: int) -> float:
    return cents / 100


@attrs.define
class _Item:
    id: str
    sku: str
    product: tuple[str, str, bool, int]
    quantity: int
    state: str = "created"
    transitions: dict[str, str] = attrs.Factory(dict)

    @property
    def cents(self) -> int:
        return self.product[3] * self.quantity

    def body(self) -> Json:
        name, description, physical, _ = self.product
        return {
            "id": self.id,
            "skuId": self.sku,
            "productDetails": {
                "id": self.sku,
                "name": name,
                "description": description,
                "countryOfOrigin": "US",
                "weight": 250 if physical else 0,
                "weightUnit": "g",
                "partNumber": f"PN-{self.sku[:8]}",
                "physical": physical,
            },
            "amount": _money(self.cents),
            "quantity": self.quantity,
            "state": self.state,
            "stateTransitions": dict(self.transitions),
            "tax": {"rate": 0.0825, "amount": _money(self.cents * 825 // 10000)},
            "importerTax": {"amount": 0.0},
            "duties": {"amount": 0.0},
            "availableToRefundAmount": 0.0,
            "fees": {"amount": 0.0, "taxAmount": 0.0},
        }


@attrs.define
class _Order:
    """One order's data as the provider holds it; the events render it as it is then."""

    id: str
    checkout_id: str
    customer_id: str
    name: str
    place: tuple[str, str, str, str]
    items: list[_Item]
    charge_id: str
    source_id: str
    session_id: str
    created: datetime
    charge_state: str = "capturable"
    captures: list[Json] = attrs.Factory(list)
    cancels: list[Json] = attrs.Factory(list)
    state: str = "accepted"
    fraud: str | None = "passed"
    transitions: dict[str, str] = attrs.Factory(dict)
    fraud_transitions: dict[str, str] = attrs.Factory(dict)
    has_charge: bool = True

    @property
    def cents(self) -> int:
        subtotal = sum(i.cents for i in self.items)
        return subtotal + subtotal * 825 // 10000 + 500

    def enter(self, state: str, at: datetime, fraud: str | None = None) -> None:
        self.state = state
        self.transitions.setdefault(state, _stamp(at))
        if fraud is not None:
            self.fraud = fraud
            self.fraud_transitions.setdefault(fraud, _stamp(at))

    def charge(self, *, with_order: bool) -> Json:
        body: Json = {
            "id": self.charge_id,
            "createdTime": _stamp(self.created),
            "currency": "USD",
            "amount": _money(self.cents),
            "state": self.charge_state,
            "captured": bool(self.captures),
            "refunded": False,
            "sourceId": self.source_id,
            "type": "customer_initiated",
        }
        if self.captures:
            body["captures"] = [dict(c) for c in self.captures]
        if self.cancels:
            body["cancels"] = [dict(c) for c in self.cancels]
        if with_order:
            body["orderId"] = self.id
            body["paymentSessionId"] = self.session_id
            body["liveMode"] = False
        return body

    def body(self, at: datetime) -> Json:
        street, city, postal, region = self.place
        address = {
            "line1": f"{len(self.name) * 37} {street}",
            "city": city,
            "postalCode": postal,
            "state": region,
            "country": "US",
        }
        subtotal = sum(i.cents for i in self.items)
        captured = sum(c["amount"] for c in self.captures if c["state"] == "complete")
        payment: Json = {
            "sources": [
                {
                    "id": self.source_id,
                    "type": "creditCard",
                    "amount": _money(self.cents),
                    "owner": {
                        "firstName": self.name.split()[0],
                        "lastName": self.name.split()[1],
                        "email": f"{self.customer_id}@example.com",
                        "address": address,
                    },
                    "creditCard": {
                        "brand": "Visa",
                        "expirationMonth": 9,
                        "expirationYear": 2029,
                        "lastFourDigits": "4242",
                    },
                }
            ],
            "session": {
                "id": self.session_id,
                "amountContributed": _money(self.cents) if self.has_charge else 0.0,
                "amountRemainingToBeContributed": 0.0 if self.has_charge else _money(self.cents),
                "state": "complete" if self.has_charge else "pending_funds",
            },
        }
        if self.has_charge:
            payment["charges"] = [self.charge(with_order=False)]
        body: Json = {
            "id": self.id,
            "createdTime": _stamp(self.created),
            "customerId": self.customer_id,
            "currency": "USD",
            "email": f"{self.customer_id}@example.com",
            "shipTo": {"address": address, "name": self.name},
            "shipFrom": {"address": {"country": "US"}},
            "billTo": {"address": address, "name": self.name},
            "totalAmount": _money(self.cents),
            "subtotal": _money(subtotal),
            "totalFees": 0.0,
            "totalTax": _money(subtotal * 825 // 10000),
            "totalImporterTax": 0.0,
            "totalDuty": 0.0,
            "totalDiscount": 0.0,
            "totalShipping": 5.0,
            "items": [i.body() for i in self.items],
            "shippingChoice": {
                "amount": 5.0,
                "description": "standard",
                "serviceLevel": "SG",
                "taxAmount": 0.41,
            },
            "updatedTime": _stamp(at),
            "locale": "en_US",
            "customerType": "individual",
            "sellingEntity": {"id": "BENCH_INC-ENTITY", "name": "Bench Goods Inc."},
            "liveMode": False,
            "payment": payment,
            "state": self.state,
            "stateTransitions": dict(self.transitions),
            "requestToBeForgotten": False,
            "capturedAmount": captured,
            "cancelledAmount": sum(c["amount"] for c in self.cancels),
            "availableToRefundAmount": captured,
            "checkoutId": self.checkout_id,
        }
        if self.fraud is not None:
            body["fraudState"] = self.fraud
        if self.fraud_transitions:
            body["fraudStateTransitions"] = dict(self.fraud_transitions)
        return body


class _Traffic:
    """The unique events of one order after another, as (event id, body, created time)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.webhook_ids = [self.uuid() for _ in range(3)]
        self.lives = [name for name, weight in _LIVES for _ in range(weight)]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def events(self) -> Iterator[tuple[str, bytes, datetime]]:
        for number in itertools.count():
            yield from self.life(number)

    def new_order(self, number: int, start: datetime) -> _Order:
        rng = self.rng
        products = rng.sample(_PRODUCTS, 2)
        items = [
            _Item(
                f"{2_000_000_000 + 2 * number + k}36",
                self.uuid(),
                product,
                rng.randint(1, 3),
                transitions={"created": _stamp(start)},
            )
            for k, product in enumerate(products)
        ]
        return _Order(
            id=f"{3_000_000_000 + number}36",
            checkout_id=self.uuid(),
            customer_id=f"{5_000_000_000 + rng.randrange(10**9)}36",
            name=rng.choice(_NAMES),
            place=rng.choice(_PLACES),
            items=items,
            charge_id=self.uuid(),
            source_id=self.uuid(),
            session_id=self.uuid(),
            created=start,
        )

    def event(self, event_type: str, obj: Json, at: datetime) -> tuple[str, bytes, datetime]:
        event_id = self.uuid()
        envelope = {
            "id": event_id,
            "type": event_type,
            "data": {"object": obj},
            "liveMode": False,
            "createdTime": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "webhookIds": self.webhook_ids,
            "digitalriverVersion": API_VERSION,
        }
        return event_id, json.dumps(envelope, separators=(",", ":")).encode(), at

    def order_event(
        self, order: _Order, event_type: str, at: datetime
    ) -> tuple[str, bytes, datetime]:
        return self.event(event_type, order.body(at), at)

    def charge_event(
        self, order: _Order, event_type: str, at: datetime
    ) -> tuple[str, bytes, datetime]:
        return self.event(event_type, order.charge(with_order=True), at)

    def later(self, at: datetime, low: float, high: float) -> datetime:
        return at + timedelta(seconds=self.rng.uniform(low, high))

    def life(self, number: int) -> Iterator[tuple[str, bytes, datetime]]:  # noqa: PLR0915 (one life, told in order)
        rng = self.rng
        kind = rng.choice(self.lives)
        start = T0 + timedelta(seconds=3 * number)
        order = self.new_order(number, start)
        at = start + timedelta(seconds=4)
        if kind == "expired":
            order.has_charge, order.fraud = False, None
            order.enter("pending_payment", at)
            yield self.order_event(order, "order.pending_payment", at)
            at = self.later(at, 3600, 7 * 86400)
            order.enter("cancelled", at)
            for item in order.items:
                item.state = "cancelled"
                item.transitions["cancelled"] = _stamp(at)
            yield self.order_event(order, "order.cancelled", at)
            return
        if kind in {"reviewed", "blocked"}:
            order.enter("in_review", at, "review_opened")
            yield self.order_event(order, "order.review_opened", at)
            at = self.later(at, 600, 86400)
        if kind == "blocked":
            order.enter("blocked", at, "blocked")
            order.charge_state = "cancelled"
            order.cancels.append(self.operation(order.cents, at))
            for item in order.items:
                item.state = "blocked"
                item.transitions["blocked"] = _stamp(at)
            yield self.order_event(order, "order.blocked", at)
            return
        order.enter("accepted", at, "passed")
        yield self.order_event(order, "order.accepted", at)
        if kind == "cancelled":
            at = self.later(at, 300, 86400)
            order.charge_state = "cancelled"
            order.cancels.append(self.operation(order.cents, at))
            yield self.charge_event(order, "order.charge.cancel.complete", at)
            at = self.later(at, 1, 30)
            order.enter("cancelled", at)
            for item in order.items:
                item.state = "cancelled"
                item.transitions["cancelled"] = _stamp(at)
            yield self.order_event(order, "order.cancelled", at)
            return
        at = self.later(at, 3600, 2 * 86400)
        for item in order.items:
            item.state = "fulfilled"
            item.transitions["fulfilled"] = _stamp(at)
        order.charge_state = "processing"
        capture = self.operation(order.cents, at, "pending")
        order.captures.append(capture)
        order.enter("fulfilled", at)
        yield self.order_event(order, "order.fulfilled", at)
        yield self.charge_event(order, "order.charge.capture.pending", self.later(at, 1, 5))
        at = self.later(at, 600, 7200)
        capture["state"] = "complete"
        order.charge_state = "complete"
        yield self.charge_event(order, "order.charge.capture.complete", at)
        at = self.later(at, 1, 30)
        order.enter("complete", at)
        yield self.order_event(order, "order.complete", at)
        if kind == "disputed":
            at = self.later(at, 5 * 86400, 30 * 86400)
            order.enter("dispute", at, "review_opened")
            order.fraud = "review_opened"
            yield self.order_event(order, "order.dispute", at)
            at = self.later(at, 10 * 86400, 40 * 86400)
            order.state, order.fraud = "complete", "passed"
            yield self.order_event(order, "order.dispute.resolved", at)

    def operation(self, cents: int, at: datetime, state: str = "complete") -> Json:
        return {
            "id": self.uuid(),
            "createdTime": _stamp(at),
            "amount": _money(cents),
            "state": state,
        }


def deliveries(  # noqa: PLR0913 (the traffic's knobs, keyword only)
    count: int,
    *,
    seed: int = 0,
    duplicates: float = 0.1,
    late: float = 0.2,
    window: int = 256,
    secret: str = SECRET,
) -> Iterator[Signed]:
    """``count`` signed deliveries, the same for the same arguments; see the module's text."""
    rng = random.Random(seed)  # noqa: S311 (reproducible traffic, not secrets)
    traffic = _Traffic(rng)
    # A redelivery per unique event with this chance makes ``duplicates`` of all deliveries.
    again = duplicates / (1 - duplicates)
    waiting: list[tuple[float, int, Signed]] = []
    order = itertools.count()
    emitted = 0
    for position, (event_id, body, created) in enumerate(traffic.events()):
        sent = created + timedelta(seconds=rng.uniform(0.2, 3))
        first = Signed(body, sign(body, secret, sent), sent + timedelta(seconds=0.3), event_id)
        delay = rng.uniform(1, window) if rng.random() < late else 0.0
        heapq.heappush(waiting, (position + delay, next(order), first))
        if rng.random() < again:
            resent = sent + timedelta(seconds=rng.uniform(60, 3600))
            redelivery = Signed(
                body,
                sign(body, secret, resent),
                resent + timedelta(seconds=0.3),
                event_id,
                duplicate=True,
            )
            heapq.heappush(waiting, (position + rng.uniform(1, window), next(order), redelivery))
        while waiting and waiting[0][0] <= position:
            yield heapq.heappop(waiting)[2]
            emitted += 1
            if emitted == count:
                return

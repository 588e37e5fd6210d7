"""Hostile deliveries through the inbox on every store: one outcome each, nothing else.

Random bytes, random JSON, and the fixture lives' events with any of their leaves replaced
by hostile values (text with NUL and lone surrogates, numbers such as ``9e999999`` or
integers of thousands of digits, wrong types), signed or not, go through
:meth:`Inbox.receive` on the memory, SQLite and PostgreSQL stores. Each batch gets one
result per delivery and raises nothing; a delivery refused (invalid, unknown, waiting,
duplicate) changes nothing: no order created or changed, no event id recorded. Each signed
one is stored once in the inbox, each unsigned one summed up (a summary, or counted).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from order_lifecycle import Delivery, Inbox, Order
from order_lifecycle.store import Store
from order_lifecycle.webhooks import DeliveryStatus, sign
from tests.webhook_events import ALL_LIVES

SECRET = "whsec-hostile"  # noqa: S105 (a made-up test secret)
NOW = datetime(2026, 6, 1, tzinfo=UTC)

# Outcomes that may store something: an applied snapshot, a stale one (its id recorded).
_STORING = frozenset({DeliveryStatus.APPLIED, DeliveryStatus.STALE})

HOSTILE_CHARS = st.sampled_from(["\x00", "\ud800", "\udfff", "\udc80", "\u202e", "\ufeff"])
HOSTILE_TEXT = st.one_of(
    st.just(""),
    st.text(st.characters(exclude_categories=()) | HOSTILE_CHARS, max_size=12),
)
# Raw JSON number literals, spliced in as written (json.dumps cannot write most of them).
HOSTILE_NUMBERS = st.one_of(
    st.sampled_from(
        ["9e999999", "-9e999999", "1e-999999", "0.1e99999999999", "-0", "1E+400", "1" * 5000]
    ),
    st.decimals(allow_nan=False, allow_infinity=False).map(str).filter(lambda s: "E" not in s)
    | st.integers(min_value=-(10**40), max_value=10**40).map(str),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
    max_leaves=10,
)
_LIFE_EVENTS = [event for life in ALL_LIVES.values() for event in life()]


def _splice(value: Any, draw: st.DrawFn, numbers: list[str], rate: int) -> Any:
    """``value`` with about one leaf in ``rate`` hostile (numbers as placeholders)."""
    if isinstance(value, dict):
        return {key: _splice(item, draw, numbers, rate) for key, item in value.items()}
    if isinstance(value, list):
        return [_splice(item, draw, numbers, rate) for item in value]
    if draw(st.integers(0, rate - 1)):
        return value
    kind = draw(st.integers(0, 3))
    if kind == 0 or (kind == 1 and isinstance(value, str)):
        return draw(HOSTILE_TEXT)
    if kind == 1 or isinstance(value, (int, float)):
        numbers.append(draw(HOSTILE_NUMBERS))
        return f"@@number-{len(numbers) - 1}@@"
    return draw(JSON)


@st.composite
def hostile_events(draw: st.DrawFn) -> bytes:
    """A fixture event with some of its leaves hostile, as raw JSON bytes."""
    numbers: list[str] = []
    rate = draw(st.sampled_from([3, 12, 40]))
    event = _splice(draw(st.sampled_from(_LIFE_EVENTS)), draw, numbers, rate)
    text = json.dumps(event)  # ensure_ascii: lone surrogates become \\udxxx escapes
    for index, number in enumerate(numbers):
        text = text.replace(f'"@@number-{index}@@"', number)
    return text.encode()


BODIES = st.one_of(
    st.binary(max_size=200),
    JSON.map(lambda value: json.dumps(value).encode()),
    hostile_events(),
    hostile_events(),
)


@st.composite
def deliveries(draw: st.DrawFn) -> Delivery:
    """A hostile body, signed with the inbox's secret (mostly) or with a hostile header."""
    body = draw(BODIES)
    if draw(st.integers(0, 4)):
        return Delivery(body, sign(body, SECRET, NOW))
    return Delivery(body, draw(st.none() | HOSTILE_TEXT))


def _overflowing() -> bytes:
    """A charge event whose captured and cancelled amounts overflow decimal when added."""
    [cancel] = [e for e in ALL_LIVES["charge_capture_and_cancel"]() if e["id"].endswith("cancel")]
    for operation in ("captures", "cancels"):
        cancel["data"]["object"][operation][0]["amount"] = "@@huge@@"
    return json.dumps(cancel).replace('"@@huge@@"', "9e999999").encode()


def _poisoned() -> bytes:
    """An acceptance whose event id holds a NUL and whose order id a lone surrogate."""
    [accepted] = ALL_LIVES["card_order_accepted"]()
    accepted["id"] = "evt-\x00"
    accepted["data"]["object"]["id"] = "1001-\udc80"
    return json.dumps(accepted).encode()


KNOWN = [_overflowing(), _poisoned(), json.dumps(ALL_LIVES["card_order_accepted"]()[0]).encode()]
"""Deliveries that escaped the inbox once (decimal.Overflow; poison ids on the SQL stores)."""


def _snapshot(store: Store) -> tuple[dict[str, Order], dict[str, frozenset[str]]]:
    orders = {order_id: store.get_order(order_id) for order_id in store.order_ids()}
    return orders, {order_id: store.applied_event_ids(order_id) for order_id in orders}


@settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "50")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(deliveries(), min_size=1, max_size=6))
@example(batch=[Delivery(body, sign(body, SECRET, NOW)) for body in KNOWN])
def test_hostile_deliveries_get_one_outcome_each_and_store_nothing_refused(
    store: Store, batch: list[Delivery]
) -> None:
    """Each hostile delivery gets one result, nothing raises, and refusals store nothing."""
    inbox = Inbox(store, secrets=[SECRET], clock=lambda: NOW)
    orders, events = _snapshot(store)
    kept = len(store.kept_deliveries()) + store.redeliveries_not_kept()
    rows = len(store.list_deliveries(limit=10_000))
    # Deliveries waiting from earlier examples (the store lives on) apply when their order comes.
    waiting = store.list_deliveries(statuses=["waiting", "unknown_order"], limit=10_000)
    results = inbox.receive(batch)
    assert len(results) == len(batch)
    for result in results:
        note(f"{result.outcome}: {result.reason[:40]}")
    after_orders, after_events = _snapshot(store)
    storing = [r for r in results if r.outcome in _STORING]
    touched = {r.order_id for r in storing} | {row.order_id for row in waiting}
    changed = {i for i in after_orders if after_orders[i] != orders.get(i)}
    assert changed <= touched
    new_events = {e for ids in after_events.values() for e in ids} - {
        e for ids in events.values() for e in ids
    }
    assert new_events <= {r.event_id for r in storing} | {row.event_id for row in waiting}
    # Each refused one is kept as a summary, or counted as the redelivery of one kept before.
    now_kept = len(store.kept_deliveries()) + store.redeliveries_not_kept()
    assert now_kept - kept == sum(r.refusal is not None for r in results)
    # Each signed one is stored, once: a new row, or a duplicate of one stored before.
    stored = [r for r in results if r.refusal is None]
    assert all((r.seq is None) == (r.outcome is DeliveryStatus.DUPLICATE) for r in stored)
    assert len(store.list_deliveries(limit=10_000)) - rows == sum(r.seq is not None for r in stored)

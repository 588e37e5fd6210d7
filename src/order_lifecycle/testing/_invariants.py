"""Property-testing kit: hypothesis strategies for orders and checkouts, and their invariants.

Needs the ``testing`` extra (``pip install order-lifecycle[testing]``). Use the strategies to
drive your own integration with random orders and event sequences, and call
:func:`assert_order_invariants` / :func:`assert_checkout_invariants` after every step (and
:func:`assert_state_implied` when only the library's operations moved the order)::

    @given(new_orders(), st.lists(order_events()))
    def test_my_handler(order, events):
        for event in events:
            my_handler(order, event)          # your code, which calls fire()
            assert_order_invariants(order)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

from hypothesis import strategies as st

from ._derived import SETTLED, implied_state
from ._machine import Step
from ._models import Charge, Checkout, Item, Order
from ._replay import replay
from ._tables import CHECKOUT_SPEC, ORDER_SPEC
from ._vocabulary import (
    ChargeState,
    CheckoutEvent,
    CheckoutState,
    FraudState,
    OrderEvent,
    OrderState,
)

__all__ = [
    "assert_checkout_invariants",
    "assert_order_invariants",
    "assert_state_implied",
    "assert_submission_invariants",
    "charges",
    "checkout_events",
    "checkouts",
    "created_bodies",
    "error_bodies",
    "items",
    "new_orders",
    "order_events",
    "provider_errors",
    "recode",
    "submission_responses",
]

_IDS = st.text("0123456789abcdef", min_size=1, max_size=12)
# hypothesis takes naive bounds and attaches the timezone itself.
_TIMES = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
_NEW_CHARGE_STATES = st.sampled_from([ChargeState.PENDING, ChargeState.CAPTURABLE])
_USD: st.SearchStrategy[str | None] = st.just("USD")

# States an order can only reach through acceptance (DESIGN 1.2: nothing is fulfilled,
# captured or returned, and nothing is disputed, before the order is accepted).
_AFTER_ACCEPTANCE = frozenset(
    {OrderState.FULFILLED, OrderState.COMPLETE, OrderState.RETURNED, OrderState.DISPUTE}
)


def order_events() -> st.SearchStrategy[OrderEvent]:
    """Any order event, legal or not in a given state."""
    return st.sampled_from(OrderEvent)


def checkout_events() -> st.SearchStrategy[CheckoutEvent]:
    """Any checkout event, legal or not in a given state."""
    return st.sampled_from(CheckoutEvent)


def items(item_id: st.SearchStrategy[str] = _IDS) -> st.SearchStrategy[Item]:
    """A fresh line item, nothing fulfilled, cancelled or returned; physical, digital or unknown."""
    return st.builds(
        Item, id=item_id, quantity=st.integers(1, 5), physical=st.sampled_from([True, False, None])
    )


def charges(
    states: st.SearchStrategy[ChargeState] = _NEW_CHARGE_STATES,
    currencies: st.SearchStrategy[str | None] = _USD,
) -> st.SearchStrategy[Charge]:
    """A charge as a new order has it: pending or capturable, in USD, by default."""
    return st.builds(
        Charge,
        id=_IDS,
        state=states,
        amount=st.decimals(Decimal(0), Decimal(10_000), places=2),
        currency=currencies,
    )


@st.composite
def new_orders(draw: st.DrawFn) -> Order:
    """An order as the provider creates it: in an entry state, with items and charges."""
    state = draw(st.sampled_from(ORDER_SPEC.entry_states))
    drawn_items = draw(st.lists(items(), min_size=1, max_size=3, unique_by=lambda i: i.id))
    drawn_charges = draw(st.lists(charges(), max_size=2, unique_by=lambda c: c.id))
    fraud = {
        OrderState.IN_REVIEW: FraudState.REVIEW_OPENED,
        OrderState.ACCEPTED: FraudState.PASSED,
    }.get(state)
    return Order.create(
        draw(_IDS),
        state,
        at=draw(_TIMES),
        checkout_id=draw(_IDS),
        fraud_state=fraud,
        items=drawn_items,
        charges=drawn_charges,
    )


def checkouts() -> st.SearchStrategy[Checkout]:
    """A new, open checkout."""
    return st.builds(Checkout, id=_IDS)


# Any character but NUL, which the provider never sends (a response holding one is invalid).
_TEXT = st.characters(exclude_characters="\x00")
# Codes the provider documents for POST /orders, and arbitrary ones.
_ERROR_CODES = st.sampled_from(
    ["failed-request", "fraud_block", "order-fraud-failure", "invalid_parameter", "not_found"]
) | st.text(_TEXT, max_size=12)
_MESSAGES = st.text(_TEXT, max_size=30)
_ERROR_TYPES = st.sampled_from(["bad_request", "not_found", "conflict", "internal_server_error"])


def provider_errors() -> st.SearchStrategy[dict[str, str]]:
    """One entry of the provider's ``errors[]``; ``code``, ``message``, ``parameter`` optional."""
    return st.fixed_dictionaries(
        {},
        optional={
            "code": _ERROR_CODES,
            "message": _MESSAGES,
            "parameter": st.sampled_from(["checkoutId", "orderId", "sourceId"]),
        },
    )


def error_bodies(error_type: str | None = None) -> st.SearchStrategy[str]:
    """The JSON text of a provider error body: ``{"type": ..., "errors": [...]}``."""
    return st.fixed_dictionaries(
        {
            "type": _ERROR_TYPES if error_type is None else st.just(error_type),
            "errors": st.lists(provider_errors(), max_size=3),
        }
    ).map(json.dumps)


@st.composite
def _created_body(draw: st.DrawFn, checkout_id: str | None) -> str:
    state = draw(st.sampled_from(ORDER_SPEC.entry_states))
    body: dict[str, Any] = {"id": draw(_IDS), "state": str(state)}
    if checkout_id is not None:
        body["checkoutId"] = checkout_id
    fraud = draw(st.none() | st.sampled_from(FraudState))
    if fraud is not None:
        body["fraudState"] = str(fraud)
    drawn_items = draw(st.lists(items(), max_size=3, unique_by=lambda i: i.id))
    show_empty: bool = draw(st.booleans())  # an empty list, or the key absent
    if drawn_items or show_empty:
        body["items"] = [
            {
                "id": i.id,
                "quantity": i.quantity,
                # The flag comes only with expanded products; unknown means absent.
                "productDetails": {} if i.physical is None else {"physical": i.physical},
            }
            for i in drawn_items
        ]
    drawn_charges = draw(st.lists(charges(), max_size=2, unique_by=lambda c: c.id))
    if drawn_charges or show_empty:
        charge_bodies = []
        for charge in drawn_charges:
            # float(): JSON numbers as the provider writes them; 2-place amounts survive it.
            entry: dict[str, Any] = {
                "id": charge.id,
                "state": str(charge.state),
                "amount": float(charge.amount),
            }
            entry.update(
                draw(
                    st.fixed_dictionaries(
                        {}, optional={"failureCode": _ERROR_CODES, "failureMessage": _MESSAGES}
                    )
                )
            )
            charge_bodies.append(entry)
        body["payment"] = {"charges": charge_bodies}
    return json.dumps(body)


def created_bodies(checkout_id: str | None = None) -> st.SearchStrategy[str]:
    """The JSON text of a ``POST /orders`` 201 body: an order in an entry state.

    With items (``productDetails.physical``), charges (some with ``failureCode`` and
    ``failureMessage``) and ``fraudState``, any of them possibly absent; ``checkoutId`` is
    ``checkout_id`` when given.
    """
    return _created_body(checkout_id)


def submission_responses(checkout_id: str | None = None) -> st.SearchStrategy[tuple[int, str]]:
    """A well-formed ``POST /orders`` response as ``(status code, JSON text)``.

    201 with an order, 409, another 4xx, or a 5xx (whose body may be anything).
    """
    return st.one_of(
        st.tuples(st.just(201), created_bodies(checkout_id)),
        st.tuples(st.just(409), error_bodies("conflict")),
        st.tuples(st.sampled_from([400, 401, 403, 404, 422, 429]), error_bodies()),
        st.tuples(st.sampled_from([500, 502, 503, 504]), error_bodies("internal_server_error")),
        st.tuples(st.sampled_from([500, 502]), st.text(max_size=20)),
    )


def assert_order_invariants(order: Order) -> None:
    """Raise ``AssertionError`` unless ``order`` keeps the lifecycle's promises.

    - its history replays, row by row, to its current state;
    - a final state is never left;
    - nothing after acceptance (fulfilled, complete, returned, dispute) before acceptance;
    - ``state_transitions`` holds the first entry into each state of the history;
    - no item has more units fulfilled and cancelled than ordered, or returned than fulfilled;
    - no charge has more captured and cancelled than authorized, or refunded than captured;
    - a fulfilled, complete or returned order has no open unit; a complete one has settled
      charges.
    """
    _require(replay(ORDER_SPEC, order.history) is order.state, "history does not replay")
    _assert_finals_absorb(order.history, ORDER_SPEC.final_states)
    accepted = False
    for step in order.history:
        accepted = accepted or step.dest is OrderState.ACCEPTED
        _require(
            accepted or step.dest not in _AFTER_ACCEPTANCE,
            f"{step.dest} reached before the order was accepted",
        )
    firsts = {step.dest: step.at for step in reversed(order.history)}
    _require(dict(order.state_transitions) == firsts, "state_transitions is not the first entries")
    for item in order.items:
        _require(0 <= item.fulfilled + item.cancelled <= item.quantity, f"item {item.id} overflows")
        _require(0 <= item.returned <= item.fulfilled, f"item {item.id} returns too much")
    for charge in order.charges:
        _require(
            0 <= charge.captured + charge.cancelled <= charge.amount,
            f"charge {charge.id} overflows",
        )
        _require(0 <= charge.refunded <= charge.captured, f"charge {charge.id} refunds too much")
    if order.state in {OrderState.FULFILLED, OrderState.COMPLETE, OrderState.RETURNED}:
        _require(all(i.open_quantity == 0 for i in order.items), f"{order.state} with open units")
    if order.state is OrderState.COMPLETE:
        _require(all(c.state in SETTLED for c in order.charges), "complete with open charges")


def assert_state_implied(order: Order) -> None:
    """Raise ``AssertionError`` unless the order's state is what its items and charges imply.

    The rule is :func:`order_lifecycle.implied_state` (its data: ``IMPLIED_STATES``, the
    same clauses the machine's guards use). It holds for an order moved only by
    the library's operations (``fulfil``, ``cancel_items``, ``capture``, ...) and the
    provider's events outside it (acceptance, review, disputes), once the order was
    accepted; in dispute, for the state it will resume. Firing ``fulfil``, ``complete``,
    ``cancel`` or ``return`` by hand can leave the state behind its data.
    """
    if not any(step.dest is OrderState.ACCEPTED for step in order.history):
        return
    state = order.state_before_dispute or order.state
    implied = implied_state(order.items, order.charges)
    _require(state is implied, f"{order.id} is {state}, but its items and charges say {implied}")


def assert_checkout_invariants(checkout: Checkout) -> None:
    """Raise ``AssertionError`` unless ``checkout`` keeps the lifecycle's promises.

    Its history replays to its state, a final state is never left, it was consumed (became
    an order) at most once, and it names an order only when consumed. These hold for any
    legal sequence of :func:`~order_lifecycle.fire`; see :func:`assert_submission_invariants`
    for a checkout moved by the submission functions.
    """
    _require(replay(CHECKOUT_SPEC, checkout.history) is checkout.state, "history does not replay")
    _assert_finals_absorb(checkout.history, CHECKOUT_SPEC.final_states)
    consumed = [s for s in checkout.history if s.dest is CheckoutState.CONSUMED]
    _require(len(consumed) <= 1, f"checkout {checkout.id} became {len(consumed)} orders")
    _require(
        (checkout.order_id is None) or checkout.state is CheckoutState.CONSUMED,
        f"checkout {checkout.id} names order {checkout.order_id} but is {checkout.state}",
    )


def assert_submission_invariants(checkout: Checkout) -> None:
    """Raise ``AssertionError`` unless a checkout moved by the submission functions is sound.

    Beyond :func:`assert_checkout_invariants`: every submission left one attempt, only the
    one in progress awaits its answer, and a consumed checkout names its order.
    """
    assert_checkout_invariants(checkout)
    submits = [s for s in checkout.history if s.event is CheckoutEvent.SUBMIT]
    _require(
        len(checkout.attempts) == len(submits),
        f"checkout {checkout.id}: {len(submits)} submissions, {len(checkout.attempts)} attempts",
    )
    if checkout.state is CheckoutState.SUBMITTING:
        _require(not checkout.attempts[-1].answered, "the submission in progress has an answer")
    if checkout.state is CheckoutState.CONSUMED:
        _require(checkout.order_id is not None, f"checkout {checkout.id} names no order")


def _assert_finals_absorb(history: list[Step[Any, Any]], finals: frozenset[Any]) -> None:
    for before, after in pairwise(history):
        _require(before.dest not in finals, f"left final state {before.dest} by {after.event}")


def _require(condition: bool, message: str) -> None:  # noqa: FBT001
    # Not `assert`: these checks must hold under `python -O` too.
    if not condition:
        raise AssertionError(message)


_CODE_FIELDS = frozenset({"code", "failureCode"})


def recode(body: str, replace: Callable[[object], str]) -> str:
    """``body`` with every ``code`` and ``failureCode`` (at any depth) replaced.

    For the property that codes never reach customers: a customer message must not change
    when only codes do. A body that is not JSON is returned as it is.
    """
    try:
        data = json.loads(body)
    except ValueError:
        return body

    def walk(value: object) -> object:
        if isinstance(value, dict):
            return {
                key: replace(item) if key in _CODE_FIELDS else walk(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return json.dumps(walk(data))

"""Invariants every order and checkout keeps, as assertions for users' own tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from order_lifecycle.lifecycle import (
    CHECKOUT_SPEC,
    ORDER_SPEC,
    CheckoutEvent,
    CheckoutState,
    OrderState,
    Step,
    replay,
)
from order_lifecycle.models import ORDER_MACHINE, Checkout, Order, implied_state

__all__ = [
    "assert_checkout_invariants",
    "assert_order_invariants",
    "assert_state_implied",
    "assert_submission_invariants",
    "recode",
]

# States an order can only reach through acceptance (DESIGN 1.2: nothing is fulfilled,
# captured or returned, and nothing is disputed, before the order is accepted): read off
# the table, as the recorder's.
_AFTER_ACCEPTANCE = ORDER_SPEC.only_through(OrderState.ACCEPTED) - {OrderState.ACCEPTED}


def assert_order_invariants(order: Order) -> None:
    """Raise ``AssertionError`` unless ``order`` keeps the lifecycle's promises.

    - its history replays, row by row, to its current state;
    - a final state is never left;
    - nothing after acceptance (fulfilled, complete, returned, dispute) before acceptance;
    - ``state_transitions`` holds the first entry into each state of the history;
    - no item has more units fulfilled and cancelled than ordered, or returned than fulfilled;
    - no charge has more captured and cancelled than authorized, or refunded than captured;
    - its data keeps what its state requires (the table's ``requires``): a fulfilled,
      complete or returned order has no open unit; a complete one has settled charges.
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
    unmet = [guard.description for guard in ORDER_MACHINE.unmet_requirements(order)]
    _require(not unmet, f"{order.state}, though not: {'; '.join(unmet)}")


def assert_state_implied(order: Order) -> None:
    """Raise ``AssertionError`` unless the order's state is what its items and charges imply.

    The rule is :func:`order_lifecycle.models.implied_state` (its data: the order table's
    ``implied`` rows, whose guards are the machine's). It holds for an order moved only by
    the library's operations (``fulfil``, ``cancel_items``, ``capture``, ...) and the
    provider's events outside it (acceptance, review, disputes), once the order was
    accepted; in dispute, for the state it will resume. Firing ``fulfil``, ``complete``,
    ``cancel`` or ``return`` by hand can leave the state behind its data.
    """
    if not any(step.dest is OrderState.ACCEPTED for step in order.history):
        return
    state = order.state_before_dispute or order.state
    implied = implied_state(order)
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

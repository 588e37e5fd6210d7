"""Exhaustive checks: every sequence of events and data changes, where the space allows."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from order_lifecycle import (
    Charge,
    ChargeState,
    Item,
    Order,
    OrderEvent,
    TransitionNotAllowed,
    can_fire,
    explain,
    fire,
)
from order_lifecycle.lifecycle import ORDER_SPEC
from order_lifecycle.testing import assert_order_invariants

from .provider_data import authorize_charges, close_units, settle_charge

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# The alphabet: every order event, plus each kind of data change the provider reports.
DataChange = Callable[[Order], None]
DATA_CHANGES: dict[str, DataChange] = {
    "authorize": authorize_charges,
    "capture": lambda o: settle_charge(o, 0, ChargeState.COMPLETE),
    "cancel charge": lambda o: settle_charge(o, 0, ChargeState.CANCELLED),
    "fulfil a unit": lambda o: close_units(o, 0, 1, fulfil=True),
    "cancel a unit": lambda o: close_units(o, 0, 1, fulfil=False),
}
ALPHABET: tuple[OrderEvent | str, ...] = (*OrderEvent, *DATA_CHANGES)


def starts() -> list[Order]:
    """An order in each entry state; with one pending charge, and with none (a wire transfer)."""
    return [
        Order.create(
            "o",
            state,
            at=T0,
            items=[Item("i", 2, physical=True)],
            charges=[Charge("c", ChargeState.PENDING, Decimal(10))] if with_charge else [],
        )
        for state in ORDER_SPEC.entry_states
        for with_charge in (True, False)
    ]


def apply(
    order: Order,
    action: OrderEvent | str,
    covered: set[tuple[object, ...]],
    *,
    check_explanations: bool = False,
) -> None:
    """Apply one letter and check it: fired rows are in the table, refusals change nothing."""
    if isinstance(action, OrderEvent):
        before = order.copy()
        allowed = can_fire(order, action)
        try:
            step = fire(order, action, at=T0)
        except TransitionNotAllowed:
            assert not allowed
            assert order == before
            if check_explanations:
                assert_explained_path_leads_there(order, action)
        else:
            assert allowed
            covered.add((step.source, step.event, step.dest))
    else:
        DATA_CHANGES[action](order)
    assert_order_invariants(order)


def assert_explained_path_leads_there(order: Order, event: OrderEvent) -> None:
    """Following the explained path (its conditions taken as met) makes ``event`` defined."""
    path = explain(order, event).path
    if path is None:
        return
    walker = order.copy()
    for step_event in path:
        if can_fire(walker, step_event):
            fire(walker, step_event, at=T0)
        else:  # one of the explanation's conditions: take it as met
            walker.state = ORDER_SPEC.transitions_from(walker.state, step_event)[0].dest
    assert ORDER_SPEC.transitions_from(walker.state, event), f"{path} does not lead to {event}"


# Length 4 takes 30-56 s and adds nothing the closure test below does not cover (it checks
# every configuration with every letter): a nightly run's (`./scripts/test -m slow`).
@pytest.mark.parametrize("length", [3, pytest.param(4, marks=pytest.mark.slow)])
def test_every_sequence_up_to_length(length: int) -> None:
    """Every sequence of up to ``length`` letters, from every start, keeps every promise.

    No deduplication: each sequence's own history is checked (14 letters, 6 starts: about
    230,000 sequences of length 4, 14 times fewer of length 3).
    """
    covered: set[tuple[object, ...]] = set()
    for start in starts():
        # Depth-first over the tree of sequences; each node copies its parent once.
        stack = [(start, 0)]
        while stack:
            order, depth = stack.pop()
            if depth == length:
                continue
            for action in ALPHABET:
                child = order.copy()
                apply(child, action, covered)
                stack.append((child, depth + 1))
    assert covered, "no event ever fired"


def configuration(order: Order) -> Hashable:
    """What decides the order's future: state, data, and the dispute's return point."""
    accepted_once = any(s.dest is s.dest.ACCEPTED for s in order.history)
    return (order.state, order.items, order.charges, order.state_before_dispute, accepted_once)


def test_every_row_of_the_table_is_reachable_and_safe() -> None:
    """Closing over every reachable configuration exercises every row of the order table.

    The machine's answer depends only on the configuration, so exploring each one with every
    letter checks every sequence of any length; histories are checked step by step, which
    keeps them legal by induction.
    """
    covered: set[tuple[object, ...]] = set()
    seen: set[Hashable] = set()
    queue = deque(starts())
    while queue:
        order = queue.popleft()
        key = configuration(order)
        if key in seen:
            continue
        seen.add(key)
        for action in ALPHABET:
            child = order.copy()
            apply(child, action, covered, check_explanations=True)
            queue.append(child)
    rows = {(t.source, t.event, t.dest) for t in ORDER_SPEC.transitions}
    assert covered == rows, f"rows never taken: {rows - covered}"
    assert len(seen) > 100  # the space is what we think it is, not a collapsed one


def test_alphabet_is_complete() -> None:
    """The exhaustive tests use every order event."""
    assert set(OrderEvent) <= set(ALPHABET)
    assert len(list(itertools.chain(ALPHABET))) == len(OrderEvent) + len(DATA_CHANGES)

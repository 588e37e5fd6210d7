"""The order table declares the actions its states and operations create, validated when built."""

from __future__ import annotations

from enum import StrEnum

import attrs
import pytest

from order_lifecycle import Operation, OrderState
from order_lifecycle.diagrams import render_spec
from order_lifecycle.lifecycle import ORDER_SPEC, ActionKind, ActionScope, ActionSpec

from .test_spec import Light, build


class Chore(StrEnum):
    """A tiny lifecycle's kinds of action."""

    SWEEP = "sweep"
    REPORT = "report"


SWEEP: ActionSpec[Light] = ActionSpec(Chore.SWEEP, "sweep up", Light.BROKEN, ActionScope.ORDER)
REPORT = ActionSpec(
    Chore.REPORT, "report it", Light.ON, ActionScope.ORDER, while_in=(Light.ON, Light.OFF)
)


def test_actions_build_and_answer() -> None:
    """A spec with actions builds and lists the actions each trigger creates."""
    spec = build(actions=(SWEEP, REPORT))
    assert spec.actions_on(Light.BROKEN) == (SWEEP,)
    assert spec.actions_on(Light.OFF) == ()
    assert "num_actions=2" in repr(spec)


def test_holds_are_listed_and_count_in_the_version() -> None:
    """The states holding each kind are listed, and a hold changes the spec's version."""
    held = build(actions=(SWEEP, attrs.evolve(REPORT, held_in=(Light.OFF,))))
    assert held.holds() == {Chore.REPORT: frozenset({Light.OFF})}
    assert held.version != build(actions=(SWEEP, REPORT)).version


def test_a_dispute_holds_what_goes_through_post_fulfillments() -> None:
    """In dispute the provider answers POST /fulfillments 409: ship, deliver, capture wait."""
    assert ORDER_SPEC.holds() == {
        kind: frozenset({OrderState.DISPUTE})
        for kind in (
            ActionKind.SHIP,
            ActionKind.DELIVER_DIGITALLY,
            ActionKind.REVIEW_FULFILMENT,
            ActionKind.CAPTURE,
        )
    }


def test_actions_count_in_the_version() -> None:
    """Adding or changing an action changes the spec's version; rewording keeps it."""
    plain = build().version
    with_actions = build(actions=(SWEEP, REPORT)).version
    assert with_actions != plain
    reworded = build(actions=(attrs.evolve(SWEEP, description="tidy"), REPORT)).version
    assert reworded == with_actions
    kept = build(actions=(SWEEP, attrs.evolve(REPORT, while_in=None))).version
    assert kept != with_actions


def test_the_order_table_declares_the_issue_actions() -> None:
    """Acceptance ships, delivers or reviews; blocks and cancels notify; and so on."""
    on = {
        a.on: {(str(b.kind), str(b.for_each)) for b in ORDER_SPEC.actions_on(a.on)}
        for a in ORDER_SPEC.actions
    }
    assert on[OrderState.ACCEPTED] == {
        ("ship", "physical_item"),
        ("deliver_digitally", "digital_item"),
        ("review_fulfilment", "unknown_item"),
    }
    assert on[OrderState.BLOCKED] == on[OrderState.CANCELLED] == {("notify_customer", "order")}
    assert on[OrderState.FULFILLED] == {("capture", "uncaptured_charge")}
    assert on[Operation.REFUND] == {("confirm_refund", "refunded_charge")}
    assert on[OrderState.DISPUTE] == {("respond_to_dispute", "order")}
    assert {a.kind for a in ORDER_SPEC.actions} == set(ActionKind)
    notices = [a for a in ORDER_SPEC.actions if a.kind is ActionKind.NOTIFY_CUSTOMER]
    assert all(a.tells_customer and ORDER_SPEC.state(OrderState(a.on)).customer for a in notices)


@pytest.mark.parametrize("fmt", ["md", "mermaid", "dot"])
def test_the_diagrams_show_the_actions(fmt: str) -> None:
    """Every rendering names the actions entering a state creates."""
    text = render_spec(ORDER_SPEC, fmt)
    assert "ship" in text
    assert "respond_to_dispute" in text
    if fmt == "md":
        assert "| `confirm_refund` | `refund` | refunded_charge |" in text
        assert "| `ship` | `accepted` | physical_item | `accepted`, `dispute` | `dispute` |" in text
    else:
        assert "holds ship, deliver_digitally, review_fulfilment, capture" in text

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Item, Order, allowed_events, fire
from order_lifecycle.diagrams import PATH_FORMATS, extract_path, render_path
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import ORDER_SPEC, Step
from order_lifecycle.lifecycle import OrderEvent as E
from order_lifecycle.lifecycle import OrderState as S

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _disputed() -> Order:
    """An order created accepted, fulfilled, completed by an implied step, then disputed."""
    order = Order.create("ord-7", "accepted", items=[Item("mug", 1, physical=True)], at=T0)
    order.history.extend(
        [
            Step(E.FULFIL, S.ACCEPTED, S.FULFILLED, T0 + timedelta(hours=1), "evt-1"),
            Step(E.COMPLETE, S.FULFILLED, S.COMPLETE, T0 + timedelta(hours=2), implied=True),
            Step(E.DISPUTE, S.COMPLETE, S.DISPUTE, T0 + timedelta(hours=3), "evt-2"),
        ]
    )
    return order


def test_a_path_is_its_steps_in_order() -> None:
    """Each step becomes one numbered row, announced by its webhook type, implied ones marked."""
    path = extract_path(ORDER_SPEC, "order ord-7", _disputed().history)
    assert [(s.number, s.state, s.via, s.implied) for s in path.steps] == [
        (1, "accepted", "created", False),
        (2, "fulfilled", "order.fulfilled", False),
        (3, "complete", "order.complete", True),
        (4, "dispute", "order.dispute", False),
    ]


def test_dot_draws_the_path_top_to_bottom() -> None:
    """DOT: top to bottom, one node per step, implied steps dashed, the last state filled."""
    dot = render_path(extract_path(ORDER_SPEC, "order ord-7", _disputed().history), "dot")
    assert "rankdir=TB;" in dot
    assert 's1 [label="1. accepted\\n2026-01-05 09:30"];' in dot
    assert 's2 -> s3 [label=" order.complete (implied)", style=dashed];' in dot
    last = 's4 [label="4. dispute\\n2026-01-05 12:30", fillcolor="#1d4ed8", fontcolor=white];'
    assert last in dot
    assert dot.count("->") == 3


def test_mermaid_draws_the_path_top_to_bottom() -> None:
    """Mermaid: a top-to-bottom flowchart, dotted arrows for implied steps, the last filled."""
    mermaid = render_path(extract_path(ORDER_SPEC, "order ord-7", _disputed().history), "mermaid")
    assert "flowchart TB" in mermaid
    assert 's2 -.->|"order.complete (implied)"| s3' in mermaid
    assert 's3 -->|"order.dispute"| s4' in mermaid
    assert "class s4 current" in mermaid


@given(st.data())
def test_every_life_draws_one_node_per_step(data: st.DataObject) -> None:
    """Whatever events an order takes, its path has a node per step and an edge between each."""
    order = Order.create("ord-1", data.draw(st.sampled_from(["pending_payment", "accepted"])))
    for _ in range(data.draw(st.integers(0, 6))):
        events = allowed_events(order)
        if not events:
            break
        fire(order, data.draw(st.sampled_from(events)))
    path = extract_path(ORDER_SPEC, "order ord-1", order.history)
    assert [s.state for s in path.steps] == [str(s.dest) for s in order.history]
    dot, mermaid = render_path(path, "dot"), render_path(path, "mermaid")
    assert dot.count(" -> ") == mermaid.count("|") // 2 == len(order.history) - 1
    assert dot.count("label=") == 2 * len(order.history)  # the title's, nodes', edges'


@given(
    (st.text() | st.sampled_from(["png", "SVG", "md", "\x00", "\udc80"])).filter(
        lambda fmt: fmt not in PATH_FORMATS
    )
)
def test_an_unknown_format_is_refused(fmt: str) -> None:
    """A format other than mermaid, dot and svg is refused with a typed error."""
    with pytest.raises(InvalidInput, match="Unknown path format"):
        render_path(extract_path(ORDER_SPEC, "order ord-7", _disputed().history), fmt)

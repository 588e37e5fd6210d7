from __future__ import annotations

import attrs
import pytest

from order_lifecycle import (
    ChargeState,
    Item,
    OrderEvent,
    ReturnNotAllowed,
    fire,
    return_items,
)

from .orders import T0, new_order, unchanged


def test_an_unreachable_state_refuses_the_operation() -> None:
    """When the new data would imply a state the table can't reach, nothing is committed.

    Only an order whose state already disagreed with its data gets there: this one was
    created complete while its charge is still open, so a partial return would imply
    ``fulfilled``, behind ``complete``.
    """
    items = (Item("shirt", 2, physical=True, fulfilled=2),)
    order = new_order(items=items)
    fire(order, OrderEvent.FULFIL, at=T0)
    order.charges = (attrs.evolve(order.charges[0], state=ChargeState.COMPLETE),)
    fire(order, OrderEvent.COMPLETE, at=T0)
    order.charges = (attrs.evolve(order.charges[0], state=ChargeState.CAPTURABLE),)
    with unchanged(order), pytest.raises(ReturnNotAllowed) as raised:
        return_items(order, {"shirt": 1})
    assert str(raised.value) == (
        "Can't return when in complete: its items and charges would then say fulfilled, "
        "which the order can't reach."
    )

"""What the provider reports about items and charges, as monotonic changes to an order.

The lifecycle tests need orders whose data moves on its own, as the provider's snapshots do:
charges get authorized, captured or cancelled; units get fulfilled or cancelled. These
helpers change only data, never the state, and only forward (a captured charge stays
captured), so the machine's guards face every situation the provider can produce.
"""

from __future__ import annotations

import attrs

from order_lifecycle import ChargeState, Item, Order

_OPEN_CHARGE = {ChargeState.PENDING, ChargeState.CAPTURABLE}


def authorize_charges(order: Order) -> None:
    """Every pending charge becomes capturable."""
    order.charges = tuple(
        attrs.evolve(c, state=ChargeState.CAPTURABLE) if c.state is ChargeState.PENDING else c
        for c in order.charges
    )


def settle_charge(order: Order, index: int, state: ChargeState) -> None:
    """Charge ``index`` (modulo the count) is captured or cancelled, if still open."""
    if not order.charges:
        return
    index %= len(order.charges)
    charges = list(order.charges)
    if charges[index].state in _OPEN_CHARGE:
        charges[index] = attrs.evolve(charges[index], state=state)
    order.charges = tuple(charges)


def close_units(order: Order, index: int, count: int, *, fulfil: bool) -> None:
    """Up to ``count`` open units of item ``index`` (modulo) are fulfilled or cancelled."""
    index %= len(order.items)
    items = list(order.items)
    item: Item = items[index]
    closed = min(count, item.open_quantity)
    if fulfil:
        items[index] = attrs.evolve(item, fulfilled=item.fulfilled + closed)
    else:
        items[index] = attrs.evolve(item, cancelled=item.cancelled + closed)
    order.items = tuple(items)

"""A batch of order changes committed at once: what to write, and what became of each.

:meth:`Store.commit_changes <order_lifecycle.store.Store.commit_changes>` takes a list of
:class:`OrderChange` (a new order, or an order updated from the copy read at a version,
with its new steps and the event id it applies) and of :class:`DeliveryToKeep`, and
commits them in one transaction: a change that loses its race (the version moved, the
order exists, the event id was applied meanwhile) or that the database refuses rolls back
alone, and the later changes of its order are not tried. The database stores first write
the whole batch with one statement per kind of write and no savepoint; only when the
database says a change lost or refused (a row count short, an error) is the batch rolled
back and done again with a savepoint per change. The kept deliveries are written only
when every change committed, because what a batch keeps (a conflict, a refusal) depends
on the orders it read.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from order_lifecycle.exceptions import InvalidInput, WrongType
from order_lifecycle.lifecycle import ORDER_SPEC
from order_lifecycle.webhooks import (
    COMMITTED,
    ChangeOutcome,
    ChangeResult,
    DeliveryToKeep,
    OrderChange,
)

from ._kept import kept_cost, summarise
from ._require import (
    delivery_fields,
    new_steps,
    require_optional_id,
    require_order,
    require_storable,
)

__all__ = [
    "COMMITTED",
    "ChangeOutcome",
    "ChangeResult",
    "CheckedKeep",
    "DeliveryToKeep",
    "OrderChange",
    "check_keep",
    "checked_change",
    "checked_changes",
    "checked_keeps",
    "earlier_failed",
]


def checked_change(change: object) -> tuple[OrderChange, ChangeResult | None]:
    """``change`` if it is an :class:`OrderChange`, with a refusal if it may not be written.

    The same checks as ``create_order`` (the whole history legal, ids storable) and
    ``update_order`` (only legal steps appended to ``base``, the id unchanged), none of
    which reads the database.

    Raises:
        WrongType: ``change`` is not an :class:`OrderChange`.

    """
    if not isinstance(change, OrderChange):
        raise WrongType("changes[]", "an OrderChange", change)
    try:
        _check(change)
    except InvalidInput as error:
        return change, ChangeResult(ChangeOutcome.REFUSED, str(error))
    return change, None


@attrs.frozen
class CheckedKeep:
    """A delivery to keep, its fields checked, and what it is charged."""

    raw: bytes
    reason: str
    event_id: str | None
    order_id: str | None
    at: datetime
    size: int
    sha256: str
    cost: int


def _check(change: OrderChange) -> None:
    """Raise :class:`InvalidInput` unless ``change`` may be written."""
    require_order(change.order)
    require_optional_id(change.event_id, "event_id")
    if change.base is None:
        if change.version != 0:
            raise InvalidInput(f"a new order {change.order_id!r} must be at version 0.")
        require_storable(ORDER_SPEC, change.order)
        return
    require_order(change.base)
    if change.version < 1:
        raise InvalidInput(f"an update of {change.order_id!r} needs the version it read.")
    new_steps(ORDER_SPEC, change.base, change.order)


def checked_keeps(keep: object) -> list[CheckedKeep]:
    """The deliveries of ``keep``, checked as :meth:`Store.keep_delivery` checks one.

    Raises:
        WrongType: ``keep`` is not a list of :class:`DeliveryToKeep`.
        InvalidInput: a field no database can store.

    """
    if not isinstance(keep, (list, tuple)):
        raise WrongType("keep", "a list of DeliveryToKeep", keep)
    checked = []
    for delivery in keep:
        if not isinstance(delivery, DeliveryToKeep):
            raise WrongType("keep[]", "a DeliveryToKeep", delivery)
        checked.append(
            check_keep(
                delivery.raw,
                delivery.reason,
                delivery.event_id,
                delivery.order_id,
                delivery.at,
                summary=delivery.summary,
            )
        )
    return checked


def check_keep(  # noqa: PLR0913 (the fields of a delivery to keep)
    raw: object,
    reason: object,
    event_id: object,
    order_id: object,
    at: object,
    *,
    summary: bool,
) -> CheckedKeep:
    """A delivery to keep, checked, summarised if asked, and charged.

    Raises:
        InvalidInput: a field no database can store, or of the wrong type.

    """
    raw_bytes, text, event, order, when = delivery_fields(raw, reason, event_id, order_id, at)
    kept = summarise(raw_bytes, summary=summary)
    cost = kept_cost(kept.raw, text, event, order)
    return CheckedKeep(kept.raw, text, event, order, when, kept.size, kept.sha256, cost)


def checked_changes(changes: object) -> list[tuple[OrderChange, ChangeResult | None]]:
    """Every change of ``changes``, checked (:func:`checked_change`)."""
    if not isinstance(changes, (list, tuple)):
        raise WrongType("changes", "a list of OrderChange", changes)
    return [checked_change(change) for change in changes]


def earlier_failed(order_id: str) -> ChangeResult:
    """The result of a change not tried: an earlier change of its order did not commit."""
    return ChangeResult(
        ChangeOutcome.LOST,
        f"an earlier change of order {order_id!r} in this batch did not commit; not tried.",
    )

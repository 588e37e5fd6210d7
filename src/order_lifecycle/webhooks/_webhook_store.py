r"""A store's batch calls, and the values they trade in (the inbox's and reconcilers' too).

:class:`BatchStore`: one read of the orders a batch names, one of its applied event ids,
and one commit of its :class:`OrderChange`\ s and kept deliveries. It is part of the
:class:`~order_lifecycle.store.Store` contract, declared once, here, below the stores
(the inbox's own part, ``InboxStore``, extends it; ``Store`` subclasses that). The values
they trade in live here too.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import attrs

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.models import Order

__all__ = [
    "COMMITTED",
    "BatchStore",
    "ChangeOutcome",
    "ChangeResult",
    "DeliveryToKeep",
    "OrderChange",
]


def _version(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(f"OrderChange.version must be an int of 0 or more, got {value!r}.")


@attrs.frozen
class OrderChange:
    """One order to write: new (``base`` ``None``, ``version`` 0), or ``base`` changed.

    ``base`` is the order as read (from :meth:`~order_lifecycle.store.Store.read_orders`, or
    the ``order`` of an earlier change in the same batch) at ``version``; ``order`` is it
    changed, its history ``base``'s with steps appended. ``event_id``, when given, is
    recorded as applied to the order together with it.
    """

    order: Order
    base: Order | None = None
    version: int = attrs.field(default=0, validator=_version)
    event_id: str | None = None

    @property
    def order_id(self) -> str:
        """The id of the order changed."""
        return self.order.id


class ChangeOutcome(StrEnum):
    """What became of one change of a batch."""

    COMMITTED = "committed"
    LOST = "lost"
    """Another writer got there first (version, order, or event id); nothing written."""
    REFUSED = "refused"
    """The change is not one the store may write (the reason says why); nothing written."""


@attrs.frozen
class ChangeResult:
    """The outcome of one change, with a reason unless it committed."""

    outcome: ChangeOutcome
    reason: str = ""

    @property
    def committed(self) -> bool:
        """Whether the change committed."""
        return self.outcome is ChangeOutcome.COMMITTED


COMMITTED = ChangeResult(ChangeOutcome.COMMITTED)
"""The result of a change that committed."""


@attrs.frozen
class DeliveryToKeep:
    """A delivery to keep for an operator, as :meth:`Store.keep_delivery` takes it."""

    raw: bytes
    reason: str
    event_id: str | None = None
    order_id: str | None = None
    at: datetime | None = None
    summary: bool = False


@runtime_checkable
class BatchStore(Protocol):
    r"""A store's batch calls: one read of each kind (orders, applied event ids), one commit.

    This is part of the :class:`~order_lifecycle.store.Store` contract, declared here once,
    below the stores, so that the webhooks layer can name it: ``Store`` subclasses it
    (through ``InboxStore``) and implements it; there is no other implementation.
    """

    @abstractmethod
    def read_orders(self, order_ids: Iterable[str]) -> dict[str, tuple[int, Order]]:
        r"""The stored orders among ``order_ids``, by id, each with its version; one read.

        Ids no order has are left out. The orders are independent copies, to be changed
        and handed back in :class:`OrderChange`\ s as their ``base``.

        Raises:
            InvalidInput: an id that is not a non-empty str a database can store.

        """

    @abstractmethod
    def events_applied(self, event_ids: Iterable[str]) -> dict[str, str]:
        """Which of ``event_ids`` were applied, each with the id of its order; one read.

        Raises:
            InvalidInput: an id that is not a non-empty str a database can store.

        """

    @abstractmethod
    def commit_changes(
        self, changes: Sequence[OrderChange], keep: Sequence[DeliveryToKeep] = ()
    ) -> list[ChangeResult]:
        """Commit ``changes`` in one transaction, a savepoint each; what became of each.

        Changes are written in turn. One that loses a race (``LOST``: the order's version
        is not the one given, a new order's id is taken, its event id was applied), or
        that may not be written (``REFUSED``: a history rewritten or illegal, an id no
        database can store), writes nothing and leaves the others as they are; the later
        changes of the same order are then not tried (``LOST``). The deliveries in ``keep``
        are kept, as ``Store.keep_delivery`` would (a redelivery of one kept already is
        not kept again), only if every change committed.

        Raises:
            WrongType: an element is not an ``OrderChange`` or a ``DeliveryToKeep``;
                nothing written.
            StoreError: the database failed; nothing written.

        """

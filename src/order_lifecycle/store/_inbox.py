"""The inbox's rules on plain data: checks every store makes, claims held, the memory inbox.

The stores keep the inbox (``ol_inbox``, see ``_schema``) by the contract declared in
:class:`~order_lifecycle.webhooks._inbox_store.InboxStore`. What does not need a database
is here, once: the checks of what a caller hands in (typed errors, before anything is
touched), the orders a store's claims hold (so that two reconcilers sharing one store
never take one order at once), and the rows of the memory store's inbox.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs

from order_lifecycle.exceptions import InvalidInput, StoreCorrupt, UnknownDelivery, WrongType
from order_lifecycle.webhooks import (
    GROUP_COMMITTED,
    OPEN_STATUSES,
    Delivered,
    DeliveryStatus,
    Event,
    GroupResult,
    Incoming,
    SettledGroup,
    Settlement,
    StoredDelivery,
)

from ._batch import checked_change
from ._codec import stored_bytes, stored_text, stored_time
from ._require import plain_text, storable_text

__all__ = [
    "GROUP_COMMITTED",
    "STATUSES",
    "ClaimedOrders",
    "MemoryInbox",
    "check_groups",
    "check_incoming",
    "check_seq",
    "check_seqs",
    "check_statuses",
    "dismissible",
    "refed",
    "stored_delivery",
]

STATUSES: dict[str, DeliveryStatus] = {status.value: status for status in DeliveryStatus}
"""Each delivery status by its text (``DeliveryStatus(text)`` costs a lookup through the enum)."""

_ENTERED = frozenset({DeliveryStatus.PENDING.value, DeliveryStatus.INVALID.value})
_MAX_SEQ = 2**63 - 1
# What an operator may dismiss: anything not settled for good by a reconciler.
_DISMISSIBLE = frozenset(
    {
        DeliveryStatus.PENDING,
        DeliveryStatus.WAITING,
        DeliveryStatus.INVALID,
        DeliveryStatus.UNKNOWN,
        DeliveryStatus.UNKNOWN_ORDER,
    }
)


def _text(value: object, what: str, *, optional: bool = True) -> None:
    """Raise unless ``value`` is text a database stores (or ``None`` when ``optional``)."""
    if value is None and optional:
        return
    if type(value) is not str or not value:
        raise WrongType(what, "a non-empty str" + (" or None" if optional else ""), value)
    if "\x00" in value or not value.isascii():  # the common case, plain ASCII, checked at once
        storable_text(value, what)


def check_incoming(deliveries: object) -> Sequence[Incoming]:
    """``deliveries`` if it is a list of :class:`Incoming` every store can hold.

    Raises:
        WrongType: not a list, or an element that is not an ``Incoming`` of the right types.
        InvalidInput: text with a NUL or a lone surrogate, or a status other than
            ``pending`` or ``invalid``.

    """
    if not isinstance(deliveries, (list, tuple)):
        raise WrongType("deliveries", "a list of Incoming", deliveries)
    for row in deliveries:
        if type(row) is not Incoming:
            raise WrongType("deliveries[]", "an Incoming", row)
        _text(row.event_id, "Incoming.event_id", optional=False)
        for name in ("event_type", "order_id", "created_time", "reason"):
            _text(getattr(row, name), f"Incoming.{name}")
        _text(row.received_at, "Incoming.received_at", optional=False)
        if row.status not in _ENTERED:
            raise InvalidInput(f"Incoming.status must be pending or invalid, got {row.status!r}.")
        if type(row.body) is not bytes:
            raise WrongType("Incoming.body", "bytes", row.body)
    return deliveries


def check_seq(seq: object) -> int:
    """``seq`` if it is a delivery number (an int from 1)."""
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= _MAX_SEQ:
        raise WrongType("seq", "a delivery number (an int from 1)", seq)
    return seq


def check_seqs(seqs: object) -> list[int] | None:
    """``seqs`` as delivery numbers without repeats (``None`` stays ``None``)."""
    if seqs is None:
        return None
    if isinstance(seqs, (str, bytes)) or not isinstance(seqs, Iterable):
        raise WrongType("only", "a list of delivery numbers", seqs)
    return list(dict.fromkeys(check_seq(seq) for seq in seqs))


def check_statuses(statuses: object) -> tuple[DeliveryStatus, ...] | None:
    """``statuses`` as inbox statuses (``None``: every status)."""
    if statuses is None:
        return None
    if isinstance(statuses, (str, bytes)) or not isinstance(statuses, Iterable):
        raise WrongType("statuses", "a list of delivery statuses", statuses)
    found = []
    for status in statuses:
        if not isinstance(status, str) or status not in STATUSES:
            known = ", ".join(s.value for s in DeliveryStatus)
            raise InvalidInput(f"Unknown delivery status {status!r}: expected one of {known}.")
        found.append(STATUSES[status])
    return tuple(dict.fromkeys(found))


def check_groups(groups: object) -> list[tuple[SettledGroup, GroupResult | None]]:
    """Each group of ``groups`` checked, with a refusal if one of its changes may not be written.

    Raises:
        WrongType: not a list of :class:`SettledGroup`, or a settlement that is not one.

    """
    if not isinstance(groups, (list, tuple)):
        raise WrongType("groups", "a list of SettledGroup", groups)
    checked: list[tuple[SettledGroup, GroupResult | None]] = []
    for group in groups:
        if not isinstance(group, SettledGroup):
            raise WrongType("groups[]", "a SettledGroup", group)
        refusal = None
        for index, change in enumerate(group.changes):
            _, refused = checked_change(change)
            if refused is not None and refusal is None:
                refusal = GroupResult(refused.outcome, refused.reason, index)
            if change.order.id != group.order_id:  # an OrderChange: checked_change said so
                raise WrongType(
                    "groups[].changes[]", f"a change of order {group.order_id!r}", change
                )
        for settlement in group.settlements:
            _settlement(settlement)
        for delivered in group.delivered:
            _delivered(delivered, group.order_id)
        checked.append((group, refusal))
    return checked


def _delivered(delivered: object, order_id: str | None) -> None:
    """A delivery handed to the outbox: its event, naming the group's order, and its body."""
    if (
        type(delivered) is not Delivered
        or not isinstance(delivered.event, Event)
        or type(delivered.body) is not bytes
    ):
        raise WrongType("groups[].delivered[]", "a Delivered (an Event and its body)", delivered)
    if order_id is None or delivered.event.order_id != order_id:
        raise WrongType(
            "groups[].delivered[]", f"a delivery of an event of order {order_id!r}", delivered
        )


def _settlement(settlement: object) -> None:
    if type(settlement) is not Settlement:
        raise WrongType("groups[].settlements[]", "a Settlement", settlement)
    seq, was, status, reason, attempts, due_at = settlement
    if (  # the common case, checked at once, as the checks below would pass it
        type(seq) is int
        and 1 <= seq <= _MAX_SEQ
        and type(was) is str
        and was in STATUSES
        and type(status) is str
        and status in STATUSES
        and (reason is None or (plain_text(reason) and reason != ""))
        and (due_at is None or (plain_text(due_at) and due_at != ""))
        and type(attempts) is int
        and 0 <= attempts <= _MAX_SEQ
    ):
        return
    check_seq(settlement.seq)
    for name in ("was", "status"):
        value = getattr(settlement, name)
        if not isinstance(value, str) or value not in STATUSES:
            raise WrongType(f"Settlement.{name}", "a delivery status", value)
    _text(settlement.reason, "Settlement.reason")
    _text(settlement.due_at, "Settlement.due_at")
    if isinstance(settlement.attempts, bool) or not isinstance(settlement.attempts, int):
        raise WrongType("Settlement.attempts", "an int", settlement.attempts)
    if not 0 <= settlement.attempts <= _MAX_SEQ:
        raise WrongType("Settlement.attempts", "an int from 0", settlement.attempts)


def refed(status: str, reason: str | None) -> str:
    """The reason an operator's refeed leaves on a delivery that was in ``status``."""
    return f"fed again by an operator (it was {status}: {reason or 'no reason'})"


def dismissible(row: StoredDelivery) -> StoredDelivery:
    """``row`` if an operator may dismiss it; else a typed error saying why not."""
    if row.status not in _DISMISSIBLE:
        raise InvalidInput(
            f"delivery {row.seq} is {row.status.value}: settled for good, nothing to dismiss."
        )
    return row


def stored_delivery(row: Sequence[Any]) -> StoredDelivery:
    """A row of ``ol_inbox`` read back (its columns in the table's order).

    Raises:
        StoreCorrupt: a column holds what the inbox never writes there.

    """
    seq, event_id, event_type, order_id, created, received, status, reason, attempts, due, body = (
        row
    )
    if (  # the common case, checked at once; the checks below name what is wrong
        type(seq) is int
        and type(event_id) is str
        and type(received) is str
        and type(attempts) is int
        and attempts >= 0
        and type(body) is bytes
        and type(status) is str
        and status in _STATUS_TEXT
        and due is None
        and (event_type is None or type(event_type) is str)
        and (order_id is None or type(order_id) is str)
        and (created is None or type(created) is str)
        and (reason is None or type(reason) is str)
    ):
        try:  # an arrival time as the inbox writes it (aware ISO 8601)
            at = datetime.fromisoformat(received)
        except ValueError:
            at = None
        if at is not None and at.tzinfo is not None:
            # StoredDelivery(...) of these values, its slots set directly (see _set_seq)
            built: StoredDelivery = _new(StoredDelivery)
            _set_seq(built, seq)
            _set_event_id(built, event_id)
            _set_event_type(built, event_type)
            _set_order_id(built, order_id)
            _set_created(built, created)
            _set_received(built, at)
            _set_status(built, STATUSES[status])
            _set_reason(built, reason)
            _set_attempts(built, attempts)
            _set_due(built, None)
            _set_body(built, body)
            return built
    return _checked_row(row)


def _checked_row(row: Sequence[Any]) -> StoredDelivery:
    """:func:`stored_delivery` of any row, each column checked and named if it is wrong."""
    seq, event_id, event_type, order_id, created, received, status, reason, attempts, due, body = (
        row
    )
    where = f"ol_inbox row {seq!r}, column"
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise _corrupt(f"{where} seq", seq)
    if not isinstance(status, str) or status not in STATUSES:
        raise _corrupt(f"{where} status", status)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
        raise _corrupt(f"{where} attempts", attempts)
    return StoredDelivery(
        seq,
        stored_text(event_id, f"{where} event_id"),
        stored_text(event_type, f"{where} event_type", optional=True),
        stored_text(order_id, f"{where} order_id", optional=True),
        stored_text(created, f"{where} created_time", optional=True),
        stored_time(received, f"{where} received_at"),
        STATUSES[status],
        stored_text(reason, f"{where} reason", optional=True),
        attempts,
        None if due is None else stored_time(due, f"{where} due_at"),
        stored_bytes(body, f"{where} body"),
    )


_STATUS_TEXT = frozenset(STATUSES)

# StoredDelivery's slots set directly: its attrs ``__init__`` (no validator, no
# converter, no post-init) sets each by name through ``object.__setattr__``, at about twice
# the cost; tests/store/test_inbox_rows.py holds the two to the same rows.
_new = object.__new__
(
    _set_seq,
    _set_event_id,
    _set_event_type,
    _set_order_id,
    _set_created,
    _set_received,
    _set_status,
    _set_reason,
    _set_attempts,
    _set_due,
    _set_body,
) = tuple(getattr(StoredDelivery, f.name).__set__ for f in attrs.fields(StoredDelivery))


def _corrupt(where: str, value: object) -> StoreCorrupt:
    return StoreCorrupt(f"{where} holds {value!r}, which the inbox never writes: damaged.")


class ClaimedOrders:
    """The orders a store's open claims hold: no second claim of the same store takes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[int, tuple[str, ...]] = {}
        self._orders: set[str] = set()
        self._tokens = itertools.count(1)

    def free(self, orders: Iterable[str]) -> list[str]:
        """Of ``orders``, those no open claim of this store holds, in turn."""
        with self._lock:
            return [order for order in orders if order not in self._orders]

    def hold(self, orders: Sequence[str]) -> int:
        """Hold ``orders`` under a new claim's token (those held already are left out)."""
        with self._lock:
            token = next(self._tokens)
            mine = tuple(order for order in dict.fromkeys(orders) if order not in self._orders)
            self._orders.update(mine)
            self._held[token] = mine
            return token

    def held(self, token: int) -> tuple[str, ...]:
        """The orders the claim ``token`` holds."""
        with self._lock:
            return self._held.get(token, ())

    def release(self, token: int) -> tuple[str, ...]:
        """Let go of the claim ``token``'s orders; which they were (none if released before)."""
        with self._lock:
            orders = self._held.pop(token, ())
            self._orders.difference_update(orders)
            return orders


@attrs.define
class MemoryInbox:
    """The inbox's rows for the memory store, which runs these under its lock.

    Indexed as the databases index ``ol_inbox``: by key (order and event id), by order,
    and the pending and waiting rows apart, so that a claim costs what it claims, not the
    inbox's size.
    """

    rows: dict[int, StoredDelivery] = attrs.Factory(dict)
    by_key: set[tuple[str | None, str]] = attrs.Factory(set)
    by_order: dict[str | None, list[int]] = attrs.Factory(dict)
    pending: dict[int, None] = attrs.Factory(dict)  # an ordered set, by seq
    waiting: set[int] = attrs.Factory(set)

    def accept(self, deliveries: Sequence[Incoming]) -> list[int | None]:
        """Store each delivery whose key (order and event id) is new; its seq, or ``None``."""
        stored: list[int | None] = []
        for row in deliveries:
            key = (row.order_id, row.event_id)
            if key in self.by_key:
                stored.append(None)
                continue
            seq = len(self.rows) + 1
            self.replace(
                StoredDelivery(
                    seq,
                    row.event_id,
                    row.event_type,
                    row.order_id,
                    row.created_time,
                    stored_time(row.received_at, "Incoming.received_at"),
                    STATUSES[row.status],
                    row.reason,
                    0,
                    None,
                    row.body,
                )
            )
            self.by_key.add(key)
            self.by_order.setdefault(row.order_id, []).append(seq)
            stored.append(seq)
        return stored

    def candidates(
        self,
        limit: int,
        now: datetime,
        only: list[int] | None,
        free: Callable[[Iterable[str]], list[str]],
    ) -> tuple[list[str], list[int]]:
        """The orders (oldest delivery first) and order-less deliveries due, ``limit`` of each.

        As the SQL stores find them: the first ``4 * limit`` pending rows, then as many due
        waiting ones; of their orders the first ``limit``, less those ``free`` leaves out
        (another claim of the store holds them).
        """
        scan = 4 * limit
        if only is not None:
            found = [self.rows[seq] for seq in sorted(only) if seq in self.rows]
            rows = [row for row in found if row.status in OPEN_STATUSES]
        else:
            due = [s for s in self.waiting if (self.rows[s].due_at or now) <= now]
            pending = itertools.islice(self.pending, scan)
            waiting = sorted(due, key=self._due)[:scan]
            rows = [self.rows[seq] for seq in itertools.chain(pending, waiting)]
        orders: dict[str, None] = {}
        loose: list[int] = []
        for row in rows:
            if row.order_id is None:
                if len(loose) < limit:
                    loose.append(row.seq)
            elif len(orders) < limit:
                orders[row.order_id] = None
        return free(orders), loose

    def _due(self, seq: int) -> tuple[datetime | None, int]:
        return self.rows[seq].due_at, seq

    def open_rows(self, orders: Sequence[str], loose: Sequence[int]) -> list[StoredDelivery]:
        """The open rows of ``orders`` and the rows ``loose`` names, by seq."""
        seqs = [seq for order in orders for seq in self.by_order.get(order, ())]
        rows = [self.rows[seq] for seq in sorted({*seqs, *loose})]
        return [row for row in rows if row.status in OPEN_STATUSES]

    def unsettled(self, settlements: Sequence[Settlement]) -> str | None:
        """Why ``settlements`` cannot be written (a row changed meanwhile); ``None`` if they can."""
        for settlement in settlements:
            row = self.rows.get(settlement.seq)
            if row is None or row.status.value != settlement.was:
                return f"delivery {settlement.seq} was settled meanwhile"
        return None

    def settle(self, settlements: Sequence[Settlement]) -> None:
        """Write ``settlements`` (checked by :meth:`unsettled` first)."""
        for s in settlements:
            due = None if s.due_at is None else stored_time(s.due_at, "Settlement.due_at")
            self.replace(
                attrs.evolve(
                    self.rows[s.seq],
                    status=STATUSES[s.status],
                    reason=s.reason,
                    attempts=s.attempts,
                    due_at=due,
                )
            )

    def get(self, seq: int) -> StoredDelivery:
        """The row ``seq``; :class:`UnknownDelivery` if there is none."""
        row = self.rows.get(seq)
        if row is None:
            raise UnknownDelivery(seq)
        return row

    def replace(self, row: StoredDelivery) -> StoredDelivery:
        """Put ``row`` in its place, its status indexed; it."""
        self.rows[row.seq] = row
        if row.status is DeliveryStatus.PENDING:
            self.pending[row.seq] = None
        else:
            self.pending.pop(row.seq, None)
        if row.status is DeliveryStatus.WAITING:
            self.waiting.add(row.seq)
        else:
            self.waiting.discard(row.seq)
        return row

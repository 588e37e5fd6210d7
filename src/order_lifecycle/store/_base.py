"""The :class:`Store` contract: orders, checkouts, event ids, the inbox and the outbox, atomically.

The contract every store keeps (the memory reference and the databases alike):

- **One transaction per operation.** :meth:`Store.update_order` commits the order's state,
  fraud state, items, charges, its new history steps and the event id together, or
  nothing. A checkout call commits the checkout, its new steps and attempts, and the order
  it became, together, or nothing (the one exception: an ``InvalidResponse`` from
  :meth:`Store.record_response` commits the move to in doubt and the raw response, then
  raises).
- **Optimistic concurrency.** Each order has a version. An update reads the order and its
  version, runs the change on a copy without holding any lock, and writes only where the
  version is still the one it read; otherwise it raises :class:`StaleOrder` and writes
  nothing. :meth:`Store.update_order_retrying` reloads and re-applies.
- **Checkout consumption is decided by the database**: the claim of a checkout is one
  conditional write (where its state and version are still the ones read); a lost claim
  is re-read and refused, never written. Of any number of concurrent
  :meth:`Store.begin_submission` calls for one open checkout exactly one succeeds; the
  others are refused (``SubmissionInProgress``, or what the winner's outcome made the
  checkout). Hence at most one order per checkout, whose id the checkout keeps.
- **Once the request was sent, a checkout is never left submitting** by a failure to
  record its answer: when :meth:`Store.record_response` fails for another reason than a
  refusal (the write failed, the order cannot be stored), a second, minimal step moves
  the checkout to in doubt with the raw response, and the first error is raised (an
  untyped one as a :class:`StoreError`), with a note saying where the checkout is.
- **Event ids are unique.** An update with an event id already applied does nothing and
  raises :class:`DuplicateEvent`, also when two writers race with the same id.
- **Histories only grow, legally.** An update may append steps the current table allows
  from the stored state; it may not rewrite stored steps or change the order's id. Each
  step is stored with the version of the table it was written under, so :meth:`Store.check`
  can tell which stored histories a new table would make illegal.
- **Batches.** :meth:`Store.read_orders` and :meth:`Store.events_applied` read what a
  batch needs in one query each; :meth:`Store.commit_changes` commits a list of changes in
  one transaction, a savepoint each, with the same checks as one update (the version, the
  event id, only legal steps appended), so a change that lost its race or was refused
  costs only itself.
- **Flat in history length.** An update encodes and writes only the order's row and its
  new steps. The database stores keep the orders they last read or wrote, each with the
  row it matches (an identity map, see ``_cache``): a read whose row is unchanged does not
  read the history again.
- **A delivery is kept once.** :meth:`Store.keep_delivery` (and the deliveries a batch
  keeps) keep a delivery whose bytes (their SHA-256, the whole delivery's) are kept
  already only once: a redelivery is counted (:meth:`Store.redeliveries_not_kept`) and the
  delivery kept before is returned.
- Reads give independent copies: changing what :meth:`Store.get_order` returned changes
  nothing stored.
- **The inbox.** :meth:`Store.accept_deliveries` stores signed deliveries, unique by event
  id, in one transaction whose lock waits are bounded; :meth:`Store.claim_deliveries`
  hands a reconciler some orders' open deliveries (no two claims hold one order), and
  :meth:`Store.settle_deliveries` writes each order's changes and its deliveries' statuses
  together, or nothing of that order when another writer got there first (see ``_inbox``).
- **The outbox.** Every write of an order (created, updated, in a batch, by a 201) also
  writes, in its transaction, the actions :func:`~order_lifecycle.actions.derive_actions`
  finds in it (with the store's :attr:`Store.action_policy`), rewrites and cancels those
  it rewrites and cancels (see ``_outbox``); :meth:`Store.claim_actions` hands them out on
  lease, judged by the store's clock.

:meth:`Store.update_order_retrying` is written once, here, over :meth:`Store.update_order`;
the checkout calls once, in ``order_lifecycle.checkout`` (``CheckoutCalls``), over the port
every store implements here (``_read_checkout`` and ``_commit_checkout``, checked, over each
store's ``_load_checkout`` and ``_write_checkout``); the checks every store makes before
writing, in ``_require``.
"""

from __future__ import annotations

import hashlib
import random
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import attrs

from order_lifecycle.actions import (
    ActionPolicy,
    Completed,
    Derived,
    Failed,
    Outcome,
    derive_actions,
    received,
)
from order_lifecycle.checkout import CheckoutCalls
from order_lifecycle.exceptions import (
    InvalidInput,
    StaleOrder,
    UnknownAction,
    UnknownDelivery,
    WrongType,
)
from order_lifecycle.lifecycle import CHECKOUT_SPEC, ORDER_SPEC, MachineSpec
from order_lifecycle.models import Checkout, Order
from order_lifecycle.webhooks import (
    Claim,
    DeliveryStatus,
    DeliveryToKeep,
    GroupResult,
    InboxStore,
    Incoming,
    SettledGroup,
    StoredDelivery,
)

from ._backlog import Backlog
from ._batch import CheckedKeep, checked_keeps
from ._check import IllegalHistory, StoredHistory, find_illegal
from ._inbox import (
    check_groups,
    check_incoming,
    check_seq,
    check_seqs,
)
from ._kept import DEFAULT_MAX_KEPT_BYTES, check_cap
from ._observe import report_derived, report_retried
from ._outbox import (
    MAX_TRIES,
    StoredAction,
    check_claim,
    check_claims,
    check_key,
    check_kinds,
    check_lease,
    check_limit,
    check_moment,
    check_outcomes,
)
from ._overview import Overview, Ping, check_timeout
from ._pages import (
    ActionFilter,
    DeliveryFilter,
    OrderFilter,
    OrderSummary,
    Page,
    check_after_key,
    check_after_seq,
)
from ._require import new_steps, require_id, require_storable

__all__ = [
    "SPEC_VERSIONS",
    "KeptDelivery",
    "Store",
    "kept_before",
    "kept_delivery",
]

T = TypeVar("T")

_NO_POLICY = ActionPolicy()  # the provider's flag alone classifies items
_NOTHING_DELIVERED = Derived()  # what a group delivering no event asks of the outbox

SPEC_VERSIONS = {"order": ORDER_SPEC.version, "checkout": CHECKOUT_SPEC.version}
"""The version of each table this code writes steps under."""


@attrs.frozen(repr=False)
class KeptDelivery:
    """A webhook delivery kept for an operator: its raw bytes (or their start), why, and when.

    ``event_id`` and ``order_id`` are what could be read from it, when anything could
    (NUL and lone surrogates escaped, see :class:`~order_lifecycle.Inbox`). ``size`` and
    ``sha256`` (hex) are the whole delivery's; ``raw`` is all of it, or only its first
    :data:`~order_lifecycle.store.SUMMARY_BYTES` bytes when it was kept as a summary
    (:attr:`summary`), as deliveries failing their signature check are.
    """

    id: int
    raw: bytes
    reason: str
    at: datetime
    event_id: str | None = None
    order_id: str | None = None
    size: int = attrs.field(default=attrs.Factory(lambda self: len(self.raw), takes_self=True))
    sha256: str = attrs.field(
        default=attrs.Factory(lambda self: hashlib.sha256(self.raw).hexdigest(), takes_self=True)
    )

    @property
    def summary(self) -> bool:
        """Whether ``raw`` is only the start of the delivery (``size`` bytes long)."""
        return len(self.raw) < self.size

    def __repr__(self) -> str:
        size = f", size={self.size}" if self.summary else ""
        return (
            f"<KeptDelivery(id={self.id}, reason={self.reason!r}, num_bytes={len(self.raw)}{size})>"
        )


def kept_before(kept: Sequence[KeptDelivery], *, summary: bool) -> KeptDelivery | None:
    """Of the deliveries ``kept`` with one digest, the one a new delivery repeats; or None.

    A delivery kept whole stands for any redelivery (the first such is the one); a summary
    only for another summary (a whole delivery is worth keeping once after its summary:
    the summary lacks its bytes).
    """
    whole = [delivery for delivery in kept if not delivery.summary]
    if whole:
        return whole[0]
    return kept[0] if summary and kept else None


def kept_delivery(  # noqa: PLR0913, PLR0917 (a row's columns, in order)
    key: int,
    raw: bytes,
    reason: str,
    at: datetime,
    event_id: str | None,
    order_id: str | None,
    size: int | None,
    sha256: str | None,
) -> KeptDelivery:
    """A kept delivery read back; rows of schema version 1 (no size, no digest) were whole."""
    extra: dict[str, Any] = {}
    if size is not None:
        extra["size"] = size
    if sha256 is not None:
        extra["sha256"] = sha256
    return KeptDelivery(key, raw, reason, at, event_id, order_id, **extra)


class Store(InboxStore, CheckoutCalls):
    """Orders, checkouts, applied webhook event ids, the inbox and the outbox, in one database.

    The one storage contract: the inbox commits through it (the batch methods, declared
    in :class:`~order_lifecycle.webhooks.BatchStore`), checkouts are
    consumed through it (:meth:`begin_submission`, :meth:`record_response`...: a 201
    recorded through it stores the order created in the same transaction that consumes
    the checkout), and orders are changed through it (:meth:`update_order`). See the
    module documentation for what every store keeps. Close a store (or use it as a
    context manager) to release its connection.
    """

    max_kept_bytes: int = DEFAULT_MAX_KEPT_BYTES
    """The most bytes of kept deliveries the store holds (set it on a store to change it).

    Each kept delivery is charged its kept bytes, its reason and ids in UTF-8, and
    :data:`~order_lifecycle.store._kept.ROW_BYTES` for its row. A delivery that would take the
    total past the cap is not kept, only counted (:meth:`deliveries_not_kept`).
    """

    # --- orders ---------------------------------------------------------------------------

    @abstractmethod
    def create_order(self, order: Order, *, event_id: str | None = None) -> None:
        """Store a new order, with ``event_id`` marked applied when given (one transaction).

        Raises:
            OrderExists: an order with this id is stored already; nothing written.
            DuplicateEvent: ``event_id`` was applied before; nothing written.
            WrongType: ``order`` is not an :class:`~order_lifecycle.Order`.

        """

    @abstractmethod
    def get_order(self, order_id: str) -> Order:
        """The order as last committed, as an independent copy.

        Raises:
            UnknownOrder: no order has this id.
            StoreCorrupt: the stored order cannot be read back as a valid ``Order``.

        """

    @abstractmethod
    def update_order(
        self, order_id: str, change: Callable[[Order], T], *, event_id: str | None = None
    ) -> T:
        """Run ``change`` on a copy of the order and commit what it leaves; its result.

        One transaction: the state, fraud state, items, charges, the steps ``change``
        appended to the history and ``event_id`` commit together, and the order's version
        goes up by one. A change that leaves the order as it was, with no ``event_id``,
        writes nothing. Rule functions (``fire``, ``fulfil``, ``capture``...) are such changes.

        Raises:
            UnknownOrder: no order has this id.
            DuplicateEvent: ``event_id`` was applied before; nothing written (``change``
                does not even run unless a racing writer applied it meanwhile).
            StaleOrder: another update committed after this one read the order; nothing
                written (reload and retry: :meth:`update_order_retrying`).
            InvalidInput: ``change`` rewrote stored history, changed the id, or appended a
                step the table does not allow from the stored state; nothing written.
            Exception: whatever ``change`` raised; nothing written.

        """

    def update_order_retrying(
        self,
        order_id: str,
        change: Callable[[Order], T],
        *,
        event_id: str | None = None,
        attempts: int = 10,
    ) -> T:
        """:meth:`update_order`, reloading and re-applying ``change`` after a lost race.

        ``change`` may run several times, each time on a fresh copy: it must depend only on
        the order it is given. Between attempts it waits a little, at random (up to 50 ms),
        so racing writers spread out.

        Raises:
            StaleOrder: every one of ``attempts`` tries lost its race.
            InvalidInput: ``attempts`` is not 1 or more.

        """
        if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
            raise InvalidInput(f"attempts must be an int of 1 or more, got {attempts!r}.")
        for attempt in range(1, attempts + 1):
            try:
                return self.update_order(order_id, change, event_id=event_id)
            except StaleOrder:
                if attempt >= attempts:
                    raise
                # Not cryptographic: jitter so that racing writers do not collide again.
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))  # noqa: S311
        raise AssertionError("unreachable")  # pragma: no cover

    # --- checkouts: the port the checkout calls go through ----------------------------------

    def _read_checkout(self, checkout_id: str) -> tuple[int, Checkout] | None:
        return self._load_checkout(require_id(checkout_id, "checkout_id"))

    def _commit_checkout(
        self, version: int, stored: Checkout, work: Checkout, order: Order | None
    ) -> bool:
        new_steps(CHECKOUT_SPEC, stored, work)
        if order is not None:
            require_storable(ORDER_SPEC, order)
        return self._write_checkout(version, stored, work, order)

    @abstractmethod
    def _load_checkout(self, checkout_id: str) -> tuple[int, Checkout] | None:
        """``_read_checkout`` of a checked id: one read."""

    @abstractmethod
    def _write_checkout(
        self, version: int, stored: Checkout, work: Checkout, order: Order | None
    ) -> bool:
        """``_commit_checkout`` of a checked change: one transaction."""

    # --- batches: one read of each kind, one transaction -------------------------------------

    # read_orders, events_applied, commit_changes: declared once, in ``BatchStore``, which
    # the inbox (a layer below) names; every store implements them.

    @abstractmethod
    def order_ids(self) -> list[str]:
        """Every stored order's id, sorted."""

    @abstractmethod
    def applied_event_ids(self, order_id: str) -> frozenset[str]:
        """The webhook event ids applied to the order.

        Raises:
            UnknownOrder: no order has this id.

        """

    @abstractmethod
    def order_of_event(self, event_id: str) -> str | None:
        """The id of the order a webhook event was applied to; ``None`` if it never was."""

    # --- webhook deliveries kept for an operator -------------------------------------------

    @abstractmethod
    def keep_delivery(  # noqa: PLR0913 (what an operator needs to judge a delivery)
        self,
        raw: bytes | bytearray,
        reason: str,
        *,
        event_id: str | None = None,
        order_id: str | None = None,
        at: datetime | None = None,
        summary: bool = False,
    ) -> KeptDelivery | None:
        """Keep a delivery refused unread (a bad signature, too large) and the reason; it.

        The inbox keeps summaries here (``summary=True``); signed deliveries are stored
        in the inbox instead (:meth:`accept_deliveries`).

        Deliveries get increasing ids; ``at`` defaults to now. With ``summary``, only the
        first :data:`~order_lifecycle.store.SUMMARY_BYTES` bytes are kept, with the
        size and SHA-256 of all of them. When keeping it would take the kept bytes past
        :attr:`max_kept_bytes`, nothing is kept: the delivery is counted in
        :meth:`deliveries_not_kept` and ``None`` returned.

        A redelivery (a delivery whose SHA-256, the whole delivery's, is kept already) is
        not kept again: it is counted in :meth:`redeliveries_not_kept`, charged nothing,
        and the delivery kept before is returned. A summary does not stand for the whole
        delivery: the same bytes kept whole after a summary of them are kept (once).

        Raises:
            InvalidInput: a reason or id no database can store (NUL, a lone surrogate),
                an empty reason or id (:class:`WrongType`), or a ``max_kept_bytes``
                that is not an int of 1 or more; nothing kept or counted.

        """

    @abstractmethod
    def kept_deliveries(self) -> list[KeptDelivery]:
        """Every kept delivery, oldest first."""

    @abstractmethod
    def kept_bytes(self) -> int:
        """What the kept deliveries are charged, in all (see :attr:`max_kept_bytes`)."""

    @abstractmethod
    def deliveries_not_kept(self) -> int:
        """How many deliveries were counted but not kept, the cap being reached."""

    @abstractmethod
    def redeliveries_not_kept(self) -> int:
        """How many deliveries were not kept because they were kept already (redelivered)."""

    # --- the inbox: every signed delivery, stored first, reconciled after --------------------

    def accept_deliveries(
        self, deliveries: Sequence[Incoming], keep: Sequence[DeliveryToKeep] = ()
    ) -> list[int | None]:
        """Store signed deliveries, each unless its order and event id are stored; their seqs.

        See :meth:`~order_lifecycle.webhooks._inbox_store.InboxStore.accept_deliveries`.
        """
        rows = check_incoming(deliveries)
        keeps = checked_keeps(keep)
        cap = check_cap(self.max_kept_bytes)
        return self._accept_deliveries(rows, keeps, cap) if rows or keeps else []

    def claim_deliveries(
        self, *, limit: int = 100, now: datetime, only: Iterable[int] | None = None
    ) -> Claim:
        """Claim up to ``limit`` orders with deliveries to reconcile, and what deciding needs.

        See :meth:`~order_lifecycle.webhooks._inbox_store.InboxStore.claim_deliveries`.
        """
        return self._claim_deliveries(
            check_limit(limit), check_moment(now, "now"), check_seqs(only)
        )

    def settle_deliveries(self, groups: Sequence[SettledGroup]) -> list[GroupResult]:
        """Write each order's changes and its deliveries' statuses, each order whole or not at all.

        See :meth:`~order_lifecycle.webhooks._inbox_store.InboxStore.settle_deliveries`.
        """
        checked = check_groups(groups)
        return self._settle_deliveries(checked) if checked else []

    def release_claim(self, claim: Claim) -> None:
        """Let other claims take the claim's orders again (a claim released twice: no-op)."""
        if not isinstance(claim, Claim):
            raise WrongType("claim", "a Claim (from claim_deliveries)", claim)
        self._release_claim(claim)

    def list_deliveries(
        self,
        *,
        statuses: Iterable[str] | None = None,
        order_id: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[StoredDelivery]:
        """The inbox's deliveries in ``statuses``, of one order, of one type (each when given).

        Oldest first (by ``seq``), ``limit`` at most: the first page of
        :meth:`page_deliveries`, without its total.

        Raises:
            InvalidInput: an unknown status, a bad id or type, a limit not from 1 to 10,000.

        """
        where = DeliveryFilter.checked(statuses, order_id, event_type, since)
        return list(self._page_deliveries(where, None, check_limit(limit), total=False).items)

    def page_deliveries(  # noqa: PLR0913 (each filter is one keyword)
        self,
        *,
        statuses: Iterable[str] | None = None,
        order_id: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> Page[StoredDelivery]:
        """A page of the inbox's deliveries, by ``seq``, after ``after``; with the true total.

        The filters as :meth:`list_deliveries` (``since``: received at or after it); the
        total counts every delivery they match, and the page's
        :attr:`~order_lifecycle.store.Page.next_after` is the ``after`` of the next page.

        Raises:
            InvalidInput: an unknown status, a bad id, type, moment or seq, a limit not
                from 1 to 10,000.

        """
        where = DeliveryFilter.checked(statuses, order_id, event_type, since)
        return self._page_deliveries(where, check_after_seq(after), check_limit(limit), total=True)

    def get_delivery(self, seq: int) -> StoredDelivery:
        """The inbox's delivery number ``seq``, body and all.

        Raises:
            UnknownDelivery: the inbox holds no delivery ``seq``.

        """
        return self._get_delivery(check_seq(seq))

    def refeed_delivery(self, seq: int) -> StoredDelivery:
        """An operator's refeed: the delivery pending again (tries from 0), as it now is.

        A reconciler takes it with its order's next claim, whatever it was (an applied
        one comes out ``duplicate``).

        Raises:
            UnknownDelivery: the inbox holds no delivery ``seq``.

        """
        seq = check_seq(seq)
        if not self._refeed_deliveries([seq]):
            raise UnknownDelivery(seq)
        return self._get_delivery(seq)

    def refeed_deliveries(self, seqs: Iterable[int]) -> list[int]:
        """An operator's refeed of many, in one transaction: the seqs found and fed again, in turn.

        Each delivery of ``seqs`` the inbox holds is pending again, as
        :meth:`refeed_delivery` leaves it; a seq it does not hold is left out of the
        answer. At most 10,000 at a time.

        Raises:
            InvalidInput: not a list of delivery numbers, or more than 10,000 of them.

        """
        checked = check_seqs(seqs) or []
        check_limit(len(checked) or 1, "len(seqs)")
        return self._refeed_deliveries(checked) if checked else []

    def dismiss_delivery(self, seq: int) -> StoredDelivery:
        """An operator sets a delivery aside (``dismissed``): no reconciler tries it again.

        Raises:
            UnknownDelivery: the inbox holds no delivery ``seq``.
            InvalidInput: it is applied, duplicate or stale (settled for good), or
                dismissed already.

        """
        return self._dismiss_delivery(check_seq(seq))

    def delivery_counts(self) -> dict[DeliveryStatus, int]:
        """How many deliveries the inbox holds in each status (those with none left out)."""
        return self._delivery_counts()

    def backlog(self) -> Backlog:
        """The open work, each status counted with its oldest: what to alert on, one cheap read.

        Deliveries ``pending`` and ``waiting``; actions ``pending``, ``claimed``, ``failed``
        and ``dead``. Read through the indexes the claims use, whatever the size of what
        was settled or finished.
        """
        return self._backlog()

    @abstractmethod
    def _backlog(self) -> Backlog: ...

    @abstractmethod
    def _accept_deliveries(
        self, rows: Sequence[Incoming], keeps: Sequence[CheckedKeep], cap: int
    ) -> list[int | None]: ...

    @abstractmethod
    def _claim_deliveries(self, limit: int, now: datetime, only: list[int] | None) -> Claim: ...

    @abstractmethod
    def _settle_deliveries(
        self, groups: list[tuple[SettledGroup, GroupResult | None]]
    ) -> list[GroupResult]: ...

    @abstractmethod
    def _release_claim(self, claim: Claim) -> None: ...

    @abstractmethod
    def _page_deliveries(
        self, where: DeliveryFilter, after: int | None, limit: int, *, total: bool
    ) -> Page[StoredDelivery]: ...

    @abstractmethod
    def _get_delivery(self, seq: int) -> StoredDelivery: ...

    @abstractmethod
    def _refeed_deliveries(self, seqs: list[int]) -> list[int]: ...

    @abstractmethod
    def _dismiss_delivery(self, seq: int) -> StoredDelivery: ...

    @abstractmethod
    def _delivery_counts(self) -> dict[DeliveryStatus, int]: ...

    # --- the outbox: actions written with the change that created them ---------------------

    max_tries: int = MAX_TRIES
    """Claims of one action before a failure makes it ``dead`` (set it on a store to change it)."""

    @property
    def action_policy(self) -> ActionPolicy:
        """The shop's say in the actions every change derives: its classifier of items.

        Set it on a store (``store.action_policy = ActionPolicy(classify=...)``), like
        :attr:`max_tries`, in every process that writes orders (the web app, the
        reconciler): the store derives each change's actions with it, in its transaction.

        Raises (when set):
            WrongType: not an :class:`~order_lifecycle.actions.ActionPolicy`.

        """
        return getattr(self, "_action_policy", _NO_POLICY)

    @action_policy.setter
    def action_policy(self, policy: ActionPolicy) -> None:
        if not isinstance(policy, ActionPolicy):
            raise WrongType("action_policy", "an ActionPolicy", policy)
        self._action_policy = policy

    def _derive(self, before: Order | None, after: Order) -> Derived:
        """A change's actions, by :attr:`action_policy` (outside locks: it may run shop code)."""
        derived = derive_actions(before, after, policy=self.action_policy)
        report_derived(before, after, derived)
        return derived

    def delivers(self, event_type: str) -> bool:
        """Whether the outbox takes deliveries of ``event_type``: subscribed, or settling.

        By :attr:`action_policy`: the shop's subscriptions, and ``refund.complete`` and
        ``refund.failed``, which settle ``confirm_refund``.
        """
        return isinstance(event_type, str) and self.action_policy.delivers(event_type)

    def _derive_groups(
        self, groups: Sequence[tuple[SettledGroup, GroupResult | None]]
    ) -> tuple[dict[int, Derived], dict[int, Derived]]:
        """What settling ``groups`` writes to the outbox: each change's, each group's (by id).

        Derived once, outside any transaction or lock (the shop's classifier may run): the
        actions of each change, and those the group's delivered events ask for (written
        after its changes).
        """
        policy = self.action_policy
        changes: dict[int, Derived] = {}
        delivered: dict[int, Derived] = {}
        for group, refusal in groups:
            if refusal is not None:
                continue
            for change in group.changes:
                changes[id(change)] = self._derive(change.base, change.order)
            if not group.delivered:  # most groups: no event the outbox takes
                delivered[id(group)] = _NOTHING_DELIVERED
                continue
            found = [received(policy, d.event, d.body) for d in group.delivered]
            delivered[id(group)] = Derived(
                tuple(a for d in found for a in d.created),
                settlements=tuple(r for d in found for r in d.settlements),
            )
        return changes, delivered

    def claim_actions(
        self,
        kinds: Iterable[str] | None = None,
        *,
        limit: int = 10,
        lease: timedelta = timedelta(minutes=1),
    ) -> list[StoredAction]:
        """Lease up to ``limit`` due actions (of ``kinds``, or any), oldest first.

        Due: pending, failed and past its ``retry_at``, or claimed under a lease that
        ended, and not held (its order is in no state holding its kind: a dispute holds
        ``ship``). Each is ``claimed`` until ``now + lease`` and its ``tries`` counts one
        more; no other claim takes it until then (PostgreSQL skips rows another claim
        holds). "Now" is the store's clock (the database's), never the caller's. An action
        whose lease lapsed after :attr:`max_tries` claims (its worker was killed each time)
        is marked ``dead`` instead, its ``last_error`` saying so.

        Raises:
            InvalidInput: an unknown kind, a limit not from 1 to 10,000, a lease not above 0.

        """
        max_tries = check_limit(self.max_tries, "max_tries")
        return self._claim_actions(
            check_kinds(kinds, self.action_policy.kinds),
            check_limit(limit),
            check_lease(lease),
            max_tries,
        )

    def extend_lease(self, key: str, lease: timedelta, *, claim: int) -> StoredAction:
        """A heartbeat of one claim; the action as it now is (see :meth:`extend_leases`).

        Raises:
            UnknownAction: no action has this key.
            InvalidInput: a key no database stores, a lease not above 0, a claim not an int.

        """
        checked = check_claim(claim)
        if checked is None:
            raise WrongType("claim", "the tries of the claimed action (an int from 0)", claim)
        key = check_key(key)
        found = self._extend_leases([(key, checked)], check_lease(lease)).get(key)
        if found is None:
            raise UnknownAction(key)
        return found

    def extend_leases(self, claims: Mapping[str, int], lease: timedelta) -> dict[str, StoredAction]:
        """A heartbeat of many claims at once: each still held runs until ``now + lease``.

        ``claims`` maps action keys to the ``tries`` each claim returned: that count names
        the claim, so one whose lease lapsed and was taken again extends nothing. Returns
        the actions found, by key, as they now are (one no longer claimed, or with more
        tries: its claim is lost; cancelled, with a lease: cancelled under its claim).

        Raises:
            InvalidInput: not a mapping of keys to claims, over 10,000, a lease not above 0.

        """
        return self._extend_leases(check_claims(claims), check_lease(lease))

    def complete_action(
        self, key: str, result: object = None, *, claim: int | None = None
    ) -> StoredAction:
        """Mark a claimed action ``done``, keeping ``result`` (JSON); the action as it now is.

        An action no longer claimed (completed already, released), or claimed by another
        claim than ``claim`` (the ``tries`` of the action the claim returned: its lease
        lapsed and it was taken again), is left as it is and returned: at least once, the
        key makes it safe. Without ``claim``, any claim's completion counts. An action
        cancelled while the claim ran is done all the same: its handler did it.

        Raises:
            UnknownAction: no action has this key.
            InvalidInput: a key no database stores, or a result that is not plain JSON.

        """
        return self._finish_one(Completed(key, claim, result))

    def fail_action(
        self,
        key: str,
        error: object,
        retry_at: datetime | None = None,
        *,
        claim: int | None = None,
    ) -> StoredAction:
        """Record a claimed action's failure: ``failed`` until ``retry_at``, or ``dead``.

        ``retry_at`` defaults to a backoff of 2 s doubling with each try, up to an hour,
        by the store's clock; the action is ``dead`` once it was tried :attr:`max_tries`
        times. ``error`` (text, or an exception) is kept for an operator. A failure of
        another claim than ``claim`` (see :meth:`complete_action`) changes nothing; of an
        action cancelled while the claim ran, it ends the claim (it stays cancelled).

        Raises:
            UnknownAction: no action has this key.
            InvalidInput: a key no database stores, an error or retry_at of a wrong type,
                or a retry_at past year 9999 (or before year 1) in UTC.

        """
        return self._finish_one(Failed(key, claim, error, retry_at))

    def _finish_one(self, outcome: Outcome) -> StoredAction:
        found = self.finish_actions([outcome]).get(outcome.key)
        if found is None:
            raise UnknownAction(outcome.key)
        return found

    def finish_actions(self, outcomes: Sequence[Outcome]) -> dict[str, StoredAction]:
        """Record how many claims ended, in one transaction; the actions, by key, as they are now.

        Each outcome is a :class:`~order_lifecycle.actions.Completed` (as
        :meth:`complete_action`), a :class:`~order_lifecycle.actions.Failed` (as
        :meth:`fail_action`) or a :class:`~order_lifecycle.actions.Released`: a claim given
        back unrun, the action pending again with its try not counted. An outcome of a
        claim that no longer holds its action changes nothing; a key no action has is left
        out of the answer (an action pruned meanwhile).

        Raises:
            InvalidInput: not a list of outcomes, over 10,000, or one with a bad key, claim,
                result (not plain JSON), error or retry moment; nothing recorded.

        """
        max_tries = check_limit(self.max_tries, "max_tries")
        checked = check_outcomes(outcomes)
        return self._finish_actions(checked, max_tries) if checked else {}

    def retry_action(self, key: str) -> StoredAction:
        """An operator's retry: a ``dead`` or ``failed`` action pending again, tries reset.

        Raises:
            UnknownAction: no action has this key.
            ActionNotRetryable: it is not dead or failed, saying why: cancelled (its reason
                went away, and with it any retry), done, or due anyway; nothing changed.

        """
        retried = self._retry_action(check_key(key))
        report_retried(retried)
        return retried

    def prune_actions(self, done_before: datetime) -> int:
        """Delete the ``done`` and ``cancelled`` actions finished before ``done_before``; how many.

        Pending, claimed, failed and dead actions are never deleted. A pruned action's key
        is forgotten: a change that asked for it again would create it again (none does,
        as actions are created on entering a state, once).

        Raises:
            InvalidInput: ``done_before`` is not a timezone-aware datetime of a year from 1
                to 9999 in UTC.

        """
        return self._prune_actions(check_moment(done_before, "done_before"))

    def list_actions(
        self,
        *,
        states: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        order_id: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[StoredAction]:
        """The actions in ``states``, of ``kinds``, of one order (each when given), oldest first.

        Each pending or failed action its order's state holds says so (``held_by``). The
        first page of :meth:`page_actions`, without its total.

        Raises:
            InvalidInput: an unknown state or kind, a bad order id, moment or limit.

        """
        where = ActionFilter.checked(states, kinds, order_id, since, self.action_policy.kinds)
        return list(self._page_actions(where, None, check_limit(limit), total=False).items)

    def get_action(self, key: str) -> StoredAction:
        """The action ``key`` names, as the outbox holds it (and what holds it, if anything).

        Raises:
            UnknownAction: no action has this key.
            InvalidInput: a key no database stores.

        """
        return self._get_action(check_key(key))

    def page_actions(  # noqa: PLR0913 (each filter is one keyword)
        self,
        *,
        states: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        order_id: str | None = None,
        since: datetime | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Page[StoredAction]:
        """A page of the outbox's actions, oldest first, after the action ``after``; with the total.

        The filters as :meth:`list_actions` (``since``: created at or after it). Actions
        are listed by their creation, then their key; ``after`` is the key of the last
        action of the page before (the page's
        :attr:`~order_lifecycle.store.Page.next_after`).

        Raises:
            UnknownAction: no action has the key ``after`` (pruned meanwhile).
            InvalidInput: an unknown state or kind, a bad order id, moment or key, a limit
                not from 1 to 10,000.

        """
        where = ActionFilter.checked(states, kinds, order_id, since, self.action_policy.kinds)
        return self._page_actions(where, check_after_key(after), check_limit(limit), total=True)

    @abstractmethod
    def _claim_actions(
        self, kinds: tuple[Any, ...] | None, limit: int, lease: timedelta, max_tries: int
    ) -> list[StoredAction]: ...

    @abstractmethod
    def _extend_leases(
        self, claims: list[tuple[str, int]], lease: timedelta
    ) -> dict[str, StoredAction]: ...

    @abstractmethod
    def _finish_actions(
        self, outcomes: list[Outcome], max_tries: int
    ) -> dict[str, StoredAction]: ...

    @abstractmethod
    def _retry_action(self, key: str) -> StoredAction: ...

    @abstractmethod
    def _prune_actions(self, done_before: datetime) -> int: ...

    @abstractmethod
    def _get_action(self, key: str) -> StoredAction: ...

    @abstractmethod
    def _page_actions(
        self, where: ActionFilter, after: str | None, limit: int, *, total: bool
    ) -> Page[StoredAction]: ...

    # --- an operator's view: orders page by page, the overview, a ping -------------------------

    def page_orders(
        self,
        *,
        states: Iterable[str] | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Page[OrderSummary]:
        """A page of the stored orders in ``states`` (any, if not given), by id, after ``after``.

        Each order as its row holds it (:class:`~order_lifecycle.store.OrderSummary`: no
        items, charges or history: :meth:`get_order` reads one whole); with the true total.

        Raises:
            InvalidInput: an unknown state, a bad id, a limit not from 1 to 10,000.

        """
        where = OrderFilter.checked(states)
        return self._page_orders(where, check_after_key(after), check_limit(limit), total=True)

    def overview(self, *, open_only: bool = False) -> Overview:
        """Orders by state, deliveries by status and actions by state, each with its oldest.

        A few aggregate queries over indexes, in one read: what ``order-lifecycle status``
        shows. ``open_only`` counts only the backlog (deliveries a reconciler may still
        change, actions not finished) and no orders: what a health check reads.

        Raises:
            WrongType: ``open_only`` is not a bool.

        """
        if not isinstance(open_only, bool):
            raise WrongType("open_only", "a bool", open_only)
        return self._overview(open_only=open_only)

    def ping(self, timeout: float = 2.0) -> Ping:
        """The database reachable within ``timeout`` seconds: its schema version, and how fast.

        Reads the version the tables are at (``None``: there are none), reconnecting
        first if the connection was lost, waiting ``timeout`` at most for the store's
        connection, the server, and the answer.

        Raises:
            StoreUnavailable: no answer within ``timeout`` (the database is down, or busy).
            StoreCorrupt: the tables hold no single schema version.
            InvalidInput: ``timeout`` is not a number of seconds above 0, up to 60.

        """
        seconds = check_timeout(timeout)
        started = time.monotonic()
        version = self._ping(seconds)
        return Ping(version, time.monotonic() - started)

    @abstractmethod
    def _page_orders(
        self, where: OrderFilter, after: str | None, limit: int, *, total: bool
    ) -> Page[OrderSummary]: ...

    @abstractmethod
    def _overview(self, *, open_only: bool) -> Overview: ...

    @abstractmethod
    def _ping(self, timeout: float) -> int | None: ...

    # --- checking stored histories against a spec -------------------------------------------

    def check(
        self,
        order_spec: MachineSpec[Any, Any] = ORDER_SPEC,
        checkout_spec: MachineSpec[Any, Any] = CHECKOUT_SPEC,
        *,
        progress: Callable[[int], object] | None = None,
    ) -> list[IllegalHistory]:
        """Replay every stored history; the orders and checkouts the specs do not allow.

        Run it with a changed table before it ships: what it lists is stored data the new
        table would call illegal. Reads only. ``progress`` is called with 1 after each
        history is checked (``order-lifecycle check`` moves its progress bar by it).
        """
        specs = {"order": order_spec, "checkout": checkout_spec}
        return find_illegal(self._stored_histories(), specs, progress)

    @abstractmethod
    def _stored_histories(self) -> Iterator[StoredHistory]:
        """Every stored order's and checkout's history, as stored, orders first."""

    # --- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        """Release the store's connection; the store is unusable afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

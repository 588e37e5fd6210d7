"""The :class:`Store` contract: orders, checkouts, event ids and kept deliveries, atomically.

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
- **The outbox.** Every write of an order (created, updated, in a batch, by a 201) also
  writes, in its transaction, the actions :func:`~order_lifecycle.actions.derive_actions`
  finds in it, and cancels those it cancels (see ``_outbox``); :meth:`Store.claim_actions`
  hands them out on lease.

The checkout calls and :meth:`Store.update_order_retrying` are written once, here, over
each store's primitives (:meth:`Store.get`, :meth:`Store._apply`, :meth:`Store.update_order`).
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import attrs

from order_lifecycle.checkout._checkout import (
    begin_submission,
    keep_in_doubt,
    record_no_response,
    record_response,
    response_arguments,
    settle,
)
from order_lifecycle.checkout._outcomes import InDoubt, OrderCreated, SubmissionOutcome
from order_lifecycle.exceptions import (
    InvalidInput,
    InvalidResponse,
    OrderLifecycleError,
    StaleOrder,
    StoreError,
    TransitionNotAllowed,
    UnknownCheckout,
    WrongType,
)
from order_lifecycle.lifecycle._replay import replay
from order_lifecycle.lifecycle._spec import MachineSpec
from order_lifecycle.lifecycle._step import Step
from order_lifecycle.lifecycle._tables import CHECKOUT_SPEC, ORDER_SPEC
from order_lifecycle.lifecycle._vocabulary import CheckoutEvent, CheckoutState
from order_lifecycle.models._models import Checkout, Order
from order_lifecycle.webhooks._kept import DEFAULT_MAX_KEPT_BYTES
from order_lifecycle.webhooks._webhook_store import BatchStore

from ._check import IllegalHistory, StoredHistory, find_illegal
from ._outbox import (
    MAX_TRIES,
    ActionState,
    StoredAction,
    check_error,
    check_key,
    check_kinds,
    check_lease,
    check_limit,
    check_result,
    check_retry_at,
    check_states,
)

__all__ = [
    "CLAIM_ATTEMPTS",
    "SPEC_VERSIONS",
    "KeptDelivery",
    "Store",
    "kept_before",
    "kept_delivery",
]

T = TypeVar("T")

SPEC_VERSIONS = {"order": ORDER_SPEC.version, "checkout": CHECKOUT_SPEC.version}
"""The version of each table this code writes steps under."""

# Lost claims of one checkout in a row before giving up; each loss means another call
# committed, so only a pathological stream of writers to one checkout gets this far.
CLAIM_ATTEMPTS = 100


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


class Store(BatchStore):
    """Orders, checkouts, applied webhook event ids and kept deliveries, in one database.

    The one storage contract: the inbox commits through it (the batch methods, declared
    in :class:`~order_lifecycle.webhooks._webhook_store.BatchStore`), checkouts are
    consumed through it (:meth:`begin_submission`, :meth:`record_response`...: a 201
    recorded through it stores the order created in the same transaction that consumes
    the checkout), and orders are changed through it (:meth:`update_order`). See the
    module documentation for what every store keeps. Close a store (or use it as a
    context manager) to release its connection.
    """

    max_kept_bytes: int = DEFAULT_MAX_KEPT_BYTES
    """The most bytes of kept deliveries the store holds (set it on a store to change it).

    Each kept delivery is charged its kept bytes, its reason and ids in UTF-8, and
    :data:`~order_lifecycle.webhooks._kept.ROW_BYTES` for its row. A delivery that would take the
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
        """Keep a delivery (conflicting, invalid) with its raw bytes and the reason; it.

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

    # --- the outbox: actions written with the change that created them ---------------------

    max_tries: int = MAX_TRIES
    """Claims of one action before a failure makes it ``dead`` (set it on a store to change it)."""

    def claim_actions(
        self,
        kinds: Iterable[str] | None = None,
        *,
        limit: int = 10,
        lease: timedelta = timedelta(minutes=1),
    ) -> list[StoredAction]:
        """Lease up to ``limit`` due actions (of ``kinds``, or any), oldest first.

        Due: pending, failed and past its ``retry_at``, or claimed under a lease that
        ended. Each is ``claimed`` until ``now + lease`` and its ``tries`` counts one more;
        no other claim takes it until then (PostgreSQL skips rows another claim holds).

        Raises:
            InvalidInput: an unknown kind, a limit not from 1 to 10,000, a lease not above 0.

        """
        return self._claim_actions(check_kinds(kinds), check_limit(limit), check_lease(lease))

    def complete_action(self, key: str, result: object = None) -> StoredAction:
        """Mark a claimed action ``done``, keeping ``result`` (JSON); the action as it now is.

        An action no longer claimed (its lease ended and it was taken again, or it was
        cancelled) is left as it is and returned: at least once, the key makes it safe.

        Raises:
            UnknownAction: no action has this key.
            InvalidInput: a key no database stores, or a result that is not plain JSON.

        """
        return self._complete_action(check_key(key), check_result(result))

    def fail_action(
        self, key: str, error: object, retry_at: datetime | None = None
    ) -> StoredAction:
        """Record a claimed action's failure: ``failed`` until ``retry_at``, or ``dead``.

        ``retry_at`` defaults to a backoff of 2 s doubling with each try, up to an hour;
        the action is ``dead`` once it was tried :attr:`max_tries` times. ``error`` (text,
        or an exception) is kept for an operator.

        Raises:
            UnknownAction: no action has this key.
            InvalidInput: a key no database stores, or an error or retry_at of a wrong type.

        """
        max_tries = check_limit(self.max_tries, "max_tries")
        return self._fail_action(
            check_key(key), check_error(error), check_retry_at(retry_at), max_tries
        )

    def retry_action(self, key: str) -> StoredAction:
        """An operator's retry: a ``dead`` or ``failed`` action pending again, tries reset.

        Raises:
            UnknownAction: no action has this key.

        """
        return self._retry_action(check_key(key))

    def list_actions(
        self,
        *,
        states: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        order_id: str | None = None,
        limit: int = 1000,
    ) -> list[StoredAction]:
        """The actions in ``states``, of ``kinds``, of one order (each when given), oldest first.

        Raises:
            InvalidInput: an unknown state or kind, a bad order id or limit.

        """
        return self._list_actions(
            check_states(states),
            check_kinds(kinds),
            None if order_id is None else check_key(order_id, "order_id"),
            check_limit(limit),
        )

    @abstractmethod
    def _claim_actions(
        self, kinds: tuple[Any, ...] | None, limit: int, lease: timedelta
    ) -> list[StoredAction]: ...

    @abstractmethod
    def _complete_action(self, key: str, result: str | None) -> StoredAction: ...

    @abstractmethod
    def _fail_action(
        self, key: str, error: str, retry_at: datetime | None, max_tries: int
    ) -> StoredAction: ...

    @abstractmethod
    def _retry_action(self, key: str) -> StoredAction: ...

    @abstractmethod
    def _list_actions(
        self,
        states: tuple[ActionState, ...] | None,
        kinds: tuple[Any, ...] | None,
        order_id: str | None,
        limit: int,
    ) -> list[StoredAction]: ...

    # --- checking stored histories against a spec -------------------------------------------

    def check(
        self,
        order_spec: MachineSpec[Any, Any] = ORDER_SPEC,
        checkout_spec: MachineSpec[Any, Any] = CHECKOUT_SPEC,
    ) -> list[IllegalHistory]:
        """Replay every stored history; the orders and checkouts the specs do not allow.

        Run it with a changed table before it ships: what it lists is stored data the new
        table would call illegal. Reads only.
        """
        specs = {"order": order_spec, "checkout": checkout_spec}
        return find_illegal(self._stored_histories(), specs)

    @abstractmethod
    def _stored_histories(self) -> Iterator[StoredHistory]:
        """Every stored order's and checkout's history, as stored, orders first."""

    # --- checkouts: consumed at most once, each call one atomic step -------------------------

    @abstractmethod
    def checkout_ids(self) -> list[str]:
        """Every stored checkout's id, sorted."""

    @abstractmethod
    def _read_checkout(self, checkout_id: str) -> tuple[int, Checkout] | None:
        """The checkout as last committed and its version (``None`` if never stored).

        One read; the checkout returned must not be changed (it may be the stored one).
        """

    @abstractmethod
    def _commit_checkout(
        self, version: int, stored: Checkout, work: Checkout, order: Order | None
    ) -> bool:
        """Write ``work`` over ``stored`` where it is still at ``version``; whether it was.

        One transaction: the checkout's row, its appended steps (all of them when
        ``version`` is 0: a new checkout) and ``order``, if given and no order with its
        id is stored yet. A checkout no longer at ``version`` (another call committed
        first) is left as it is and ``False`` returned.
        """

    def get(self, checkout_id: str) -> Checkout:
        """A copy of the checkout as last committed; changing it changes nothing here.

        Raises:
            UnknownCheckout: the store has never seen ``checkout_id``.

        """
        loaded = self._read_checkout(require_id(checkout_id, "checkout_id"))
        if loaded is None:
            raise UnknownCheckout(checkout_id)
        return loaded[1].copy()

    def _apply(
        self,
        checkout_id: str,
        change: Callable[[Checkout], T],
        *,
        register_at: datetime | None = None,
        adopt: Order | None = None,
    ) -> T:
        """Run ``change`` on the checkout as one atomic step; commit what it leaves.

        With ``register_at``, a checkout not seen before is created open at that moment
        first (committed only with the change). Commit when ``change`` returns or raises
        ``InvalidResponse``; on any other error commit nothing and re-raise. The order
        the checkout became, ``adopt`` or the order of an :class:`OrderCreated` result,
        is stored in the same transaction unless an order with its id is stored already.
        A step that lost its race (another call committed first) is run again on what
        that call left, so a lost claim is re-read and refused, never written.

        Raises:
            UnknownCheckout: ``checkout_id`` is unknown and ``register_at`` is ``None``.
            StoreError: the checkout changed under ``CLAIM_ATTEMPTS`` tries in a row.

        """
        checkout_id = require_id(checkout_id, "checkout_id")
        for _ in range(CLAIM_ATTEMPTS):
            loaded = self._read_checkout(checkout_id)
            if loaded is None:
                if register_at is None:
                    raise UnknownCheckout(checkout_id)
                opened: Step[CheckoutState, CheckoutEvent] = Step(
                    None, None, CheckoutState.OPEN, register_at
                )
                loaded = (0, Checkout(checkout_id, history=[opened]))
            version, stored = loaded
            work = stored.copy()
            failure: InvalidResponse | None = None
            try:
                result: T | None = change(work)
            except InvalidResponse as error:
                failure, result = error, None
            new_steps(CHECKOUT_SPEC, stored, work)
            if not self._commit_checkout(version, stored, work, adopted_order(result, adopt)):
                continue
            if failure is not None:
                raise failure
            return result  # type: ignore[return-value]
        raise StoreError(f"checkout {checkout_id!r} kept changing; gave up after {CLAIM_ATTEMPTS}.")

    def __contains__(self, checkout_id: object) -> bool:
        """Whether the store has seen the checkout ``checkout_id``."""
        if not isinstance(checkout_id, str):
            return False
        try:
            self.get(checkout_id)
        except UnknownCheckout:
            return False
        return True

    def begin_submission(self, checkout_id: str, *, at: datetime | None = None) -> dict[str, str]:
        """Claim the checkout for one ``POST /orders``; the body to send.

        A checkout id seen for the first time is registered, open, and claimed at once.
        Refusals are those of :func:`~order_lifecycle.begin_submission`.
        """
        when = now() if at is None else at
        return self._apply(
            checkout_id, lambda checkout: begin_submission(checkout, at=when), register_at=when
        )

    def record_response(
        self,
        checkout_id: str,
        status_code: int,
        body: str | bytes | bytearray,
        *,
        at: datetime | None = None,
    ) -> SubmissionOutcome:
        """Record the provider's answer; see :func:`~order_lifecycle.record_response`.

        When recording fails after all (the store refused the write), the checkout is moved
        to in doubt by a second step, then the error is raised: a ``StoreError`` stays one,
        and an untyped error becomes one.
        """
        status, raw, when = response_arguments(status_code, body, at)
        try:
            return self._apply(
                checkout_id, lambda checkout: record_response(checkout, status, raw, at=when)
            )
        except (InvalidResponse, TransitionNotAllowed, UnknownCheckout, WrongType):
            raise  # committed in doubt, or refused with nothing to record: the contract's cases
        except Exception as error:
            failure = (
                error
                if isinstance(error, OrderLifecycleError)
                else StoreError(
                    f"Recording the response to checkout {checkout_id!r} failed: "
                    f"{type(error).__name__}: {error}"
                )
            )
            failure.add_note(self._keep_in_doubt(checkout_id, status, raw, when))
            if failure is error:
                raise
            raise failure from error

    def _keep_in_doubt(
        self, checkout_id: str, status_code: int, body: str | bytes, at: datetime
    ) -> str:
        """After a failed :meth:`record_response`, move the checkout to in doubt; how it went.

        The raw body is kept if the store takes it, else the move is made without it (the
        body may be what the store refused).
        """
        problem: Exception | None = None
        for kept in (body, None):
            try:
                self._apply(checkout_id, _doubt(status_code, kept, at))
            except _NotSubmitting:
                return f"Checkout {checkout_id!r} was no longer submitting: nothing was recorded."
            except Exception as error:  # noqa: BLE001 (the first error is the one raised)
                problem = error
            else:
                without = (
                    "" if kept is not None else ", without the raw body (the store refused it)"
                )
                return (
                    f"Checkout {checkout_id!r} is now in doubt{without}: look up orders by "
                    "checkout id and settle it."
                )
        return (
            f"Checkout {checkout_id!r} could not be moved to in doubt either "
            f"({type(problem).__name__}: {problem}): it is still submitting; "
            "record_no_response moves it once the store works again."
        )

    def record_no_response(
        self, checkout_id: str, *, at: datetime | None = None, reason: str = "no response"
    ) -> InDoubt:
        """Record a lost answer; see :func:`~order_lifecycle.record_no_response`."""
        return self._apply(
            checkout_id,
            lambda checkout: record_no_response(checkout, at=at, reason=reason),
        )

    def settle(
        self, checkout_id: str, order: Order | None, *, at: datetime | None = None
    ) -> Step[CheckoutState, CheckoutEvent]:
        """Settle a checkout in doubt; the order found is stored with it, if new."""
        return self._apply(
            checkout_id, lambda checkout: settle(checkout, order, at=at), adopt=order
        )

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


class _NotSubmitting(Exception):  # private control flow: never reaches callers
    """The checkout is no longer submitting: the recovery step has nothing to record."""


def _doubt(status_code: int, body: str | bytes | None, at: datetime) -> Callable[[Checkout], None]:
    """The recovery step: in doubt with this response, or :class:`_NotSubmitting` (no commit)."""

    def change(checkout: Checkout) -> None:
        if not keep_in_doubt(checkout, status_code, body, at):
            raise _NotSubmitting

    return change


# --- helpers the stores share ------------------------------------------------------------------


def now() -> datetime:
    """The current moment, aware."""
    return datetime.now(UTC)


def require_id(value: object, what: str) -> str:
    """``value`` if it is a non-empty str a database can store; else a typed error."""
    return storable_text(require_text(value, what), what)


def storable_text(value: str, what: str) -> str:
    """``value`` unless it holds a NUL (PostgreSQL cannot store it) or a lone surrogate.

    A lone surrogate has no UTF-8, so neither database can store it. Every store refuses
    both alike, before touching its database, so that data valid in one store is valid in all.
    """
    if "\x00" in value:
        raise InvalidInput(
            f"{what} must not contain NUL characters (databases cannot store them), got {value!r}."
        )
    if _SURROGATE.search(value):
        raise InvalidInput(
            f"{what} must not contain lone surrogates (they have no UTF-8), got {value!r}."
        )
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def require_storable(spec: MachineSpec[Any, Any], record: Order | Checkout) -> None:
    """Raise unless every step of ``record``'s history is legal and its columns storable.

    Raises:
        InvalidHistory: a step the table does not allow.
        InvalidInput: an id or event id with a NUL character.

    """
    replay(spec, record.history)
    _storable_columns(record, record.history)


def _storable_columns(record: Order | Checkout, steps: Sequence[Step[Any, Any]]) -> None:
    """Raise unless ``record``'s id columns and the event ids of ``steps`` are storable."""
    kind = type(record).__name__
    storable_text(record.id, f"{kind}.id")
    for name in ("checkout_id", "order_id"):
        value = getattr(record, name, None)
        if value is not None:
            storable_text(value, f"{kind}.{name}")
    for step in steps:
        if step.event_id is not None:
            storable_text(step.event_id, f"{kind}.history[].event_id")


def require_text(value: object, what: str) -> str:
    """``value`` if it is a non-empty str."""
    if not isinstance(value, str) or not value:
        raise WrongType(what, "a non-empty str", value)
    return value


def require_ids(values: object, what: str) -> list[str]:
    """``values`` as a list of ids without repeats, each a non-empty str a database stores."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise WrongType(what, "a list of ids", values)
    return list(dict.fromkeys(require_id(value, f"{what}[]") for value in values))


def require_optional_id(value: object, what: str) -> str | None:
    """``value`` if it is ``None`` or a non-empty str."""
    return None if value is None else require_id(value, what)


def require_order(order: object) -> Order:
    """``order`` if it is an :class:`Order`."""
    if not isinstance(order, Order):
        raise WrongType("order", "an Order", order)
    return order


def delivery_fields(
    raw: object, reason: object, event_id: object, order_id: object, at: object
) -> tuple[bytes, str, str | None, str | None, datetime]:
    """The checked fields of a delivery to keep."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise WrongType("raw", "the delivery's bytes", raw)
    if at is not None and (not isinstance(at, datetime) or at.tzinfo is None):
        raise WrongType("at", "a timezone-aware datetime", at)
    return (
        bytes(raw),
        storable_text(require_text(reason, "reason"), "reason"),
        require_optional_id(event_id, "event_id"),
        require_optional_id(order_id, "order_id"),
        now() if at is None else at,
    )


def new_steps(
    spec: MachineSpec[Any, Any], stored: Order | Checkout, work: Order | Checkout
) -> list[Step[Any, Any]]:
    """The steps ``work`` appended to ``stored``'s history, checked.

    Raises:
        InvalidInput: the id changed, a stored step was changed or removed, or an
            appended step is not a row of ``spec`` from where the history stood.

    """
    what = f"{spec.name} {stored.id!r}"
    if work.id != stored.id:
        raise InvalidInput(f"an update of {what} changed its id to {work.id!r}.")
    known = len(stored.history)
    if work.history[:known] != stored.history:
        raise InvalidInput(f"an update of {what} rewrote its stored history; append only.")
    appended: list[Step[Any, Any]] = list(work.history[known:])
    state: Any = stored.state
    for index, step in enumerate(appended, start=known):
        legal = (
            step.event is not None
            and step.source == state
            and any(row.dest == step.dest for row in spec.transitions_from(state, step.event))
        )
        if not legal:
            raise InvalidInput(
                f"an update of {what} appended step {index}, {step.source} -{step.event}-> "
                f"{step.dest}, which the table does not allow from {state}."
            )
        state = step.dest
    if state != work.state:
        raise InvalidInput(f"an update left {what} in {work.state}, but its history in {state}.")
    _storable_columns(work, appended)
    return appended


def adopted_order(result: object, adopt: Order | None) -> Order | None:
    """The order a checkout step made, checked: the one given, or a 201's."""
    order = result.order if adopt is None and isinstance(result, OrderCreated) else adopt
    if order is not None:
        require_storable(ORDER_SPEC, order)
    return order

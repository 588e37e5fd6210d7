"""Checkout consumption by id: each call one atomic step, over a port every store implements.

The port (:class:`CheckoutRecords`) is two primitives: read a checkout with its version
(``_read_checkout``), and commit a changed one where it is still at the version read
(``_commit_checkout``, with the order a 201 created in the same transaction). The calls
(:class:`CheckoutCalls`: ``begin_submission``, ``record_response``, ``record_no_response``,
``settle``) are written once over those two, each retried when another call committed
first; a :class:`~order_lifecycle.store.Store` subclasses them and implements the port, so
the store is storage only and a checkout is consumed at most once across processes.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from order_lifecycle.exceptions import (
    InvalidResponse,
    OrderLifecycleError,
    StoreError,
    TransitionNotAllowed,
    UnknownCheckout,
    WrongType,
)
from order_lifecycle.lifecycle import CheckoutEvent, CheckoutState, Step
from order_lifecycle.models import Checkout, Order

from ._checkout import (
    begin_submission,
    keep_in_doubt,
    record_no_response,
    record_response,
    response_arguments,
    settle,
)
from ._outcomes import InDoubt, OrderCreated, SubmissionOutcome

__all__ = ["CLAIM_ATTEMPTS", "CheckoutCalls", "CheckoutRecords"]

T = TypeVar("T")

# Lost claims of one checkout in a row before giving up; each loss means another call
# committed, so only a pathological stream of writers to one checkout gets this far.
CLAIM_ATTEMPTS = 100


class CheckoutRecords(Protocol):
    """The port checkout consumption needs of a store: one read, one conditional commit.

    Every :class:`~order_lifecycle.store.Store` implements it (through :class:`CheckoutCalls`),
    checking what it is given as it checks every write.
    """

    @abstractmethod
    def checkout_ids(self) -> list[str]:
        """Every stored checkout's id, sorted."""

    @abstractmethod
    def _read_checkout(self, checkout_id: str) -> tuple[int, Checkout] | None:
        """The checkout as last committed and its version (``None`` if never stored).

        One read; the checkout returned must not be changed (it may be the stored one).

        Raises:
            WrongType: ``checkout_id`` is not a non-empty str.
            InvalidInput: ``checkout_id`` is text no database can store.

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

        Raises:
            InvalidInput: ``work``'s appended steps are not rows of the checkout table
                from where ``stored`` stood, or ``order`` cannot be stored; nothing written.

        """


class CheckoutCalls(CheckoutRecords):
    """The calls by checkout id, over the port: a checkout consumed at most once."""

    def get_checkout(self, checkout_id: str) -> Checkout:
        """A copy of the checkout as last committed; changing it changes nothing here.

        Raises:
            UnknownCheckout: the store has never seen ``checkout_id``.

        """
        loaded = self._read_checkout(checkout_id)
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
            if not self._commit_checkout(version, stored, work, _adopted(result, adopt)):
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
            self.get_checkout(checkout_id)
        except UnknownCheckout:
            return False
        return True

    def begin_submission(self, checkout_id: str, *, at: datetime | None = None) -> dict[str, str]:
        """Claim the checkout for one ``POST /orders``; the body to send.

        A checkout id seen for the first time is registered, open, and claimed at once.
        Refusals are those of :func:`order_lifecycle.checkout.begin_submission`.
        """
        when = datetime.now(UTC) if at is None else at
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
        """Record the provider's answer; see :func:`order_lifecycle.checkout.record_response`.

        When recording fails after all (the store refused the write: a full disk, say), the
        checkout is moved to in doubt by a second step, then the error is raised, its
        message saying where the checkout is (in doubt, or still submitting when the second
        step failed too): an error of the library stays what it was, an untyped one becomes
        a ``StoreError``.
        """
        status, raw, when = response_arguments(status_code, body, at)
        try:
            return self._apply(
                checkout_id, lambda checkout: record_response(checkout, status, raw, at=when)
            )
        except (InvalidResponse, TransitionNotAllowed, UnknownCheckout, WrongType):
            raise  # committed in doubt, or refused with nothing to record: the contract's cases
        except Exception as error:
            whereabouts = self._keep_in_doubt(checkout_id, status, raw, when)
            if isinstance(error, OrderLifecycleError):
                _tell(error, whereabouts)
                raise
            raise StoreError(
                f"Recording the response to checkout {checkout_id!r} failed: "
                f"{type(error).__name__}: {error}. {whereabouts}"
            ) from error

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
        """Record a lost answer; see :func:`order_lifecycle.checkout.record_no_response`."""
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


def _tell(error: OrderLifecycleError, whereabouts: str) -> None:
    """Add where the checkout is to ``error``'s own message, which ``str(error)`` shows.

    A note (``add_note``) would show in a traceback only, never in a log line or the
    command line's one line, which print ``str(error)``.
    """
    if len(error.args) == 1 and isinstance(error.args[0], str):
        error.args = (f"{error.args[0].rstrip('.')}. {whereabouts}",)
    else:
        error.add_note(whereabouts)


class _NotSubmitting(Exception):  # private control flow: never reaches callers
    """The checkout is no longer submitting: the recovery step has nothing to record."""


def _doubt(status_code: int, body: str | bytes | None, at: datetime) -> Callable[[Checkout], None]:
    """The recovery step: in doubt with this response, or :class:`_NotSubmitting` (no commit)."""

    def change(checkout: Checkout) -> None:
        if not keep_in_doubt(checkout, status_code, body, at):
            raise _NotSubmitting

    return change


def _adopted(result: object, adopt: Order | None) -> Order | None:
    """The order a checkout step made: the one given, or a 201's."""
    return result.order if adopt is None and isinstance(result, OrderCreated) else adopt

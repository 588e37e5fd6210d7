"""The checkout ledger: where checkouts live between calls, consumed at most once.

:class:`CheckoutLedger` is the contract; :class:`MemoryCheckoutLedger` is the reference
implementation (one process, any number of threads). The rules stay in ``_checkout``; a
ledger only makes each call one atomic step on one checkout.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from order_lifecycle.exceptions import (
    InvalidResponse,
    OrderLifecycleError,
    StoreError,
    TransitionNotAllowed,
    UnknownCheckout,
    WrongType,
)
from order_lifecycle.lifecycle._step import Step
from order_lifecycle.lifecycle._vocabulary import CheckoutEvent, CheckoutState
from order_lifecycle.models._models import Checkout, Order

from ._checkout import (
    begin_submission,
    keep_in_doubt,
    record_no_response,
    record_response,
    response_arguments,
    settle,
)
from ._outcomes import InDoubt, SubmissionOutcome

__all__ = ["CheckoutLedger", "MemoryCheckoutLedger"]

T = TypeVar("T")


class CheckoutLedger(ABC):
    """Checkouts by id, each moved by one atomic call; the same calls as the module functions.

    The contract every ledger keeps (the memory one here, the database stores too):

    - Each call is one atomic step on one checkout: it starts from what the last committed
      call left, and commits all of its change (state, history, attempts, order id) or none.
    - :meth:`begin_submission` is the claim. Of any number of concurrent calls for one open
      checkout, exactly one succeeds; the others are refused (``SubmissionInProgress``, or
      what the winner's outcome made the checkout). A database makes the claim with one
      conditional update (``state`` open to submitting where it is still open, and a version
      check), never by reading in Python and then writing.
    - Hence at most one order per checkout: a checkout is consumed once, and keeps the id
      of the order it became.
    - An :class:`~order_lifecycle.InvalidResponse` from :meth:`record_response` commits the
      move to in doubt and the raw response, then raises; every other error commits nothing.
    - Once the request was sent, a failure to record its answer never leaves the checkout
      submitting: when :meth:`record_response` fails for another reason than a refusal (the
      write failed, the order cannot be stored), a second, minimal call moves the checkout
      to in doubt with the raw response, and the first error is raised (an untyped one as
      a :class:`~order_lifecycle.StoreError`), with a note saying where the checkout is.

    Subclasses implement :meth:`get` and :meth:`_apply`; the public calls are built on them.
    """

    @abstractmethod
    def get(self, checkout_id: str) -> Checkout:
        """A copy of the checkout as last committed; changing it changes nothing here.

        Raises:
            UnknownCheckout: the ledger has never seen ``checkout_id``.

        """

    @abstractmethod
    def _apply(
        self,
        checkout_id: str,
        change: Callable[[Checkout], T],
        *,
        register_at: datetime | None = None,
    ) -> T:
        """Run ``change`` on the checkout as one atomic step; commit what it leaves.

        With ``register_at``, a checkout not seen before is created open at that moment
        first (committed only with the change). Commit when ``change`` returns or raises
        ``InvalidResponse``; on any other error commit nothing and re-raise.

        Raises:
            UnknownCheckout: ``checkout_id`` is unknown and ``register_at`` is ``None``.

        """

    def __contains__(self, checkout_id: object) -> bool:
        """Whether the ledger has seen ``checkout_id``."""
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
        """Settle a checkout in doubt; see :func:`~order_lifecycle.settle`."""
        return self._apply(checkout_id, lambda checkout: settle(checkout, order, at=at))


class MemoryCheckoutLedger(CheckoutLedger):
    """The reference ledger, in memory: one lock makes every call atomic across threads.

    Each call works on a copy of the checkout and swaps it in only when it commits, so a
    failing call leaves nothing half done.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checkouts: dict[str, Checkout] = {}

    def __repr__(self) -> str:
        return f"<MemoryCheckoutLedger(num_checkouts={len(self._checkouts)})>"

    def get(self, checkout_id: str) -> Checkout:
        """A copy of the checkout as last committed; changing it changes nothing here."""
        _require_id(checkout_id)
        with self._lock:
            stored = self._checkouts.get(checkout_id)
            if stored is None:
                raise UnknownCheckout(checkout_id)
            return stored.copy()

    def _apply(
        self,
        checkout_id: str,
        change: Callable[[Checkout], T],
        *,
        register_at: datetime | None = None,
    ) -> T:
        _require_id(checkout_id)
        with self._lock:
            stored = self._checkouts.get(checkout_id)
            if stored is not None:
                work = stored.copy()
            elif register_at is not None:
                work = Checkout(
                    checkout_id, history=[Step(None, None, CheckoutState.OPEN, register_at)]
                )
            else:
                raise UnknownCheckout(checkout_id)
            try:
                result = change(work)
            except InvalidResponse:
                self._checkouts[checkout_id] = work
                raise
            self._checkouts[checkout_id] = work
            return result


class _NotSubmitting(Exception):  # private control flow: never reaches callers
    """The checkout is no longer submitting: the recovery step has nothing to record."""


def _doubt(status_code: int, body: str | bytes | None, at: datetime) -> Callable[[Checkout], None]:
    """The recovery step: in doubt with this response, or :class:`_NotSubmitting` (no commit)."""

    def change(checkout: Checkout) -> None:
        if not keep_in_doubt(checkout, status_code, body, at):
            raise _NotSubmitting

    return change


def _require_id(checkout_id: object) -> None:
    if not isinstance(checkout_id, str) or not checkout_id:
        raise WrongType("checkout_id", "a non-empty str", checkout_id)

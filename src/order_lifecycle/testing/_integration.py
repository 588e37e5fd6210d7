"""A stateful test of a shop's integration: its endpoint and handlers under the provider's traffic.

:class:`OrderIntegrationMachine` is a hypothesis ``RuleBasedStateMachine`` a shop
subclasses, plugging in its own action handlers (:meth:`make_handlers`) and its own webhook
endpoint (:meth:`make_endpoint`: the raw body and headers in, an HTTP status out, as a web
route). The machine draws valid lives of several orders (:func:`order_lives`), posts their
deliveries to the endpoint shuffled and redelivered, with hostile ones among them, and
redelivers what was not answered 2xx, as the provider does; it runs a
:class:`~order_lifecycle.webhooks.Reconciler` over what the endpoint stored, and the shop's handlers
through an :class:`~order_lifecycle.actions.ActionWorker` on the store, kills a worker
after its handlers ran but before it completed their actions (their leases lapse, so they
run again), and retries failed actions as an operator would. The shop's code calls a
:class:`Recorder` (its warehouse, mailer and payment provider in the test), which judges
every call. The invariants, checked after every step:

- nothing shipped or delivered before a delivery reported the order accepted;
- nothing shipped or delivered twice (per item, across redeliveries, retries and crashes);
- nothing shipped or delivered for an order blocked or cancelled (or an item cancelled)
  first;
- every customer-facing text (what the shop sends with ``notify_customer``, and the
  ``notify_customer`` actions' messages) free of provider codes;
- every delivery answered with the documented status (:func:`~order_lifecycle.webhooks.
  http_status`, as a reference inbox that accepted the same traffic answers: a 2xx where
  it answers one, else the very status).

And one at teardown (liveness): once the provider redelivered what was not answered 2xx
and the worker drained every due action (a failure is due again at once: the worker's
clock is the machine's), every physical item of an order the provider reported accepted
(not blocked or cancelled, the item not cancelled; the reconciler having settled what was
stored) that the outbox holds a ``ship``
action for was shipped exactly once, unless that action is dead (or the store cancelled
it, or holds it: its order is in dispute, where the provider refuses fulfilments): the
machine lists the dead ones in ``dead_actions`` (and notes them).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import ClassVar

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from order_lifecycle.actions import ActionState, ActionWorker, Handler, StoredAction
from order_lifecycle.exceptions import InvalidInput, StoreError, WrongType
from order_lifecycle.lifecycle import ActionKind
from order_lifecycle.sandbox import TEST_SECRET, SignedDelivery, signed_delivery
from order_lifecycle.sandbox import shapes as ev
from order_lifecycle.store import MemoryStore, Store
from order_lifecycle.webhooks import (
    SIGNATURE_HEADER,
    Delivery,
    Inbox,
    Reconciler,
    error_status,
    http_status,
)

from ._hostile_deliveries import hostile_deliveries
from ._lives import OrderLife, order_lives, shuffled_deliveries
from ._recorder import ACCEPTED_OR_LATER, ENDED, Recorder

__all__ = ["Endpoint", "OrderIntegrationMachine", "Traffic", "inbox_endpoint"]

Endpoint = Callable[[bytes, Mapping[str, str]], int]
"""A shop's webhook endpoint as a function: the raw body and the headers in, a status out."""

_MAX_ORDERS = 10
_CRASH_LEASE = timedelta(milliseconds=1)
_RETRY_DELAY = timedelta(hours=1)
_BUG = 500
_MAX_ROUNDS = 1000  # the teardown's redeliveries and worker batches, at most


def inbox_endpoint(inbox: Inbox) -> Endpoint:
    """The endpoint of a shop that uses the library's :class:`~order_lifecycle.Inbox` as it is.

    It stores the body and the ``DigitalRiver-Signature`` header in ``inbox`` (the request
    path, :meth:`~order_lifecycle.Inbox.accept`) and answers
    :func:`~order_lifecycle.webhooks.http_status` (503 when the store failed); a reconciler
    applies what it stored.

    Raises:
        WrongType: ``inbox`` is not an :class:`~order_lifecycle.Inbox`.

    """
    if not isinstance(inbox, Inbox):
        raise WrongType("inbox", "an Inbox", inbox)

    def endpoint(body: bytes, headers: Mapping[str, str]) -> int:
        try:
            (result,) = inbox.accept([Delivery(body, signature_of(headers))])
        except StoreError as error:  # nothing stored: the provider's retry will go in
            return error_status(error)
        return http_status(result)

    return endpoint


def signature_of(headers: Mapping[str, str]) -> str | None:
    """The ``DigitalRiver-Signature`` header's value in ``headers`` (any case), if any."""
    wanted = SIGNATURE_HEADER.lower()
    return next((value for name, value in headers.items() if name.lower() == wanted), None)


class OrderIntegrationMachine(RuleBasedStateMachine):
    """Posts random provider traffic to a shop's endpoint, runs its handlers, judges its effects.

    Subclass it and override :meth:`make_handlers` (and :meth:`make_endpoint` if the shop has
    its own; the default is :func:`inbox_endpoint`), then run its ``TestCase``::

        from order_lifecycle.testing import OrderIntegrationMachine

        class ShopMachine(OrderIntegrationMachine):
            def make_handlers(self, recorder):
                return my_shop.handlers(warehouse=recorder, mailer=recorder)

            def make_endpoint(self, store, recorder):
                inbox = Inbox(store, secrets=[self.secret], clock=self.clock)
                return my_shop.webhook(inbox, warehouse=recorder)

        TestShop = ShopMachine.TestCase
        TestShop.settings = settings(max_examples=50, stateful_step_count=40)

    The shop's handlers and endpoint call the :class:`Recorder` instead of the warehouse,
    mailer and payment provider (its ``ship``, ``deliver_digitally``, ``notify_customer``,
    ``capture``, ``confirm_refund``, ..., each with the action's ``key`` for idempotency).
    The endpoint checks signatures against :attr:`secret`, with :meth:`clock` as its clock
    (the arrival time of the delivery being posted). Class attributes: :attr:`orders` (how
    many orders' lives, 1 to 10), :attr:`max_moves` (of each life), :attr:`secret`.

    Raises (at construction):
        InvalidInput: a handler for a kind the order table does not declare, a handler or
            endpoint that is not callable, a store that is not a ``Store``, or an
            ``orders`` or ``max_moves`` out of range.

    """

    orders: ClassVar[int] = 2
    """How many orders' lives the machine posts, each ``o1``, ``o2``, ..."""
    max_moves: ClassVar[int] = 8
    """The moves of each life at most (see :func:`order_lives`)."""
    secret: ClassVar[str] = TEST_SECRET
    """The webhook's signing secret: every genuine delivery is signed with it."""

    def __init__(self) -> None:
        super().__init__()
        _check_settings(self.orders, self.max_moves)
        self.recorder = Recorder()
        store = self.make_store()
        if not isinstance(store, Store):
            raise WrongType("make_store()", "a Store", store)
        self.store = store
        self._now = ev.T0
        # The machine's clock, long past: a failed action is due again at once.
        self.worker = ActionWorker(store, self.make_handlers(self.recorder), clock=self.clock)
        self.reconciler = Reconciler(store, clock=self.clock)
        self.handlers: dict[ActionKind | str, Handler] = self.worker.handlers
        endpoint = self.make_endpoint(store, self.recorder)
        if not callable(endpoint):
            raise WrongType("make_endpoint()", "a callable taking the body and headers", endpoint)
        self.endpoint = endpoint
        # The reference: the library's inbox, fed the same traffic, says what to answer.
        self._reference = Inbox(MemoryStore(), secrets=[self.secret], clock=self.clock)
        self._queue: list[SignedDelivery] = []
        self._unanswered: list[SignedDelivery] = []
        self._failed = False  # a check failed: the teardown checks nothing more
        self.dead_actions: list[str] = []
        """The ``ship`` actions dead at teardown, each with its last error (not a failure)."""

    # --- what a shop overrides ---------------------------------------------------------------

    def make_handlers(self, recorder: Recorder) -> Mapping[str, Handler]:  # noqa: ARG002
        """The shop's action handlers, by action kind, calling ``recorder`` for their effects."""
        raise InvalidInput(
            f"{type(self).__name__} must override make_handlers(recorder) to return the "
            f"shop's handlers, by action kind ({', '.join(ActionKind)})."
        )

    def make_endpoint(self, store: Store, recorder: Recorder) -> Endpoint:  # noqa: ARG002
        """The shop's webhook endpoint over ``store``; by default the library's inbox as it is."""
        return inbox_endpoint(Inbox(store, secrets=[self.secret], clock=self.clock))

    def make_store(self) -> Store:
        """The store the endpoint writes and the worker claims from (a fresh one per example)."""
        return MemoryStore()

    def lives(self) -> st.SearchStrategy[tuple[OrderLife, ...]]:
        """The lives the machine posts: one per order, :attr:`orders` of them."""
        return st.tuples(
            *(
                order_lives(f"o{n}", max_moves=self.max_moves, secret=self.secret)
                for n in range(1, self.orders + 1)
            )
        )

    def clock(self) -> datetime:
        """Now, for the shop's endpoint: when the delivery being posted arrived."""
        return self._now

    # --- the traffic -----------------------------------------------------------------------

    @initialize(data=st.data())
    def draw_traffic(self, data: st.DataObject) -> None:
        """Draw the orders' lives, and their deliveries shuffled and redelivered."""
        self._queue = list(data.draw(_traffic(self.lives())).deliveries)

    @precondition(lambda self: self._queue)
    @rule()
    def post_delivery(self) -> None:
        """The provider posts the next delivery of the drawn traffic."""
        self._post(self._queue.pop(0), genuine=True)

    @rule(delivery=hostile_deliveries(TEST_SECRET))
    def post_hostile_delivery(self, delivery: SignedDelivery) -> None:
        """Someone posts a forged, stale, malformed, oversized or poisoned delivery."""
        self._post(delivery, genuine=False)

    @precondition(lambda self: self._unanswered)
    @rule()
    def provider_redelivers(self) -> None:
        """The provider posts again, later, a delivery that was not answered 2xx."""
        first = self._unanswered.pop(0)
        again = signed_delivery(
            first.body,
            at=(first.received_at or ev.T0) + _RETRY_DELAY,
            secret=self.secret,
            kind="redelivery",
        )
        self._post(again, genuine=True)

    def _post(self, delivery: SignedDelivery, *, genuine: bool) -> None:
        self._now = delivery.received_at or self._now
        if genuine:
            self.recorder.told(delivery.body)
        (reference,) = self._reference.accept([delivery])
        expected = http_status(reference)
        try:
            status = self.endpoint(delivery.body, delivery.headers)
        except Exception:  # noqa: BLE001 (the framework answers a raising endpoint 500)
            status = _BUG
        what = f"{_describe(delivery)} ({delivery.kind})"
        note(f"posted {what}: {reference.outcome}, answered {status}")
        if genuine and not 200 <= status < 300:
            self._unanswered.append(delivery)
        if status != expected and not (_stored(status) and _stored(expected)):
            self._fail(
                f"answered {status} to the {what}, documented {expected} ({reference.reason})"
            )

    def _fail(self, message: str) -> None:
        self._failed = True
        raise AssertionError(message)

    # --- the shop's reconciler and worker -----------------------------------------------------

    def _any_due(self) -> bool:
        return bool(self.store.list_deliveries(statuses=["pending"], limit=1))

    @precondition(lambda self: self._any_due())
    @rule()
    def run_reconciler(self) -> None:
        """A reconciler settles one batch of what the endpoint stored."""
        self.reconciler.run_once()

    def _any_action(self, *states: str) -> bool:
        return bool(self.store.list_actions(states=states, kinds=list(self.handlers), limit=1))

    @precondition(lambda self: self._any_action("pending", "claimed"))
    @rule()
    def run_worker(self) -> None:
        """The shop's worker runs one batch of due actions through its handlers."""
        self.worker.run_once()

    @precondition(lambda self: self._any_action("pending", "claimed"))
    @rule()
    def worker_dies_after_handlers(self) -> None:
        """A worker runs a batch but is killed before it completes them: their leases lapse."""
        claimed = self.store.claim_actions(list(self.handlers), limit=10, lease=_CRASH_LEASE)
        # As the worker hands them over: each can read its order (action.order).
        for action in self.worker._with_orders(claimed):  # noqa: SLF001 (the worker's own view)
            try:
                self.handlers[action.kind](action)
            except Exception:  # noqa: BLE001, S112 (a failure is the worker's to record; it died)
                continue
        if claimed:
            time.sleep(2 * _CRASH_LEASE.total_seconds())  # the leases end

    @precondition(lambda self: self._any_action("failed", "dead"))
    @rule()
    def operator_retries_failed(self) -> None:
        """An operator retries every failed or dead action now (no waiting for the backoff)."""
        for action in self.store.list_actions(states=["failed", "dead"]):
            self.store.retry_action(action.key)

    # --- the invariants --------------------------------------------------------------------

    @invariant()
    def effects_are_sound(self) -> None:
        """Nothing shipped early, twice, or after a cancellation; no code in a customer's text."""
        if self.recorder.violations:
            self._fail(self.recorder.violations[0])

    @invariant()
    def notices_are_customer_safe(self) -> None:
        """Every ``notify_customer`` action's message is free of provider codes."""
        for action in self.store.list_actions(kinds=[ActionKind.NOTIFY_CUSTOMER]):
            message = str(action.payload.get("message", ""))
            problem = self.recorder.customer_text_problem(message)
            if problem is not None:
                self._fail(f"the notice {message!r} of {action.order_id} {problem}")

    # --- liveness, at the end --------------------------------------------------------------

    def teardown(self) -> None:
        """At the end of an example: :meth:`check_liveness` (unless a check failed before)."""
        if not self._failed and not self.recorder.violations:
            self.check_liveness()

    def check_liveness(self) -> None:
        """Redeliver, drain the worker, then: each accepted order's physical items shipped once.

        An item whose ``ship`` action is dead (it failed ``max_tries`` times) is listed in
        :attr:`dead_actions` rather than failed: an operator's to look at. One the store
        cancelled (its reason went away, by the order table) is not owed, nor one it holds
        (its order is in a state where the provider refuses the act: a dispute).
        """
        self._drain()
        self.effects_are_sound()
        if ActionKind.SHIP not in self.handlers:
            return  # the shop ships elsewhere: nothing of this worker's to judge
        shipped = Counter(
            (e.order_id, e.subject) for e in self.recorder.effects if e.kind is ActionKind.SHIP
        )
        told = self.recorder._told  # noqa: SLF001 (the kit's own recorder: what was reported)
        for order_id, reported in sorted(told.items()):
            if not reported.states & ACCEPTED_OR_LATER or reported.states & ENDED:
                continue
            for action in self.store.list_actions(kinds=[ActionKind.SHIP], order_id=order_id):
                owed = action.subject not in reported.cancelled_items
                if owed and shipped[(order_id, action.subject)] != 1:
                    self._owed(action)

    def _drain(self) -> None:
        """The provider redelivers, the reconciler settles, the worker runs: until none has more."""
        for _ in range(_MAX_ROUNDS):
            if not self._unanswered:
                break
            self.provider_redelivers()
        for step in (self.reconciler.run_once, self.worker.run_once):
            for _ in range(_MAX_ROUNDS):
                if not step():
                    break

    def _owed(self, action: StoredAction) -> None:
        """An action owed a shipment was not shipped: dead (listed), cancelled, or a failure."""
        if action.state is ActionState.CANCELLED:
            return  # its reason went away, by the order table: not owed
        what = f"ship {action.subject!r} of {action.order_id!r}"
        if action.held_by is not None:
            note(f"{what} is held while the order is in {action.held_by}")
            return  # the provider refuses it there; it resumes when the order leaves
        if action.state is ActionState.DEAD:
            line = f"{what} is dead: {action.last_error}"
            note(line)
            self.dead_actions.append(line)
            return
        self._fail(
            f"{what} (the order reported accepted) was never shipped after the worker "
            f"drained the outbox (its action {action.state})"
        )


class Traffic:
    """The provider's traffic of one example: the orders' lives, and what it posts, in order.

    Its ``repr`` names each delivery by its event's type and id, so that a counterexample
    reads as what the provider posted.
    """

    __slots__ = ("deliveries", "lives")

    def __init__(
        self, lives: tuple[OrderLife, ...], deliveries: tuple[SignedDelivery, ...]
    ) -> None:
        self.lives = lives
        self.deliveries = deliveries

    def __repr__(self) -> str:
        posted = ", ".join(_describe(d) for d in self.deliveries)
        return f"Traffic({len(self.lives)} orders: {posted})"


@st.composite
def _traffic(draw: st.DrawFn, lives: st.SearchStrategy[tuple[OrderLife, ...]]) -> Traffic:
    drawn = draw(lives)
    deliveries = [d for life in drawn for d in draw(shuffled_deliveries(life))]
    return Traffic(drawn, tuple(draw(st.permutations(deliveries))))


def _describe(delivery: SignedDelivery) -> str:
    """A delivery in a few words, for a counterexample: its event's type and id, if any."""
    try:
        event = json.loads(delivery.body)
        described = f"{event['type']} {event['id']}"
    except (ValueError, KeyError, TypeError):
        return f"a {delivery.kind} delivery"
    return f"{described} again" if delivery.kind == "redelivery" else described


def _stored(status: int) -> bool:
    """Whether ``status`` says a delivery is stored (any 2xx)."""
    return 200 <= status < 300


def _check_settings(orders: object, max_moves: object) -> None:
    for name, value, low, high in (
        ("orders", orders, 1, _MAX_ORDERS),
        ("max_moves", max_moves, 0, 100),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(
                f"OrderIntegrationMachine.{name} must be an int from {low} to {high}, "
                f"got {value!r}."
            )

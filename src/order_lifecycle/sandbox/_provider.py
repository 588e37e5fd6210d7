"""The local provider's answers: ``POST /orders`` by a scripted outcome, and the lookups.

The outcome of a checkout is chosen by its id: the script's entry for it when there is one
(:func:`read_script`), otherwise the id's prefix, up to its first ``-``
(:data:`PREFIXES`; any other id is accepted). A created order then lives the life its
outcome names (:mod:`._plan`), one step every ``step``: its events are what the sandbox
posts to the shop, and ``GET /orders/{id}`` shows the order as of the last of them created
by now. A second ``POST`` of a checkout that became an order answers 404 ``not_found``, as
the provider answers a retry of a submission it took.

Every answer is the provider's shape: an order object, ``{"data": [...]}``, or an error
body ``{"type": ..., "errors": [{"code", "parameter", "message"}]}``. A request that is not
a submission (not JSON, no ``checkoutId``, a NUL in it, too large...) is answered 400 and
changes nothing.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from order_lifecycle._json import MAX_ID_LENGTH, Problem, as_object, loads, required_id
from order_lifecycle.exceptions import InvalidInput, WrongType

from ._plan import Plan, expand, plan_life

__all__ = [
    "MAX_SECONDS",
    "MAX_SUBMISSION",
    "OUTCOMES",
    "PREFIXES",
    "LocalProvider",
    "Outcome",
    "Reply",
    "error_body",
    "new_order_id",
    "outcome_of",
    "read_script",
    "require_number",
]

Json = dict[str, Any]

MAX_SUBMISSION = 64 * 1024
"""The largest ``POST /orders`` body read, in bytes (a submission is a checkout id)."""

# outcome: (HTTP status, entry state of the order created, event types after its creation)
_OUTCOMES: dict[str, tuple[int, str | None, tuple[str, ...]]] = {
    "accepted": (201, "accepted", ()),
    "pending_payment": (201, "pending_payment", ("order.accepted",)),
    "in_review": (201, "in_review", ("order.accepted",)),
    "blocked": (201, "in_review", ("order.blocked",)),
    "payment_failed": (409, None, ()),
    "fraud": (409, None, ()),
    "invalid": (400, None, ()),
    "server_error": (500, None, ()),
    "timeout": (201, "accepted", ()),
    "closed": (201, "accepted", ()),
}
OUTCOMES = tuple(_OUTCOMES)
"""Every outcome a checkout can be scripted to: see the README's table."""

PREFIXES = {
    "accepted": "accepted",
    "pending": "pending_payment",
    "review": "in_review",
    "blocked": "blocked",
    "declined": "payment_failed",
    "fraud": "fraud",
    "invalid": "invalid",
    "error": "server_error",
    "timeout": "timeout",
    "closed": "closed",
}
"""The outcome of a checkout id by its prefix (``pending-42``); any other id is accepted."""

_ONCE = frozenset({"invalid", "server_error"})  # the first submission only; then accepted
_ERRORS: dict[str, tuple[str, str, str | None, str]] = {
    # outcome: (error type, code, parameter, message)
    "payment_failed": ("conflict", "failed-request", None, "Failed to charge source."),
    "fraud": ("conflict", "fraud_block", None, "The order could not be processed."),
    "invalid": ("bad_request", "invalid_parameter", "checkoutId", "The checkout is not complete."),
    "server_error": ("internal_server_error", "internal_error", None, "Internal server error."),
}


@attrs.frozen
class Outcome:
    """What a checkout's submission comes to: one of :data:`OUTCOMES`, and its order's life.

    ``events`` are the event types (or ``life:NAME``) the order's life sends after its
    creation; ``None`` for the outcome's own (``pending_payment``: ``order.accepted``...).
    """

    name: str
    events: tuple[str, ...] | None = None

    @property
    def status(self) -> int:
        """The status the first submission is answered with."""
        return _OUTCOMES[self.name][0]

    @property
    def entry(self) -> str | None:
        """The state the order is created in; ``None`` when no order is created."""
        return _OUTCOMES[self.name][1]

    @property
    def life(self) -> tuple[str, ...]:
        """The event types the order's life sends after its creation."""
        return _OUTCOMES[self.name][2] if self.events is None else self.events


def outcome_of(checkout_id: str, script: Mapping[str, Outcome]) -> Outcome:
    """The outcome of ``checkout_id``: the script's, else by its prefix, else accepted."""
    scripted = script.get(checkout_id)
    if scripted is not None:
        return scripted
    return Outcome(PREFIXES.get(checkout_id.partition("-")[0], "accepted"))


def read_script(path: Path) -> dict[str, Outcome]:
    """The outcomes a script file gives checkout ids, each checked.

    The file is a JSON object: each key a checkout id, each value an outcome name, or
    ``{"outcome": NAME, "events": [EVENT_TYPE or "life:NAME", ...]}``.

    Raises:
        InvalidInput: the file is not such an object, an outcome is unknown, or its events
            cannot follow its creation (named by the checkout id).
        OSError: the file cannot be read.

    """
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, RecursionError):
        raise InvalidInput(f"the script {path} is not JSON.") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"the script {path} must be a JSON object of checkout ids.")
    return {str(key): _scripted(key, value, path) for key, value in document.items()}


def _scripted(checkout_id: str, value: object, path: Path) -> Outcome:
    where = f"the script {path}, checkout {checkout_id[:MAX_ID_LENGTH]!r}"
    if isinstance(value, dict):
        name, events = value.get("outcome"), value.get("events")
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise InvalidInput(f"{where}: events must be a list of event types or lives.")
    else:
        name, events = value, None
    if name not in _OUTCOMES:
        raise InvalidInput(f"{where}: the outcome must be one of {', '.join(OUTCOMES)}.")
    outcome = Outcome(str(name), None if events is None else tuple(events))
    if outcome.entry is None and events:
        raise InvalidInput(f"{where}: a {name} submission creates no order to send events of.")
    try:
        expand(outcome.life)
        if outcome.entry is not None:
            plan_life("check", outcome.life, created=datetime.now(UTC), entry=outcome.entry)
    except InvalidInput as error:
        raise InvalidInput(f"{where}: {error}") from None
    return outcome


@attrs.frozen
class Reply:
    """An answer of the local provider: status, JSON body, and how to deliver it.

    ``hold`` is how long to wait before answering (a submission that times out); ``close``
    means closing the connection with no answer at all. ``plan`` is the life of an order
    this request created, whose events are to be sent; ``checkout_id`` the checkout a
    submission named.
    """

    status: int
    body: Json
    hold: float = 0.0
    close: bool = False
    plan: Plan | None = attrs.field(default=None, repr=False)
    checkout_id: str | None = None

    def raw(self) -> bytes:
        """The body as sent."""
        return json.dumps(self.body).encode()


def error_body(error_type: str, code: str, message: str, parameter: str | None = None) -> Json:
    """The provider's error body: ``{"type": ..., "errors": [{"code", "parameter", ...}]}``."""
    error = {"code": code, "message": message}
    if parameter is not None:
        error["parameter"] = parameter
    return {"type": error_type, "errors": [error]}


def _not_found(parameter: str, message: str) -> Reply:
    return Reply(404, error_body("not_found", "not_found", message, parameter))


def _bad_request(code: str, message: str, parameter: str | None = "checkoutId") -> Reply:
    return Reply(400, error_body("bad_request", code, message, parameter))


MAX_SECONDS = 86_400.0
"""The longest step, hold or timeout the sandbox takes, in seconds (a day)."""


def require_number(
    name: str, value: object, low: float, high: float, *, whole: bool = False
) -> None:
    """Refuse ``value`` unless it is a number (an int if ``whole``) from ``low`` to ``high``.

    Raises:
        WrongType: not an int (or float), or a bool, NaN or infinity.
        InvalidInput: out of range.

    """
    expected = "a whole number" if whole else "a finite number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WrongType(name, expected, value)
    if whole and not isinstance(value, int):
        raise WrongType(name, expected, value)
    if isinstance(value, float) and not math.isfinite(value):
        raise WrongType(name, expected, value)
    if not low <= value <= high:
        shown = f"{value:g}" if abs(value) < 1e9 else "a larger number"  # huge ints: no text
        raise InvalidInput(f"{name} must be from {low:g} to {high:g}, not {shown}.")


def new_order_id() -> str:
    """A fresh order id, twelve digits as the provider's."""
    return f"{uuid.uuid4().int % 10**12:012d}"


@attrs.define
class LocalProvider:
    """The provider's state: checkouts submitted, orders created and their lives.

    Thread-safe: every request of the sandbox's threads goes through one lock. ``clock``
    gives now (an aware datetime); ``step`` is the time between two steps of a life;
    ``hold`` how long a ``timeout`` submission is held, in seconds (a day at most each).

    Raises:
        WrongType: a setting of the wrong type.
        InvalidInput: a negative step or hold, or one longer than a day.

    """

    script: Mapping[str, Outcome] = attrs.Factory(dict)
    step: timedelta = timedelta(seconds=1)
    hold: float = 35.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _orders: dict[str, Plan] = attrs.field(factory=dict, init=False)
    _by_checkout: dict[str, str] = attrs.field(factory=dict, init=False)
    _tried: set[str] = attrs.field(factory=set, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.script, Mapping) or not all(
            isinstance(key, str) and isinstance(value, Outcome)
            for key, value in self.script.items()
        ):
            raise WrongType("script", "checkout ids mapped to an Outcome (read_script)", None)
        if not isinstance(self.step, timedelta):
            raise WrongType("step", "a timedelta", self.step)
        require_number("step (in seconds)", self.step.total_seconds(), 0, MAX_SECONDS)
        require_number("hold", self.hold, 0, MAX_SECONDS)
        if not callable(self.clock):
            raise WrongType("clock", "a callable giving an aware datetime", self.clock)

    def submit(self, raw: bytes) -> Reply:
        """The answer to ``POST /orders`` with body ``raw``; a created order's life with it."""
        if len(raw) > MAX_SUBMISSION:
            message = f"The request body is larger than {MAX_SUBMISSION} bytes."
            return Reply(413, error_body("bad_request", "invalid_request", message))
        try:
            checkout_id = required_id(
                as_object(loads(raw), "", "the body"), "checkoutId", "", "the checkout id"
            )
        except Problem as problem:
            if not problem.field:  # not a JSON object at all
                return _bad_request("invalid_request", problem.message, None)
            missing = problem.message.endswith("is missing")
            return _bad_request(
                "missing_parameter" if missing else "invalid_parameter", problem.message
            )
        with self._lock:
            return attrs.evolve(self._submit(checkout_id), checkout_id=checkout_id)

    def _submit(self, checkout_id: str) -> Reply:
        order_id = self._by_checkout.get(checkout_id)
        if order_id is not None:  # a retry of a submission already taken
            return _not_found("orderId", f"Order {order_id} not found")
        outcome = outcome_of(checkout_id, self.script)
        if outcome.name in _ONCE and checkout_id in self._tried:
            outcome = Outcome("accepted")  # the shop fixed it, or the server is back
        self._tried.add(checkout_id)
        if outcome.entry is None:
            error_type, code, parameter, message = _ERRORS[outcome.name]
            body = error_body(error_type, code, message, parameter)
            return Reply(outcome.status, body)
        order_id = new_order_id()
        plan = plan_life(
            order_id,
            outcome.life,
            created=self.clock(),
            step=self.step,
            entry=outcome.entry,
            checkout_id=checkout_id,
        )
        self._orders[order_id] = plan
        self._by_checkout[checkout_id] = order_id
        return Reply(
            outcome.status,
            plan.created,
            hold=self.hold if outcome.name == "timeout" else 0.0,
            close=outcome.name == "closed",
            plan=plan,
        )

    def lookup(self, checkout_id: str) -> Reply:
        """The answer to ``GET /orders?checkoutId=``: the order it became, if any."""
        with self._lock:
            order_id = self._by_checkout.get(checkout_id)
            found = [] if order_id is None else [self._now(order_id)]
        return Reply(200, {"hasMore": False, "data": found})

    def order(self, order_id: str) -> Reply:
        """The answer to ``GET /orders/{id}``: the order as of now, or 404."""
        with self._lock:
            if order_id not in self._orders:
                return _not_found("orderId", f"Order {order_id} not found")
            return Reply(200, self._now(order_id))

    def _now(self, order_id: str) -> Json:
        """The order object as of the last order event of its life created by now."""
        plan, now = self._orders[order_id], self.clock()
        objects = [e.order for e in plan.events if e.order is not None and e.created <= now]
        return objects[-1] if objects else plan.created

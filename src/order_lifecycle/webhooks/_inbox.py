r"""The webhook inbox: a batch of raw deliveries in, one outcome per delivery out.

Each delivery is checked (signature, then shape), parsed, and reconciled with the order it
is about (:func:`~order_lifecycle.apply_event`); it comes out ``applied``, ``duplicate``,
``stale``, ``conflict``, ``unknown`` or ``invalid``, with a reason. Nothing is dropped in
silence: conflicting, unknown and invalid deliveries are kept, raw bytes and reason, for an
operator. Orders, applied event ids and kept deliveries live in a
:class:`~order_lifecycle.store.Store`: each batch is read in one query of each kind,
reconciled in memory and committed in one transaction (see :mod:`._ingest`). A kept
delivery that is delivered again is not kept again (the store counts it).

What unsigned traffic can cost is bounded: a body over ``Inbox.max_body`` is refused
before anything reads it, and such a body, or one failing its signature check, is kept
only as a summary (its first 256 bytes, its size and SHA-256) and counted
(:attr:`Inbox.refused`); every store caps the bytes it keeps in all. Kept text that no
database can store (NUL, lone surrogates) is kept escaped (``\x00``, ``\udc80``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from order_lifecycle.exceptions import (
    InvalidEvent,
    InvalidInput,
    InvalidSignature,
    WrongType,
)
from order_lifecycle.lifecycle._step import Step
from order_lifecycle.lifecycle._vocabulary import OrderEvent, OrderState

from ._events import Event, OtherObject, parse_event
from ._ingest import Keep, Pending, ingest, paused_gc
from ._kept import printable
from ._reconcile import EventOutcome, apply_event
from ._signature import signing_keys, verify_signature
from ._webhook_store import BatchStore, DeliveryToKeep

__all__ = ["DEFAULT_MAX_BODY", "Delivery", "DeliveryResult", "Inbox"]

_KEPT = frozenset({EventOutcome.CONFLICT, EventOutcome.UNKNOWN, EventOutcome.INVALID})

DEFAULT_MAX_BODY = 2**20
"""The largest body the inbox reads, unless told otherwise (1 MiB)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _body(value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise WrongType("Delivery.body", "the delivery's raw bytes", value)
    return bytes(value)


def _optional_aware(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise WrongType(f"Delivery.{attribute.name}", "an aware datetime or None", value)


def _optional_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise WrongType(f"Delivery.{attribute.name}", "a str or None", value)


@attrs.frozen
class Delivery:
    """One webhook delivery as received: the raw body, and the signature header if any.

    ``signature`` is the ``DigitalRiver-Signature`` header's value; ``received_at`` when the
    delivery arrived (the signature's age is judged against it; the inbox's clock when
    ``None``).
    """

    body: bytes = attrs.field(converter=_body)
    signature: str | None = attrs.field(default=None, validator=_optional_text)
    received_at: datetime | None = attrs.field(default=None, validator=_optional_aware)


@attrs.frozen
class DeliveryResult:
    """The outcome of one delivery, with its reason and what could be read of it.

    ``steps`` are the steps the delivery added to its order's history (for a new order,
    its whole history). ``kept`` says whether the delivery was kept for an operator.
    ``refusal`` says why a delivery was refused unread: ``"signature"`` or ``"too_large"``
    (the keys of :attr:`Inbox.refused`), else ``None``.
    """

    outcome: EventOutcome
    reason: str
    event_id: str | None = None
    event_type: str | None = None
    order_id: str | None = None
    steps: tuple[Step[OrderState, OrderEvent], ...] = ()
    refusal: str | None = None

    @property
    def kept(self) -> bool:
        """Whether the delivery was handed to the store to keep (conflict, unknown, invalid).

        The store keeps only a summary of a delivery failing its signature check or over
        the size limit, and past its cap on kept bytes only counts it.
        """
        return self.outcome in _KEPT


def _secrets(value: Iterable[str | bytes] | None) -> tuple[bytes, ...] | None:
    if value is None:
        return None
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)) and not value:
        raise InvalidInput(
            "Inbox.secrets is empty: give the webhook's signing secrets, or None when "
            "signatures are checked before the inbox."
        )
    return signing_keys(value, "Inbox.secrets")


def _secrets_repr(value: tuple[bytes, ...] | None) -> str:
    return "None" if value is None else f"<{len(value)} secret{'s' * (len(value) != 1)}>"


def _max_age(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, timedelta):
        raise WrongType("Inbox.max_age", "a timedelta", value)
    if value < timedelta(0):
        raise InvalidInput(f"Inbox.max_age must not be negative, got {value!r}.")


def _max_body(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidInput(f"Inbox.max_body must be an int of 1 or more, got {value!r}.")


def _clock(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not callable(value):
        raise WrongType("Inbox.clock", "a function returning an aware datetime", value)


def _a_store(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, BatchStore):
        raise WrongType("Inbox.store", "a Store", value)


def _storable_id(value: str | None) -> str | None:
    """An id as a kept delivery holds it: escaped if no database could store it."""
    return printable(value) if value else None


@attrs.define
class Inbox:
    """Reconciles batches of raw webhook deliveries into the orders of ``store``.

    ``secrets`` are the webhook's signing secrets (several while one is rotated), each a
    str or bytes of 8 bytes or more; every delivery must then carry a valid signature no
    older than ``max_age``. ``None`` turns the check off, for deliveries verified before
    they reach the inbox. A body over ``max_body`` bytes (1 MiB) is invalid and not read.
    Deliveries refused unread (a bad signature, too large) are kept only as summaries and
    counted in :attr:`refused`. ``repr`` shows how many secrets there are, never them.
    """

    store: BatchStore = attrs.field(validator=_a_store)
    secrets: tuple[bytes, ...] | None = attrs.field(converter=_secrets, repr=_secrets_repr)
    max_age: timedelta = attrs.field(default=timedelta(minutes=5), validator=_max_age)
    clock: Callable[[], datetime] = attrs.field(default=_utc_now, validator=_clock)
    max_body: int = attrs.field(default=DEFAULT_MAX_BODY, validator=_max_body)
    _refused: dict[str, int] = attrs.field(
        init=False, repr=False, factory=lambda: dict.fromkeys(("signature", "too_large"), 0)
    )
    _lock: threading.Lock = attrs.field(init=False, repr=False, factory=threading.Lock)

    @property
    def refused(self) -> dict[str, int]:
        """How many deliveries this inbox refused unread: ``signature`` and ``too_large``."""
        with self._lock:
            return dict(self._refused)

    def receive(self, deliveries: Iterable[Delivery | bytes]) -> list[DeliveryResult]:
        """One result per delivery, in order; each delivery applied or kept, never dropped.

        The results are those of handling the deliveries in turn, each committed before
        the next is read, but the batch is read once and committed once; a delivery that
        lost a race with another app server is read again and re-applied, never raised.
        A conflict is tried again after the rest of the batch (a charge event may come
        before the event that makes its order known), as long as a round applies
        something; only then is it kept. A delivery whose ids no
        store can hold (refused by the parser), or that the store refuses with
        :class:`InvalidInput`, is ``invalid`` (kept, ids escaped), and the batch goes on.

        The process's cyclic garbage collector is paused while the batch runs (and only
        then): otherwise the batch's parsed events trigger full collections over everything
        the process holds, and ingestion slows as the store grows. Keep batches to what
        one request or one chunk of a log brings (hundreds, not millions).

        Raises:
            WrongType: ``deliveries`` is not a list of deliveries, or one is neither a
                :class:`Delivery` nor bytes, or the clock gave a naive datetime (a
                configuration error); nothing done.
            StoreError: the store failed (nothing of the batch committed), or the batch
                lost its races too many times in a row (:class:`StoreUnavailable`).

        """
        if isinstance(deliveries, (str, bytes, bytearray, memoryview)):
            raise WrongType("deliveries", "a list of deliveries, not one", deliveries)
        if not isinstance(deliveries, Iterable):
            raise WrongType("deliveries", "a list of deliveries", deliveries)
        batch = [d if isinstance(d, Delivery) else Delivery(d) for d in deliveries]
        with paused_gc():
            return self._receive(batch)

    def _receive(self, batch: list[Delivery]) -> list[DeliveryResult]:
        results: list[DeliveryResult | None] = []
        keeps: list[Keep] = []
        pending: list[Pending] = []
        for index, delivery in enumerate(batch):
            read = self._read(delivery)
            if isinstance(read, Event):
                pending.append(Pending(index, delivery.body, read))
                results.append(None)
                continue
            result, keep = read
            keeps.append(Keep(1, index, keep))
            results.append(result)
        reconciled = ingest(self.store, pending, keeps, printable)
        for item in pending:
            event, done = item.event, reconciled[item.index]
            results[item.index] = DeliveryResult(
                done.outcome, done.reason, event.id, event.type, event.order_id or "", done.steps
            )
        return [result for result in results if result is not None]

    def _now(self, delivery: Delivery) -> datetime:
        if delivery.received_at is not None:
            return delivery.received_at
        now = self.clock()
        if not isinstance(now, datetime) or now.tzinfo is None:
            raise WrongType("Inbox.clock()", "an aware datetime", now)
        return now

    def _count(self, refusal: str) -> None:
        with self._lock:
            self._refused[refusal] += 1

    def _refused_unread(self, delivery: Delivery) -> tuple[DeliveryResult, DeliveryToKeep] | None:
        """The result of a delivery too large or not signed, kept as a summary; else None."""
        size = len(delivery.body)
        if size > self.max_body:
            self._count("too_large")
            reason = f"the body is {size} bytes long, over the limit of {self.max_body}; not read"
            result, keep = _kept(delivery, EventOutcome.INVALID, reason, summary=True)
            return attrs.evolve(result, refusal="too_large"), keep
        if self.secrets is not None:
            now = self._now(delivery)
            try:
                verify_signature(
                    delivery.signature or "", delivery.body, self.secrets, now, self.max_age
                )
            except InvalidSignature as error:
                self._count("signature")
                result, keep = _kept(delivery, EventOutcome.INVALID, str(error), summary=True)
                return attrs.evolve(result, refusal="signature"), keep
        return None

    def _read(self, delivery: Delivery) -> tuple[DeliveryResult, DeliveryToKeep] | Event:
        """The delivery's event; or its result and what to keep, when it ends unread."""
        refused = self._refused_unread(delivery)
        if refused is not None:
            return refused
        try:
            event = parse_event(delivery.body)
        except InvalidEvent as error:
            return _kept(delivery, EventOutcome.INVALID, str(error), error.event_id)
        if not event.known or isinstance(event.data, OtherObject):
            reason = apply_event(None, event).reason
            result, keep = _kept(delivery, EventOutcome.UNKNOWN, reason, event.id, event.order_id)
            return attrs.evolve(result, event_type=event.type), keep
        return event


def _kept(  # noqa: PLR0913 (the result's fields, and how to keep it)
    delivery: Delivery,
    outcome: EventOutcome,
    reason: str,
    event_id: str | None = None,
    order_id: str | None = None,
    *,
    summary: bool = False,
) -> tuple[DeliveryResult, DeliveryToKeep]:
    """A delivery's result, and the delivery to keep, its text made storable."""
    keep = DeliveryToKeep(
        delivery.body,
        printable(reason),
        event_id=_storable_id(event_id),
        order_id=_storable_id(order_id),
        summary=summary,
    )
    return DeliveryResult(outcome, reason, event_id, order_id=order_id), keep

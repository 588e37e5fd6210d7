r"""The webhook inbox: deliveries stored first (the request path), reconciled after.

:meth:`Inbox.accept` is what a web endpoint runs: each delivery's signature is checked,
its envelope read (event id, type, ``createdTime``, order id: no model is built), and its
raw body stored in the store's inbox, deduplicated by order and event id, in one
transaction per batch. It answers one :class:`DeliveryResult` per delivery, whose
:attr:`~DeliveryResult.status_code` is a 2xx only once the delivery is stored (now, or
before). :class:`~order_lifecycle.webhooks.Reconciler`\ s then apply what is stored,
order by order. :meth:`Inbox.receive` does both in one call (the inline mode: tests, the
demo, ``replay``), answering what each delivery came to.

What unsigned traffic can cost is bounded: a body over ``Inbox.max_body`` is refused
before anything reads it (413), and such a body, or one failing its signature check (401),
is never stored whole: only a summary (its first 256 bytes, its size and SHA-256) is kept,
within the store's cap on kept bytes, and counted (:attr:`Inbox.refused`).

Trust is explicit: an inbox checks signatures (``secrets``), unless it is built with
``verified_upstream=True`` (a proxy in front checks them), which is logged as a warning
on the ``order_lifecycle.webhooks`` logger when the inbox is built.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from order_lifecycle import _telemetry
from order_lifecycle._text import printable
from order_lifecycle.exceptions import InvalidInput, InvalidSignature, StoreError, WrongType

from ._envelope import read_envelope
from ._inbox_store import DeliveryStatus, InboxStore, Incoming
from ._observe import report_accepted, store_failure
from ._reconciler import Reconciler
from ._results import DeliveryResult
from ._signature import microseconds, signed_in_time, signing_keys
from ._webhook_store import DeliveryToKeep

__all__ = ["DEFAULT_MAX_BODY", "Delivery", "DeliveryResult", "Inbox"]

LOG = logging.getLogger("order_lifecycle.webhooks")

_MICROSECOND = timedelta(microseconds=1)

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


def _secrets(value: Iterable[str | bytes] | None) -> tuple[bytes, ...] | None:
    if value is None:
        return None
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)) and not value:
        raise InvalidInput(
            "Inbox.secrets is empty: give the webhook's signing secrets (or secrets=None "
            "with verified_upstream=True when a proxy checks signatures before the inbox)."
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
    if not isinstance(value, InboxStore):
        raise WrongType("Inbox.store", "a Store", value)


def _a_bool(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise WrongType(f"Inbox.{attribute.name}", "True or False", value)


@attrs.define
class Inbox:
    """Stores the provider's webhook deliveries in ``store``'s inbox, and reconciles them.

    ``secrets`` are the webhook's signing secrets (several while one is rotated), each a
    str or bytes of 8 bytes or more; every delivery must then carry a valid signature no
    older than ``max_age``. Without secrets an inbox is refused, unless built with
    ``verified_upstream=True``: the deliveries' signatures were checked before they reach
    it (and this is logged, as a warning, when it is built). A body over ``max_body``
    bytes (1 MiB) is refused and not read. Deliveries refused unread (a bad signature,
    too large) are kept only as summaries and counted in :attr:`refused`. ``repr`` shows
    how many secrets there are, never them.

    Raises (at construction):
        InvalidInput: no secrets and not ``verified_upstream``, or both; an unusable
            secret, a negative ``max_age``, a ``max_body`` below 1, a clock that cannot be
            called, a store without an inbox (:class:`WrongType`).

    """

    store: InboxStore = attrs.field(validator=_a_store)
    secrets: tuple[bytes, ...] | None = attrs.field(
        default=None, converter=_secrets, repr=_secrets_repr
    )
    max_age: timedelta = attrs.field(default=timedelta(minutes=5), validator=_max_age)
    clock: Callable[[], datetime] = attrs.field(default=_utc_now, validator=_clock)
    max_body: int = attrs.field(default=DEFAULT_MAX_BODY, validator=_max_body)
    verified_upstream: bool = attrs.field(default=False, validator=_a_bool, kw_only=True)
    _refused: dict[str, int] = attrs.field(
        init=False, repr=False, factory=lambda: dict.fromkeys(("signature", "too_large"), 0)
    )
    _lock: threading.Lock = attrs.field(init=False, repr=False, factory=threading.Lock)

    def __attrs_post_init__(self) -> None:
        if self.secrets is None and not self.verified_upstream:
            raise InvalidInput(
                "Inbox.secrets is None: give the webhook's signing secrets "
                "(secrets=[...]), or pass verified_upstream=True if a proxy in front of the "
                "inbox checks every delivery's signature; an inbox never trusts unsigned "
                "deliveries by default."
            )
        if self.secrets is not None and self.verified_upstream:
            raise InvalidInput(
                "Inbox got both secrets and verified_upstream=True: give the secrets to "
                "check signatures here, or verified_upstream=True (and no secrets) if they "
                "were checked before."
            )
        if self.verified_upstream:
            LOG.warning(
                "Inbox built with verified_upstream=True: signatures are NOT checked; every "
                "delivery is trusted as the provider's (store %r).",
                self.store,
            )

    @property
    def refused(self) -> dict[str, int]:
        """How many deliveries this inbox refused unread: ``signature`` and ``too_large``."""
        with self._lock:
            return dict(self._refused)

    def accept(self, deliveries: Iterable[Delivery | bytes]) -> list[DeliveryResult]:
        """Store each delivery (the request path); one result per delivery, in order.

        Signed deliveries are stored in one transaction: ``pending`` (for a reconciler),
        ``duplicate`` (stored before: nothing written), or ``invalid`` when their envelope
        cannot be read (stored all the same, with the reason). Every one of these answers
        a 2xx (:attr:`DeliveryResult.status_code`). A body over ``max_body`` (413) or a
        bad signature (401) is refused unread: only a summary kept.

        Raises:
            WrongType: ``deliveries`` is not a list of deliveries, or one is neither a
                :class:`Delivery` nor bytes, or the clock gave a naive datetime (a
                configuration error); nothing stored.
            StoreError: nothing stored (the store is unavailable, or its lock wait ran
                out): answer 503 (:func:`~order_lifecycle.webhooks.error_status`).

        """
        batch = _batch(deliveries)
        with _telemetry.span("order_lifecycle.accept", "order_lifecycle.accept.duration") as span:
            results = self._accept(batch, span)
        report_accepted(results)
        return results

    def _accept(self, batch: list[Delivery], span: Any) -> list[DeliveryResult]:  # noqa: ANN401 (a span or None)
        now = self._clock_now() if any(d.received_at is None for d in batch) else None
        results: list[DeliveryResult | None] = []
        rows: list[Incoming] = []
        keeps: list[DeliveryToKeep] = []
        for delivery in batch:
            received = delivery.received_at or now
            assert received is not None  # noqa: S101 (read from the clock when none was given)
            refusal = self._refused_unread(delivery, received)
            if refusal is not None:
                result, keep = refusal
                results.append(result)
                keeps.append(keep)
                continue
            key, event_type, order_id, created, reason = read_envelope(delivery.body)
            status = DeliveryStatus.PENDING if reason is None else DeliveryStatus.INVALID
            rows.append(
                Incoming(
                    key,
                    event_type,
                    order_id,
                    created,
                    received.isoformat(),
                    status.value,
                    reason,
                    delivery.body,
                )
            )
            results.append(None)
        if span is not None:  # recorded: worth the list
            span.set_attribute("order_lifecycle.deliveries", len(batch))
            span.set_attribute("order_lifecycle.event_ids", [row.event_id for row in rows])
        try:
            seqs = iter(self.store.accept_deliveries(rows, keeps))
        except StoreError as error:
            store_failure("accept", error, len(batch))
            raise
        stored = iter(rows)
        return [result or _accepted(next(stored), next(seqs)) for result in results]

    def receive(self, deliveries: Iterable[Delivery | bytes]) -> list[DeliveryResult]:
        """Store each delivery, then reconcile what was stored, now; one result per delivery.

        The inline mode of :meth:`accept` and a :class:`Reconciler`: each stored delivery's
        order is claimed (with every open delivery of it) and settled, and its result says
        what it came to: ``applied``, ``duplicate``, ``stale``, ``waiting`` (stored; it
        applies once what it needs arrives, through the inbox), ``unknown`` or
        ``invalid``. A delivery whose order another reconciler holds all along stays
        ``pending`` (that reconciler applies it). Inline, no order is given up on: a
        delivery for an order never seen waits (a reconciler's ``order_wait`` decides when
        it is ``unknown_order``), however old it is (a replayed log's).

        Raises:
            WrongType: as :meth:`accept`.
            StoreError: the store failed; what was stored stays stored (a later
                reconciler applies it).

        """
        with _telemetry.span("order_lifecycle.receive", "order_lifecycle.receive.duration") as span:
            results = self._receive(deliveries)
            if span is not None:  # recorded: worth the list
                span.set_attribute("order_lifecycle.deliveries", len(results))
                ids = [r.event_id for r in results if r.event_id is not None]
                span.set_attribute("order_lifecycle.event_ids", ids)
        return results

    def _receive(self, deliveries: Iterable[Delivery | bytes]) -> list[DeliveryResult]:
        accepted = self.accept(deliveries)
        pending = {
            r.seq: r.order_id
            for r in accepted
            if r.seq is not None and r.outcome is DeliveryStatus.PENDING
        }
        if not pending:
            return accepted
        inline = Reconciler(self.store, clock=self.clock, order_wait=timedelta.max)
        outcomes = inline.settle(pending)
        results = []
        for result in accepted:
            if result.seq is None or result.seq not in pending:
                results.append(result)
                continue
            done = outcomes.get(result.seq)
            if done is None:
                row = self.store.get_delivery(result.seq)
                results.append(attrs.evolve(result, outcome=row.status, reason=row.reason or ""))
            else:
                results.append(
                    attrs.evolve(result, outcome=done.status, reason=done.reason, steps=done.steps)
                )
        return results

    def _clock_now(self) -> datetime:
        now = self.clock()
        if not isinstance(now, datetime) or now.tzinfo is None:
            raise WrongType("Inbox.clock()", "an aware datetime", now)
        return now

    def _count(self, refusal: str) -> None:
        with self._lock:
            self._refused[refusal] += 1

    def _refused_unread(
        self, delivery: Delivery, received: datetime
    ) -> tuple[DeliveryResult, DeliveryToKeep] | None:
        """The result of a delivery too large or not signed, kept as a summary; else None."""
        size = len(delivery.body)
        if size > self.max_body:
            self._count("too_large")
            reason = f"the body is {size} bytes long, over the limit of {self.max_body}; not read"
            return _summary(delivery, reason, "too_large", received)
        # The keys were checked when the inbox was built: the check costs the HMAC's.
        if self.secrets is not None and not signed_in_time(
            self.secrets,
            delivery.signature,
            delivery.body,
            microseconds(received),
            self.max_age // _MICROSECOND,
        ):
            self._count("signature")
            return _summary(delivery, str(InvalidSignature()), "signature", received)
        return None


def _batch(deliveries: object) -> list[Delivery]:
    if isinstance(deliveries, (str, bytes, bytearray, memoryview)):
        raise WrongType("deliveries", "a list of deliveries, not one", deliveries)
    if not isinstance(deliveries, Iterable):
        raise WrongType("deliveries", "a list of deliveries", deliveries)
    return [d if isinstance(d, Delivery) else Delivery(d) for d in deliveries]


def _accepted(row: Incoming, seq: int | None) -> DeliveryResult:
    """The request path's answer for a delivery it stored (or found stored already)."""
    event_id = None if row.event_id.startswith("sha256:") and row.reason else row.event_id
    if seq is None:
        reason = f"event {row.event_id!r} was stored in the inbox already"
        status = DeliveryStatus.DUPLICATE
    elif row.reason is not None:
        reason, status = row.reason, DeliveryStatus.INVALID
    else:
        reason, status = "stored; a reconciler applies it", DeliveryStatus.PENDING
    return DeliveryResult(status, reason, event_id, row.event_type, row.order_id, seq=seq)


def _summary(
    delivery: Delivery, reason: str, refusal: str, received: datetime
) -> tuple[DeliveryResult, DeliveryToKeep]:
    """A delivery refused unread: its result, and the summary of it to keep."""
    keep = DeliveryToKeep(delivery.body, printable(reason), at=received, summary=True)
    return DeliveryResult(DeliveryStatus.INVALID, reason, refusal=refusal), keep

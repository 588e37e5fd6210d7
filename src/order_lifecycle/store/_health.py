"""Readiness: the database reachable, its schema current, the backlog under its limits.

What a load balancer's or an orchestrator's readiness probe asks of an app server, answered
from the store alone: a :meth:`~order_lifecycle.store.Store.ping` within a bound, the schema
version it reads, and the open-only :meth:`~order_lifecycle.store.Store.overview` (indexed
counts of the deliveries and actions waiting). The web glue serves it as a route
(``order_lifecycle.integrations``: 200 when ready, 503 when not, with a small JSON body).
"""

from __future__ import annotations

from typing import Any

import attrs

from order_lifecycle.actions import ActionState
from order_lifecycle.exceptions import InvalidInput, StoreError, WrongType
from order_lifecycle.webhooks import DeliveryStatus

from ._base import Store
from ._overview import Overview, Ping, check_timeout
from ._schema import SCHEMA_VERSION

__all__ = ["BACKLOG_ACTIONS", "BACKLOG_DELIVERIES", "Readiness", "ReadinessCheck"]

BACKLOG_DELIVERIES = (DeliveryStatus.PENDING, DeliveryStatus.WAITING)
"""The deliveries counted against :attr:`ReadinessCheck.max_deliveries`: not yet applied."""
BACKLOG_ACTIONS = (ActionState.PENDING, ActionState.FAILED)
"""The actions counted against :attr:`ReadinessCheck.max_actions`: due, or due again."""


def _limit(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongType(attribute.name, "an int from 0, or None (no limit)", value)
    if value < 0:
        raise InvalidInput(f"{attribute.name} must be 0 or more (None: no limit), got {value}.")


@attrs.frozen
class Readiness:
    """What a readiness check found: :attr:`ready`, or the problems that say why not.

    ``problems`` are short phrases for a probe's body (never a driver's message, which
    names hosts); ``error`` is the store's own message when it failed, for the logs.
    ``ping`` is ``None`` when the database did not answer; ``backlog`` when it was not read.
    """

    problems: tuple[str, ...]
    ping: Ping | None = None
    backlog: Overview | None = None
    error: str | None = None

    @property
    def ready(self) -> bool:
        """Whether nothing is wrong."""
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        """The probe's body: ``ready``, ``problems``, the schema versions, the backlog counts."""
        body: dict[str, Any] = {
            "ready": self.ready,
            "problems": list(self.problems),
            "schema_version": None if self.ping is None else self.ping.schema_version,
            "expected_schema_version": SCHEMA_VERSION,
        }
        if self.ping is not None:
            body["ping_ms"] = round(self.ping.seconds * 1000, 1)
        if self.backlog is not None:
            body["deliveries"] = {str(s): t.count for s, t in self.backlog.deliveries.items()}
            body["actions"] = {str(s): t.count for s, t in self.backlog.actions.items()}
        return body


@attrs.frozen
class ReadinessCheck:
    """What a ready store is: reachable within ``timeout`` s, its schema current, its backlog small.

    ``max_deliveries`` bounds the deliveries not yet applied (pending and waiting: the
    reconcilers are behind, or down); ``max_actions`` the actions due (pending and failed:
    the workers are behind, or down). ``None`` checks no limit. Call it with a store.

    Raises (when built):
        InvalidInput: a limit below 0, a timeout not above 0 or over 60 s.
        WrongType: a limit that is not an int or None.

    """

    max_deliveries: int | None = attrs.field(default=10_000, validator=_limit)
    max_actions: int | None = attrs.field(default=10_000, validator=_limit)
    timeout: float = attrs.field(default=2.0, converter=check_timeout)

    def __call__(self, store: Store) -> Readiness:
        """The readiness of ``store`` now (never raises for the store's failures: it says them).

        Raises:
            WrongType: ``store`` is not a :class:`~order_lifecycle.store.Store`.

        """
        if not isinstance(store, Store):
            raise WrongType("store", "a Store", store)
        try:
            ping = store.ping(self.timeout)
        except StoreError as error:
            return Readiness(("the database cannot be reached",), error=str(error))
        if ping.schema_version is None:
            return Readiness(("the database holds no tables: run order-lifecycle migrate",), ping)
        if not ping.current:
            return Readiness(
                (
                    f"the tables are at schema version {ping.schema_version}, this code reads "
                    f"{SCHEMA_VERSION}: run order-lifecycle migrate"
                    if ping.schema_version < SCHEMA_VERSION
                    else f"the tables are at schema version {ping.schema_version}, newer than "
                    f"this code reads ({SCHEMA_VERSION}): upgrade order-lifecycle",
                ),
                ping,
            )
        try:
            backlog = store.overview(open_only=True)
        except StoreError as error:
            return Readiness(("the backlog cannot be read",), ping, error=str(error))
        return Readiness(self._over(backlog), ping, backlog)

    def _over(self, backlog: Overview) -> tuple[str, ...]:
        problems = []
        deliveries = backlog.delivery_count(*BACKLOG_DELIVERIES)
        if self.max_deliveries is not None and deliveries > self.max_deliveries:
            problems.append(
                f"deliveries not yet applied: {deliveries}, over the limit of "
                f"{self.max_deliveries}: are the reconcilers running?"
            )
        actions = backlog.action_count(*BACKLOG_ACTIONS)
        if self.max_actions is not None and actions > self.max_actions:
            problems.append(
                f"actions due: {actions}, over the limit of {self.max_actions}: are the "
                "workers running?"
            )
        return tuple(problems)

"""What the worker tells an operator: log records, metrics and a span per handler.

A handler that fails is a warning with its traceback (the shop's own error: keep customer
data out of its message); an action that dies, an error (an operator must retry it once
the cause is fixed); one due again, info; one done, debug. Each record carries ``extra``
fields (``action_key``, ``order_id``, ``kind``, ``tries``, ``outcome``), never the
action's payload.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator

from order_lifecycle import _telemetry
from order_lifecycle.exceptions import StoreError

from ._stored import ActionState, Completed, Failed, Outcome, StoredAction

__all__ = ["LOG", "counting_failures", "handler_span", "report_finished", "report_released"]

LOG = logging.getLogger("order_lifecycle.actions")

Fail = Callable[[str, BaseException | None], None]
"""Marks the handler's run failed: the error's text, and the exception if it raised one."""


def _fields(action: StoredAction, outcome: str) -> dict[str, object]:
    return {
        "action_key": action.key,
        "order_id": action.order_id,
        "kind": str(action.kind),
        "tries": action.tries,
        "outcome": outcome,
    }


@contextlib.contextmanager
def handler_span(action: StoredAction) -> Iterator[Fail]:
    """A span and a timer around one handler's run; yields how to mark it failed."""
    kind = str(action.kind)
    began = time.perf_counter()
    attributes: dict[str, str | int] = {
        "order_lifecycle.action.key": action.key,
        "order_lifecycle.action.kind": kind,
        "order_lifecycle.order_id": action.order_id,
        "order_lifecycle.action.tries": action.tries,
    }
    with _telemetry.span("order_lifecycle.action", attributes=attributes) as current:

        def failed(text: str, error: BaseException | None) -> None:
            kind = "TimeoutError" if error is None else type(error).__qualname__
            _telemetry.failed(current, kind, text)
            LOG.warning(
                "action %s failed on try %d: %s",
                action.key, action.tries, text,
                exc_info=error, extra=_fields(action, "failed"),
            )  # fmt: skip

        try:
            yield failed
        finally:
            _telemetry.record(
                "order_lifecycle.actions.duration", time.perf_counter() - began, kind=kind
            )


def report_finished(outcome: Outcome, found: StoredAction) -> None:
    """Log and count how a claim ended, as the store recorded it (``found``)."""
    state = found.state
    kind = str(found.kind)
    if isinstance(outcome, Completed) and state is ActionState.DONE:
        LOG.debug("action %s done", found.key, extra=_fields(found, "done"))
        result = "done"
    elif isinstance(outcome, Failed) and state is ActionState.DEAD:
        LOG.error(
            "action %s is dead after %d tries (last error: %s); fix the cause, then "
            "retry it (order-lifecycle actions retry)",
            found.key, found.tries, found.last_error,
            extra=_fields(found, "dead"),
        )  # fmt: skip
        result = "dead"
    elif isinstance(outcome, Failed) and state is ActionState.FAILED:
        LOG.info(
            "action %s is due again at %s (try %d failed)",
            found.key, found.retry_at, found.tries,
            extra=_fields(found, "failed"),
        )  # fmt: skip
        result = "failed"
    else:
        return
    _telemetry.record("order_lifecycle.actions.finished", 1, kind=kind, result=result)


def report_released(action: StoredAction) -> None:
    """Count an action given back unrun (the worker is stopping): another worker takes it."""
    LOG.debug("action %s given back unrun", action.key, extra=_fields(action, "released"))
    _telemetry.record(
        "order_lifecycle.actions.finished", 1, kind=str(action.kind), result="released"
    )


@contextlib.contextmanager
def counting_failures() -> Iterator[None]:
    """A store failure escaping the block is counted (``operation="actions"``)."""
    try:
        yield
    except StoreError as error:
        _telemetry.store_failed("actions", error)
        raise

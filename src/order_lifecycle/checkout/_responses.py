"""Reading the provider's ``POST /orders`` response: status and raw body to an outcome.

Pure: nothing here touches a checkout. A response that is not the provider's shape raises
:class:`InvalidResponse` naming the first problem, with a JSON path (``items[1].quantity``).
So does any other failure to read one: whatever a hostile body makes the parsing raise
(an overflow, a value too big to print), the caller gets an ``InvalidResponse``.
The order object of a 201 is read by ``_payload``, as webhook events' order objects are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from order_lifecycle._json import (
    Problem,
    as_list,
    as_object,
    fail,
    field_path,
    loads,
    optional_str,
)
from order_lifecycle.exceptions import InvalidInput, InvalidResponse
from order_lifecycle.lifecycle import ORDER_SPEC
from order_lifecycle.models import Order
from order_lifecycle.provider import read_order

from ._outcomes import (
    ChargeFailure,
    CheckoutNeedsChanges,
    InDoubt,
    OrderCreated,
    ProviderError,
    SubmissionOutcome,
    SubmissionRejected,
)

__all__ = ["read_response"]

_CREATED, _NOT_FOUND, _CONFLICT = 201, 404, 409
_CLIENT_ERRORS = range(400, 500)
_SERVER_ERRORS = range(500, 600)


def read_response(
    checkout_id: str, status_code: int, body: str | bytes, at: datetime
) -> SubmissionOutcome:
    """The outcome of the ``POST /orders`` of ``checkout_id`` that got this response.

    ``at`` stamps the creation of an order a 201 reports.

    Raises:
        InvalidResponse: the status is not one ``POST /orders`` answers with, or the body
            is not the provider's shape for it (not JSON, no ``state``, an unknown state,
            a 201 without an order id, a string with a NUL or a lone surrogate, ...), or
            reading it failed in any other way (the original error is the ``__cause__``).

    """
    try:
        return _read(checkout_id, status_code, body, at)
    except Problem as problem:
        raise InvalidResponse(checkout_id, status_code, str(problem)) from None
    except Exception as error:  # a hostile body must not escape as an untyped error
        unreadable = f"the body could not be read ({type(error).__name__})"
        raise InvalidResponse(checkout_id, status_code, unreadable) from error


def _read(checkout_id: str, status_code: int, body: str | bytes, at: datetime) -> SubmissionOutcome:
    if status_code in _SERVER_ERRORS:
        # Already in doubt whatever the body says; keep its errors when it has the shape.
        try:
            error_type, errors = _error_body(_json(body))
        except Problem:
            error_type, errors = None, ()
        return InDoubt(checkout_id, status_code, error_type, errors, reason="server error")
    if status_code == _CREATED:
        order, failures = _order(_json(body), checkout_id, at)
        return OrderCreated(checkout_id, order, failures)
    if status_code == _NOT_FOUND:
        # DESIGN 1.1: the provider's answer to a checkout another POST /orders consumed
        # (a client's automatic retry): an order may exist, so never reopen the checkout.
        error_type, errors = _error_body(_json(body))
        return InDoubt(checkout_id, status_code, error_type, errors, reason=_CONSUMED_ELSEWHERE)
    if status_code in _CLIENT_ERRORS:
        error_type, errors = _error_body(_json(body))
        kind = SubmissionRejected if status_code == _CONFLICT else CheckoutNeedsChanges
        return kind(checkout_id, status_code, error_type, errors)
    raise Problem("", f"POST /orders answers 201, 4xx or 5xx, not {status_code}")


_CONSUMED_ELSEWHERE = (
    "not found: another POST /orders may have consumed the checkout "
    "(an automatic retry, another process)"
)


def _json(body: str | bytes) -> object:
    """The JSON of ``body``, whose strings hold no NUL and no lone surrogate.

    The provider sends neither; a database cannot store them, nor a page show them.
    """
    data = loads(body)
    pending: list[tuple[str, object]] = [("", data)]
    while pending:  # a loop, not recursion: nesting is bounded only by the JSON parser
        path, value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                _require_clean(key, path or "the body", "a key")
                pending.append((field_path(path, key), item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        elif isinstance(value, str):
            _require_clean(value, path or "the body", "the string")
    return data


_UNCLEAN = re.compile("[\x00\ud800-\udfff]")


def _require_clean(text: str, path: str, what: str) -> None:
    found = _UNCLEAN.search(text)
    if found is not None:
        char = "a NUL character" if found[0] == "\x00" else "a lone surrogate (not Unicode)"
        fail(path, f"{what} holds {char}")


def _error_body(data: object) -> tuple[str | None, tuple[ProviderError, ...]]:
    """The provider's error body: ``{"type": ..., "errors": [{"code", "message", ...}]}``."""
    body = as_object(data, "", "the body")
    if "errors" not in body:
        fail("", "an error body needs errors[]")
    errors = []
    for index, entry in enumerate(as_list(body["errors"], "errors")):
        path = f"errors[{index}]"
        error = as_object(entry, path)
        errors.append(
            ProviderError(
                code=optional_str(error, "code", path),
                message=optional_str(error, "message", path),
                parameter=optional_str(error, "parameter", path),
            )
        )
    return optional_str(body, "type", ""), tuple(errors)


def _order(data: object, checkout_id: str, at: datetime) -> tuple[Order, tuple[ChargeFailure, ...]]:
    """The order a 201 body describes, and any charge failures it reports."""
    body = as_object(data, "", "the body")
    if not optional_str(body, "id", ""):
        fail("", "a 201 needs the order id (id)")
    snapshot = read_order(body, "")
    if snapshot.state not in ORDER_SPEC.entry_states:
        entries = ", ".join(ORDER_SPEC.entry_states)
        fail("state", f"a 201 creates an order in {entries}, not in {snapshot.state}")
    if snapshot.checkout_id is not None and snapshot.checkout_id != checkout_id:
        fail("checkoutId", f"it is the order of checkout {snapshot.checkout_id!r}")
    try:
        order = Order.create(
            snapshot.id,
            snapshot.state,
            at=at,
            checkout_id=checkout_id,
            fraud_state=snapshot.fraud_state,
            items=[i.onto(None) for i in snapshot.items or ()],
            charges=snapshot.charges or (),
            currency=snapshot.currency,
        )
    except InvalidInput as error:  # the charges and the order name different currencies
        fail("", str(error).rstrip("."))
    return order, _failures(body)


def _failures(body: Mapping[str, Any]) -> tuple[ChargeFailure, ...]:
    """The ``failureCode`` and ``failureMessage`` of the charges (read by ``read_order``)."""
    payment = body.get("payment") or {}
    failures = []
    for index, charge in enumerate(payment.get("charges") or ()):
        path = f"payment.charges[{index}]"
        code = optional_str(charge, "failureCode", path)
        message = optional_str(charge, "failureMessage", path)
        if code is not None or message is not None:
            failures.append(ChargeFailure(charge["id"], code, message))
    return tuple(failures)

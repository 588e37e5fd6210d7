"""Reading the provider's ``POST /orders`` response: status and raw body to an outcome.

Pure: nothing here touches a checkout. A response that is not the provider's shape raises
:class:`InvalidResponse` naming the first problem, with a JSON path (``items[1].quantity``).
Amounts are parsed as ``Decimal`` straight from the JSON text, never through ``float``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, NoReturn

from ._models import Charge, Item, Order
from ._outcomes import (
    ChargeFailure,
    CheckoutNeedsChanges,
    InDoubt,
    OrderCreated,
    ProviderError,
    SubmissionOutcome,
    SubmissionRejected,
)
from ._tables import ORDER_SPEC
from ._vocabulary import OrderState
from .exceptions import InvalidInput, InvalidResponse

__all__ = ["read_response"]

_CREATED, _CONFLICT = 201, 409
_CLIENT_ERRORS = range(400, 500)
_SERVER_ERRORS = range(500, 600)


class _Problem(Exception):
    """What is wrong with a body; becomes an :class:`InvalidResponse` with the context."""


def _fail(problem: str) -> NoReturn:
    raise _Problem(problem)


def read_response(
    checkout_id: str, status_code: int, body: str | bytes, at: datetime
) -> SubmissionOutcome:
    """The outcome of the ``POST /orders`` of ``checkout_id`` that got this response.

    ``at`` stamps the creation of an order a 201 reports.

    Raises:
        InvalidResponse: the status is not one ``POST /orders`` answers with, or the body
            is not the provider's shape for it (not JSON, no ``state``, an unknown state,
            a 201 without an order id, ...).

    """
    try:
        return _read(checkout_id, status_code, body, at)
    except _Problem as problem:
        raise InvalidResponse(checkout_id, status_code, str(problem)) from None


def _read(checkout_id: str, status_code: int, body: str | bytes, at: datetime) -> SubmissionOutcome:
    if status_code in _SERVER_ERRORS:
        # Already in doubt whatever the body says; keep its errors when it has the shape.
        try:
            error_type, errors = _error_body(_json(body))
        except _Problem:
            error_type, errors = None, ()
        return InDoubt(checkout_id, status_code, error_type, errors, reason="server error")
    if status_code == _CREATED:
        order, failures = _order(_json(body), checkout_id, at)
        return OrderCreated(checkout_id, order, failures)
    if status_code in _CLIENT_ERRORS:
        error_type, errors = _error_body(_json(body))
        kind = SubmissionRejected if status_code == _CONFLICT else CheckoutNeedsChanges
        return kind(checkout_id, status_code, error_type, errors)
    _fail(f"POST /orders answers 201, 4xx or 5xx, not {status_code}")


def _reject_constant(name: str) -> NoReturn:
    _fail(f"the body is not JSON: {name} is not a JSON number")


def _json(body: str | bytes) -> object:
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        _fail(f"the body is not JSON ({reason})")


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        _fail(f"{path} must be a JSON object, not {_kind(value)}")
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(f"{path} must be a JSON array, not {_kind(value)}")
    return value


def _optional_str(data: Mapping[str, Any], key: str, path: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        _fail(f"{path}{key} must be a string, not {_kind(value)}")
    return value


def _raw(data: Mapping[str, Any], key: str) -> Any:  # noqa: ANN401 (validated by the model)
    """``data[key]`` or ``None``, for a model constructor to validate."""
    return data.get(key)


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _error_body(data: object) -> tuple[str | None, tuple[ProviderError, ...]]:
    """The provider's error body: ``{"type": ..., "errors": [{"code", "message", ...}]}``."""
    body = _object(data, "the body")
    if "errors" not in body:
        _fail("an error body needs errors[]")
    errors = []
    for index, entry in enumerate(_list(body["errors"], "errors")):
        path = f"errors[{index}]."
        error = _object(entry, path.rstrip("."))
        errors.append(
            ProviderError(
                code=_optional_str(error, "code", path),
                message=_optional_str(error, "message", path),
                parameter=_optional_str(error, "parameter", path),
            )
        )
    return _optional_str(body, "type", ""), tuple(errors)


def _order(data: object, checkout_id: str, at: datetime) -> tuple[Order, tuple[ChargeFailure, ...]]:
    """The order a 201 body describes, and any charge failures it reports."""
    body = _object(data, "the body")
    order_id = _optional_str(body, "id", "")
    if not order_id:
        _fail("a 201 needs the order id (id)")
    state = _optional_str(body, "state", "")
    if state is None:
        _fail("the order has no state")
    if state not in set(OrderState):
        _fail(f"unknown order state {state!r}")
    if OrderState(state) not in ORDER_SPEC.entry_states:
        entries = ", ".join(ORDER_SPEC.entry_states)
        _fail(f"a 201 creates an order in {entries}, not in {state}")
    owner = _optional_str(body, "checkoutId", "")
    if owner is not None and owner != checkout_id:
        _fail(f"it is the order of checkout {owner!r}")
    charges, failures = _charges(body.get("payment"))
    try:
        order = Order.create(
            order_id,
            state,
            at=at,
            checkout_id=checkout_id,
            fraud_state=_optional_str(body, "fraudState", ""),
            items=_items(body.get("items")),
            charges=charges,
        )
    except InvalidInput as error:  # a bad fraud state, duplicate ids, ...
        _fail(str(error).rstrip("."))
    return order, failures


def _items(data: object) -> list[Item]:
    if data is None:
        return []
    items = []
    for index, entry in enumerate(_list(data, "items")):
        path = f"items[{index}]"
        item = _object(entry, path)
        try:
            items.append(
                Item(
                    id=_raw(item, "id"),
                    quantity=_raw(item, "quantity"),
                    physical=_physical(item, path),
                )
            )
        except InvalidInput as error:
            _fail(f"{path}: {str(error).rstrip('.')}")
    return items


def _physical(item: Mapping[str, Any], path: str) -> bool | None:
    """``productDetails.physical`` (``sku.physical`` in older API versions), or ``None``.

    Never guessed: a body that does not expand its products (the provider's own 201
    example) leaves it unknown, and the fulfilment plan sets such items aside.
    """
    for key in ("productDetails", "sku"):
        details = item.get(key)
        if isinstance(details, dict) and "physical" in details:
            flag = details["physical"]
            if not isinstance(flag, bool):
                _fail(f"{path}: {key}.physical must be true, false or absent, not {flag!r}")
            return flag
    return None


def _charges(data: object) -> tuple[list[Charge], tuple[ChargeFailure, ...]]:
    if data is None:
        return [], ()
    payment = _object(data, "payment")
    if payment.get("charges") is None:
        return [], ()
    charges, failures = [], []
    for index, entry in enumerate(_list(payment["charges"], "payment.charges")):
        path = f"payment.charges[{index}]"
        charge = _object(entry, path)
        try:
            charges.append(
                Charge(
                    id=_raw(charge, "id"),
                    state=_raw(charge, "state"),
                    amount=_raw(charge, "amount"),
                    currency=charge.get("currency"),
                )
            )
        except InvalidInput as error:
            _fail(f"{path}: {str(error).rstrip('.')}")
        code = _optional_str(charge, "failureCode", f"{path}.")
        message = _optional_str(charge, "failureMessage", f"{path}.")
        if code is not None or message is not None:
            failures.append(ChargeFailure(charges[-1].id, code, message))
    return charges, tuple(failures)

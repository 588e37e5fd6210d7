"""Reading an order the shop fetched from the provider: ``GET /orders/{id}``, or a lookup.

A shop re-reads an order to settle a checkout in doubt (``GET /orders?checkoutId=...``)
or to reconcile by polling, as the provider's own connectors re-read the order on each
webhook. The body is read as a webhook's ``data.object`` is (``_payload``), under the same
limits: a body of at most :data:`MAX_BODY` bytes, JSON nested at most 32 deep, integers of
at most 4,300 digits, plain ids of at most 255 characters, amounts below 10^18, at most
1000 items and 100 charges. Whatever a hostile body makes the reading raise comes out as
:class:`InvalidOrderBody`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from order_lifecycle._json import Problem, as_list, as_object, fail, loads
from order_lifecycle.exceptions import InvalidOrderBody

from ._payload import OrderSnapshot, read_order
from ._typed import typed_order

__all__ = ["MAX_BODY", "parse_order", "parse_order_lookup"]

T = TypeVar("T")

MAX_BODY = 2**20
"""The largest body read (1 MiB, as the webhook inbox's limit)."""


def parse_order(body: bytes | bytearray | str) -> OrderSnapshot:
    """The order object of a ``GET /orders/{id}`` body, as a snapshot.

    Raises:
        InvalidOrderBody: not bytes or str, over :data:`MAX_BODY`, not JSON, or not the
            provider's order shape; names the field.

    """
    return _guarded(body, lambda data: read_order(data, ""), typed_order)


def parse_order_lookup(body: bytes | bytearray | str) -> OrderSnapshot | None:
    """The order a lookup by checkout id found (``{"data": [order]}``), or ``None``.

    A checkout becomes at most one order, so a list of two or more is refused.

    Raises:
        InvalidOrderBody: as :func:`parse_order`, or no ``data`` list, or more than one
            order in it.

    """
    return _guarded(body, _lookup)


def _lookup(data: object) -> OrderSnapshot | None:
    orders = as_list(as_object(data, "", "the body").get("data"), "data")
    if len(orders) > 1:
        fail("data", f"{len(orders)} orders for one checkout; a checkout makes at most one")
    return read_order(orders[0], "data[0]") if orders else None


def _guarded(
    body: bytes | bytearray | str,
    read: Callable[[object], T],
    typed: Callable[[object], T | None] | None = None,
) -> T:
    if not isinstance(body, (bytes, bytearray, str)):
        raise InvalidOrderBody("", f"the body must be bytes or str, not {type(body).__name__}")
    size = len(body) if not isinstance(body, str) else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY:
        raise InvalidOrderBody("", f"the body is {size} bytes long, over the limit of {MAX_BODY}")
    found = None if typed is None else typed(body)  # the typed decoder, for the common case
    if found is not None:
        return found
    try:
        return read(loads(body))
    except Problem as problem:
        raise InvalidOrderBody(problem.field, problem.message) from None
    except Exception as error:  # a hostile body must not escape as an untyped error
        reason = f"the body could not be read ({type(error).__name__})"
        raise InvalidOrderBody("", reason) from error

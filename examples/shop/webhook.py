"""The shop's webhook endpoint: the raw body and headers in, the status to answer out.

A web route calls it with the request's bytes and headers (any framework: see
``order_lifecycle.integrations`` for Starlette and Django). It does nothing but store the
delivery in the inbox (``Inbox.accept``): a reconciler applies it, and what the shop must
do next comes out of the outbox, as actions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from order_lifecycle.exceptions import StoreError
from order_lifecycle.webhooks import SIGNATURE_HEADER, Delivery, Inbox, error_status

Endpoint = Callable[[bytes, Mapping[str, str]], int]


def webhook(inbox: Inbox) -> Endpoint:
    """The endpoint storing each delivery in ``inbox``."""

    def endpoint(body: bytes, headers: Mapping[str, str]) -> int:
        try:
            (result,) = inbox.accept([Delivery(body, signature(headers))])
        except StoreError as error:  # nothing was stored: the provider's retry will go in
            return error_status(error)
        return result.status_code

    return endpoint


def signature(headers: Mapping[str, str]) -> str | None:
    """The signature header's value (header names are case-insensitive)."""
    wanted = SIGNATURE_HEADER.lower()
    return next((value for name, value in headers.items() if name.lower() == wanted), None)

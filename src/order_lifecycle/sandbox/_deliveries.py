"""Signed webhook deliveries: what the provider posts, as an inbox and a shop's endpoint see it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import attrs

from order_lifecycle.webhooks import SIGNATURE_HEADER, Delivery, sign

__all__ = ["TEST_SECRET", "SignedDelivery", "signed_delivery"]

TEST_SECRET = "whsec_order_lifecycle_testing"  # noqa: S105 (a made-up secret, for tests)
"""The signing secret the kit's deliveries are signed with unless told otherwise."""

_LATENCY = timedelta(seconds=1)


@attrs.frozen
class SignedDelivery(Delivery):
    """A webhook delivery as the provider posts it: raw body, signature header, arrival time.

    It is a :class:`~order_lifecycle.Delivery`, so :meth:`Inbox.receive
    <order_lifecycle.Inbox.receive>` takes it as it is; a shop's endpoint gets
    :attr:`body` and :attr:`headers`. ``kind`` says what the kit made it as: ``valid``, a
    ``redelivery``, or the hostile kind (``forged``, ``stale``, ``malformed``,
    ``oversized``, ``poison_id``).

    Example::

        response = client.post("/webhooks", content=d.body, headers=d.headers)
    """

    kind: str = attrs.field(default="valid", kw_only=True)

    @property
    def headers(self) -> dict[str, str]:
        """The HTTP headers of the post: the content type, and the signature if any."""
        headers = {"Content-Type": "application/json"}
        if self.signature is not None:
            headers[SIGNATURE_HEADER] = self.signature
        return headers

    def payload(self) -> Any:  # noqa: ANN401 (JSON, whatever the body holds)
        """The body's JSON (for a test that builds on a valid delivery).

        Raises:
            ValueError: the body is not JSON (some hostile deliveries).

        """
        return json.loads(self.body)


def signed_delivery(
    body: bytes,
    *,
    at: datetime,
    secret: str | bytes = TEST_SECRET,
    kind: str = "valid",
    latency: timedelta = _LATENCY,
) -> SignedDelivery:
    """``body`` signed with ``secret`` at ``at``, and received ``latency`` later.

    Example::

        delivery = signed_delivery(b'{"id": "evt-1", ...}', at=datetime.now(UTC))
        Inbox(store, secrets=[TEST_SECRET]).receive([delivery])
    """
    return SignedDelivery(body, sign(body, secret, at), at + latency, kind=kind)

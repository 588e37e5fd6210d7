"""Hostile webhook deliveries: forged, stale, malformed, oversized, or with poisoned ids."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.sandbox import TEST_SECRET, SignedDelivery, signed_delivery
from order_lifecycle.sandbox import shapes as ev
from order_lifecycle.webhooks import DEFAULT_MAX_BODY, sign

from ._hostile import HOSTILE_NUMBERS

__all__ = ["HOSTILE_KINDS", "hostile_deliveries"]

Json = dict[str, Any]

HOSTILE_KINDS = ("forged", "stale", "malformed", "oversized", "poison_id")
"""The kinds of :func:`hostile_deliveries`, as their :attr:`SignedDelivery.kind` says."""

# Ids every store refuses: empty, NUL, lone surrogates, longer than 255 characters.
_POISON_IDS = st.sampled_from(["", "\x00", "a\x00b", "\ud800", "x\udfff", "x" * 256])
_WRONG_SECRETS = st.sampled_from(["whsec_not_the_secret", "whsec_order_lifecycle_testin"])
_SKEW = st.integers(1, 30 * 86400).map(lambda s: timedelta(seconds=s))


@st.composite
def _event(draw: st.DrawFn) -> Json:
    """A small valid ``order.accepted`` event: what hostile deliveries start from."""
    order_id = f"h{draw(st.integers(1, 10**6))}"
    sent = ev.at(draw(st.integers(0, 10**6)))
    obj = ev.order(
        order_id,
        "accepted",
        transitions={"accepted": sent},
        items=[ev.item(f"{order_id}-1", draw(st.integers(1, 3)), physical=draw(st.booleans()))],
        charges=[ev.charge(f"ch-{order_id}", "capturable", float(draw(st.integers(1, 500))))],
    )
    return ev.event(f"evt-{order_id}", "order.accepted", obj, sent)


def _sent(event: Json) -> datetime:
    """When the event was sent: its ``createdTime``."""
    return datetime.fromisoformat(event["createdTime"])


@st.composite
def _forged(draw: st.DrawFn, secret: str | bytes) -> SignedDelivery:
    event = draw(_event())
    body, sent = ev.raw(event), _sent(event)
    how = draw(st.sampled_from(["wrong secret", "tampered", "unsigned", "garbage header"]))
    if how == "wrong secret":
        return signed_delivery(body, at=sent, secret=draw(_WRONG_SECRETS), kind="forged")
    if how == "tampered":  # signed, then changed on the way: the state moved on
        signed = signed_delivery(body, at=sent, secret=secret, kind="forged")
        tampered = body.replace(b'"state": "accepted"', b'"state": "complete"', 1) + b" "
        return SignedDelivery(tampered, signed.signature, signed.received_at, kind="forged")
    header = None if how == "unsigned" else draw(st.text(max_size=60))
    return SignedDelivery(body, header, sent + timedelta(seconds=1), kind="forged")


@st.composite
def _stale(draw: st.DrawFn, secret: str | bytes, max_age: timedelta) -> SignedDelivery:
    event = draw(_event())
    body, sent = ev.raw(event), _sent(event)
    skew = max_age + draw(_SKEW)
    # Signed long before it arrived (a replay), or in the future (a skewed clock).
    signed_at = sent - skew if draw(st.booleans()) else sent + skew
    return SignedDelivery(body, sign(body, secret, signed_at), sent, kind="stale")


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@st.composite
def _malformed_body(draw: st.DrawFn) -> bytes:  # noqa: PLR0911 (one return per way)
    event = draw(_event())
    body = ev.raw(event)
    how = draw(
        st.sampled_from(
            ["truncated", "bytes", "not an object", "missing", "wrong type", "huge", "deep"]
        )
    )
    if how == "truncated":
        return body[: draw(st.integers(0, len(body) - 1))]
    if how == "bytes":
        return b"\xff" + draw(st.binary(max_size=40))
    if how == "not an object":
        return json.dumps(draw(st.sampled_from([[], None, 1, "event", [event]]))).encode()
    if how == "missing":
        key = draw(st.sampled_from(["id", "type", "createdTime", "data"]))
        del event[key]
        return ev.raw(event)
    obj = event["data"]["object"]
    if how == "wrong type":
        field, value = draw(
            st.sampled_from(
                [
                    ("state", "shipped"),
                    ("state", 7),
                    ("items", {"id": "x"}),
                    ("fraudState", "maybe"),
                    ("currency", "dollars"),
                ]
            )
        )
        obj[field] = value
        return ev.raw(event)
    if how == "huge":  # an amount past the parser's limits, as raw JSON number text
        number = draw(HOSTILE_NUMBERS.filter(_too_large) | st.sampled_from(["1e18", "-1e19"]))
        obj["payment"]["charges"][0]["amount"] = "@@amount@@"
        return ev.raw(event).replace(b'"@@amount@@"', number.encode(), 1)
    obj["items"][0]["productDetails"]["extra"] = "@@deep@@"
    return ev.raw(event).replace(b'"@@deep@@"', _nested(draw(st.integers(40, 200))).encode(), 1)


def _too_large(number: str) -> bool:
    """Whether the parser refuses ``number`` as an amount (10^18 or more, or too many digits)."""
    digits = number.lstrip("-")
    if digits.isdigit():
        return len(digits) > 18
    mantissa, _, exponent = number.partition("e")
    try:
        return bool(exponent) and int(exponent) >= 18 and int(mantissa) != 0
    except ValueError:
        return False


@st.composite
def _poison_id(draw: st.DrawFn) -> bytes:
    event = draw(_event())
    obj = event["data"]["object"]
    poison = draw(_POISON_IDS)
    where = draw(st.sampled_from(["event", "type", "order", "item", "charge", "checkout"]))
    if where == "event":
        event["id"] = poison
    elif where == "type":
        event["type"] = poison
    elif where == "order":
        obj["id"] = poison
    elif where == "item":
        obj["items"][0]["id"] = poison
    elif where == "charge":
        obj["payment"]["charges"][0]["id"] = poison
    else:
        obj["checkoutId"] = poison
    return ev.raw(event)  # ensure_ascii: surrogates travel as \ud800 escapes


@st.composite
def _oversized(draw: st.DrawFn, secret: str | bytes, max_body: int) -> SignedDelivery:
    event = draw(_event())
    body = ev.raw(event)
    # A valid event, padded past the limit with the whitespace JSON allows.
    padded = body + b" " * (max_body - len(body) + draw(st.integers(1, 64)))
    return signed_delivery(padded, at=_sent(event), secret=secret, kind="oversized")


def _signed(
    bodies: st.SearchStrategy[bytes], secret: str | bytes, kind: str
) -> st.SearchStrategy[SignedDelivery]:
    return bodies.map(lambda body: signed_delivery(body, at=ev.T0, secret=secret, kind=kind))


def hostile_deliveries(
    secret: str | bytes = TEST_SECRET,
    *,
    max_age: timedelta = timedelta(minutes=5),
    max_body: int = DEFAULT_MAX_BODY,
    kinds: tuple[str, ...] = HOSTILE_KINDS,
) -> st.SearchStrategy[SignedDelivery]:
    """A delivery an inbox must refuse: forged, stale, malformed, oversized, or poisoned.

    - ``forged``: signed with another secret, changed after signing, unsigned, or with a
      random header;
    - ``stale``: signed with ``secret`` more than ``max_age`` before it arrived (a replay),
      or as far in the future;
    - ``malformed``: signed, but not JSON, truncated, not an object, missing the envelope's
      fields, with a wrong state or type, an amount past the parser's limits, or nested too
      deep;
    - ``oversized``: a valid event, signed, padded past ``max_body`` bytes;
    - ``poison_id``: signed, with an id no store can hold (empty, NUL, a lone surrogate,
      over 255 characters) as its event, type, order, item, charge or checkout id.

    An :class:`~order_lifecycle.Inbox` with ``secrets=[secret]``, ``max_age`` and
    ``max_body`` answers each as ``invalid``, with a reason, and changes no order: the
    forged and stale ones 401 and the oversized 413 (refused unread: only a summary kept),
    the malformed and poisoned ones 202 (signed: stored as invalid, or 200 ``duplicate``
    when the same bytes or event id were stored before).

    Example::

        @given(hostile_deliveries())
        def test_my_endpoint_refuses(delivery):
            response = client.post("/hook", content=delivery.body, headers=delivery.headers)
            assert response.status_code in {200, 202, 401, 413}
            assert orders_in_my_database() == []
    """
    unknown = set(kinds) - set(HOSTILE_KINDS)
    if unknown or not kinds:
        raise InvalidInput(
            f"kinds must be some of {', '.join(HOSTILE_KINDS)}; got {', '.join(map(repr, kinds))}."
        )
    strategies = {
        "forged": _forged(secret),
        "stale": _stale(secret, max_age),
        "malformed": _signed(_malformed_body(), secret, "malformed"),
        "oversized": _oversized(secret, max_body),
        "poison_id": _signed(_poison_id(), secret, "poison_id"),
    }
    return st.one_of(*(strategies[kind] for kind in kinds))

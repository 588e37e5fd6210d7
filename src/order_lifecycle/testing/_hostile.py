"""Hostile values for parsers: poisoned strings, absurd numbers, bodies made of them.

For webhook bodies (:func:`hostile_bodies`) and ``POST /orders`` responses
(:func:`hostile_responses`). Strings may hold NUL, lone surrogates and any other code point;
numbers are raw JSON number text, from ordinary to past ``Decimal``'s and ``int``'s limits.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from ._lives import order_lives

__all__ = [
    "HOSTILE_AMOUNTS",
    "HOSTILE_NUMBERS",
    "HOSTILE_TEXT",
    "POISON",
    "hostile_bodies",
    "hostile_responses",
]

Json = dict[str, Any]

POISON = st.sampled_from(["", "\x00", "\ud800", "\udfff", "a\x00b", "x" * 300, "\U0001f600"])
"""Strings that often break code reading ids: empty, NUL, lone surrogates, too long."""

HOSTILE_TEXT = st.one_of(
    POISON,
    st.text(
        st.characters(exclude_categories=()) | st.sampled_from("\x00\ud800\udfff"), max_size=12
    ),
)
"""Text drawn from every code point, surrogates and NUL included."""

_RESPONSE_TEXT = st.text(
    st.characters(exclude_categories=()) | st.sampled_from(["\x00", "\ud800", "\udfff"]),
    max_size=12,
)

HOSTILE_NUMBERS = st.one_of(
    st.builds(
        lambda mantissa, exponent: f"{mantissa}e{exponent}",
        st.integers(-(10**6), 10**6),
        st.sampled_from([18, 19, 999999, 1000000, 9999999, -999999, -(10**7), 10**22, -(10**22)]),
    ),
    st.integers(-(10**40), 10**40).map(str),
    st.sampled_from(["9" * 4301, "-" + "1" * 5000, "1" + "0" * 18, "0.000000000000000000001"]),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
"""Raw JSON number text, from ordinary to absurd (past ``Decimal``'s and ``int``'s limits)."""

HOSTILE_AMOUNTS = st.one_of(
    HOSTILE_NUMBERS,
    st.sampled_from([10**5000, -(10**5000), 2**63, 2**64, 0, -1, 1, True, False]),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.sampled_from([Decimal("9e999999"), Decimal("1e-999999"), Decimal("sNaN"), Decimal("-0")]),
    st.none(),
    HOSTILE_TEXT,
    st.binary(max_size=8),
    st.sampled_from([[], {}, object()]),
)
"""Whatever a caller may pass as an amount: numbers of every type and size, text, junk."""


def _leaves(value: object, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return [path]


@st.composite
def _hostile_bodies(draw: st.DrawFn, payloads: st.SearchStrategy[Json]) -> bytes:
    payload = copy.deepcopy(draw(payloads))
    leaves = _leaves(payload)
    chosen = draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=6, unique=True))
    numbers: dict[str, str] = {}
    for path in chosen:
        target = payload
        for key in path[:-1]:
            target = target[key]
        value = target[path[-1]]
        if isinstance(target, dict) and draw(st.integers(0, 4)) == 0:
            target[draw(HOSTILE_TEXT)] = target.pop(path[-1])  # a hostile key, same value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            marker = f"@@number{len(numbers)}@@"
            numbers[marker] = draw(HOSTILE_NUMBERS)
            target[path[-1]] = marker
        else:
            target[path[-1]] = draw(HOSTILE_TEXT)
    body = json.dumps(payload)  # ensure_ascii: surrogates travel as \ud800 escapes
    for marker, number in numbers.items():
        body = body.replace(f'"{marker}"', number)
    return body.encode()


def _valid_events() -> st.SearchStrategy[Json]:
    return order_lives(max_moves=6).flatmap(lambda life: st.sampled_from(life.events))


def hostile_bodies(payloads: st.SearchStrategy[Json] | None = None) -> st.SearchStrategy[bytes]:
    """A valid event whose strings, numbers and keys are partly replaced by hostile ones.

    The event is drawn from ``payloads`` (by default, any event of :func:`order_lives`);
    some of its strings (and keys) become text that may hold NUL, lone surrogates and any
    other code point, some of its numbers raw JSON number text: huge or tiny exponents,
    integers of thousands of digits, negatives. The result is well-formed JSON in the
    provider's shape, hostile in its values, as bytes; it may still be a valid event (a
    poisoned ``email`` changes nothing), so a parser must either read it or refuse it with
    :class:`~order_lifecycle.exceptions.InvalidEvent`.

    Example::

        @given(hostile_bodies())
        def test_parse_refuses_with_typed_errors(body):
            with contextlib.suppress(InvalidEvent):
                parse_event(body)
    """
    return _hostile_bodies(_valid_events() if payloads is None else payloads)


# Text that surely holds NUL or a lone surrogate, for the ids of an otherwise valid 201.
_UNCLEAN_TEXT = st.builds(
    "".join,
    st.tuples(_RESPONSE_TEXT, st.sampled_from(["\x00", "\ud800", "\udfff"]), _RESPONSE_TEXT),
)

# JSON number literals that overflow or exhaust Python's number types.
_RESPONSE_NUMBERS = st.sampled_from(
    [
        "9e999999",
        "-9e999999",
        "1e-999999",
        "9E+9999999999",
        "1e400",
        "9" * 4300,
        "9" * 4301,
        "-0",
        "0.000000000000000000000000001",
    ]
) | st.decimals(allow_nan=False, allow_infinity=False).map(str)


class _Number(str):
    """A number literal, written into the JSON text as it is."""

    __slots__ = ()


def _dumps(value: object) -> str:
    """JSON text of ``value``, with each :class:`_Number` written as a bare literal."""
    numbers: list[str] = []

    def placeholder(item: object) -> object:
        if isinstance(item, _Number):
            numbers.append(str(item))
            return f"\x01{len(numbers) - 1}\x01"
        if isinstance(item, dict):
            return {key: placeholder(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [placeholder(inner) for inner in item]
        return item

    text = json.dumps(placeholder(value))
    for index, number in enumerate(numbers):
        text = text.replace(f'"\\u0001{index}\\u0001"', number, 1)
    return text


_KEYS = (
    st.sampled_from(
        ["id", "state", "errors", "items", "payment", "charges", "code", "message", "amount"]
    )
    | _RESPONSE_TEXT
)
_SCALARS = (
    st.none() | st.booleans() | st.integers() | _RESPONSE_TEXT | _RESPONSE_NUMBERS.map(_Number)
)
_JSON: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


def _created(checkout_id: str) -> dict[str, Any]:
    """A 201 body in the provider's shape, to make hostile one field at a time."""
    return {
        "id": "190000000001",
        "state": "accepted",
        "checkoutId": checkout_id,
        "fraudState": "passed",
        "currency": "USD",
        "items": [{"id": "it-1", "quantity": 2, "amount": 10, "productDetails": {}}],
        "payment": {
            "charges": [
                {
                    "id": "ch-1",
                    "state": "failed",
                    "amount": 20,
                    "failureCode": "declined",
                    "failureMessage": "Your card was declined.",
                }
            ]
        },
        "totalAmount": 20,
    }


_PLACES = [
    ("id",),
    ("state",),
    ("checkoutId",),
    ("fraudState",),
    ("currency",),
    ("totalAmount",),
    ("items", 0, "id"),
    ("items", 0, "quantity"),
    ("items", 0, "amount"),
    ("payment", "charges", 0, "id"),
    ("payment", "charges", 0, "amount"),
    ("payment", "charges", 0, "failureCode"),
    ("payment", "charges", 0, "failureMessage"),
]


@st.composite
def _hostile_created(draw: st.DrawFn, checkout_id: str) -> str:
    body = _created(checkout_id)
    for place in draw(st.lists(st.sampled_from(_PLACES), min_size=1, max_size=3)):
        target: Any = body
        for key in place[:-1]:
            target = target[key]
        target[place[-1]] = draw(_UNCLEAN_TEXT | _RESPONSE_NUMBERS.map(_Number) | _SCALARS | _JSON)
    return _dumps(body)


@st.composite
def _hostile_errors(draw: st.DrawFn) -> str:
    entry = draw(st.dictionaries(st.sampled_from(["code", "message", "parameter"]), _SCALARS))
    return _dumps({"type": draw(_SCALARS), "errors": [entry]})


# Mostly the statuses POST /orders answers with; then any HTTP status; then any int at all.
_STATUS_CODES = (
    st.sampled_from([201, 400, 404, 409, 422, 500, 503]) | st.integers(100, 599) | st.integers()
)


def hostile_responses(checkout_id: str) -> st.SearchStrategy[tuple[int, str | bytes]]:
    """A ``POST /orders`` response a broken or hostile provider (or proxy) could send.

    Any int status with any body (bytes, text, random JSON whose strings may hold NUL and
    lone surrogates and whose numbers may have huge exponents or thousands of digits), or
    201 bodies in the provider's shape with one field made hostile, or hostile error bodies.
    Recording one gives an outcome or
    :class:`~order_lifecycle.exceptions.InvalidResponse`, nothing else.

    Example::

        @given(hostile_responses("chk-1"))
        def test_my_submit_survives(response):
            status, body = response
            with contextlib.suppress(InvalidResponse):
                record_response(submitting_checkout(), status, body)
    """
    random_json = _JSON.map(_dumps)
    bodies = (
        st.binary(max_size=40)
        | _RESPONSE_TEXT
        | random_json
        | random_json.map(lambda text: text.encode("utf-8", "surrogatepass"))
    )
    return st.one_of(
        st.tuples(_STATUS_CODES, bodies),
        st.tuples(st.just(201), _hostile_created(checkout_id)),
        st.tuples(st.sampled_from([400, 404, 409, 422, 500]), _hostile_errors()),
    )

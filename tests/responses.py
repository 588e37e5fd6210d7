"""``POST /orders`` responses a broken or hostile provider (or proxy) could send.

For the checkout and ledger suites: any status code, random bytes, random JSON whose strings
may hold NUL and lone surrogates and whose numbers may have huge exponents or thousands of
digits, and 201 bodies in the provider's shape with one field made hostile.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Strings with what a database or a page cannot take: NUL and lone surrogates among them.
HOSTILE_TEXT = st.text(
    st.characters(exclude_categories=()) | st.sampled_from(["\x00", "\ud800", "\udfff"]),
    max_size=12,
)

# Text that surely holds one of them, for the ids of an otherwise valid 201.
UNCLEAN_TEXT = st.builds(
    "".join,
    st.tuples(HOSTILE_TEXT, st.sampled_from(["\x00", "\ud800", "\udfff"]), HOSTILE_TEXT),
)

# JSON number literals that overflow or exhaust Python's number types.
HOSTILE_NUMBERS = st.sampled_from(
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
    | HOSTILE_TEXT
)
_SCALARS = st.none() | st.booleans() | st.integers() | HOSTILE_TEXT | HOSTILE_NUMBERS.map(_Number)
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
        target[place[-1]] = draw(UNCLEAN_TEXT | HOSTILE_NUMBERS.map(_Number) | _SCALARS | _JSON)
    return _dumps(body)


@st.composite
def _hostile_errors(draw: st.DrawFn) -> str:
    entry = draw(st.dictionaries(st.sampled_from(["code", "message", "parameter"]), _SCALARS))
    return _dumps({"type": draw(_SCALARS), "errors": [entry]})


# Mostly the statuses POST /orders answers with; then any HTTP status; then any int at all.
STATUS_CODES = (
    st.sampled_from([201, 400, 404, 409, 422, 500, 503]) | st.integers(100, 599) | st.integers()
)


def hostile_responses(checkout_id: str) -> st.SearchStrategy[tuple[int, str | bytes]]:
    """Any int status with any body (bytes, text, random JSON), or hostile 201 and 4xx bodies."""
    random_json = _JSON.map(_dumps)
    bodies = (
        st.binary(max_size=40)
        | HOSTILE_TEXT
        | random_json
        | random_json.map(lambda text: text.encode("utf-8", "surrogatepass"))
    )
    return st.one_of(
        st.tuples(STATUS_CODES, bodies),
        st.tuples(st.just(201), _hostile_created(checkout_id)),
        st.tuples(st.sampled_from([400, 404, 409, 422, 500]), _hostile_errors()),
    )


_CODE_KEYS, _MESSAGE_KEYS = {"code", "failureCode"}, {"message", "failureMessage"}


def _strings_at(body: str | bytes, keys: set[str]) -> list[str]:
    """Every string under one of ``keys``, at any depth of the JSON ``body`` (none if not JSON)."""
    try:
        pending: list[object] = [json.loads(body)]
    except ValueError:
        return []
    found = []
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            found += [v for k, v in value.items() if k in keys and isinstance(v, str)]
            pending += value.values()
        elif isinstance(value, list):
            pending += value
    return found


def codes_in(body: str | bytes) -> list[str]:
    """The ``code`` and ``failureCode`` strings of a body."""
    return _strings_at(body, _CODE_KEYS)


def messages_in(body: str | bytes) -> list[str]:
    """The ``message`` and ``failureMessage`` strings of a body."""
    return _strings_at(body, _MESSAGE_KEYS)


def mentioned(codes: list[str], text: str) -> list[str]:
    """The codes (stripped, not blank) that ``text`` contains, case-insensitively."""
    folded = text.casefold()
    return [c for c in codes if c.strip() and c.strip().casefold() in folded]

"""Hypothesis strategies for hostile webhook bodies: the fixtures, with their values poisoned.

:func:`hostile_bodies` takes an event of a hand-written life (:mod:`tests.webhook_events`)
and replaces some of its strings (and keys) by text that may hold NUL, lone surrogates and
any other code point, and some of its numbers by raw JSON number text: huge or tiny
exponents, integers of thousands of digits, negatives. The result is well-formed JSON in
the provider's shape, hostile in its values, as bytes.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from . import webhook_events as ev

POISON = st.sampled_from(["", "\x00", "\ud800", "\udfff", "a\x00b", "x" * 300, "\U0001f600"])
"""Strings that often break code reading ids: empty, NUL, lone surrogates, too long."""

HOSTILE_TEXT = st.one_of(
    POISON,
    st.text(
        st.characters(exclude_categories=()) | st.sampled_from("\x00\ud800\udfff"), max_size=12
    ),
)
"""Text drawn from every code point, surrogates and NUL included."""

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


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))]
    return [path]


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    """A fixture event whose strings, numbers and keys are partly replaced by hostile ones."""
    life = draw(st.sampled_from(sorted(ev.ALL_LIVES)))
    payload = draw(st.sampled_from(ev.ALL_LIVES[life]()))
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

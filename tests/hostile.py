"""Hostile values for the tests: bodies made from the hand-written lives, any argument.

:func:`hostile_bodies` is the kit's :func:`~order_lifecycle.testing.hostile_bodies`,
drawing its events from the fixtures (:mod:`tests.webhook_events`): their strings,
numbers and keys partly replaced by hostile ones. :data:`VALUES` is any value a caller
might wrongly pass: nothing, booleans, huge or odd numbers, text with NUL and lone
surrogates, bytes, lists, moments with and without an offset, a bare object.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from order_lifecycle import testing
from order_lifecycle.testing import HOSTILE_NUMBERS, HOSTILE_TEXT

from . import webhook_events as ev

_FIXTURE_EVENTS = st.sampled_from([payload for life in ev.ALL_LIVES.values() for payload in life()])


def hostile_bodies() -> st.SearchStrategy[bytes]:
    """A fixture event whose strings, numbers and keys are partly replaced by hostile ones."""
    return testing.hostile_bodies(_FIXTURE_EVENTS)


VALUES: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | HOSTILE_NUMBERS
    | st.integers()
    | HOSTILE_TEXT
    | st.binary(max_size=20)
    | st.lists(HOSTILE_TEXT | st.integers(), max_size=3)
    | st.just(datetime(2026, 4, 10, tzinfo=UTC))
    | st.just(datetime(2026, 1, 1))  # noqa: DTZ001 (a naive moment: refused)
    | st.just(object())
)
"""Any value a caller might wrongly pass, for the hostile-input tests of an entry point."""

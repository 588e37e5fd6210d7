"""Hostile webhook bodies made from the hand-written lives (:mod:`tests.webhook_events`).

The kit's :func:`~order_lifecycle.testing.hostile_bodies`, drawing its events from the
fixtures: their strings, numbers and keys partly replaced by hostile ones.
"""

from __future__ import annotations

from hypothesis import strategies as st

from order_lifecycle import testing

from . import webhook_events as ev

_FIXTURE_EVENTS = st.sampled_from([payload for life in ev.ALL_LIVES.values() for payload in life()])


def hostile_bodies() -> st.SearchStrategy[bytes]:
    """A fixture event whose strings, numbers and keys are partly replaced by hostile ones."""
    return testing.hostile_bodies(_FIXTURE_EVENTS)

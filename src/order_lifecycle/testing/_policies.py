"""The shop's own kinds of action, drawn: subscriptions to provider events, listeners.

:func:`subscriptions` and :func:`listeners` draw what a shop declares on its
:class:`~order_lifecycle.actions.ActionPolicy` (``subscribe=``, ``listen=``), each valid,
so that a property test can check that every delivery or transition a policy names
becomes its action once, whatever the policy.
"""

from __future__ import annotations

from hypothesis import strategies as st

from order_lifecycle.actions import Listener, on
from order_lifecycle.lifecycle import PROVIDER_EVENT_TYPES, ActionKind, OrderEvent, OrderState

__all__ = ["listeners", "subscriptions"]

_TYPES = sorted(PROVIDER_EVENT_TYPES)
_PREFIXES = sorted(
    {".".join(t.split(".")[:n]) + ".*" for t in _TYPES for n in range(1, t.count(".") + 1)}
)
_TABLE_KINDS = frozenset(ActionKind)
_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(
    lambda name: name not in _TABLE_KINDS  # a shop's kind is named apart from the table's
)


def subscriptions(max_kinds: int = 3) -> st.SearchStrategy[dict[str, list[str]]]:
    """A shop's ``subscribe=``: kind names, each with exact types and ``.*`` prefixes."""
    patterns = st.lists(
        st.sampled_from(_TYPES) | st.sampled_from(_PREFIXES), min_size=1, max_size=4
    )
    return st.dictionaries(_NAMES, patterns, max_size=max_kinds)


def listeners(max_kinds: int = 3) -> st.SearchStrategy[dict[str, Listener]]:
    """A shop's ``listen=``: kind names, each hearing states, events, sources, or all."""
    states = st.none() | st.lists(st.sampled_from(list(OrderState)), min_size=1, max_size=3)
    events = st.none() | st.lists(st.sampled_from(list(OrderEvent)), min_size=1, max_size=3)
    heard = st.builds(on, states, event=events, source=states)
    return st.dictionaries(_NAMES, heard, max_size=max_kinds)

"""A model's history as a list that, once long, keeps an index of what it holds.

A reconciler asks two things of an order's history for every delivery: whether a step
carries the delivery's event id (:func:`announced`), and how many times the order entered
a state (:func:`entries`: a dispute's actions are named ``dispute#2``). Read by a scan,
both grow with the history; a long-lived order holds thousands of steps.

:class:`History` is a plain ``list`` of steps, mutable as any list, that answers both from
an index once it holds :data:`INDEXED_FROM` steps (built by its first question or copy):
the set of its steps' event ids and a count of their destinations, for its first steps.
A short history has none (a live order stays small). The index stays true to the list:

- appending (``append``, ``extend``, ``+=``) leaves the indexed steps as they were: a
  question reads the steps appended since, and takes them into the index (into a new
  one when the index is shared, once more than :data:`UNINDEXED_TAIL` are unread);
- every other change made through the list's methods and operators (item or slice
  assignment, ``del``, ``insert``, ``pop``, ``remove``, ``clear``, ``sort``, ``reverse``,
  ``*=``, ``__init__``) drops the index, and the next question builds it again;
- a copy (:meth:`History.copy`, what ``Order.copy`` takes) shares its source's index
  read-only: neither list changes a shared index, so one copy's steps never show in
  the other's answers;
- a change made past the list's own methods (``list.__setitem__(history, ...)`` called
  on the base class) is not seen, except when it shortens the list below the indexed
  prefix or replaces the prefix's last step: the index is then dropped too.

Answers are the scan's exactly: a question the index cannot answer as the scan would (an
event id that is not a plain ``str``; a history whose ids or states compare otherwise
than ``str`` does) is answered by the scan.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, SupportsIndex, TypeVar

from order_lifecycle.exceptions import WrongType

from ._step import Step

__all__ = ["INDEXED_FROM", "UNINDEXED_TAIL", "History", "announced", "entries", "shared_prefix"]

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)

INDEXED_FROM = 64
"""How many steps a :class:`History` holds before it keeps an index (a scan is quicker below)."""

UNINDEXED_TAIL = 32
"""How many steps past its index a :class:`History` reads at each question before indexing them."""

_EVENT_ID = operator.attrgetter("_event_id")
_MOVE = operator.attrgetter("_move")
_DEST = operator.itemgetter(2)  # a move's destination: (event, source, dest, implied)
_NONE = type(None)
_STR_EQ: object = str.__eq__
_STR_HASH: object = str.__hash__


def _plain(kind: type) -> bool:
    """Whether values of ``kind`` compare and hash as ``str`` does (so a set finds them)."""
    return kind.__eq__ is _STR_EQ and kind.__hash__ is _STR_HASH


class _Index:
    """The event ids and destination counts of a history's first ``covered`` steps.

    Extended only by the one list that built it (``shared`` false); once a copy shares
    it, it never changes again.
    """

    __slots__ = ("counts", "covered", "ids", "last", "shared")

    def __init__(self, ids: set[Any], counts: dict[Any, int], steps: list[Any]) -> None:
        self.ids = ids
        self.counts = counts
        self.covered = len(steps)
        self.last = steps[-1]
        self.shared = False

    @classmethod
    def of(cls, steps: list[Any]) -> _Index | None:
        """The index of ``steps``; ``None`` when a set would not answer as the scan does."""
        try:
            ids = set(map(_EVENT_ID, steps))
            counts = Counter(map(_DEST, map(_MOVE, steps)))
        except (AttributeError, TypeError, IndexError):  # not steps: the scan raises
            return None
        if not _comparable(ids, counts):
            return None
        return cls(ids, counts, steps)

    def extended(self, tail: list[Any]) -> _Index | None:
        """This index and ``tail`` (the steps after it): itself when not shared, else a new one."""
        try:
            ids = set(map(_EVENT_ID, tail))
            dests = Counter(map(_DEST, map(_MOVE, tail)))
        except (AttributeError, TypeError, IndexError):
            return None
        if not _comparable(ids, dests):
            return None
        index = self
        if self.shared:
            index = _Index(self.ids.copy(), self.counts.copy(), tail)
        index.ids |= ids
        counts = index.counts
        for dest, count in dests.items():
            counts[dest] = counts.get(dest, 0) + count
        index.covered = self.covered + len(tail)
        index.last = tail[-1]
        return index


def _comparable(ids: set[Any], dests: dict[Any, int]) -> bool:
    """Whether the ids are plain ``str`` (or ``None``) and the states compare as ``str``."""
    return {type(i) for i in ids} <= {str, _NONE} and all(map(_plain, {type(d) for d in dests}))


class History(list[Step[S, E]]):
    """A model's history: a ``list`` of steps that keeps an index once it is long.

    Everything a list does, it does; :func:`announced` and :func:`entries` answer from its
    index (see the module's documentation for how the index stays true to the list).
    ``copy`` gives a ``History`` sharing the index; slices and ``+`` give plain lists.
    """

    __slots__ = ("_index",)

    _index: _Index | None

    def __init__(self, steps: Iterable[Step[S, E]] = ()) -> None:
        self._index = None
        super().__init__(steps)

    def copy(self) -> History[S, E]:
        """A new ``History`` of the same steps, sharing this one's index (read-only).

        A long history without an index builds it first, and keeps it: a store hands
        out copies of the orders it keeps, and each copy then reads no step twice.
        """
        clone: History[S, E] = _new_list(History)
        clone += self
        # A short history (most are) neither has nor builds an index: nothing more to do.
        index = _valid(self) if len(self) >= INDEXED_FROM else None
        if index is None and len(self) >= INDEXED_FROM:
            index = self._index = _Index.of(self)
        if index is not None:
            index.shared = True
        clone._index = index  # noqa: SLF001 (its own class)
        return clone

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        # Copies and pickles hold the steps only, never the index (see ``copy``).
        return History, (list(self),)

    # Every change but an append drops the index.

    def __setitem__(self, index: Any, value: Any) -> None:  # noqa: ANN401 (list's)
        self._index = None
        super().__setitem__(index, value)

    def __delitem__(self, index: Any) -> None:  # noqa: ANN401 (list's)
        self._index = None
        super().__delitem__(index)

    def __imul__(self, times: SupportsIndex) -> History[S, E]:
        self._index = None
        return super().__imul__(times)

    def insert(self, index: SupportsIndex, step: Step[S, E]) -> None:
        """As ``list.insert``; drops the index."""
        self._index = None
        super().insert(index, step)

    def pop(self, index: SupportsIndex = -1) -> Step[S, E]:
        """As ``list.pop``; drops the index."""
        self._index = None
        return super().pop(index)

    def remove(self, step: Step[S, E]) -> None:
        """As ``list.remove``; drops the index."""
        self._index = None
        super().remove(step)

    def clear(self) -> None:
        """As ``list.clear``; drops the index."""
        self._index = None
        super().clear()

    def sort(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 (list's)
        """As ``list.sort``; drops the index."""
        self._index = None
        super().sort(*args, **kwargs)

    def reverse(self) -> None:
        """As ``list.reverse``; drops the index."""
        self._index = None
        super().reverse()


_new_list = list.__new__


def _valid(steps: History[Any, Any]) -> _Index | None:
    """The list's index if it still describes the list's first steps as far as can be seen."""
    try:
        index = steps._index  # noqa: SLF001 (this module's class)
    except AttributeError:  # made by list.__new__ past the constructor
        return None
    if index is None:
        return None
    covered = index.covered
    if covered > len(steps) or steps[covered - 1] is not index.last:
        steps._index = None  # noqa: SLF001 (changed past the list's methods)
        return None
    return index


def _current(steps: History[Any, Any]) -> _Index | None:
    """A long list's index, built or extended as its length asks; ``None``: scan instead."""
    index = _valid(steps)
    size = len(steps)
    if index is None:
        index = _Index.of(steps)
    elif size > index.covered and (not index.shared or size - index.covered > UNINDEXED_TAIL):
        index = index.extended(steps[index.covered :])
    steps._index = index  # noqa: SLF001 (this module's class)
    return index


def announced(history: Iterable[Step[Any, Any]], event_id: str) -> bool:
    """Whether a step of ``history`` carries ``event_id``.

    A long :class:`History` answers from its index; anything else is scanned at the
    speed of C, not a property call a step.

    Raises:
        WrongType: ``history`` is not an iterable of steps.

    """
    if type(history) is History and len(history) >= INDEXED_FROM and type(event_id) is str:
        index = _current(history)
        if index is not None:
            if event_id in index.ids:
                return True
            history = history[index.covered :]
    try:
        return event_id in map(_EVENT_ID, history)
    except (AttributeError, TypeError):  # a step that is none, or no history at all
        raise WrongType("history", "an iterable of Steps", history) from None


def entries(history: Iterable[Step[Any, Any]], state: StrEnum) -> int:
    """How many steps of ``history`` entered ``state``.

    A long :class:`History` answers from its index; anything else is counted at the
    speed of C: a dispute's actions are named by their entry (``dispute#2``).

    Raises:
        WrongType: ``history`` is not an iterable of steps.

    """
    found = 0
    if type(history) is History and len(history) >= INDEXED_FROM and _plain(type(state)):
        index = _current(history)
        if index is not None:
            found = index.counts.get(state, 0)
            history = history[index.covered :]
    try:
        return found + operator.countOf(map(_DEST, map(_MOVE, history)), state)
    except (AttributeError, TypeError):  # a step that is none, or no history at all
        raise WrongType("history", "an iterable of Steps", history) from None


def shared_prefix(first: list[Any], second: list[Any]) -> int:
    """How many first steps the two lists are known to hold alike (the same objects), or 0.

    Two :class:`History` lists sharing one index (one is a copy of the other, and both
    only appended since) hold the same steps as far as it reaches: a store checking that
    an update only appended compares the steps past it only.
    """
    if type(first) is not History or type(second) is not History:
        return 0
    index = _valid(first)
    if index is None or index is not _valid(second):
        return 0
    return index.covered

"""A history list's index answers as a scan does, whatever the list, its changes and copies."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
)

from order_lifecycle.exceptions import WrongType
from order_lifecycle.lifecycle import (
    CheckoutState,
    History,
    OrderEvent,
    OrderState,
    Step,
    _history,
    announced,
    entries,
    shared_prefix,
)
from order_lifecycle.models import Order
from order_lifecycle.testing import HOSTILE_TEXT

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Odd(StrEnum):
    """States that equal their text but compare otherwise: a set cannot answer for them."""

    DISPUTE = "dispute"
    ELSEWHERE = "elsewhere"

    def __eq__(self, other: object) -> bool:
        """As ``str``'s."""
        return str.__eq__(self, other)

    def __hash__(self) -> int:
        """Not as ``str``'s."""
        return 0


class Text(str):
    """An event id that is a ``str`` but not exactly one."""

    __slots__ = ()


EVENT_IDS: list[str | None] = [None, "evt-1", "evt-2", "evt-3", Text("evt-2")]
ASKED = ["evt-1", "evt-2", "evt-3", "evt-4", "", Text("evt-1")]
DESTS: list[StrEnum] = [
    *OrderState,
    CheckoutState.OPEN,  # another enum of the same kind
    Odd.DISPUTE,  # equal to OrderState.DISPUTE by its text, hashed otherwise
]

# Steps are values a history shares with its copies: drawn from one pool, so that two
# histories hold the same step objects (as an order and its copy do).
_POOL = [
    Step(None if n % 7 == 0 else OrderEvent.ACCEPT, None, dest, T0, event_id)
    for n, (dest, event_id) in enumerate(
        (dest, event_id) for dest in DESTS for event_id in EVENT_IDS
    )
]
PLAIN_POOL = [s for s in _POOL if type(s.dest) is not Odd and type(s.event_id) is not Text]
STEPS = st.sampled_from(PLAIN_POOL) | st.sampled_from(_POOL)  # mostly plain: indexed


def scanned(history: list[Any], event_id: str) -> bool:
    """Whether a step carries ``event_id``, by its public attribute, one step at a time."""
    return any(step.event_id == event_id for step in history)


def counted(history: list[Any], state: StrEnum) -> int:
    """How many steps entered ``state``, by their public attribute, one step at a time."""
    return sum(step.dest == state for step in history)


def assert_answers_as_a_scan(history: list[Any]) -> None:
    """Every event id and state asked: ``announced`` and ``entries`` as a scan answers."""
    for event_id in ASKED:
        assert announced(history, event_id) is scanned(history, event_id), event_id
    for state in DESTS:
        assert entries(history, state) == counted(history, state), state


@contextmanager
def small_thresholds(indexed_from: int = 4, tail: int = 2) -> Iterator[None]:
    """Histories index from ``indexed_from`` steps and read at most ``tail`` past the index."""
    saved = (_history.INDEXED_FROM, _history.UNINDEXED_TAIL)
    _history.INDEXED_FROM, _history.UNINDEXED_TAIL = indexed_from, tail
    try:
        yield
    finally:
        _history.INDEXED_FROM, _history.UNINDEXED_TAIL = saved


@pytest.fixture
def small_index() -> Iterator[None]:
    """Histories index from 4 steps and read at most 2 past their index."""
    with small_thresholds():
        yield


def indexed(steps: list[Step[Any, Any]]) -> History[Any, Any]:
    """``steps`` as a history that has built its index."""
    history: History[Any, Any] = History(steps)
    history.copy()
    assert history._index is not None
    return history


PLAIN = PLAIN_POOL[:6]
CHANGES = [
    *("setitem", "setslice", "delitem", "delslice", "insert", "pop", "remove"),
    *("clear", "sort", "reverse", "imul", "init"),
]
"""Every change a list takes but an append."""


class HistoryChanges(RuleBasedStateMachine):
    """Histories, copies and orders changed at random; each answer checked against a scan.

    The index is built from 3 steps on and extended past 2 unread ones, so that short
    random histories build, extend, share, drop and rebuild indexes all the time.
    """

    histories = Bundle("histories")
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self._thresholds = small_thresholds(3, 2)
        self._thresholds.__enter__()
        self.all: list[list[Any]] = []  # every history made, to check them all
        self.all_orders: list[Order] = []

    def teardown(self) -> None:
        """Give the module its own thresholds back."""
        self._thresholds.__exit__(None, None, None)

    def _keep(self, history: list[Any]) -> list[Any]:
        self.all.append(history)
        return history

    # --- histories made -------------------------------------------------------------------

    @rule(target=histories, steps=st.lists(STEPS, max_size=12))
    def new(self, steps: list[Step[Any, Any]]) -> list[Any]:
        """A new history of random steps."""
        return self._keep(History(steps))

    @rule(target=histories, source=histories)
    def copied(self, source: list[Any]) -> list[Any]:
        """A copy, by ``History.copy`` (sharing its index) or ``list.copy`` (a plain list)."""
        return self._keep(source.copy())

    @rule(target=histories, source=histories, how=st.sampled_from(["copy", "deepcopy", "pickle"]))
    def duplicated(self, source: list[Any], how: str) -> list[Any]:
        """A copy by the copy module or a pickle: of the same type, equal, never sharing."""
        if how == "copy":
            made = copy.copy(source)
        elif how == "deepcopy":
            made = copy.deepcopy(source)
        else:
            made = pickle.loads(pickle.dumps(source))  # noqa: S301 (its own bytes)
        assert type(made) is type(source)
        assert made == source
        if type(made) is History:
            assert made._index is None
        return self._keep(made)

    @rule(target=orders, steps=st.lists(STEPS, max_size=12))
    def order(self, steps: list[Step[Any, Any]]) -> Order:
        """An order (created now) whose history then takes random steps."""
        made = Order.create("order-1", OrderState.IN_REVIEW, at=T0)
        made.history.extend(steps)
        self.all_orders.append(made)
        return made

    @rule(target=orders, source=orders, how=st.sampled_from(["copy", "evolved", "pickle"]))
    def order_copied(self, source: Order, how: str) -> Order:
        """A copy of an order: ``Order.copy``, ``Order.evolved`` or a pickle."""
        if how == "copy":
            made = source.copy()
        elif how == "evolved":
            made = source.evolved(
                fraud_state=source.fraud_state,
                items=source.items,
                charges=source.charges,
                checkout_id=source.checkout_id,
                currency=source.currency,
                as_of=source.as_of,
            )
        else:
            made = pickle.loads(pickle.dumps(source))  # noqa: S301 (its own bytes)
        assert made.history == source.history
        assert made.history is not source.history
        self.all_orders.append(made)
        return made

    @rule(order=orders, history=histories)
    def order_given(self, order: Order, history: list[Any]) -> None:
        """An order's history replaced by another list (shared with it from now on)."""
        order.history = history

    # --- appends ------------------------------------------------------------------------

    @rule(history=histories, step=STEPS)
    def append(self, history: list[Any], step: Step[Any, Any]) -> None:
        """``append``."""
        history.append(step)

    @rule(history=histories, steps=st.lists(STEPS, max_size=5), how=st.booleans())
    def extend(self, history: list[Any], steps: list[Step[Any, Any]], how: bool) -> None:
        """``extend`` or ``+=``."""
        if how:
            history.extend(steps)
        else:
            history += steps

    @rule(order=orders, steps=st.lists(STEPS, max_size=5))
    def order_extended(self, order: Order, steps: list[Step[Any, Any]]) -> None:
        """Steps appended to an order's history (as the machine appends them)."""
        order.history.extend(steps)

    # --- every other change -------------------------------------------------------------

    @rule(history=histories, change=st.sampled_from(CHANGES), data=st.data())
    def changed(self, history: list[Any], change: str, data: st.DataObject) -> None:
        """Any other change a list takes, through its methods and operators."""
        size = len(history)
        if not size and change in {"setitem", "delitem", "pop", "remove"}:
            change = "clear"
        at = data.draw(st.integers(-size, size - 1)) if size else 0
        start, stop = sorted(data.draw(st.lists(st.integers(0, size), min_size=2, max_size=2)))
        steps = data.draw(st.lists(STEPS, max_size=4))
        changes: dict[str, Callable[[], object]] = {
            "setitem": lambda: history.__setitem__(at, data.draw(STEPS)),
            "setslice": lambda: history.__setitem__(slice(start, stop), steps),
            "delitem": lambda: history.__delitem__(at),
            "delslice": lambda: history.__delitem__(slice(start, stop)),
            "insert": lambda: history.insert(data.draw(st.integers(-size - 1, size + 1)), steps[0]),
            "pop": lambda: history.pop(at),
            "remove": lambda: history.remove(history[at]),
            "clear": history.clear,
            "sort": lambda: history.sort(key=lambda s: (str(s.dest), str(s.event_id))),
            "reverse": history.reverse,
            "imul": lambda: history.__imul__(data.draw(st.integers(0, 2))),
            "init": lambda: cast("Any", history).__init__(steps),
        }
        if change == "insert" and not steps:
            steps.append(PLAIN[0])
        changes[change]()

    # --- the answers --------------------------------------------------------------------

    @invariant()
    def every_answer_is_the_scans(self) -> None:
        """Every history (of an order too) answers as a scan of its steps does."""
        for history in self.all + [o.history for o in self.all_orders]:
            assert_answers_as_a_scan(history)

    @invariant()
    def shared_prefixes_hold_the_same_steps(self) -> None:
        """Where two histories are said to share their first steps, those are the same."""
        lists = self.all + [o.history for o in self.all_orders]
        for first in lists:
            for second in lists:
                same = shared_prefix(first, second)
                assert same <= min(len(first), len(second))
                assert all(first[i] is second[i] for i in range(same))

    @rule(history=consumes(histories))
    def dropped(self, history: list[Any]) -> None:
        """A history no longer used (the others keep their answers)."""
        self.all = [h for h in self.all if h is not history]


TestHistoryChanges = HistoryChanges.TestCase
# Half the profile's examples: each step checks every pair of histories (the suite's
# slowest state machine at 300); small thresholds make every path common at 150.
TestHistoryChanges.settings = settings(settings.default, max_examples=150)


# --- the index, case by case ------------------------------------------------------------------


@pytest.mark.usefixtures("small_index")
def test_a_copy_never_sees_the_steps_its_source_appends_later() -> None:
    """Two copies sharing an index, each appending its own steps, answer for their own only."""
    source = indexed(PLAIN)
    left, right = source.copy(), source.copy()
    left_only = Step(OrderEvent.ACCEPT, None, OrderState.DISPUTE, T0, "evt-left")
    right_only = Step(OrderEvent.ACCEPT, None, OrderState.FULFILLED, T0, "evt-right")
    for _ in range(5):  # past the unread tail: each builds its own index
        left.append(left_only)
        right.append(right_only)
        for history in (source, left, right):
            assert_answers_as_a_scan(history)
            assert announced(history, "evt-left") is (history is left)
            assert announced(history, "evt-right") is (history is right)


@pytest.mark.usefixtures("small_index")
def test_a_long_history_keeps_an_index_a_short_one_none() -> None:
    """From ``INDEXED_FROM`` steps on, a question leaves an index; below, none is made."""
    short: History[Any, Any] = History(PLAIN[:3])
    assert not announced(short, "evt-9")
    assert short._index is None
    short.append(PLAIN[3])
    assert not announced(short, "evt-9")
    assert short._index is not None


@pytest.mark.usefixtures("small_index")
def test_a_copy_shares_the_index_and_extends_none_it_shares() -> None:
    """A copy holds its source's index; appending to either builds a new one past the tail."""
    source = indexed(PLAIN)
    shared = source._index
    clone = source.copy()
    assert clone._index is shared
    assert shared is not None
    covered = shared.covered
    clone.extend(PLAIN[:3])  # past the unread tail of 2
    assert entries(clone, OrderState.IN_REVIEW) == counted(clone, OrderState.IN_REVIEW)
    assert clone._index is not shared
    assert shared.covered == covered  # the shared one never changes
    assert source._index is shared


_A, _B, _C, _X = (
    Step(OrderEvent.ACCEPT, None, dest, T0, event_id)
    for dest, event_id in (
        (OrderState.ACCEPTED, "evt-a"),
        (OrderState.DISPUTE, "evt-b"),
        (OrderState.FULFILLED, "evt-c"),
        (OrderState.COMPLETE, "evt-x"),
    )
)


def _refilled(change: str, history: list[Any]) -> None:
    """``change`` made, then steps appended so the list is as long, its last step the same."""
    last = history[-1]
    if change == "setitem":
        history[0] = _X
    elif change == "setslice":
        history[:1] = [_X]
    elif change == "insert":
        history.insert(0, _X)
    elif change in {"clear", "imul", "init"}:
        size = len(history)
        if change == "clear":
            history.clear()
        elif change == "imul":
            history *= 0
        else:
            cast("Any", history).__init__([_X] * (size - 1))
        history.extend([_X] * (size - 1 - len(history)) + [last])
    else:
        removals: dict[str, Callable[[], object]] = {
            "delitem": lambda: history.__delitem__(1),
            "delslice": lambda: history.__delitem__(slice(1, 2)),
            "pop": lambda: history.pop(1),
            "remove": lambda: history.remove(history[1]),
        }
        removals[change]()
        history.append(last)


@pytest.mark.usefixtures("small_index")
@pytest.mark.parametrize(
    "change",
    CHANGES,
)
def test_every_change_but_an_append_drops_the_index(change: str) -> None:
    """Changed by any method, then as long with the same last step: answers stay the scan's."""
    source = indexed({"insert": [_C] * 4, "sort": [_C, _B, _A, _X]}.get(change, [_C, _B, _A, _C]))
    history = source.copy()
    if change == "sort":
        history.sort(key=[_C, _A, _B, _X].index)  # [c, a, b, x]
    elif change == "reverse":
        history.reverse()  # [c, a, b, c]
    else:
        _refilled(change, history)
    assert len(history) >= len(source)
    assert history[len(source) - 1] is source[-1]
    assert history != source
    assert_answers_as_a_scan(history)
    same = shared_prefix(history, source)
    assert all(history[i] is source[i] for i in range(same))


@pytest.mark.usefixtures("small_index")
@pytest.mark.parametrize(
    "change",
    [
        list.clear,
        lambda h: list.__delitem__(h, slice(-2, None)),
        lambda h: list.__setitem__(h, len(h) - 1, PLAIN[0]),
    ],
    ids=["cleared", "shortened", "last-replaced"],
)
def test_a_change_past_the_lists_methods_that_shortens_or_replaces_the_last_step_is_seen(
    change: Any,
) -> None:
    """Changed by ``list``'s own methods below the indexed steps: the index is dropped."""
    history = indexed(PLAIN[1:])
    change(history)
    assert_answers_as_a_scan(history)


@pytest.mark.usefixtures("small_index")
def test_shared_prefix_is_known_only_for_a_copy_and_its_source() -> None:
    """A copy and its source share their indexed steps; unrelated or changed lists share 0."""
    source = indexed(PLAIN)
    clone = source.copy()
    clone.append(PLAIN[0])
    assert shared_prefix(clone, source) == len(PLAIN)
    assert shared_prefix(indexed(PLAIN), source) == 0  # equal steps, another list
    assert shared_prefix(list(clone), source) == 0
    clone[0] = PLAIN[1]
    assert shared_prefix(clone, source) == 0


def test_a_history_is_a_list_its_copies_and_slices_too() -> None:
    """``History`` is a ``list``: equal to the plain list of its steps; slices are plain lists."""
    history: History[Any, Any] = History(PLAIN)
    assert isinstance(history, list)
    assert history == PLAIN
    assert type(history.copy()) is History
    assert type(history[1:]) is list
    assert repr(history) == repr(PLAIN)


# --- the questions, on any list ----------------------------------------------------------------


@given(
    st.lists(st.sampled_from([None, "evt-1", "evt-2", "evt-3"]), min_size=1, max_size=80),
    st.sampled_from(["evt-1", "evt-2", "evt-4", ""]),
    st.booleans(),
)
def test_announced_tells_whether_a_step_carries_the_event_id(
    event_ids: list[str | None],
    wanted: str,
    as_history: bool,
) -> None:
    """`announced` answers as a scan of the steps' event ids does, list or history."""
    steps = [
        Step(OrderEvent.ACCEPT, OrderState.IN_REVIEW, OrderState.ACCEPTED, T0, event_id)
        for event_id in event_ids
    ]
    history = History(steps) if as_history else steps
    assert announced(history, wanted) is scanned(steps, wanted)


@given(st.lists(st.sampled_from(list(OrderState)), min_size=1, max_size=80), st.booleans())
def test_entries_counts_the_steps_into_a_state_as_a_scan_does(
    dests: list[OrderState],
    as_history: bool,
) -> None:
    """`entries` answers as counting the steps' destinations does, for every state."""
    steps = [Step(OrderEvent.ACCEPT, OrderState.IN_REVIEW, dest, T0) for dest in dests]
    history = History(steps) if as_history else steps
    for state in OrderState:
        assert entries(history, state) == counted(steps, state)


def _history_of(values: list[Any]) -> History[Any, Any]:
    return History(values)


def _not_steps() -> Iterator[st.SearchStrategy[Any]]:
    yield st.none()
    yield st.integers()
    yield st.lists(st.one_of(st.none(), st.integers(), HOSTILE_TEXT, st.binary()), min_size=1)
    yield st.lists(st.one_of(st.none(), st.integers(), HOSTILE_TEXT), min_size=1).map(_history_of)


@given(st.one_of(*_not_steps()), HOSTILE_TEXT)
def test_announced_and_entries_refuse_what_is_no_history_with_wrongtype(
    history: object, text: str
) -> None:
    """Anything but steps (None, numbers, hostile text, bytes) is a WrongType, never more."""
    with pytest.raises(WrongType):
        announced(history, text)  # type: ignore[arg-type]
    with pytest.raises(WrongType):
        entries(history, OrderState.ACCEPTED)  # type: ignore[arg-type]


def scanned_or_refused(history: list[Any], event_id: str) -> bool | type[WrongType]:
    """A scan that stops at the first step carrying ``event_id``, or at the first non-step."""
    for step in history:
        if not isinstance(step, Step):
            return WrongType
        if step.event_id == event_id:
            return True
    return False


@given(st.lists(st.sampled_from(PLAIN), min_size=4, max_size=8), st.integers(0, 3))
def test_a_long_history_with_a_non_step_past_its_index_answers_as_the_scan(
    steps: list[Step[Any, Any]], at: int
) -> None:
    """A non-step appended after the index: the scan's answer, or WrongType where it fails."""
    with small_thresholds():
        history = indexed(steps)
        history.extend([*PLAIN[:at], 5])  # type: ignore[list-item]
        for event_id in ASKED[:5]:
            try:
                got: bool | type[WrongType] = announced(history, event_id)
            except WrongType:
                got = WrongType
            assert got == scanned_or_refused(history, event_id), event_id


@given(st.one_of(*_not_steps(), st.just(PLAIN)), st.one_of(*_not_steps(), st.just(PLAIN)))
def test_shared_prefix_of_anything_but_a_copy_and_its_source_is_none(
    first: object, second: object
) -> None:
    """Hostile values (None, numbers, text, bytes, lists of non-steps): 0, and nothing changed."""
    before = (list(first) if isinstance(first, list) else first, second)
    assert shared_prefix(first, second) == 0  # type: ignore[arg-type]
    assert (list(first) if isinstance(first, list) else first, second) == before

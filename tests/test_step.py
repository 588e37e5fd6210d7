"""A history step: checked when built, read back exactly as given, small, a value."""

from __future__ import annotations

import copy
import pickle
import sys
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle.exceptions import WrongType
from order_lifecycle.lifecycle import (
    CheckoutState,
    OrderEvent,
    OrderState,
    Step,
)
from order_lifecycle.lifecycle._step import EXACT_SECONDS, compact, expand
from order_lifecycle.testing import HOSTILE_TEXT, IDS

T0 = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Aware times over the whole range datetime allows, in UTC and in fixed offsets.
ZONES = st.one_of(
    st.just(UTC),
    st.integers(-23 * 60 + 1, 23 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m))),
)
ANY_TIMES = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 (hypothesis attaches the zone)
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=ZONES,
)
STATES = st.sampled_from(OrderState)
EVENTS = st.none() | st.sampled_from(OrderEvent)


PARTS = st.tuples(EVENTS, st.none() | STATES, STATES, ANY_TIMES, st.none() | IDS, st.booleans())


@given(PARTS)
def test_a_step_gives_back_what_it_was_given(parts: tuple[Any, ...]) -> None:
    """Every part reads back as given: the same members, and the time in its own zone."""
    step = Step(*parts)
    assert [getattr(step, name) for name in step.__match_args__] == list(parts)
    event, source, dest, at, _, _ = parts
    assert (step.event is event, step.source is source, step.dest is dest) == (True,) * 3
    assert step.at.tzinfo is at.tzinfo
    assert (step.at.isoformat(), step.at.fold) == (at.isoformat(), at.fold)


@given(st.integers(1 - int(EXACT_SECONDS * 10**6), int(EXACT_SECONDS * 10**6) - 1))
def test_a_utc_time_kept_compactly_reads_back_to_the_microsecond(microseconds: int) -> None:
    """Within the compact range, a UTC time is kept as a float that gives back the same time."""
    at = EPOCH + timedelta(microseconds=microseconds)
    kept = compact(at)
    assert type(kept) is float
    assert expand(kept) == at
    assert expand(kept).tzinfo is UTC


@pytest.mark.parametrize(
    "at",
    [
        EPOCH + timedelta(seconds=EXACT_SECONDS),
        EPOCH - timedelta(seconds=EXACT_SECONDS),
        datetime.max.replace(tzinfo=UTC),
        datetime.min.replace(tzinfo=UTC),
        T0.astimezone(timezone(timedelta(hours=2))),
        T0.replace(fold=1),
    ],
)
def test_other_times_are_kept_as_they_are(at: datetime) -> None:
    """A time past the compact range, in another zone, or folded, is kept as the datetime."""
    assert compact(at) is at
    assert Step(None, None, OrderState.ACCEPTED, at).at is at


def test_times_at_the_edges_of_the_compact_range_read_back() -> None:
    """Each microsecond next to the range's ends and to 1970 reads back exactly."""
    edge = int(EXACT_SECONDS * 10**6)
    for center in (-edge, -1, 0, edge):
        for offset in range(-3000, 3000):
            at = EPOCH + timedelta(microseconds=center + offset)
            assert Step(None, None, OrderState.ACCEPTED, at).at == at


@given(ANY_TIMES, ZONES)
def test_steps_are_equal_when_their_times_are_the_same_instant(at: datetime, zone: tzinfo) -> None:
    """The same instant in two zones: equal steps with equal hashes, as datetimes are."""
    first = Step(OrderEvent.ACCEPT, OrderState.PENDING_PAYMENT, OrderState.ACCEPTED, at)
    try:
        elsewhere = at.astimezone(zone)
    except OverflowError:  # the instant has no spelling in that zone (near year 1 or 9999)
        return
    second = Step(OrderEvent.ACCEPT, OrderState.PENDING_PAYMENT, OrderState.ACCEPTED, elsewhere)
    assert first == second
    assert hash(first) == hash(second)
    later = Step(
        OrderEvent.ACCEPT,
        OrderState.PENDING_PAYMENT,
        OrderState.ACCEPTED,
        at + timedelta(microseconds=1) if at.year < 9999 else at - timedelta(microseconds=1),
    )
    assert first != later


def test_steps_differ_by_any_part() -> None:
    """A different event, state, id or mark makes a different step; a step is no tuple."""
    step = Step(OrderEvent.ACCEPT, OrderState.PENDING_PAYMENT, OrderState.ACCEPTED, T0, "e")
    others = [
        Step(OrderEvent.ACCEPT, OrderState.IN_REVIEW, OrderState.ACCEPTED, T0, "e"),
        Step(OrderEvent.BLOCK, OrderState.PENDING_PAYMENT, OrderState.ACCEPTED, T0, "e"),
        Step(OrderEvent.ACCEPT, OrderState.PENDING_PAYMENT, OrderState.BLOCKED, T0, "e"),
        Step(OrderEvent.ACCEPT, OrderState.PENDING_PAYMENT, OrderState.ACCEPTED, T0, "f"),
        Step(OrderEvent.ACCEPT, OrderState.PENDING_PAYMENT, OrderState.ACCEPTED, T0, "e", True),  # noqa: FBT003 (positional, as ever)
    ]
    assert all(step != other for other in others)
    assert len({step, *others}) == 1 + len(others)
    assert step != (step.event, step.source, step.dest, step.at)


def test_a_step_is_frozen_and_copies_equal() -> None:
    """No part can be assigned; copies and pickles are equal steps."""
    step = Step(OrderEvent.ACCEPT, OrderState.PENDING_PAYMENT, OrderState.ACCEPTED, T0, "e")
    with pytest.raises(AttributeError):
        step.dest = OrderState.BLOCKED  # type: ignore[misc]
    with pytest.raises(AttributeError):
        step.note = "x"  # type: ignore[attr-defined]
    for copied in (copy.copy(step), copy.deepcopy(step), pickle.loads(pickle.dumps(step))):  # noqa: S301 (our own bytes)
        assert copied == step
    assert repr(step) == (
        "Step(event=<OrderEvent.ACCEPT: 'accept'>, source=<OrderState.PENDING_PAYMENT: "
        "'pending_payment'>, dest=<OrderState.ACCEPTED: 'accepted'>, "
        f"at={T0!r}, event_id='e', implied=False)"
    )


def test_a_step_is_small() -> None:
    """Three slots and no dict: its event, states and mark are shared with like steps."""
    step = Step(OrderEvent.ACCEPT, OrderState.PENDING_PAYMENT, OrderState.ACCEPTED, T0)
    assert not hasattr(step, "__dict__")
    assert sys.getsizeof(step) <= sys.getsizeof(object()) + 3 * 8 + 16
    alike = Step(OrderEvent.ACCEPT, OrderState.PENDING_PAYMENT, OrderState.ACCEPTED, T0)
    shared = {id(o) for o in _referents(step)} & {id(o) for o in _referents(alike)}
    assert any(isinstance(o, tuple) and id(o) in shared for o in _referents(step))


def test_members_of_enums_spelled_alike_are_kept_apart() -> None:
    """A state of another enum with the same value is still that enum's member."""
    order: Step[OrderState, OrderEvent] = Step(None, None, OrderState.ACCEPTED, T0)
    checkout: Step[CheckoutState, OrderEvent] = Step(None, None, CheckoutState.OPEN, T0)
    assert order.dest is OrderState.ACCEPTED
    assert checkout.dest is CheckoutState.OPEN


def _referents(value: object) -> list[object]:
    import gc  # noqa: PLC0415 (only here)

    return gc.get_referents(value)


@pytest.mark.parametrize(
    ("args", "what"),
    [
        ((OrderEvent.ACCEPT, OrderState.PENDING_PAYMENT, "accepted", T0), "Step.dest"),
        ((None, None, None, T0), "Step.dest"),
        (("accept", OrderState.PENDING_PAYMENT, OrderState.ACCEPTED, T0), "Step.event"),
        ((None, "pending_payment", OrderState.ACCEPTED, T0), "Step.source"),
        ((None, None, OrderState.ACCEPTED, "2026-03-01T00:00:00+00:00"), "Step.at"),
        ((None, None, OrderState.ACCEPTED, datetime(2026, 3, 1)), "Step.at"),  # noqa: DTZ001 (naive on purpose)
        ((None, None, OrderState.ACCEPTED, T0, 7), "Step.event_id"),
        ((None, None, OrderState.ACCEPTED, T0, None, 1), "Step.implied"),
    ],
)
def test_a_step_of_wrong_parts_is_refused(args: tuple[Any, ...], what: str) -> None:
    """Each part of the wrong type raises WrongType naming it."""
    with pytest.raises(WrongType, match=rf"^{what} must be"):
        Step(*args)


@given(
    st.one_of(
        HOSTILE_TEXT,
        st.integers(),
        st.floats(),
        st.binary(max_size=8),
        st.none(),
        st.just(float("nan")),
        st.sampled_from([[], {}, object(), OrderState, 10**400]),
    ),
    st.integers(0, 5),
)
def test_hostile_parts_raise_only_typed_errors(value: object, position: int) -> None:
    """Any value in any place: a step or a WrongType, never another error."""
    args: list[Any] = [OrderEvent.ACCEPT, OrderState.PENDING_PAYMENT, OrderState.ACCEPTED, T0]
    args += ["evt", False]
    args[position] = value
    try:
        step = Step(*args)
    except WrongType:
        return
    assert [getattr(step, name) for name in step.__match_args__] == args

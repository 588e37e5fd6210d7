"""The inbox's rows read back, fast and checked: ``stored_delivery`` against its slow path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle.exceptions import StoreCorrupt
from order_lifecycle.store._inbox import _checked_row, stored_delivery
from order_lifecycle.testing import HOSTILE_TEXT, IDS, TIMES
from order_lifecycle.webhooks import DeliveryStatus, StoredDelivery


class _Text(str):
    """A ``str`` that is not exactly one: the fast path leaves it to the checks."""

    __slots__ = ()


_WRONG = st.sampled_from([True, 1.5, b"x", bytearray(b"x"), memoryview(b"x"), [], -1, 2**70])
_TEXT = st.one_of(IDS, HOSTILE_TEXT, HOSTILE_TEXT.map(_Text), _WRONG)
_OPTIONAL = st.none() | _TEXT
_TIME_TEXT = st.one_of(
    TIMES.map(datetime.isoformat),
    TIMES.map(lambda at: at.replace(tzinfo=None).isoformat()),  # naive: not the inbox's
    st.sampled_from(["2026-03-04T01:40:16.954952Z", "2026-13-40T00:00:00+00:00", ""]),
    _TEXT,
)
_STATUS = st.one_of(st.sampled_from([s.value for s in DeliveryStatus]), _TEXT)
_NUMBER = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, 1, 2**63 - 1]), _WRONG)
_BODY = st.one_of(st.binary(max_size=64), _TEXT)

ROWS = st.tuples(
    _NUMBER,  # seq
    _TEXT,  # event_id
    _OPTIONAL,  # event_type
    _OPTIONAL,  # order_id
    _OPTIONAL,  # created_time
    _TIME_TEXT,  # received_at
    _STATUS,
    _OPTIONAL,  # reason
    _NUMBER,  # attempts
    st.none() | _TIME_TEXT,  # due_at
    _BODY,
)
PLAIN_ROWS = st.tuples(
    st.integers(1, 2**63 - 1),
    IDS,
    st.none() | IDS,
    st.none() | IDS,
    st.none() | IDS,
    TIMES.map(datetime.isoformat),
    st.sampled_from([s.value for s in DeliveryStatus]),
    st.none() | HOSTILE_TEXT,
    st.integers(0, 2**63 - 1),
    st.none(),
    st.binary(max_size=64),
)


def _outcome(read: Callable[[Sequence[Any]], object], row: Sequence[Any]) -> tuple[object, ...]:
    """What ``read(row)`` gives: the row's fields with their exact types, or its error."""
    try:
        built = read(row)
    except StoreCorrupt as error:
        return ("corrupt", str(error))
    assert type(built) is StoredDelivery
    values = attrs.astuple(built, recurse=False)
    return ("row", values, tuple(map(type, values)), hash(built))


@given(st.one_of(ROWS, PLAIN_ROWS))
def test_a_row_reads_as_its_checked_reading(row: tuple[Any, ...]) -> None:
    """Any row, plain or hostile, reads as the column-by-column checks read it, or fails alike."""
    assert _outcome(stored_delivery, row) == _outcome(_checked_row, row)


@given(PLAIN_ROWS)
def test_a_plain_row_reads_as_stored_delivery_builds_it(row: tuple[Any, ...]) -> None:
    """A row the inbox writes reads as the same ``StoredDelivery`` its constructor builds."""
    seq, event_id, event_type, order_id, created, received, status, reason, attempts, _, body = row
    expected = StoredDelivery(
        seq,
        event_id,
        event_type,
        order_id,
        created,
        datetime.fromisoformat(received),
        DeliveryStatus(status),
        reason,
        attempts,
        None,
        body,
    )
    read = stored_delivery(row)
    assert read == expected
    assert attrs.astuple(read, recurse=False) == attrs.astuple(expected, recurse=False)
    assert read.received_at.tzinfo is not None
    assert read.received_at.astimezone(UTC) == expected.received_at

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from order_lifecycle._json import (
    MAX_DEPTH,
    Problem,
    _check_depth,
    _plain_id,
    check_text_depth,
    loads,
    optional_id,
    optional_str,
    read_time,
    required_id,
    required_str,
    stamp,
)

# Text that stresses the bracket count: quotes, backslashes and brackets inside strings.
_TRICKY = st.text(alphabet=st.sampled_from('"\\[]{}:,aé\u2028\ud7ff/'), max_size=8)


# The same without brackets inside strings (the check's quicker path for deep bodies).
_PLAIN = st.text(alphabet=st.sampled_from('"\\:,aé\u2028\ud7ff/'), max_size=8)


def _nested(depth: int, leaf: object, *, as_object: bool, text: str = '\\"[') -> object:
    value = leaf
    for level in range(depth):
        value = {f"k{level}{text}": value} if as_object and level % 2 else [value, text]
    return value


def _values(strings: st.SearchStrategy[str]) -> st.SearchStrategy[object]:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | strings,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(strings, children, max_size=3)
        ),
        max_leaves=12,
    )


_DEPTHS = st.integers(0, MAX_DEPTH + 3)
_DEEP = st.builds(_nested, _DEPTHS, _values(_TRICKY), as_object=st.booleans()) | st.builds(
    _nested, _DEPTHS, _values(_PLAIN), as_object=st.booleans(), text=_PLAIN
)


def _verdict(check: object, value: object) -> str | None:
    try:
        check(value)  # type: ignore[operator]
    except Problem as problem:
        return problem.message
    return None


@given(_DEEP, st.booleans())
# Deep, and one string of brackets among strings without: only a count of every pair tells.
@example(value=_nested(MAX_DEPTH - 1, ["["], as_object=False, text="a"), ascii_only=True)
@example(value=_nested(MAX_DEPTH + 1, "[{", as_object=True, text=""), ascii_only=True)
def test_the_text_depth_check_agrees_with_the_tree_walk(value: object, ascii_only: bool) -> None:
    """check_text_depth refuses exactly the UTF-8 bodies _check_depth refuses, alike."""
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert _verdict(check_text_depth, raw) == _verdict(_check_depth, json.loads(raw))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32"])
@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1])
def test_loads_refuses_deep_bodies_in_every_encoding(encoding: str, depth: int) -> None:
    """Bodies nested past MAX_DEPTH are refused in every encoding; MAX_DEPTH levels parse."""
    raw = json.dumps(_nested(depth, '\\"[{', as_object=True)).encode(encoding)
    if depth > MAX_DEPTH:
        with pytest.raises(Problem, match="nested too deeply"):
            loads(raw)
    else:
        assert loads(raw) == json.loads(raw)


def _outcome(read: Callable[[], object]) -> object:
    try:
        return read()
    except Problem as problem:
        return (problem.field, problem.message)


_ID_VALUES = (
    st.text(max_size=300)
    | st.text(alphabet=st.characters(codec="ascii"), min_size=250, max_size=260)
    | st.none()
    | st.integers()
)


@given(_ID_VALUES)
def test_ids_read_alike_on_the_fast_path(value: object) -> None:
    """required_id and optional_id answer as their checks, one by one, answer."""
    data = {"id": value}
    assert _outcome(lambda: required_id(data, "id", "x", "the id")) == _outcome(
        lambda: _plain_id(required_str(data, "id", "x", "the id"), "x.id", "the id")
    )
    checked = _outcome(lambda: optional_str(data, "id", "x"))
    expected = (
        _outcome(lambda: _plain_id(value, "x.id", "the id")) if isinstance(value, str) else checked
    )
    assert _outcome(lambda: optional_id(data, "id", "x", "the id")) == expected


@given(st.datetimes(timezones=st.timezones()), st.sampled_from(["Z", "+01:00", "Z[UTC]"]))
def test_a_time_read_again_is_the_same_instant(moment: datetime, offset: str) -> None:
    """A time read twice (the second time from the cache of times read) reads the same."""
    text = moment.replace(tzinfo=None).isoformat() + offset
    first = read_time(text, "t")
    assert read_time(text, "t") == first
    assert first.utcoffset() == (timedelta(hours=1) if offset == "+01:00" else timedelta(0))


def test_a_bad_time_is_refused_every_time() -> None:
    """A text that is not a time is refused on each read: only good reads are remembered."""
    for _ in range(2):
        with pytest.raises(Problem):
            read_time("2026-04-01T09:00:00", "t")


@given(st.datetimes(timezones=st.timezones()), st.datetimes(timezones=st.timezones()))
def test_stamps_read_back_and_compare_as_the_moments_do(a: datetime, b: datetime) -> None:
    """A stamp reads back as its moment, and two stamps compare as text as their moments do."""
    # In UTC: a local time in a fold or a gap compares unequal across zones, even to itself.
    a_utc, b_utc = a.astimezone(UTC), b.astimezone(UTC)
    assert read_time(stamp(a), "t") == a_utc
    assert (stamp(a) < stamp(b)) == (a_utc < b_utc)
    assert len(stamp(a)) == len("2026-04-01T09:00:05.250000Z")

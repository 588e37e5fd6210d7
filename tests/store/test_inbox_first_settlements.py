"""SQLite's first settlements written many to a statement, as one a row would write them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle.store import Incoming, open_store
from order_lifecycle.store._inbox_sql import FIRSTS, SETTLE_FIRST
from order_lifecycle.store.sqlite import SQLiteStore
from order_lifecycle.testing import IDS

from .test_inbox_mark import NOW

ROWS = 2 * FIRSTS + 20
SETTLED = ("applied", "duplicate", "stale", "invalid", "unknown", "unknown_order")


class _RolledBack(Exception):
    """Raised to leave the transaction of one example without writing it."""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteStore]:
    """A store with :data:`ROWS` pending deliveries, which each example leaves as it was."""
    path: Path = tmp_path_factory.mktemp("firsts") / "store.db"
    with open_store(path, create=True) as opened:
        assert isinstance(opened, SQLiteStore)
        rows = [
            Incoming(
                f"e-{n}",
                "order.accepted",
                f"o-{n % 7}",
                None,
                NOW.isoformat(),
                "pending",
                None,
                b"{}",
            )
            for n in range(ROWS)
        ]
        opened.accept_deliveries(rows)
        yield opened


_SETTLEMENT = st.tuples(
    st.sampled_from(SETTLED),
    st.none() | IDS | st.sampled_from(["a\x00b", "x" * 300, "\U0001f600"]),
    st.integers(1, ROWS + 5),  # past ROWS: no such delivery
)
# Lists of every length up to three statements and some: hypothesis draws short ones most.
SETTLEMENTS = st.integers(0, 3 * FIRSTS + 7).flatmap(
    lambda size: st.lists(_SETTLEMENT, min_size=size, max_size=size)
)
BEFORE = st.dictionaries(
    st.integers(1, ROWS), st.sampled_from(["pending", "applied", "gone"]), max_size=20
)


def _written(
    store: SQLiteStore, before: dict[int, str], rows: list[tuple[Any, ...]], *, batched: bool
) -> tuple[int, list[tuple[Any, ...]]]:
    """How many ``rows`` were written, and the status rows then; nothing kept."""
    found: tuple[int, list[tuple[Any, ...]]] = (0, [])
    try:
        with store._transaction(write=True):
            for seq, was in before.items():
                if was == "gone":
                    store._write("DELETE FROM ol_inbox WHERE seq = ?", [seq])
                else:
                    store._write(
                        "INSERT INTO ol_inbox_status (seq, status, reason, attempts, due_at) "
                        "VALUES (?, ?, 'before', 0, NULL)",
                        [seq, was],
                    )
            if batched:
                count = store._write_settled(SETTLE_FIRST, rows)
            else:
                count = store._write_many(SETTLE_FIRST, rows)
            found = (count, store._query("SELECT * FROM ol_inbox_status ORDER BY seq"))
            raise _RolledBack  # noqa: TRY301 (leave the store as it was)
    except _RolledBack:
        return found


@given(BEFORE, SETTLEMENTS)
def test_first_settlements_batched_write_what_one_a_row_writes(
    store: SQLiteStore, before: dict[int, str], rows: list[tuple[Any, ...]]
) -> None:
    """Any first settlements, repeated, of gone or settled rows, count and write as one a row."""
    assert _written(store, before, rows, batched=True) == _written(
        store, before, rows, batched=False
    )

"""Readiness: the database reachable, the schema current, the backlog under its limits."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle.exceptions import InvalidInput, StoreUnavailable, WrongType
from order_lifecycle.store import (
    SCHEMA_VERSION,
    MemoryStore,
    Ping,
    ReadinessCheck,
    Store,
    open_store,
)
from tests.hostile import VALUES

from .test_pages import inbox_rows, shipped_orders


class DownStore(MemoryStore):
    """A memory store whose database is gone."""

    def ping(self, timeout: float = 2.0) -> Ping:
        """Fails, as an unreachable database does, naming its host."""
        raise StoreUnavailable(f"Cannot connect to PostgreSQL at shop@db.internal:5432 ({timeout})")


def test_a_current_store_with_a_small_backlog_is_ready(store: Store) -> None:
    """A reachable, current store under its limits is ready; the body says what it read."""
    store.accept_deliveries(inbox_rows(10))
    found = ReadinessCheck()(store)
    assert found.ready
    body = found.as_json()
    assert body["ready"] is True
    assert body["problems"] == []
    assert body["schema_version"] == body["expected_schema_version"] == SCHEMA_VERSION
    assert body["deliveries"] == {"pending": 8}  # the two invalid ones are no backlog
    assert body["actions"] == {}


def test_a_backlog_over_its_limits_is_not_ready(store: Store) -> None:
    """Deliveries not applied or actions due past their limits each make a problem."""
    store.accept_deliveries(inbox_rows(10))
    shipped_orders(store, batches=1, per_batch=2)  # 12 pending actions
    assert ReadinessCheck(max_deliveries=8, max_actions=12)(store).ready
    found = ReadinessCheck(max_deliveries=7, max_actions=11)(store)
    assert not found.ready
    assert found.problems == (
        "deliveries not yet applied: 8, over the limit of 7: are the reconcilers running?",
        "actions due: 12, over the limit of 11: are the workers running?",
    )
    assert ReadinessCheck(max_deliveries=None, max_actions=None)(store).ready


def test_an_unreachable_database_is_not_ready_and_its_host_stays_out_of_the_body() -> None:
    """A store that cannot be reached is not ready; its message goes to error, not the body."""
    found = ReadinessCheck()(DownStore())
    assert found.problems == ("the database cannot be reached",)
    assert "db.internal" in (found.error or "")
    assert "db.internal" not in repr(found.as_json())
    assert found.as_json()["schema_version"] is None


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        (SCHEMA_VERSION - 1, "run order-lifecycle migrate"),
        (SCHEMA_VERSION + 1, "upgrade order-lifecycle"),
        (None, "holds no tables"),
    ],
)
def test_a_schema_not_current_is_not_ready(
    tmp_path: Path, version: int | None, problem: str
) -> None:
    """Tables at another schema version than this code's (or none) make the store not ready."""
    path = tmp_path / "orders.db"
    with open_store(path) as store:
        with sqlite3.connect(path) as other:
            if version is None:
                other.execute("DROP TABLE ol_schema")
            else:
                other.execute("UPDATE ol_schema SET version = ?", [version])
        (found,) = ReadinessCheck()(store).problems
    assert problem in found


@given(name=st.sampled_from(["max_deliveries", "max_actions", "timeout"]), value=VALUES)
def test_hostile_settings_are_refused_when_the_check_is_built(name: str, value: Any) -> None:
    """Any setting builds a check or is refused with a typed error at once."""
    try:
        check = ReadinessCheck(**{name: value})
    except InvalidInput:
        return
    assert check(MemoryStore()).ready


@given(value=VALUES)
def test_a_check_of_anything_but_a_store_is_refused(value: Any) -> None:
    """Checking what is not a store raises WrongType."""
    with pytest.raises(WrongType):
        ReadinessCheck()(value)

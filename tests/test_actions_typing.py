"""A type checker sees the worker's and the policy's parameters: mypy rejects wrong-typed calls."""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api

# Each line marked "# rejected" must be reported by mypy --strict, and no other line.
CALLS = """
from datetime import UTC, datetime, timedelta

from order_lifecycle.actions import ActionPolicy, ActionWorker, StoredAction
from order_lifecycle.store import MemoryStore


def ship(action: StoredAction) -> dict[str, str]:
    return {"parcel": action.subject}


store = MemoryStore()
ActionWorker(store, {"ship": ship}, batch=5, lease=timedelta(minutes=1), idle=0.5)
ActionWorker(store, {"ship": ship}, time_limit=timedelta(seconds=3), clock=lambda: datetime.now())
ActionPolicy(classify={"sku-1": "physical"}, classify_within=timedelta(seconds=1))
ActionPolicy(classify=lambda item: "digital" if item.sku else None)

ActionWorker("not a store", 5)  # rejected
ActionWorker(store, {"ship": 3})  # rejected
ActionWorker(store, {"ship": ship}, batch="10")  # rejected
ActionWorker(store, {"ship": ship}, lease=300)  # rejected
ActionWorker(store, {"ship": ship}, time_limit=1.5)  # rejected
ActionWorker(store, {"ship": ship}, idle="1")  # rejected
ActionWorker(store, {"ship": ship}, clock=datetime.now(UTC))  # rejected
ActionPolicy(classify=3)  # rejected
ActionPolicy(classify={"sku-1": 1.5})  # rejected
ActionPolicy(classify_within=1)  # rejected
store.action_policy = {"sku-1": "physical"}  # rejected
"""


def test_mypy_rejects_each_wrong_typed_call(tmp_path: Path) -> None:
    """Every call marked rejected is an error of mypy --strict; the well-typed ones are not."""
    source = tmp_path / "calls.py"
    source.write_text(CALLS, encoding="utf-8")
    out, err, _ = api.run(
        ["--strict", "--no-incremental", f"--cache-dir={tmp_path / 'cache'}", str(source)]
    )
    assert err == ""
    reported = {int(n) for n in re.findall(rf"{re.escape(source.name)}:(\d+): error", out)}
    marked = {n for n, line in enumerate(CALLS.splitlines(), 1) if line.endswith("# rejected")}
    assert len(marked) == 11
    assert reported == marked, out

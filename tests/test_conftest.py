"""The suite's hypothesis runs: the same examples whatever ran before them in the process."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def drawn() -> list[int]:
    """What a derandomized test draws, in order."""
    seen: list[int] = []

    @settings(derandomize=True, database=None, max_examples=100)
    @given(st.lists(st.integers(0, 10**6), max_size=5))
    def test(values: list[int]) -> None:
        seen.extend(values)

    test()
    return seen


def test_a_module_imported_meanwhile_changes_no_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project module full of constants, imported between two runs, leaves the draws alike.

    Hypothesis mixes constants from the project's imported modules into what it draws; a
    test that runs after a lazy import (or on another pytest-xdist worker) drew otherwise.
    """
    before = drawn()
    constants = ", ".join(str(n * 7919) for n in range(1, 120))
    (tmp_path / "shop_constants.py").write_text(f"LIMITS = [{constants}]\n")
    monkeypatch.syspath_prepend(tmp_path)
    monkeypatch.delitem(sys.modules, "shop_constants", raising=False)
    importlib.import_module("shop_constants")
    assert drawn() == before

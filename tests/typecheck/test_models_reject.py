"""The models' constructors are typed: mypy refuses wrong-typed calls and takes right ones."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from mypy import api

SAMPLE = Path(__file__).with_name("models_reject.txt")
ROOT = Path(__file__).resolve().parents[2]
_MARK = re.compile(r"#\s*(?:error:\s*(?P<code>[a-z-]+)|(?P<ok>ok))\s*$")
_REPORTED = re.compile(r"^[^:]+:(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def expected(text: str) -> dict[int, str | None]:
    """Each marked line's number, with the error code it must get (``None``: no error)."""
    marks = {}
    for number, line in enumerate(text.splitlines(), start=1):
        found = _MARK.search(line)
        if found and not line.lstrip().startswith("#"):
            marks[number] = found["code"]
    return marks


def reported(output: str) -> dict[int, set[str]]:
    """The error codes mypy reported, by line."""
    errors: dict[int, set[str]] = {}
    for line in output.splitlines():
        found = _REPORTED.match(line)
        if found:
            errors.setdefault(int(found["line"]), set()).add(found["code"])
    return errors


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[int, set[str]], str]:
    """What mypy --strict (the project's settings) reports about the sample, and its output."""
    folder = tmp_path_factory.mktemp("typing")
    sample = folder / "models_reject_sample.py"
    shutil.copyfile(SAMPLE, sample)
    stdout, stderr, _ = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(folder / "cache"),
            "--no-error-summary",
            "--show-error-codes",
            "--hide-error-context",
            str(sample),
        ]
    )
    assert not stderr, stderr
    return reported(stdout), stdout


def test_the_sample_marks_both_kinds_of_calls() -> None:
    """The sample has calls mypy must refuse and calls it must take, each marked."""
    marks = expected(SAMPLE.read_text())
    assert len([c for c in marks.values() if c]) >= 15
    assert len([c for c in marks.values() if c is None]) >= 5


def test_each_wrong_typed_call_is_reported(checked: tuple[dict[int, set[str]], str]) -> None:
    """``Order("1", state=3.5)``, ``Charge(..., amount="lots")`` and the like: each an error."""
    errors, output = checked
    missed = {
        number: code
        for number, code in expected(SAMPLE.read_text()).items()
        if code is not None and code not in errors.get(number, set())
    }
    assert not missed, f"mypy accepted lines {missed}:\n{output}"


def test_right_typed_calls_pass(checked: tuple[dict[int, set[str]], str]) -> None:
    """The calls a shop writes (states by name, amounts as Decimal or int) are accepted."""
    errors, output = checked
    marks = expected(SAMPLE.read_text())
    unexpected = {n: codes for n, codes in errors.items() if marks.get(n) is None}
    assert not unexpected, f"mypy refused lines {unexpected}:\n{output}"

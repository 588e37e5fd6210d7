"""mypy on wrong-typed calls of the edges: store opening, migrations, refunds, refusals."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).with_name("edges_reject.txt")


def test_mypy_rejects_each_wrong_typed_call(tmp_path: Path) -> None:
    """Every call the sample marks rejected gets a mypy error; the rightly typed ones none."""
    sample = tmp_path / "edges_reject.py"
    sample.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run(  # noqa: S603 (this interpreter's mypy, our sample)
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / "cache"),
            sample.name,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,  # no project configuration: the sample alone, strict
    )
    reported = {
        int(found.group(1))
        for found in re.finditer(rf"^{sample.name}:(\d+): error:", done.stdout, re.MULTILINE)
    }
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    expected = {number for number, line in enumerate(lines, 1) if line.endswith("# rejected")}
    assert len(expected) >= 15
    assert reported == expected, done.stdout

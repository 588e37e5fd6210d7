import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_telemetry.py"


def test_every_mode_measures_both_paths() -> None:
    """A small run prints a row per mode, accept and reconcile, as ratios to the floor."""
    done = subprocess.run(  # noqa: S603 (the project's own script)
        [sys.executable, str(SCRIPT), "--count", "60", "--repeat", "1", "--stores", "memory"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    modes = {"absent", "api", "sdk"}
    rows = {
        line.split()[0]: [float(v) for v in line.split()[1:]]
        for line in done.stdout.splitlines()
        if line.split()[:1] and line.split()[0] in modes
    }
    assert set(rows) == modes
    assert (rows["absent"][1], rows["absent"][3]) == (1.0, 1.0)
    assert all(value > 0 for row in rows.values() for value in row)

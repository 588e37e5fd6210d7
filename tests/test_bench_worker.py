import sys
from pathlib import Path

from order_lifecycle.store import MemoryStore

# The benchmarks are scripts, not a package: import them as they import one another.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_worker


def test_every_way_drains_every_action() -> None:
    """The floor, the batched workers and the one-at-a-time worker each do every action."""
    rates = bench_worker.measure(MemoryStore, 30)
    assert set(rates) == {
        "floor",
        "batch 50",
        "batch 10",
        "batch 10, reading orders",
        "one at a time",
    }
    assert all(rate > 0 for rate in rates.values())

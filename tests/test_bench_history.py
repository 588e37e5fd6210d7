import sys
from pathlib import Path

# The benchmarks are scripts, not a package: import them as they import one another.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_history


def test_each_long_orders_dispute_is_applied_by_the_reconciler() -> None:
    """Every order of every history length takes its dispute delivery: applied, none left."""
    for steps in (2, 40):
        seconds, settled = bench_history.settle(steps, 7)
        assert settled == {"applied": 7}
        assert seconds > 0


def test_with_a_cold_cache_the_reconciler_reads_the_orders_and_applies_each_dispute() -> None:
    """A new store object on the same file (nothing cached) settles every dispute too."""
    seconds, settled = bench_history.settle(40, 5, cold=True)
    assert settled == {"applied": 5}
    assert seconds > 0


def test_each_long_orders_first_fulfilment_is_applied_by_the_reconciler() -> None:
    """Every long order takes its ``order.fulfilled`` delivery (a state never entered)."""
    seconds, settled = bench_history.settle(40, 5, fulfilled=True)
    assert settled == {"applied": 5}
    assert seconds > 0

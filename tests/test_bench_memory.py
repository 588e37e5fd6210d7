import sys
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from order_lifecycle import Order
from order_lifecycle.lifecycle import Step

# The benchmarks are scripts, not a package: import them as they import one another.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_memory


def test_a_live_order_owns_its_own_values_only() -> None:
    """A live order owns one Decimal (its full capture shares it) and no currency string."""
    owned = bench_memory.owned(3)
    kinds = Counter(type(obj) for obj in owned)
    assert kinds[Order] == 1
    assert kinds[Step] == 5
    assert kinds[Decimal] == 1
    assert "USD" not in [obj for obj in owned if isinstance(obj, str)]


def test_a_live_orders_steps_hold_no_datetime_and_share_their_moves() -> None:
    """Its 5 steps keep their UTC times as floats and own no tuple: their moves are shared."""
    kinds = Counter(type(obj) for obj in bench_memory.owned(3))
    assert kinds[datetime] == 0
    assert kinds[float] == 5
    assert kinds[tuple] == 2  # the items and the charges


def test_held_counts_the_bytes_of_the_orders() -> None:
    """Holding more orders takes more bytes, at least a few hundred per order."""
    assert bench_memory.held(200) - bench_memory.held(40) > 160 * 500

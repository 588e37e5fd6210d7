"""Where the bytes of a live order go: the total per order, and a breakdown by object type.

Run: ``.venv/bin/python benchmarks/bench_memory.py`` (after ``./scripts/test`` made the
environment). The order is ``bench_ingest.live_order`` (2 items, 1 charge, 5 history steps,
every value its own object), the one whose ``live order`` row ``bench_ingest.py`` prints.

- ``tracemalloc``: the bytes allocated while ``--orders`` orders are built and kept in a
  list, per order (as ``bench_ingest.py`` measures it). Target: 1,500 bytes.
- ``marginal``: what one more order costs, the slope between ``--orders`` and a fifth as
  many. One-off allocations (free lists refilled, caches warmed) fall out of it; they lift
  the per-order figure of small runs (``bench_ingest.py --quick`` holds 2,000 orders).
- ``by type``: the objects one order owns, by ``sys.getsizeof``, grouped by type. An object
  counts as the order's own when it is reachable from it but not from another order built
  the same way: enum members, ``None``, cached small ints, interned strings, shared zeros
  and the time zone are everyone's, so they are left out.
- ``by line`` (``--lines``): tracemalloc's top allocation sites, for where to look next.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from collections import Counter
from collections.abc import Iterator

from bench_ingest import BYTES_TARGET, live_order


def reachable(root: object) -> Iterator[object]:
    """Every object reachable from ``root`` through ``gc.get_referents``, types excluded."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        yield obj
        todo.extend(gc.get_referents(obj))


def owned(n: int) -> list[object]:
    """The objects order ``n`` holds that another order (``n + 1``) does not share."""
    order, other = live_order(n), live_order(n + 1)
    shared = {id(obj) for obj in reachable(other)}
    mine = [obj for obj in reachable(order) if id(obj) not in shared]
    # Keep both alive until the ids are compared: a freed id could be reused.
    assert order is not other
    return mine


def held(count: int) -> int:
    """The bytes tracemalloc sees allocated while ``count`` orders are built and held."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    orders = [live_order(n) for n in range(count)]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert (len(orders[0].items), len(orders[0].charges), len(orders[0].history)) == (2, 1, 5)
    return after - before


def top_lines(count: int, limit: int) -> list[str]:
    """Tracemalloc's ``limit`` biggest allocation sites per order while ``count`` are built."""
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    orders = [live_order(n) for n in range(count)]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = after.compare_to(before, "lineno")
    del orders
    return [
        f"  {stat.size_diff / count:7.1f} B  {stat.count_diff / count:5.2f} objects  "
        f"{stat.traceback[0].filename.rsplit('/', 2)[-1]}:{stat.traceback[0].lineno}"
        for stat in stats[:limit]
    ]


def main() -> None:
    """Print the bytes per live order and where they go."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000, help="default 10000")
    parser.add_argument("--lines", type=int, default=0, help="top allocation sites to print")
    args = parser.parse_args()
    few = args.orders // 5
    many = held(args.orders)
    total = many / args.orders
    marginal = (many - held(few)) / (args.orders - few)
    verdict = "met" if total <= BYTES_TARGET else f"{total - BYTES_TARGET:.0f} B over"
    print(f"Python {sys.version.split()[0]}")
    print(f"tracemalloc: {total:,.0f} B per live order ({args.orders:,} orders in a list)")
    print(f"target: {BYTES_TARGET:,} B ({verdict})")
    print(f"marginal: {marginal:,.0f} B per order (from {few:,} to {args.orders:,} orders)")
    sizes: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for obj in owned(7):
        name = type(obj).__qualname__
        sizes[name] += sys.getsizeof(obj)
        counts[name] += 1
    print(f"by type (sys.getsizeof of what one order owns): {sum(sizes.values()):,} B")
    for name, size in sizes.most_common():
        print(f"  {size:6,} B  {counts[name]:3} x {name}")
    if args.lines:
        print("by line (tracemalloc):")
        print("\n".join(top_lines(min(args.orders, 2_000), args.lines)))


if __name__ == "__main__":
    main()

"""How ``parse_event`` scales with the number of items: the time per item should stay flat.

Run: ``.venv/bin/python benchmarks/bench_parse.py`` (after ``./scripts/test`` made the
environment). Each size parses an ``order.accepted`` with that many items, the last one
repeating the first id, so the duplicate check runs over every item and refuses the event.
Machines are noisy: compare the microseconds per item across sizes, not with other runs.
A quadratic duplicate check (a ``list.count`` per item) showed as the per-item time growing
with the size; 16,000 items took about 14 s.
"""

from __future__ import annotations

import argparse
import json
import timeit
from functools import partial

from order_lifecycle.exceptions import InvalidEvent
from order_lifecycle.provider._payload import MAX_ITEMS
from order_lifecycle.webhooks import parse_event


def body(count: int) -> bytes:
    """An order.accepted with ``count`` items, the last repeating the first id."""
    items = [{"id": f"item-{n}", "quantity": 1, "state": "created"} for n in range(count)]
    items[-1]["id"] = "item-0"
    obj = {"id": "o1", "state": "accepted", "checkoutId": "chk-1", "items": items}
    event = {
        "id": "evt-1",
        "type": "order.accepted",
        "createdTime": "2026-04-01T09:00:00Z",
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def refused(raw: bytes) -> None:
    """Parse ``raw``, which must be refused for its duplicate item id."""
    try:
        parse_event(raw)
    except InvalidEvent as error:
        problem = error.problem
    else:
        problem = "parsed"
    if "duplicate item ids" not in problem:
        raise AssertionError(problem)


def main() -> None:
    """Print the time per item of a parse, for sizes up to the item cap."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for count in (10, 100, MAX_ITEMS // 4, MAX_ITEMS):
        raw = body(count)
        seconds = min(timeit.repeat(partial(refused, raw), number=1, repeat=args.repeat))
        print(f"{count:>6} items: {seconds * 1e3:8.2f} ms, {seconds / count * 1e6:6.2f} us/item")


if __name__ == "__main__":
    main()

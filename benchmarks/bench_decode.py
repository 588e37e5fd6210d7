"""Reading a webhook body: the typed decoder (msgspec) against the standard library.

Run: ``.venv/bin/python benchmarks/bench_decode.py`` (``--deliveries N``, ``--repeat R``).
Over the realistic traffic of ``_traffic.deliveries`` (order events carry the whole order,
charge events the charge), each reader is timed over every body in turn, the best of
``--repeat`` passes, CPU time per body, and given as a ratio to the floor, ``json.loads``
of the same bytes (which only builds dicts, checks nothing and reads no money):

- ``checked reader``: what ``parse_event`` did before the typed decoder, and still does
  for any body the typed one does not plainly take (the standard library's parse with
  every number as ``int`` or ``Decimal``, a depth check, then every field read and checked);
- ``parse_event``: the typed decoder first (``msgspec`` into structs declaring only the
  fields a decision reads, money as its JSON text read exactly), the checked reader only
  for what it does not take;
- ``msgspec, generic``: ``msgspec.json.decode`` into plain dicts, for scale;
- ``keys``: what tells a stale or duplicate delivery (ids, time, state or charge), read
  without building the snapshot;
- ``envelope``: the request path's read of the event's id, type, order and time.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import _traffic
import msgspec

from order_lifecycle.provider._typed import typed_keys
from order_lifecycle.webhooks import parse_event
from order_lifecycle.webhooks._envelope import read_envelope
from order_lifecycle.webhooks._events import checked_event


def best(read: Callable[[bytes], object], bodies: list[bytes], repeat: int) -> float:
    """The best CPU seconds per body of ``repeat`` passes of ``read`` over ``bodies``."""
    times = []
    for _ in range(repeat):
        began = time.process_time()
        for body in bodies:
            read(body)
        times.append(time.process_time() - began)
    return min(times) / len(bodies)


def main() -> None:
    """Print each reader's CPU time per body and its ratio to ``json.loads``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bodies = [d.body for d in _traffic.deliveries(args.deliveries)]
    readers: dict[str, Callable[[bytes], object]] = {
        "json.loads (floor)": json.loads,
        "checked reader (before)": checked_event,
        "parse_event (typed decoder)": parse_event,
        "msgspec, generic": msgspec.json.decode,
        "keys": typed_keys,
        "envelope": read_envelope,
    }
    floor = best(json.loads, bodies, args.repeat)
    size = sum(map(len, bodies)) // len(bodies)
    print(f"{len(bodies):,} bodies of _traffic.deliveries, {size} B each on average")
    print("| reader | CPU per body | ratio to json.loads |")
    print("|---|---|---|")
    for name, read in readers.items():
        each = floor if read is json.loads else best(read, bodies, args.repeat)
        print(f"| {name} | {each * 1e6:.1f} µs | {each / floor:.2f}x |")


if __name__ == "__main__":
    main()

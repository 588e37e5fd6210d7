"""The pages a reconciler writes on SQLite, by table and index: WAL frames a delivery.

Run: ``.venv/bin/python benchmarks/bench_wal_frames.py`` (``--deliveries N``, 5,000 by
default). Run it again with ``PYTHONPATH=OTHER/src`` (another order-lifecycle's ``src``)
to count that code's pages.

The request path stores ``_traffic.deliveries(N, seed=0)`` (batches of 500) in a new
SQLite file, which is checkpointed; then one reconciler (batches of 100) settles them all
with the automatic checkpoint off, so that every page its commits wrote is still a frame
of the WAL file. Each frame's page is named by SQLite's ``dbstat`` table (its owner: a
table or an index), and counted a delivery settled. Pages, unlike time, do not depend on
the machine's load: what a schema change saves in writes reads here exactly.
"""

from __future__ import annotations

import argparse
import collections
import sqlite3
import struct
import tempfile
from pathlib import Path

import _traffic

from order_lifecycle import Delivery, Inbox, Reconciler
from order_lifecycle.store import open_store

_WAL_HEADER = 32
_FRAME_HEADER = 24


def frames_by_owner(deliveries: int) -> tuple[int, collections.Counter[str]]:
    """The deliveries settled, and the WAL frames their commits wrote by the page's owner."""
    signed = [
        Delivery(s.body, s.signature, s.received_at)
        for s in _traffic.deliveries(deliveries, seed=0)
    ]
    path = Path(tempfile.mkdtemp()) / "frames.db"
    with open_store(str(path), create=True) as store:
        inbox = Inbox(store, secrets=[_traffic.SECRET])
        for start in range(0, deliveries, 500):
            inbox.accept(signed[start : start + 500])
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    settled = 0
    with open_store(str(path)) as store:
        store._pragma("PRAGMA wal_autocheckpoint = 0")  # type: ignore[attr-defined]  # noqa: SLF001 (every frame kept)
        reconciler = Reconciler(store, batch=100)
        while done := reconciler.run_once():
            settled += done
        wal = Path(f"{path}-wal").read_bytes()
    (page_size,) = struct.unpack(">I", wal[8:12])
    pages = [
        struct.unpack(">I", wal[at : at + 4])[0]
        for at in range(
            _WAL_HEADER, len(wal) - _FRAME_HEADER - page_size + 1, _FRAME_HEADER + page_size
        )
    ]
    with sqlite3.connect(path) as connection:
        owner = dict(connection.execute("SELECT pageno, name FROM dbstat"))
    connection.close()
    return settled, collections.Counter(owner.get(page, "?") for page in pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5_000)
    args = parser.parse_args()
    settled, frames = frames_by_owner(args.deliveries)
    total = sum(frames.values())
    print(f"{settled:,} settled; {total:,} WAL frames; {total / settled:.2f} a delivery")
    print("| page of | frames a delivery |")
    print("|---|---:|")
    for name, count in frames.most_common():
        print(f"| {name} | {count / settled:.2f} |")


if __name__ == "__main__":
    main()

"""``order-lifecycle import``: orders backfilled from ``GET /orders/{id}`` bodies, one a line.

For a shop adopting the library while live: the orders it already has, exported from the
provider, are read as fetched snapshots (:func:`~order_lifecycle.provider.parse_order`)
and reconciled by the path webhooks take (:func:`~order_lifecycle.webhooks.reconcile`),
a batch of lines at a time, each batch one read and one commit of the store.

Each body is reconciled as of its own time (``updatedTime``; else the latest time its
``stateTransitions`` lists; else its ``createdTime``), so importing the same file twice
changes nothing the second time (the same snapshot is a duplicate), and an order the store
holds a newer snapshot of (a webhook applied since the export) is not moved back (the
body is stale). A line is read with a bound (:data:`MAX_LINE`): a longer one is skipped
unread, so memory stays flat whatever the file. Whatever a line holds comes out as one of
``created``, ``updated``, ``unchanged`` or ``refused`` with a one-line reason.
"""

from __future__ import annotations

import argparse
import contextlib
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO

import attrs
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from order_lifecycle.exceptions import EventConflict, InvalidInput, InvalidProviderData
from order_lifecycle.models import Order
from order_lifecycle.provider import OrderSnapshot, parse_order
from order_lifecycle.store import ChangeOutcome, OrderChange, Store, open_store
from order_lifecycle.webhooks import EventOutcome, reconcile

from ._output import Output, clean

__all__ = ["MAX_LINE", "Imported", "add_parser", "import_lines", "run"]

MAX_LINE = 2**20
"""The longest line read (1 MiB, the largest body ``parse_order`` reads); longer: refused."""

_BATCH_LINES = 200
_BATCH_BYTES = 4 * MAX_LINE
_ROUNDS = 5  # a line whose order another writer changed meanwhile is tried again
_SHOWN = 100  # refused lines listed one by one; past that, counted


class Imported(StrEnum):
    """What became of one line."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``import`` command's arguments."""
    parser = commands.add_parser(
        "import",
        help="backfill orders from a JSON-lines file of GET /orders/{id} bodies",
        description=(
            "Read FILE, one GET /orders/{id} body a line, and reconcile each order into the "
            "store by the path webhooks take: new orders are created, known ones brought up "
            "to date, none moved back to an older snapshot. Importing a file twice changes "
            "nothing the second time. Exit status 1 if any line was refused."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument("--db", required=True, help="the store: a SQLite path or postgresql:// DSN")


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """Each non-blank line, numbered from 1; ``None`` for one over :data:`MAX_LINE`, unread."""
    number = 0
    while line := stream.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass
            yield number, None
            continue
        line = line.rstrip(b"\r\n")
        if line.strip():
            yield number, line


def _as_of(snapshot: OrderSnapshot) -> datetime | None:
    """When the body was true: ``updatedTime``, else its latest transition, else ``createdTime``."""
    if snapshot.updated_time is not None:
        return snapshot.updated_time
    if snapshot.state_transitions:
        return max(snapshot.state_transitions.values())
    return snapshot.created_time


@attrs.frozen
class _Line:
    number: int
    snapshot: OrderSnapshot
    at: datetime


@attrs.define
class _Tally:
    """Outcomes counted, and the first refused lines with their reasons."""

    counts: Counter[Imported] = attrs.Factory(Counter)
    refused: list[tuple[int, str]] = attrs.Factory(list)

    def add(self, number: int, outcome: Imported, reason: str = "") -> None:
        self.counts[outcome] += 1
        if outcome is Imported.REFUSED and len(self.refused) < _SHOWN:
            self.refused.append((number, " ".join(reason.split())))


def _read(number: int, line: bytes | None, tally: _Tally) -> _Line | None:
    """The line's order snapshot and time; ``None`` (counted refused) if it has none."""
    if line is None:
        tally.add(number, Imported.REFUSED, f"the line is longer than {MAX_LINE} bytes; not read")
        return None
    try:
        snapshot = parse_order(line)
    except InvalidProviderData as error:
        tally.add(number, Imported.REFUSED, str(error))
        return None
    at = _as_of(snapshot)
    if at is None:
        reason = (
            f"order {snapshot.id!r} has no updatedTime, stateTransitions or createdTime: "
            "nothing dates it, so a second import could not tell it is the same"
        )
        tally.add(number, Imported.REFUSED, reason)
        return None
    return _Line(number, snapshot, at)


def _settle(store: Store, lines: list[_Line], tally: _Tally) -> None:
    """Reconcile ``lines`` with the store, one read and one commit a round."""
    todo = lines
    for _ in range(_ROUNDS):
        known: dict[str, tuple[int, Order | None]] = dict(
            store.read_orders({line.snapshot.id for line in todo})
        )
        changes: list[OrderChange] = []
        made: list[tuple[_Line, Imported]] = []
        for line in todo:
            version, order = known.get(line.snapshot.id, (0, None))
            try:
                done = reconcile(None if order is None else order.copy(), line.snapshot, at=line.at)
            except (EventConflict, InvalidInput) as error:
                tally.add(line.number, Imported.REFUSED, str(error))
                continue
            if done.outcome is not EventOutcome.APPLIED or done.order is None:
                tally.add(line.number, Imported.UNCHANGED)
                continue
            changes.append(OrderChange(done.order, order, version))
            made.append((line, Imported.CREATED if order is None else Imported.UPDATED))
            known[line.snapshot.id] = (version + 1, done.order)
        again = []
        for (line, outcome), result in zip(made, store.commit_changes(changes), strict=True):
            if result.committed:
                tally.add(line.number, outcome)
            elif result.outcome is ChangeOutcome.REFUSED:
                tally.add(line.number, Imported.REFUSED, f"the store refused it: {result.reason}")
            else:
                again.append(line)
        if not again:
            return
        todo = again
    for line in todo:
        reason = f"order {line.snapshot.id!r} kept changing under other writers; import it again"
        tally.add(line.number, Imported.REFUSED, reason)


def import_lines(
    store: Store, stream: IO[bytes], progress: Progress | None = None
) -> tuple[Counter[Imported], list[tuple[int, str]]]:
    """Import every line of ``stream`` into ``store``; the outcomes, and the first refusals.

    Raises:
        StoreError: the store failed (the batches before are written).

    """
    tally = _Tally()
    batch: list[_Line] = []
    size = 0
    for number, line in _lines(stream):
        read = _read(number, line, tally)
        size += MAX_LINE if line is None else len(line) + 1
        if read is not None:
            batch.append(read)
        if len(batch) >= _BATCH_LINES or size >= _BATCH_BYTES:
            _settle(store, batch, tally)
            if progress is not None:
                progress.update(progress.task_ids[0], completed=stream.tell())
            batch, size = [], 0
    if batch:
        _settle(store, batch, tally)
    return tally.counts, tally.refused


def _bar(out: Output, total: int) -> contextlib.AbstractContextManager[Progress | None]:
    """A progress bar with rate and time left on a terminal; nothing elsewhere."""
    if not out.terminal:
        return contextlib.nullcontext()
    bar = Progress(
        TextColumn("importing"),
        BarColumn(),
        TaskProgressColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=out.console,
        transient=True,
    )
    bar.add_task("importing", total=total)
    return bar


def run(args: argparse.Namespace, out: Output) -> int:
    """Import the file; one summary line per outcome; exit status 1 if a line was refused."""
    with (
        args.file.open("rb") as stream,
        open_store(args.db) as store,
        _bar(out, args.file.stat().st_size) as progress,
    ):
        counts, refused = import_lines(store, stream, progress)
    for outcome in Imported:
        out.line(f"{outcome}: {counts[outcome]}")
    for number, reason in refused:
        out.line(f"line {number}: refused: {clean(reason)}")
    hidden = counts[Imported.REFUSED] - len(refused)
    if hidden:
        out.line(f"... and {hidden} more refused lines")
    return 1 if counts[Imported.REFUSED] else 0

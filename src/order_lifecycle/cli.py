"""The ``order-lifecycle`` command: ``demo``, ``check`` and ``diagram``."""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._demo import walk
from .diagrams import FORMATS, render_spec
from .exceptions import OrderLifecycleError
from .lifecycle._spec import MachineSpec
from .lifecycle._tables import CHECKOUT_SPEC, ORDER_SPEC
from .store import open_store

__all__ = ["main"]

_SPECS: dict[str, MachineSpec[Any, Any]] = {"order": ORDER_SPEC, "checkout": CHECKOUT_SPEC}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="order-lifecycle",
        description="An order's life as the payment provider reports it, as a guarded machine.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="walk one order through its lifecycle, refusals included"
    )
    demo.add_argument(
        "--db", help="a SQLite path or postgresql:// DSN to keep it in (default: a temporary file)"
    )
    check = commands.add_parser(
        "check", help="replay every stored history against the current tables; list the illegal"
    )
    check.add_argument("--db", required=True, help="the store: a SQLite path or postgresql:// DSN")
    diagram = commands.add_parser("diagram", help="draw a lifecycle from its spec")
    diagram.add_argument("--machine", choices=sorted(_SPECS), default="order")
    diagram.add_argument("--format", choices=FORMATS, default="mermaid")
    diagram.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    return parser


def _demo(out: list[str], db: str | None) -> None:
    if db is not None:
        with open_store(db) as store:
            # A fresh pair of ids, so that the demo can run again on the same store.
            token = secrets.token_hex(3)
            walk(store, out, order_id=f"demo-{token}", checkout_id=f"chk-demo-{token}")
        return
    with tempfile.TemporaryDirectory(prefix="order-lifecycle-demo-") as folder:
        path = Path(folder) / "orders.db"
        out.append(f"store: {path} (SQLite, the embedded default; --db PATH or a DSN keeps it)")
        with open_store(path) as store:
            walk(store, out)


def _check(out: list[str], db: str) -> bool:
    """Replay every history stored at ``db``; whether all are legal."""
    # Read-only: a check never writes, so it also works on a file or folder it may not
    # write; the check runs SQLite's quick_check first.
    with open_store(db, create=False, read_only=True) as store:
        illegal = store.check()
        orders, checkouts = len(store.order_ids()), len(store.checkout_ids())
    out.extend(str(problem) for problem in illegal)
    checked = (
        f"{_count(orders, 'order')} and {_count(checkouts, 'checkout')} checked against the "
        f"order table (spec {ORDER_SPEC.version}) and the checkout table "
        f"(spec {CHECKOUT_SPEC.version})"
    )
    if illegal:
        many = "histories are" if len(illegal) > 1 else "history is"
        out.append(f"{checked}: {len(illegal)} {many} not legal.")
    else:
        out.append(f"{checked}: every history is legal.")
    return not illegal


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    out: list[str] = []
    try:
        if args.command == "demo":
            _demo(out, args.db)
        elif args.command == "check":
            legal = _check(out, args.db)
            print("\n".join(out))
            return 0 if legal else 1
        else:
            text = render_spec(_SPECS[args.machine], args.format)
            if args.output is not None:
                args.output.write_text(text, encoding="utf-8")
                return 0
            out.append(text.rstrip("\n"))
    except OrderLifecycleError as error:
        # One line: driver messages (PostgreSQL's) may span several.
        print(f"order-lifecycle: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    print("\n".join(out))
    return 0

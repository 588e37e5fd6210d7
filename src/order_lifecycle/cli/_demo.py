"""``order-lifecycle demo``: a realistic day through the real inbox, then what it came to."""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

from order_lifecycle.actions import ActionState
from order_lifecycle.diagrams import SUFFIXES, PathDiagram, render_path, svg_engine
from order_lifecycle.lifecycle import ActionKind, OrderState
from order_lifecycle.models import Order
from order_lifecycle.store import Store, open_store
from order_lifecycle.webhooks import DeliveryStatus

from ._day import STORIES, Day, run_day
from ._diagram import path_of
from ._output import Output, advance

__all__ = ["MIN_ORDERS", "add_parser", "run"]

MIN_ORDERS = len(STORIES)
"""The fewest orders a day has: each story once, so that every outcome shows."""


def _orders(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not MIN_ORDERS <= number <= 10_000:
        raise argparse.ArgumentTypeError(
            f"{number}: give {MIN_ORDERS} to 10000 (each of the {MIN_ORDERS} stories once at least)"
        )
    return number


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``demo`` command's arguments."""
    demo = commands.add_parser(
        "demo",
        help="a realistic day of checkouts and signed webhooks through the inbox",
        description=(
            "A deterministic day: checkouts with every POST /orders outcome, signed webhook "
            "deliveries (duplicates, late ones, a forgery) through the inbox, refused "
            "operations, shipping, e-mailing and capturing through the action worker (one "
            "warehouse timeout, retried), a partial cancellation, a refund, a dispute. Ends "
            "with a summary and one order's path: shown in the terminal, written as Mermaid "
            "and DOT, and as SVG when Graphviz (or the svg extra) is installed."
        ),
    )
    demo.add_argument(
        "--db", help="a SQLite path or postgresql:// DSN to keep it in (default: a temporary file)"
    )
    demo.add_argument(
        "--orders",
        type=_orders,
        default=24,
        help=f"checkouts in the day (default 24, at least {MIN_ORDERS})",
    )
    demo.add_argument("--seed", type=int, default=1, help="the day drawn (default 1)")
    picture = demo.add_mutually_exclusive_group()
    picture.add_argument(
        "--picture",
        type=Path,
        default=Path("order-lifecycle-demo"),
        metavar="PATH",
        help=(
            "where to write one order's path: PATH.mmd, PATH.dot, and PATH.svg when Graphviz "
            "or the svg extra is installed (default: ./order-lifecycle-demo)"
        ),
    )
    picture.add_argument(
        "--no-picture", action="store_true", help="write no picture of the order's path"
    )


def run(args: argparse.Namespace, out: Output) -> int:
    """Run the day in the store ``args.db`` (or a temporary SQLite file); exit status 0."""
    if args.db is not None:
        with open_store(args.db) as store:
            _day(store, args, out, f"{args.db}")
        return 0
    with tempfile.TemporaryDirectory(prefix="order-lifecycle-demo-") as folder:
        path = Path(folder) / "orders.db"
        with open_store(path) as store:
            _day(store, args, out, f"{path} (SQLite, the embedded default; --db PATH keeps it)")
    return 0


def _day(store: Store, args: argparse.Namespace, out: Output, where: str) -> None:
    runs = len(store.checkout_ids())
    day = Day(store, args.seed, prefix=f"run{runs}-" if runs else "")
    out.line(f"store: {where}")
    out.line(f"a day of {args.orders} checkouts (seed {args.seed}), webhooks signed and checked")
    with out.progress("checkouts", args.orders) as bar:
        run_day(day, args.orders, lambda: advance(bar))
    orders = [o for _, o in store.read_orders(day.orders).values()]
    _summary(day, orders, out)
    path = path_of(store.get_order(day.stories["pictured"]))
    _show_path(path, out)
    if not args.no_picture:
        _write_picture(path, args.picture, out)
    illegal = store.check()
    verdict = "every stored history is legal" if not illegal else f"{len(illegal)} illegal"
    out.line(f"check against the order table: {verdict}")


def _show_path(path: PathDiagram, out: Output) -> None:
    """The path in the terminal: one row per step, in order."""
    out.table(
        f"{path.title}'s path ({' -> '.join(step.state for step in path.steps)})",
        ("#", "state", "announced by", "at"),
        [
            (s.number, s.state, f"{s.via} (implied)" if s.implied else s.via, f"{s.at:%H:%M}")
            for s in path.steps
        ],
    )


def _write_picture(path: PathDiagram, stem: Path, out: Output) -> None:
    """Mermaid and DOT always; SVG when something here can draw it, else say how to get it."""
    formats = ["mermaid", "dot"] + (["svg"] if svg_engine() else [])
    written = []
    for fmt in formats:
        target = stem.with_name(stem.name + SUFFIXES[fmt])
        target.write_text(render_path(path, fmt), encoding="utf-8")
        written.append(str(target))
    out.line(f"the path drawn in {', '.join(written)}")
    if "svg" not in formats:
        out.line(
            "  (no SVG: install Graphviz, or `pip install 'order-lifecycle[svg]'`; "
            "the .mmd shows on GitHub and in any Mermaid viewer)"
        )


def _summary(day: Day, orders: list[Order], out: Output) -> None:
    by_state = Counter(str(o.state) for o in orders)
    out.table(
        "orders by state",
        ("state", "orders"),
        [(state, by_state[str(state)]) for state in OrderState if by_state[str(state)]],
    )
    out.table(
        "POST /orders outcomes",
        ("outcome", "checkouts"),
        [(outcome, n) for outcome, n in sorted(day.submissions.items()) if n],
    )
    outcomes = Counter(str(r.outcome) for r in day.results)
    reasons: dict[str, str] = {}
    for result in day.results:  # the first of each outcome, as an example
        reasons.setdefault(str(result.outcome), result.reason)
    out.table(
        f"webhook deliveries by outcome, stored and reconciled inline ({len(day.results)} in all)",
        ("outcome", "deliveries", "for example"),
        [(o, n, reasons[o]) for o, n in sorted(outcomes.items())],
    )
    counts = day.store.delivery_counts()
    out.table(
        f"the store's inbox, by status ({sum(counts.values())} deliveries stored)",
        ("status", "deliveries"),
        [(status, counts[status]) for status in DeliveryStatus if status in counts],
    )
    _actions(day, out)
    out.heading("refused, as the provider's rules say (nothing changed):")
    alike: dict[tuple[str, str, str], list[str]] = {}
    for refusal in day.refusals:
        alike.setdefault((refusal.attempt, refusal.error, refusal.reason), []).append(
            refusal.subject
        )
    for (attempt, error, reason), subjects in alike.items():
        times = f"{len(subjects)} times, first " if len(subjects) > 1 else ""
        out.line(f"  {attempt} ({times}{subjects[0]}): {error}: {reason}")


def _actions(day: Day, out: Output) -> None:
    """What the day's changes asked the shop to do (the outbox), by kind and where it stands."""
    actions = [a for order_id in day.orders for a in day.store.list_actions(order_id=order_id)]
    counts = Counter((str(a.kind), str(a.state)) for a in actions)
    states = [s for s in ActionState if any(counts[k, str(s)] for k in ActionKind)]
    out.table(
        f"actions, run by the shop's worker ({len(actions)} in the outbox)",
        ("action", *(str(s) for s in states)),
        [
            (kind, *(counts[str(kind), str(s)] for s in states))
            for kind in ActionKind
            if any(counts[str(kind), str(s)] for s in states)
        ],
    )
    unhandled = sorted({str(a.kind) for a in actions} - set(day.shop.handlers()))
    if unhandled:
        out.line(f"  (no handler in the demo for {', '.join(unhandled)}: left for an operator)")
    for action in actions:
        if action.tries > 1 or action.state in {ActionState.FAILED, ActionState.DEAD}:
            out.line(
                f"  {action.kind} {action.order_id}/{action.subject}: {action.state} "
                f"on try {action.tries} (the last failure: {action.last_error})"
            )
    sent = Counter((m.kind, m.text) for m in day.shop.sent if m.kind == "customer message")
    emails = sum(1 for m in day.shop.sent if m.kind == "e-mail")
    out.line(f"  e-mails with a download link: {emails}; units shipped: {day.shop.shipped}")
    for (_, text), times in sorted(sent.items()):
        out.line(f"  told {times} customer(s): {text}")

"""``order-lifecycle actions``: the outbox of what the shop must do: list, retry, run, prune."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from order_lifecycle.actions import ActionState, ActionWorker, StoredAction, load_handlers
from order_lifecycle.exceptions import InvalidInput, OrderLifecycleError
from order_lifecycle.lifecycle import ActionKind
from order_lifecycle.store import open_store

from ._args import plain_id
from ._listing import add_page_arguments, page_document, print_page
from ._logging import log_to_stderr
from ._output import Output, fixed
from ._settings import add_db_argument, store_url

__all__ = ["add_parser", "run"]

_KINDS = [str(k) for k in ActionKind]
_STATES = [str(s) for s in ActionState]


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < number <= 86_400:  # a day: the longest lease a store takes
        raise argparse.ArgumentTypeError(f"{value}: give a number of seconds above 0, up to 86400")
    return number


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 1 <= number <= 10_000:  # the stores' largest batch
        raise argparse.ArgumentTypeError(f"{number}: give 1 to 10000")
    return number


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 moment: {value!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value}: give the offset too, e.g. {value}+00:00")
    return moment


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``actions`` command's arguments: ``list``, ``retry``, ``run`` and ``prune``."""
    actions = commands.add_parser(
        "actions",
        help="the outbox of what the shop must do: list, retry, run or prune its actions",
        description=(
            "The actions the orders' changes asked the shop to do (ship, deliver_digitally, "
            "notify_customer, capture ...), written by the store with each change."
        ),
    )
    verbs = actions.add_subparsers(dest="verb", required=True)
    listed = verbs.add_parser(
        "list",
        help="list actions, oldest first, a page at a time",
        description=(
            "List the outbox's actions, oldest first, a page at a time with the true total "
            "(read-only)."
        ),
    )
    add_db_argument(listed)
    listed.add_argument(
        "--state",
        action="append",
        choices=_STATES,
        metavar="STATE",
        help=f"only in this state (repeatable): {', '.join(_STATES)}",
    )
    listed.add_argument(
        "--kind",
        action="append",
        choices=_KINDS,
        metavar="KIND",
        help=f"only of this kind (repeatable): {', '.join(_KINDS)}",
    )
    listed.add_argument("--order", type=plain_id, metavar="ORDER_ID", help="only this order's")
    add_page_arguments(
        listed,
        after=plain_id,
        after_help="start after this action (the key the page before said to go on from)",
        since_help=(
            "only those created since: an ISO 8601 moment with its offset, or an age (2h, 7d)"
        ),
    )
    retry = verbs.add_parser(
        "retry",
        help="make a dead or failed action pending again",
        description=(
            "Make a dead or failed action pending again, its tries counted from 0. A "
            "cancelled action (its reason went away: the order was cancelled, its item has "
            "no open units) is never retried: the refusal says why."
        ),
    )
    retry.add_argument("key", metavar="KEY", help="the action's key, as `actions list` shows it")
    add_db_argument(retry)
    running = verbs.add_parser(
        "run",
        help="run due actions through the shop's handlers",
        description=(
            "Claim due actions and run each through the shop's handler for its kind; a "
            "handler that raises, or runs past --time-limit, fails its action, which is "
            "retried with backoff (dead after the store's max tries); whatever it returns is "
            "kept. Without --once, runs until SIGTERM or Ctrl-C (the action running is "
            "finished first, within its time limit; the rest of its batch is released). The "
            "current folder is importable, as with python -m."
        ),
    )
    add_db_argument(running)
    running.add_argument(
        "--handlers",
        required=True,
        metavar="MODULE:ATTR",
        help="a mapping of action kinds to callables, e.g. shop.actions:HANDLERS",
    )
    running.add_argument(
        "--kinds",
        nargs="+",
        choices=_KINDS,
        metavar="KIND",
        help="only these kinds (default: every kind the handlers name)",
    )
    running.add_argument("--once", action="store_true", help="run one batch, then stop")
    running.add_argument(
        "--batch", type=_count, default=10, help="actions claimed at a time (default 10)"
    )
    running.add_argument(
        "--lease",
        type=_seconds,
        default=300.0,
        help="seconds a claim holds an action; longer than a handler runs (default 300)",
    )
    running.add_argument(
        "--time-limit",
        type=_seconds,
        default=60.0,
        help="seconds one handler may run before its action is failed (default 60)",
    )
    running.add_argument(
        "--idle",
        type=_seconds,
        default=1.0,
        help="seconds to wait when nothing is due (default 1)",
    )
    pruned = verbs.add_parser(
        "prune",
        help="delete the done and cancelled actions finished before a moment",
        description=(
            "Delete the done and cancelled actions that finished before --before; pending, "
            "claimed, failed and dead actions are kept."
        ),
    )
    add_db_argument(pruned)
    pruned.add_argument(
        "--before",
        required=True,
        type=_moment,
        metavar="ISO",
        help="an ISO 8601 moment with its offset, e.g. 2026-01-01T00:00:00+00:00",
    )


def run(args: argparse.Namespace, out: Output) -> int:
    """List, retry, run or prune actions; exit status 0."""
    if args.verb == "list":
        return _list(args, out)
    if args.verb == "retry":
        return _retry(args, out)
    if args.verb == "prune":
        return _prune(args, out)
    return _run(args, out)


def _prune(args: argparse.Namespace, out: Output) -> int:
    with open_store(store_url(args.db), create=False) as store:
        count = store.prune_actions(args.before)
    noun = "action" if count == 1 else "actions"
    out.line(f"{count} finished {noun} pruned (done or cancelled before {args.before.isoformat()})")
    return 0


def _list(args: argparse.Namespace, out: Output) -> int:
    with open_store(store_url(args.db), create=False, read_only=True) as store:
        page = store.page_actions(
            states=args.state,
            kinds=args.kind,
            order_id=args.order,
            since=args.since,
            after=args.after,
            limit=args.limit,
        )
    if args.json:
        out.json(page_document("actions", page, [_as_json(a) for a in page.items]))
        return 0
    print_page(
        out,
        "actions",
        page,
        ("key", fixed("state"), fixed("tries"), fixed("due again at"), "last error"),
        [(a.key, _state(a), a.tries, _due(a), _why(a)) for a in page.items],
    )
    return 0


def _state(action: StoredAction) -> str:
    """Its state, and what holds it: ``pending (held: dispute)``."""
    return f"{action.state} (held: {action.held_by})" if action.held_by else str(action.state)


def _why(action: StoredAction) -> str:
    """Its last error, or why it was cancelled."""
    reason = action.cancel_reason
    return f"cancelled: {reason}" if reason else action.last_error or ""


def _due(action: StoredAction) -> str:
    """When a failed action is due again, or a claimed one's lease ends."""
    moment = {
        ActionState.FAILED: action.retry_at,
        ActionState.CLAIMED: action.lease_until,
    }.get(action.state)
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S}"


def _as_json(action: StoredAction) -> dict[str, Any]:
    """An action as plain JSON: its result parsed, its moments in ISO 8601."""

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat()

    return {
        "key": action.key,
        "order_id": action.order_id,
        "kind": str(action.kind),
        "subject": action.subject,
        "payload": action.payload,
        "state": str(action.state),
        "tries": action.tries,
        "created_at": iso(action.created_at),
        "lease_until": iso(action.lease_until),
        "retry_at": iso(action.retry_at),
        "last_error": action.last_error,
        "result": None if action.result is None else json.loads(action.result),
        "held_by": None if action.held_by is None else str(action.held_by),
    }


def _retry(args: argparse.Namespace, out: Output) -> int:
    with open_store(store_url(args.db), create=False) as store:
        # Unknown: UnknownAction; not dead or failed: ActionNotRetryable, saying why.
        action = store.retry_action(args.key)
    held = f" once its order leaves {action.held_by}" if action.held_by is not None else ""
    out.line(f"action {action.key} is pending again (tries from 0): the next run takes it{held}")
    return 0


def _run(args: argparse.Namespace, out: Output) -> int:
    # As `python -m` does, so that `--handlers shop:HANDLERS` finds ./shop.py.
    here = str(Path.cwd())
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        handlers = load_handlers(args.handlers)
    except OrderLifecycleError:
        raise
    except Exception as error:  # noqa: BLE001 (the shop's module failed on import)
        message = f"cannot load handlers from {args.handlers!r}: {type(error).__name__}: {error}"
        raise InvalidInput(message) from None
    if args.kinds is not None:
        missing = sorted(set(args.kinds) - set(handlers))
        if missing:
            message = f"{args.handlers} has no handler for {', '.join(missing)}."
            raise InvalidInput(message)
        handlers = {kind: handlers[kind] for kind in handlers if kind in args.kinds}
    with open_store(store_url(args.db), create=False) as store:
        worker = ActionWorker(
            store,
            handlers,
            batch=args.batch,
            lease=timedelta(seconds=args.lease),
            idle=args.idle,
            time_limit=timedelta(seconds=args.time_limit),
        )
        if args.once:
            worker.run_once()
        else:
            out.line(f"running {', '.join(sorted(handlers))} (SIGTERM or Ctrl-C stops)")
            out.console.file.flush()
            log_to_stderr()
            worker.run_forever()
    counts = worker.counts
    out.line(
        f"actions claimed: {counts.claimed}, done: {counts.done}, failed (to retry): "
        f"{counts.failed}, dead: {counts.dead}"
    )
    return 0

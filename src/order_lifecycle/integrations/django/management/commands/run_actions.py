"""``manage.py run_actions``: the action worker, running the shop's handlers from the settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import (  # type: ignore[import-untyped]
    BaseCommand,
    CommandError,
    CommandParser,
)

from order_lifecycle.actions import ActionWorker
from order_lifecycle.integrations.django._commands import one_line_errors, seconds, whole
from order_lifecycle.integrations.django._settings import get_store, handlers
from order_lifecycle.lifecycle import ActionKind

__all__ = ["Command"]

_KINDS = [str(k) for k in ActionKind]


class Command(BaseCommand):  # type: ignore[misc]
    """Run due actions through ``settings.ORDER_LIFECYCLE["HANDLERS"]`` until SIGTERM, or once."""

    help = (
        'Claim due actions and run each through the handler settings.ORDER_LIFECYCLE["HANDLERS"] '
        "names for its kind; a handler that raises, or runs past --time-limit, fails its "
        "action, retried with backoff (dead after the store's max tries). Runs until SIGTERM "
        "or Ctrl-C (the running action finishes first); --once runs one batch."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """``--once``, ``--kinds``, ``--batch``, ``--lease``, ``--time-limit``, ``--idle``."""
        parser.add_argument("--once", action="store_true", help="run one batch, then stop")
        parser.add_argument(
            "--kinds",
            nargs="+",
            choices=_KINDS,
            metavar="KIND",
            help=f"only these kinds (default: every kind the handlers name): {', '.join(_KINDS)}",
        )
        parser.add_argument(
            "--batch", type=whole(1, 10_000), default=10, help="actions claimed at a time (10)"
        )
        parser.add_argument(
            "--lease", type=seconds, default=300.0, help="seconds a claim holds an action (300)"
        )
        parser.add_argument(
            "--time-limit",
            type=seconds,
            default=60.0,
            help="seconds one handler may run before its action is failed (60)",
        )
        parser.add_argument(
            "--idle", type=seconds, default=1.0, help="seconds to wait when nothing is due (1)"
        )

    def handle(self, *_args: Any, **options: Any) -> None:  # noqa: ANN401 (Django's)
        """Run the worker; print its counts when it stops."""
        with one_line_errors():
            found = handlers()
            if options["kinds"]:
                missing = sorted(set(options["kinds"]) - {str(kind) for kind in found})
                if missing:
                    raise CommandError(f"the handlers have none for {', '.join(missing)}.")
                found = {kind: found[kind] for kind in found if str(kind) in options["kinds"]}
            worker = ActionWorker(
                get_store(),
                found,
                batch=options["batch"],
                lease=timedelta(seconds=options["lease"]),
                idle=options["idle"],
                time_limit=timedelta(seconds=options["time_limit"]),
            )
            if options["once"]:
                worker.run_once()
            else:
                self.stdout.write(f"running {', '.join(sorted(worker.handlers))} (SIGTERM stops)")
                self.stdout.flush()
                worker.run_forever()
        counts = worker.counts
        self.stdout.write(
            f"actions claimed: {counts.claimed}, done: {counts.done}, failed (to retry): "
            f"{counts.failed}, dead: {counts.dead}"
        )

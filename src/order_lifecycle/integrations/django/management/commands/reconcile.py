"""``manage.py reconcile``: a reconciler process, applying what the webhook view stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser  # type: ignore[import-untyped]

from order_lifecycle.integrations.django._commands import (
    MAX_ROUNDS,
    one_line_errors,
    seconds,
    whole,
)
from order_lifecycle.integrations.django._settings import get_store
from order_lifecycle.webhooks import CLAIMED_ORDERS, Reconciler

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]
    """Apply the inbox's deliveries to their orders until SIGTERM, or ``--once``."""

    help = (
        "Claim the inbox's due deliveries order by order and apply them. Runs until SIGTERM "
        "or Ctrl-C (the batch running is written first); --once stops when nothing is due. "
        "Several may run on one PostgreSQL database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """``--once``, ``--batch``, ``--idle`` and ``--order-wait``."""
        parser.add_argument("--once", action="store_true", help="stop once nothing is due")
        parser.add_argument(
            "--batch",
            type=whole(1, 10_000),
            default=CLAIMED_ORDERS,
            help=f"orders claimed at a time ({CLAIMED_ORDERS})",
        )
        parser.add_argument(
            "--idle", type=seconds, default=1.0, help="seconds to wait when nothing is due (1)"
        )
        parser.add_argument(
            "--order-wait",
            type=seconds,
            default=900.0,
            help="seconds a delivery waits for its order before it is unknown_order (900)",
        )

    def handle(self, *_args: Any, **options: Any) -> None:  # noqa: ANN401 (Django's)
        """Reconcile; print the counts when it stops."""
        with one_line_errors():
            reconciler = Reconciler(
                get_store(),
                batch=options["batch"],
                idle=options["idle"],
                order_wait=timedelta(seconds=options["order_wait"]),
            )
            if options["once"]:
                for _ in range(MAX_ROUNDS):
                    if not reconciler.run_once():
                        break
            else:
                self.stdout.write("reconciling the inbox (SIGTERM or Ctrl-C stops)")
                self.stdout.flush()
                reconciler.run_forever()
        counts = reconciler.counts
        settled = ", ".join(f"{status} {n}" for status, n in sorted(counts.settled.items()))
        self.stdout.write(
            f"deliveries settled: {sum(counts.settled.values())} ({settled or 'none'}); orders "
            f"lost to another writer (retried): {counts.lost}; store failures: {counts.errors}"
        )

"""``order-lifecycle sandbox``: the provider's ``POST /orders`` and lookups, on loopback.

Serves until SIGTERM or Ctrl-C, one line per request and per webhook sent (flushed, so a
pipe sees each at once). How each checkout id comes out, and what each created order's life
sends, is the table of :mod:`order_lifecycle.sandbox` (the README's "Developing against a
local provider"), or a script file's.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from datetime import timedelta
from pathlib import Path

from order_lifecycle.sandbox import PREFIXES, Sandbox, check_loopback, check_url, read_script

from ._args import bounded, checked, number, without_password
from ._output import Output
from ._secrets import ENVIRONMENT, add_secret_argument, signing_secret

__all__ = ["add_parser", "run"]

DEFAULT_PORT = 8421


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``sandbox`` command's arguments."""
    sandbox = commands.add_parser(
        "sandbox",
        help="serve the provider's POST /orders and lookups on loopback, and send webhooks",
        description=(
            "Serve the provider's POST /orders, GET /orders?checkoutId= and GET /orders/{id} "
            "on loopback. A checkout comes out by the prefix of its id, or by --script; each "
            "order created then lives its life, and its events are posted to --webhook, "
            f"signed with the first secret of {ENVIRONMENT}. Runs until SIGTERM or Ctrl-C."
        ),
        epilog="prefixes: "
        + ", ".join(f"{prefix}-: {outcome}" for prefix, outcome in PREFIXES.items())
        + "; any other id: accepted.",
    )
    sandbox.add_argument(
        "--host",
        type=checked(check_loopback),
        default="127.0.0.1",
        help="a loopback address to bind (default 127.0.0.1; nothing else is allowed)",
    )
    sandbox.add_argument(
        "--port",
        type=bounded(0, 65535),
        default=DEFAULT_PORT,
        help=f"the port (default {DEFAULT_PORT}; 0: any free one)",
    )
    sandbox.add_argument(
        "--webhook",
        type=checked(lambda url: check_url(url, "the webhook URL")),
        metavar="URL",
        help="the shop's webhook endpoint (no webhooks without it)",
    )
    sandbox.add_argument(
        "--script",
        type=Path,
        metavar="FILE",
        help='JSON: {"CHECKOUT_ID": OUTCOME or {"outcome": ..., "events": [...]}}',
    )
    sandbox.add_argument(
        "--step",
        type=number(0, 3600),
        default=1.0,
        metavar="SECONDS",
        help="the time between two steps of an order's life, and its webhooks (default 1)",
    )
    sandbox.add_argument(
        "--hold",
        type=number(0, 3600),
        default=35.0,
        metavar="SECONDS",
        help="how long a timeout- checkout's submission is held unanswered (default 35)",
    )
    sandbox.add_argument(
        "--retries",
        type=bounded(0, 10),
        default=3,
        metavar="N",
        help="times a webhook not answered 2xx is sent again (default 3)",
    )
    add_secret_argument(sandbox)


def run(args: argparse.Namespace, out: Output) -> int:
    """Serve until stopped; exit status 0."""
    secret = signing_secret(args.secret) if args.webhook is not None else None
    script = read_script(args.script) if args.script is not None else {}
    lock = threading.Lock()

    def log(line: str) -> None:
        with lock:
            out.line(line)
            out.console.file.flush()

    stop = threading.Event()
    sandbox = Sandbox(
        host=args.host,
        port=args.port,
        webhook=args.webhook,
        secret=secret,
        script=script,
        step=timedelta(seconds=args.step),
        hold=args.hold,
        retries=args.retries,
        log=log,
    )
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with sandbox:
            webhooks = f"webhooks to {without_password(args.webhook)}" if args.webhook else ""
            log(
                f"sandbox: the provider on {sandbox.url} (POST /orders, GET /orders?checkoutId=, "
                f"GET /orders/{{id}}); {webhooks or 'no webhooks'}; Ctrl-C stops it"
            )
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop as SIGTERM does
                stop.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    log("sandbox: stopped")
    return 0

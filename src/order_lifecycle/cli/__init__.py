"""The ``order-lifecycle`` command: demo, replay, import, status, show, orders, diagram, ...

... inbox, reconcile, actions, check, migrate and schema, and the local provider's ``send``
and ``sandbox``. The store comes from ``--db``, else ``$ORDER_LIFECYCLE_DB``. Every command is
a module here with ``add_parser`` and ``run``. Errors are one line on stderr and a non-zero
exit status, never a traceback: 1 for what the library or the system refused (and for a
bug, named as one), 2 for arguments the parser refused.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from order_lifecycle._version import __version__
from order_lifecycle.exceptions import OrderLifecycleError

from . import (
    _actions,
    _check,
    _demo,
    _diagram,
    _import,
    _inbox,
    _migrate,
    _orders,
    _reconcile,
    _replay,
    _sandbox,
    _schema,
    _send,
    _show,
    _status,
)
from ._output import Output

__all__ = ["main"]

_PROG = "order-lifecycle"
_COMMANDS: dict[str, Callable[[argparse.Namespace, Output], int]] = {
    "demo": _demo.run,
    "replay": _replay.run,
    "import": _import.run,
    "show": _show.run,
    "status": _status.run,
    "orders": _orders.run,
    "diagram": _diagram.run,
    "inbox": _inbox.run,
    "reconcile": _reconcile.run,
    "actions": _actions.run,
    "check": _check.run,
    "migrate": _migrate.run,
    "schema": _schema.run,
    "send": _send.run,
    "sandbox": _sandbox.run,
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: the problem, and where help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{_PROG}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_PROG,
        description="An order's life as the payment provider reports it, as a guarded machine.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in (
        _demo,
        _replay,
        _import,
        _status,
        _show,
        _orders,
        _diagram,
        _inbox,
        _reconcile,
        _actions,
        _check,
        _migrate,
        _schema,
        _send,
        _sandbox,
    ):
        module.add_parser(commands)
    return parser


def _one_line(text: str) -> str:
    # Driver messages (PostgreSQL's) may span several lines.
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args, Output())
    except OrderLifecycleError as error:
        message = str(error)
    except OSError as error:
        where = f": {error.filename}" if error.filename is not None else ""
        message = f"{error.strerror or type(error).__name__}{where}"
    except KeyboardInterrupt:
        message = "interrupted"
    except Exception as error:  # noqa: BLE001 (a command line answers in one line, never a traceback)
        message = f"unexpected {type(error).__name__} (a bug: please report it): {error}"
    print(f"{_PROG}: {_one_line(message)}", file=sys.stderr)
    return 1

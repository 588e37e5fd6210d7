"""The services' log: the library's records to stderr at a level from the environment."""

from __future__ import annotations

import logging
import sys

import pytest

from order_lifecycle.cli._logging import LEVEL_VARIABLE, log_to_stderr


def bare_root(monkeypatch: pytest.MonkeyPatch) -> logging.Logger:
    """The root logger as a fresh process has it: no handler (restored afterwards).

    Called in the test itself: pytest adds its capturing handlers after fixtures run.
    """
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", logging.WARNING)
    return root


@pytest.mark.parametrize(("named", "level"), [("debug", logging.DEBUG), ("loud", logging.INFO)])
def test_a_service_logs_to_stderr_at_the_level_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, named: str, level: int
) -> None:
    """ORDER_LIFECYCLE_LOG_LEVEL sets the level (a name it does not know: INFO)."""
    monkeypatch.setenv(LEVEL_VARIABLE, named)
    root = bare_root(monkeypatch)
    log_to_stderr()
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    assert handler.stream is sys.stderr
    assert root.level == level


def test_a_shops_own_configuration_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A root logger with a handler already (the shop configured logging) is not touched."""
    root = bare_root(monkeypatch)
    mine = logging.NullHandler()
    root.handlers.append(mine)
    log_to_stderr()
    assert root.handlers == [mine]
    assert root.level == logging.WARNING

"""The Django app's management commands: migrate_orders, reconcile, run_actions; its checks."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core import checks  # type: ignore[import-untyped]
from django.core.management import call_command  # type: ignore[import-untyped]
from django.core.management.base import CommandError  # type: ignore[import-untyped]
from django.test import override_settings  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from order_lifecycle.actions import StoredAction
from order_lifecycle.integrations.django import get_inbox, get_store
from order_lifecycle.store import SCHEMA_VERSION
from order_lifecycle.testing import HOSTILE_TEXT
from order_lifecycle.webhooks import Delivery, sign

from . import integrations as glue
from .django_setup import configure

configure()

SHIPPED: list[str] = []


def ship(action: StoredAction) -> str:
    """A handler: notes the action's key, as a warehouse would take it."""
    SHIPPED.append(action.key)
    return "on its way"


HANDLERS = {"ship": ship, "deliver_digitally": ship}


@pytest.fixture
def lifecycle(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """settings.ORDER_LIFECYCLE on a new SQLite file, with this module's handlers."""
    setting = {
        "DB": str(tmp_path / "orders.db"),
        "SECRETS": glue.SECRET,
        "HANDLERS": f"{__name__}:HANDLERS",
    }
    SHIPPED.clear()
    with override_settings(ORDER_LIFECYCLE=setting):
        yield setting


def run(*argv: str) -> str:
    out = io.StringIO()
    call_command(*argv, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_migrate_orders_creates_the_tables_then_has_nothing_to_do(
    lifecycle: dict[str, Any],
) -> None:
    """migrate_orders makes the store's tables in the settings' DB; run again, nothing."""
    assert run("migrate_orders") == (
        f"Created the tables of schema version {SCHEMA_VERSION} in the SQLite file "
        f"{lifecycle['DB']}.\n"
    )
    assert "nothing to do" in run("migrate_orders")


def test_reconcile_once_applies_what_the_view_stored(lifecycle: dict[str, Any]) -> None:
    """Reconcile --once applies the stored deliveries; run_actions --once ships the items."""
    del lifecycle
    raw = glue.body()
    (result,) = get_inbox().accept([Delivery(raw, sign(raw, glue.SECRET, datetime.now(UTC)))])
    assert result.outcome == "pending"
    assert run("reconcile", "--once") == (
        "deliveries settled: 1 (applied 1); orders lost to another writer (retried): 0; "
        "store failures: 0\n"
    )
    assert get_store().read_orders(["1001"])["1001"][1].state == "accepted"
    assert run("run_actions", "--once", "--kinds", "ship") == (
        "actions claimed: 1, done: 1, failed (to retry): 0, dead: 0\n"
    )
    assert len(SHIPPED) == 1


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (None, "settings.ORDER_LIFECYCLE must be a dict"),
        ({"DB": ""}, 'settings.ORDER_LIFECYCLE["DB"] must name the store'),
        ({"DB": "x.db", "HANDLERS": "no_such_module:HANDLERS"}, "cannot load handlers"),
        ({"DB": "x.db"}, 'settings.ORDER_LIFECYCLE["HANDLERS"] must name the action handlers'),
    ],
)
def test_bad_settings_are_one_line_command_errors(
    tmp_path: Path, setting: dict[str, Any] | None, message: str
) -> None:
    """Missing or wrong settings: a CommandError saying what to set, nothing opened."""
    if setting is not None and setting.get("DB"):
        setting = {**setting, "DB": str(tmp_path / setting["DB"])}
    refused = pytest.raises(CommandError, match=re.escape(message))
    with override_settings(ORDER_LIFECYCLE=setting), refused:
        run("run_actions", "--once")


def test_kinds_the_handlers_lack_are_refused(lifecycle: dict[str, Any]) -> None:
    """run_actions --kinds naming a kind without a handler is refused, naming it."""
    del lifecycle
    with pytest.raises(CommandError, match="the handlers have none for capture"):
        run("run_actions", "--once", "--kinds", "capture")


def test_the_system_check_names_each_problem(tmp_path: Path) -> None:
    """Django's system check (manage.py check) reports each settings problem by its id."""
    setting = {"DB": str(tmp_path / "x.db"), "SECRETS": 5, "OTHER": 1}
    with override_settings(ORDER_LIFECYCLE=setting):
        found = checks.run_checks(tags=[checks.Tags.compatibility])
    assert sorted(m.id for m in found if m.id.startswith("order_lifecycle.")) == [
        "order_lifecycle.E002",
        "order_lifecycle.E004",
    ]
    with override_settings(ORDER_LIFECYCLE={"DB": "x.db", "SECRETS": ["s"]}):
        found = checks.run_checks(tags=[checks.Tags.compatibility])
    assert not [m for m in found if m.id.startswith("order_lifecycle.")]


@settings(max_examples=30, deadline=None)
@given(
    command=st.sampled_from(["reconcile", "run_actions"]),
    option=st.sampled_from(["--batch", "--idle", "--lease", "--time-limit", "--order-wait"]),
    value=HOSTILE_TEXT | st.sampled_from(["0", "-1", "nan", "inf", "1e9", "10001", "86401"]),
)
def test_hostile_options_are_command_errors(command: str, option: str, value: str) -> None:
    """Any bad option value is a CommandError before anything runs."""
    with pytest.raises(CommandError):
        run(command, option, value, "--once")

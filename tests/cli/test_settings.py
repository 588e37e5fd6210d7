"""Settings from the environment: the store's URL and the secrets, never on a command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle.cli import main
from order_lifecycle.cli._secrets import verifying_secrets
from order_lifecycle.cli._settings import DB_ENVIRONMENT, store_url
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.store import open_store
from order_lifecycle.testing import HOSTILE_TEXT
from order_lifecycle.webhooks import sign

from .test_replay import SECRET, T0, accepted


def test_the_store_comes_from_the_environment_and_db_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --db a command opens ORDER_LIFECYCLE_DB's store; --db names another."""
    here, there = tmp_path / "here.db", tmp_path / "there.db"
    open_store(here).close()
    monkeypatch.setenv(DB_ENVIRONMENT, str(here))
    assert main(["migrate"]) == 0
    assert str(here) in capsys.readouterr().out
    assert main(["migrate", "--db", str(there)]) == 0
    assert str(there) in capsys.readouterr().out
    assert main(["status", "--json"]) == 0
    assert str(here) in json.loads(capsys.readouterr().out)["store"]


def test_no_store_named_anywhere_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With neither --db nor the variable, a command says both ways in one line, exit 1."""
    monkeypatch.delenv(DB_ENVIRONMENT, raising=False)
    for argv in (["status"], ["inbox", "list"], ["actions", "list"], ["reconcile", "--once"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err == (
            "order-lifecycle: no store given: pass --db URL or set ORDER_LIFECYCLE_DB (a "
            "SQLite path or a postgresql:// DSN).\n"
        )


def test_a_password_on_the_command_line_is_warned_about(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A DSN with a password in --db is used, with a warning that ps shows it; none without."""
    assert main(["status", "--db", "postgresql://shop:hunter2@127.0.0.1:1/shop"]) == 1
    err = capsys.readouterr().err
    assert "warning: --db shows a password to every user of this machine" in err
    assert "hunter2" not in err
    assert main(["status", "--db", "postgresql://shop@127.0.0.1:1/shop"]) == 1
    assert "warning" not in capsys.readouterr().err


def test_replay_verifies_with_the_environments_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Replay checks signatures with ORDER_LIFECYCLE_SECRETS (no warning); --secret warns."""
    body = accepted("o-1", "e-1")
    log = tmp_path / "events.jsonl"
    wrapped = {"body": body.decode(), "signature": sign(body, SECRET, T0), "received_at": str(T0)}
    log.write_text(json.dumps(wrapped) + "\n")
    monkeypatch.setenv("ORDER_LIFECYCLE_SECRETS", f"rotated-secret-0, {SECRET}")
    monkeypatch.setenv(DB_ENVIRONMENT, str(tmp_path / "s.db"))
    assert main(["replay", str(log), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["deliveries"][0]["outcome"] == "applied"
    assert captured.err == ""
    monkeypatch.setenv("ORDER_LIFECYCLE_SECRETS", "another-secret-entirely")
    assert main(["replay", str(log), "--json", "--db", str(tmp_path / "t.db")]) == 1
    assert json.loads(capsys.readouterr().out)["deliveries"][0]["outcome"] == "invalid"
    argv = ["replay", str(log), "--json", "--db", str(tmp_path / "u.db"), "--secret", SECRET]
    assert main(argv) == 0
    assert "warning: --secret shows the secret to every user" in capsys.readouterr().err


def test_secrets_come_from_flags_then_the_environment_then_none() -> None:
    """The flags' secrets win; else the variable's, comma-separated; else none (trusted)."""
    environ = {"ORDER_LIFECYCLE_SECRETS": " a-secret , ,another "}
    assert verifying_secrets(None, environ) == ["a-secret", "another"]
    assert verifying_secrets(None, {}) is None
    assert verifying_secrets(None, {"ORDER_LIFECYCLE_SECRETS": " , "}) is None


@given(value=HOSTILE_TEXT | st.text(max_size=5))
def test_any_environment_value_is_a_url_or_refused_typed(value: Any) -> None:
    """Any variable's value is the URL (stripped), or, blank, a typed refusal."""
    try:
        found = store_url(None, {DB_ENVIRONMENT: value})
    except InvalidInput:
        assert not value.strip()
    else:
        assert found == value.strip()

"""`order-lifecycle sandbox`: the local provider as a process, until SIGTERM."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from order_lifecycle.cli import main
from tests.loopback import Endpoint, fetch, sandbox_process

SECRET = "whsec_sandbox_cli_tests"  # noqa: S105 (a test's own)


def test_the_sandbox_serves_sends_and_stops_on_sigterm() -> None:
    """It prints its URL, answers POST /orders, posts the order's webhooks, stops on SIGTERM."""
    secrets = f"{SECRET},whsec_the_next_one"
    with (
        Endpoint() as shop,
        sandbox_process(secrets, "--webhook", shop.url, "--step", "0.05") as running,
    ):
        process, url = running
        status, body = fetch(f"{url}/orders", json.dumps({"checkoutId": "blocked-1"}).encode())
        assert (status, json.loads(body)["state"]) == (201, "in_review")
        posts = shop.wait_for(2)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert [json.loads(p.body)["type"] for p in posts] == ["order.review_opened", "order.blocked"]
    assert (process.returncode, err) == (0, "")
    assert "POST /orders 'blocked-1' -> 201 in_review" in out
    assert "webhook order.blocked" in out
    assert out.endswith("sandbox: stopped\n")
    assert SECRET not in out


def test_a_bad_script_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A script with an unknown outcome: one line on stderr, exit 1, nothing served."""
    script = tmp_path / "script.json"
    script.write_text('{"chk-1": "maybe"}', encoding="utf-8")
    assert main(["sandbox", "--port", "0", "--script", str(script)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("order-lifecycle: the script")
    assert err.count("\n") == 1


def test_webhooks_without_a_secret_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--webhook with no ORDER_LIFECYCLE_SECRETS: one line saying to set it, exit 1."""
    monkeypatch.delenv("ORDER_LIFECYCLE_SECRETS", raising=False)
    assert main(["sandbox", "--port", "0", "--webhook", "http://127.0.0.1:9/hook"]) == 1
    assert "set ORDER_LIFECYCLE_SECRETS" in capsys.readouterr().err

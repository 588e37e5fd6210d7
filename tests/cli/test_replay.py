from __future__ import annotations

import contextlib
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_lifecycle.cli import main
from order_lifecycle.webhooks import sign

SECRET = "replay-secret-1"  # noqa: S105 (a test's own)
T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def accepted(order_id: str, event_id: str) -> bytes:
    obj = {
        "id": order_id,
        "state": "accepted",
        "fraudState": "passed",
        "items": [{"id": "i-1", "quantity": 1, "productDetails": {"physical": True}}],
        "payment": {"charges": [{"id": f"ch-{order_id}", "state": "capturable", "amount": 5.0}]},
    }
    body = {
        "id": event_id,
        "type": "order.accepted",
        "createdTime": "2026-02-01T09:00:00Z",
        "data": {"object": obj},
    }
    return json.dumps(body).encode()


def wrapped(body: bytes, secret: str = SECRET) -> bytes:
    line = {
        "body": body.decode(),
        "signature": sign(body, secret, T0),
        "received_at": T0.isoformat(),
    }
    return json.dumps(line).encode()


def test_replay_json_is_one_object_of_the_documented_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints exactly one object: orders with charges, and one row per delivery line."""
    log = tmp_path / "events.jsonl"
    log.write_bytes(
        b"\n".join([wrapped(accepted("o-1", "e-1")), b"", wrapped(accepted("o-1", "e-1"))]) + b"\n"
    )
    db = str(tmp_path / "shop.db")
    assert main(["replay", str(log), "--db", db, "--secret", SECRET, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == {
        "orders": {
            "o-1": {
                "state": "accepted",
                "fraud_state": "passed",
                "charges": {"ch-o-1": "capturable"},
            }
        },
        "deliveries": [
            {
                "line": 1,
                "id": "e-1",
                "type": "order.accepted",
                "outcome": "applied",
                "reason": document["deliveries"][0]["reason"],
            },
            {
                "line": 3,
                "id": "e-1",
                "type": "order.accepted",
                "outcome": "duplicate",
                "reason": document["deliveries"][1]["reason"],
            },
        ],
    }


def test_replay_exits_1_on_an_invalid_delivery(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A forged line is invalid: the summary says so, the line is named, exit 1."""
    log = tmp_path / "events.jsonl"
    log.write_bytes(
        wrapped(accepted("o-1", "e-1"))
        + b"\n"
        + wrapped(accepted("o-2", "e-2"), "forger-secret")
        + b"\n"
    )
    assert main(["replay", str(log), "--db", str(tmp_path / "s.db"), "--secret", SECRET]) == 1
    out = capsys.readouterr().out
    assert "  applied " in out
    assert "line 2: invalid: The webhook signature is not valid." in out


def test_replay_of_a_missing_log_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log that does not exist: one line on stderr, exit 1."""
    assert main(["replay", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "s.db")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("order-lifecycle: No such file or directory: ")
    assert err.count("\n") == 1


HOSTILE_LINES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b"\x00",
            b'{"id": "\\u0000", "type": "order.accepted", "data": {"object": {}}}',
            b'{"id": "e", "type": "order.accepted", "data": {"object": {"id": "\\ud800"}}}',
            b'{"body": "\\ud800", "signature": "t=1, x"}',
            b'{"body": 5}',
            b"[" * 5000,
            (
                b'{"id": "e", "type": "order.accepted", "data": {"object": {"id": "o", '
                b'"state": "accepted", "payment": {"charges": [{"id": "c", "state": '
                b'"capturable", "amount": 9e999999}]}}}}'
            ),
            b"1" * 5000,
            b"x" * (2**20 + 10),
        ]
    ),
)


@settings(max_examples=30, deadline=None)
@given(lines=st.lists(HOSTILE_LINES, min_size=1, max_size=5), signed=st.booleans())
def test_replay_of_hostile_lines_gives_typed_outcomes(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], signed: bool
) -> None:
    """Any line comes out as one of the typed outcomes in --json; never a traceback."""
    folder = tmp_path_factory.mktemp("hostile")
    log = folder / "events.jsonl"
    log.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines))
    out, err = io.StringIO(), io.StringIO()
    arguments = ["replay", str(log), "--db", str(folder / "s.db"), "--json"]
    secrets = {"ORDER_LIFECYCLE_SECRETS": SECRET} if signed else {}
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        mock.patch.dict(os.environ, secrets),
    ):
        code = main(arguments)
    assert err.getvalue() == ""
    document = json.loads(out.getvalue())
    outcomes = {row["outcome"] for row in document["deliveries"]}
    assert outcomes <= {"applied", "duplicate", "stale", "conflict", "unknown", "invalid"}
    assert code == (1 if outcomes & {"invalid", "conflict"} else 0)

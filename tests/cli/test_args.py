"""Hostile arguments to `send` and `sandbox`: refused in one line (exit 2), nothing done."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_lifecycle.cli import main
from order_lifecycle.testing import HOSTILE_NUMBERS, HOSTILE_TEXT, POISON
from tests.loopback import Endpoint

SECRET = "whsec_args_tests"  # noqa: S105 (a test's own)
HOSTILE = HOSTILE_TEXT | POISON | HOSTILE_NUMBERS | st.sampled_from(["-1", "1e9", "nan", "inf"])


def outcome(argv: list[str]) -> tuple[int, str]:
    """The exit status of ``argv`` and what it printed on stderr (checked: never a traceback)."""
    printed, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
        try:
            code = main(argv)
        except SystemExit as exit_:  # the parser's refusal, or --help
            code = int(exit_.code or 0)
    err = errors.getvalue()
    assert "Traceback" not in err
    if code:
        assert err.startswith("order-lifecycle: ")
        assert err.count("\n") == 1
        assert SECRET not in err
    return code, err


SEND_OPTIONS = ["--order", "--checkout", "--duplicate", "--seed", "--retries", "--timeout"]


@pytest.fixture(scope="module")
def shop() -> Iterator[Endpoint]:
    """One endpoint for every example (starting one per example is slow)."""
    with Endpoint() as endpoint:
        yield endpoint


@settings(max_examples=60)
@given(which=st.sampled_from(["url", "event", *SEND_OPTIONS]), value=HOSTILE)
def test_hostile_send_arguments_are_refused_before_anything_is_posted(
    shop: Endpoint, which: str, value: str
) -> None:
    """One hostile value among good ones: exit 2 in one line and no post, or a normal run."""
    before = len(shop.posts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ORDER_LIFECYCLE_SECRETS", SECRET)
        url, event, options = shop.url, "order.accepted", ["--retries", "0", "--timeout", "5"]
        if which == "url":
            url = value
        elif which == "event":
            event = value
        else:
            options += [which, value]
        code, _ = outcome(["send", url, event, *options])
    assert code in {0, 1, 2}
    if code == 2:
        assert len(shop.posts) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["--host", "0.0.0.0"],  # noqa: S104 (refused: the point)
        ["--host", "192.168.1.2"],
        ["--host", "example.com"],
        ["--host", "\x00"],
        ["--port", "65536"],
        ["--port", "-1"],
        ["--port", "9" * 5000],
        ["--step", "nan"],
        ["--hold", "-1"],
        ["--retries", "11"],
        ["--webhook", "ftp://127.0.0.1/hook"],
        ["--webhook", "http://127.0.0.1/\ud800"],
    ],
)
def test_bad_sandbox_arguments_are_refused_before_serving(argv: list[str]) -> None:
    """A non-loopback host, a port or number out of range, a bad webhook URL: exit 2."""
    assert outcome(["sandbox", *argv])[0] == 2


SANDBOX_OPTIONS = ["--host", "--port", "--step", "--hold", "--retries", "--webhook"]


@settings(max_examples=40)
@given(which=st.sampled_from(SANDBOX_OPTIONS), value=HOSTILE)
def test_hostile_sandbox_arguments_never_serve_beyond_loopback(which: str, value: str) -> None:
    """Any value: refused (exit 2) or, being valid, the run stops at the missing script file."""
    argv = ["sandbox", which, value, "--script", "/nonexistent/script.json", "--port", "0"]
    code, err = outcome(argv)
    assert code in {1, 2}  # never serving: the script is read before binding
    if code == 1:
        assert "/nonexistent/script.json" in err or "ORDER_LIFECYCLE_SECRETS" in err

"""`order-lifecycle send`: the provider's signed events posted to an endpoint, answers printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from order_lifecycle.cli import main
from order_lifecycle.exceptions import InvalidSignature
from order_lifecycle.webhooks import SIGNATURE_HEADER, verify_signature
from tests.loopback import Endpoint, Post

SECRET = "whsec_send_tests_first"  # noqa: S105 (a test's own)
OTHER = "whsec_send_tests_second"


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shop's secrets in the environment, as the README says: the first one signs."""
    monkeypatch.setenv("ORDER_LIFECYCLE_SECRETS", f" {SECRET} , {OTHER}")


def events(posts: list[Post]) -> list[dict[str, Any]]:
    return [json.loads(post.body) for post in posts]


def signed_with(post: Post, secret: str) -> bool:
    try:
        verify_signature(
            post.headers[SIGNATURE_HEADER],
            post.body,
            [secret],
            datetime.now(UTC),
            timedelta(minutes=1),
        )
    except InvalidSignature:
        return False
    return True


def test_a_life_is_posted_in_order_signed_with_the_first_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """life:accepted-shipped: four events for one order, in order, each signed; answers printed."""
    with Endpoint() as shop:
        assert main(["send", shop.url, "life:accepted-shipped", "--order", "ord-7"]) == 0
    sent = events(shop.posts)
    assert [e["type"] for e in sent] == [
        "order.accepted",
        "order.fulfilled",
        "order.charge.capture.complete",
        "order.complete",
    ]
    assert all(signed_with(post, SECRET) and not signed_with(post, OTHER) for post in shop.posts)
    times = [e["createdTime"] for e in sent]
    assert times == sorted(times)
    assert datetime.fromisoformat(times[-1]) <= datetime.now(UTC)  # all created by now
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"order ord-7: 4 events to {shop.url}"
    assert [line.split(" ", 1)[0] for line in out[1:]] == [e["type"] for e in sent]
    assert all(" -> 200 in " in line and line.endswith(": {}") for line in out[1:])
    assert SECRET not in capsys.readouterr().out


def test_shuffled_and_redelivered_by_a_seed(capsys: pytest.CaptureFixture[str]) -> None:
    """--shuffle --duplicate N --seed S: the same order for the same seed; N bodies again."""

    def run(seed: str) -> list[Post]:
        argv = ["life:dispute", "--shuffle", "--duplicate", "3", "--seed", seed, "--order", "o1"]
        with Endpoint() as shop:
            assert main(["send", shop.url, *argv]) == 0
        return shop.posts

    def order_of(posts: list[Post]) -> list[str]:  # event ids differ run to run: their index
        return [e["id"].rpartition("-")[2] for e in events(posts)]

    first, again = run("7"), run("7")
    assert order_of(first) == order_of(again)
    assert len(first) == 6 + 3
    assert len({post.body for post in first}) == 6  # the redeliveries are the same bodies
    assert order_of(first) != sorted(order_of(first))  # shuffled (this seed does)
    assert "6 events, shuffled, 3 redelivered (--seed 7)" in capsys.readouterr().out


def test_what_is_not_taken_is_posted_again_after_the_rest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 409 (a charge before its order, say) is posted again after the others, signed anew."""
    with Endpoint([409]) as shop:
        assert main(["send", shop.url, "order.accepted", "order.dispute"]) == 0
    types = [e["type"] for e in events(shop.posts)]
    assert types == ["order.accepted", "order.dispute", "order.accepted"]
    out = capsys.readouterr().out
    assert "-> 409 in" in out
    assert "again, as the provider retries (1 of 3):" in out


def test_never_taken_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """Answers other than 2xx through every retry: exit status 1, and the count said."""
    with Endpoint([500, 500]) as shop:
        assert main(["send", shop.url, "order.accepted", "--retries", "1"]) == 1
    assert len(shop.posts) == 2
    assert capsys.readouterr().out.endswith("1 delivery was never answered with a 2xx.\n")


def test_no_endpoint_there_is_an_answer_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nobody listening: each try says why there was no answer; exit status 1."""
    with Endpoint() as shop:
        url = shop.url
    assert main(["send", url, "order.accepted", "--retries", "0"]) == 1
    assert "-> no answer after" in capsys.readouterr().out


def test_a_flag_secret_works_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    """--secret signs instead, with a warning that the process list shows it; never printed."""
    with Endpoint() as shop:
        assert main(["send", shop.url, "order.accepted", "--secret", OTHER]) == 0
    assert signed_with(shop.posts[0], OTHER)
    captured = capsys.readouterr()
    assert "warning: --secret shows the secret" in captured.err
    assert OTHER not in captured.out + captured.err


@pytest.mark.parametrize("value", ["", " , ", "short"])
def test_no_usable_secret_is_one_line_and_nothing_is_posted(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ORDER_LIFECYCLE_SECRETS unset, empty or too short: one line on stderr, exit 1."""
    monkeypatch.setenv("ORDER_LIFECYCLE_SECRETS", value)
    with Endpoint() as shop:
        assert main(["send", shop.url, "order.accepted"]) == 1
    assert shop.posts == []
    err = capsys.readouterr().err
    assert err.startswith("order-lifecycle: ")
    assert err.count("\n") == 1
    assert "short" not in err


def test_an_event_that_cannot_come_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """order.accepted after order.fulfilled: one line naming why, exit 1, nothing posted."""
    with Endpoint() as shop:
        assert main(["send", shop.url, "order.fulfilled", "order.accepted"]) == 1
    assert shop.posts == []
    assert "cannot come next for an order in fulfilled" in capsys.readouterr().err


def test_send_runs_without_hypothesis() -> None:
    """The command line needs no testing extra: send works with hypothesis unimportable."""
    blocked = (
        "import sys; sys.modules['hypothesis'] = None; from order_lifecycle.cli import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    with Endpoint() as shop:
        done = subprocess.run(  # noqa: S603 (our own command)
            [sys.executable, "-c", blocked, "send", shop.url, "life:refunded"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ},
        )
    assert (done.returncode, done.stderr) == (0, "")
    assert [e["type"] for e in events(shop.posts)][-1] == "refund.complete"

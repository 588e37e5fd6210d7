"""Sandbox: the local provider over HTTP on loopback, and the webhooks it sends."""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.sandbox import Sandbox, check_loopback
from order_lifecycle.testing import HOSTILE_TEXT
from order_lifecycle.webhooks import SIGNATURE_HEADER, verify_signature
from tests.loopback import Endpoint

SECRET = "whsec_sandbox_server_tests"  # noqa: S105 (a test's own)
STEP = timedelta(milliseconds=50)


def port(sandbox: Sandbox) -> int:
    """The port the sandbox took."""
    return int(sandbox.url.rpartition(":")[2])


def request(
    sandbox: Sandbox, method: str, path: str, body: object = None, timeout: float = 10
) -> tuple[int, Any]:
    """One request to the sandbox: the status and the JSON body."""
    connection = http.client.HTTPConnection(sandbox.host, port(sandbox), timeout=timeout)
    raw = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    try:
        connection.request(method, path, raw)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def submit(sandbox: Sandbox, checkout_id: str, timeout: float = 10) -> tuple[int, Any]:
    return request(sandbox, "POST", "/orders", {"checkoutId": checkout_id}, timeout)


@given(
    st.ip_addresses().map(str)
    | HOSTILE_TEXT
    | st.sampled_from(["0.0.0.0", "::", "", "example.com", "127.0.0.1.nip.io", "192.168.1.2"])  # noqa: S104 (refused: the point)
)
def test_only_loopback_is_served(host: str) -> None:
    """Any host but a loopback address (127.0.0.0/8, ::1, localhost) is refused at construction."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        assert check_loopback(host) in {host, "127.0.0.1"}
        return
    with pytest.raises(InvalidInput, match="loopback only"):
        Sandbox(host=host)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"port": 70000}, "port must be from 0 to 65535"),
        ({"port": -1}, "port must be"),
        ({"port": 10**5000}, "not a larger number"),
        ({"port": "80"}, "port must be a whole number"),
        ({"step": timedelta(days=2)}, "step"),
        ({"webhook": "http://127.0.0.1:9/hook"}, "need a signing secret"),
        ({"webhook": "http://127.0.0.1:9/hook", "secret": "short"}, "8 or more"),
        ({"webhook": "ftp://127.0.0.1/hook", "secret": SECRET}, "http:// or https://"),
        ({"hold": -1.0}, "hold must be from 0"),
        ({"hold": float("nan")}, "hold must be a finite number"),
    ],
)
def test_misconfiguration_raises_at_construction(options: dict[str, Any], problem: str) -> None:
    """A bad port, webhook URL or secret, or a negative hold: InvalidInput, nothing served."""
    with pytest.raises(InvalidInput, match=problem):
        Sandbox(**options)


@given(
    name=st.sampled_from(["host", "port", "webhook", "secret", "script", "step", "hold"]),
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        HOSTILE_TEXT,
        st.lists(st.integers(), max_size=2),
        st.just(timedelta(seconds=-1)),
    ),
)
def test_settings_of_any_type_are_taken_or_refused_typed(name: str, value: object) -> None:
    """Any value for any setting: a sandbox (never started here), or InvalidInput."""
    with contextlib.suppress(InvalidInput):  # WrongType is one
        Sandbox(**{name: value})  # type: ignore[arg-type]


def test_the_secret_is_never_in_the_repr_or_the_log() -> None:
    """Neither the sandbox's repr nor any line it logs shows the secret."""
    lines: list[str] = []
    with (
        Endpoint() as shop,
        Sandbox(webhook=shop.url, secret=SECRET, step=STEP, log=lines.append) as sandbox,
    ):
        submit(sandbox, "pending-1")
        shop.wait_for(2)
        assert SECRET not in repr(sandbox)
    assert lines
    assert not [line for line in lines if SECRET in line]


def test_posts_and_lookups_over_http() -> None:
    """POST /orders creates; a retry is 404; the lookup and GET /orders/{id} find the order."""
    with Sandbox(step=STEP) as sandbox:
        status, order = submit(sandbox, "review-1")
        assert (status, order["state"], order["checkoutId"]) == (201, "in_review", "review-1")
        assert submit(sandbox, "review-1")[0] == 404
        status, found = request(sandbox, "GET", "/orders?checkoutId=review-1")
        assert (status, [o["id"] for o in found["data"]]) == (200, [order["id"]])
        assert request(sandbox, "GET", "/orders?checkoutId=none")[1]["data"] == []
        assert request(sandbox, "GET", f"/orders/{order['id']}")[1]["id"] == order["id"]
        assert request(sandbox, "GET", "/orders/nope")[0] == 404
        assert request(sandbox, "GET", "/orders")[0] == 400
        assert request(sandbox, "GET", "/elsewhere")[0] == 404
        assert request(sandbox, "POST", "/fulfillments", {})[0] == 404


def test_a_created_orders_life_is_posted_signed_in_time() -> None:
    """pending-: the shop gets order.pending_payment then order.accepted, each signed, in time."""
    with Endpoint() as shop, Sandbox(webhook=shop.url, secret=SECRET, step=STEP) as sandbox:
        _, order = submit(sandbox, "pending-9")
        posts = shop.wait_for(2)
    events = [json.loads(post.body) for post in posts]
    assert [e["type"] for e in events] == ["order.pending_payment", "order.accepted"]
    assert {e["data"]["object"]["id"] for e in events} == {order["id"]}
    for post, event in zip(posts, events, strict=True):
        created = datetime.fromisoformat(event["createdTime"])
        assert post.at >= created.timestamp() - 0.01  # sent when the provider created it
        verify_signature(
            post.headers[SIGNATURE_HEADER],
            post.body,
            [SECRET],
            datetime.now(UTC),
            timedelta(minutes=1),
        )


def test_a_webhook_not_taken_is_retried_then_given_up() -> None:
    """An answer other than 2xx is retried, step doubling; after the retries it is given up."""
    lines: list[str] = []
    with (
        Endpoint([500, 503, 409]) as shop,
        Sandbox(webhook=shop.url, secret=SECRET, step=STEP, retries=2, log=lines.append) as sandbox,
    ):
        submit(sandbox, "accepted-1")
        posts = shop.wait_for(3)
    # Closing waited for the post in flight: every line is logged, and no retry is left.
    assert len(shop.posts) == 3
    assert len({post.body for post in posts}) == 1
    assert len({post.headers[SIGNATURE_HEADER] for post in posts}) >= 1
    assert sum("again in" in line for line in lines) == 2
    assert sum("given up after 3 tries" in line for line in lines) == 1


def test_a_timeout_holds_the_answer_past_the_clients_patience() -> None:
    """timeout-: the client times out, yet the order exists; closing ends the held request."""
    with Sandbox(step=STEP, hold=30) as sandbox:
        with pytest.raises(TimeoutError):
            submit(sandbox, "timeout-1", timeout=0.3)
        found = request(sandbox, "GET", "/orders?checkoutId=timeout-1")[1]["data"]
        assert len(found) == 1
        started = time.monotonic()
    assert time.monotonic() - started < 20  # not the 30 s hold: closing ended the held request


def test_closed_answers_nothing_and_a_retry_gets_404() -> None:
    """closed-: the connection closes with no answer; the client's retry gets 404 not_found."""
    with Sandbox(step=STEP) as sandbox:
        with pytest.raises(http.client.RemoteDisconnected):
            submit(sandbox, "closed-1")
        status, body = submit(sandbox, "closed-1")
    assert status == 404
    assert body["errors"][0]["code"] == "not_found"


def raw_request(sandbox: Sandbox, data: bytes) -> bytes:
    """Bytes sent on a socket as they are; what came back (until the sandbox closed)."""
    with socket.create_connection(("127.0.0.1", port(sandbox)), timeout=10) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (b"Content-Length: -5\r\n", b"400"),
        (b"Content-Length: 1e3\r\n", b"400"),
        (b"Content-Length: " + b"9" * 5000 + b"\r\n", b"413"),
        (b"Content-Length: 99999999\r\n", b"413"),
        (b"", b"400"),  # no body: not JSON
    ],
)
def test_a_bad_length_is_refused_unread(headers: bytes, status: bytes) -> None:
    """A length that is not a number, or too large: 400 or 413, and the body is never read."""
    with Sandbox() as sandbox:
        answer = raw_request(sandbox, b"POST /orders HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.0 " + status)
    assert b'"type": "bad_request"' in answer


@pytest.fixture(scope="module")
def served() -> Iterator[Sandbox]:
    """One sandbox for every example of a test (starting one per example is slow)."""
    with Sandbox() as sandbox:
        yield sandbox


@settings(max_examples=40)
@given(
    body=st.binary(max_size=300) | HOSTILE_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_hostile_bodies_over_http_get_4xx_json_and_the_sandbox_keeps_serving(
    served: Sandbox, body: bytes
) -> None:
    """Any body posted: a JSON answer (201 or a 4xx), never a dropped connection or a 500."""
    status, answer = request(served, "POST", "/orders", body)
    assert status in {201, 400}
    assert ("errors" in answer) == (status == 400)
    assert request(served, "GET", "/orders?checkoutId=accepted-2")[0] == 200


@given(
    target=st.one_of(
        HOSTILE_TEXT.map(lambda t: f"/orders/{t}"),
        HOSTILE_TEXT.map(lambda t: f"/orders?checkoutId={t}"),
        HOSTILE_TEXT.map(lambda t: f"/orders?{t}"),
        HOSTILE_TEXT,
        st.sampled_from(["/orders?checkoutId=a&checkoutId=b", "/orders/%00", "/orders/%ud800"]),
    )
)
def test_any_get_target_is_answered_with_json(target: str) -> None:
    """Any path and query: 200, 400 or 404 with a JSON body, never an exception; nothing made."""
    sandbox = Sandbox()
    reply = sandbox.get(target)
    assert reply.status in {200, 400, 404}
    json.loads(reply.raw())
    assert reply.plan is None
    if reply.status == 200:
        assert reply.body["data"] == []  # no order exists to be found


def test_a_failing_request_is_one_log_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A request whose handling fails: the client is dropped, the log says so in one line."""
    lines: list[str] = []

    def broken(_sandbox: Sandbox, _target: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Sandbox, "get", broken)
    with Sandbox(log=lines.append) as sandbox:
        with pytest.raises(http.client.RemoteDisconnected):
            request(sandbox, "GET", "/orders?checkoutId=x")
        assert submit(sandbox, "accepted-3")[0] == 201  # still serving
    assert "a request failed: RuntimeError: a bug" in lines
    assert "Traceback" not in capfd.readouterr().err

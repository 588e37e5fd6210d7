"""deliver and check_url: signed posts as the provider makes them, and the URLs allowed."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.sandbox import check_url, deliver
from order_lifecycle.testing import HOSTILE_TEXT
from order_lifecycle.webhooks import SIGNATURE_HEADER, verify_signature
from tests.loopback import Endpoint

SECRET = "whsec_sandbox_tests"  # noqa: S105 (a test's own)


def test_a_delivery_is_signed_as_the_provider_signs() -> None:
    """The body arrives as given, with a signature the library verifies; the answer is kept."""
    with Endpoint([202]) as shop:
        answer = deliver(shop.url, b'{"id": "evt-1"}', SECRET, timeout=5)
    assert (answer.status, answer.body, answer.ok, answer.error) == (202, b"{}", True, None)
    (post,) = shop.posts
    assert post.body == b'{"id": "evt-1"}'
    assert post.headers["Content-Type"] == "application/json"
    signature = post.headers[SIGNATURE_HEADER]  # spelt as the provider spells it
    verify_signature(signature, post.body, [SECRET], datetime.now(UTC), timedelta(minutes=1))


def test_an_error_status_is_an_answer() -> None:
    """A 409 or 500 is an answer (not ok), never an exception."""
    with Endpoint([409, 500]) as shop:
        assert deliver(shop.url, b"{}", SECRET, timeout=5).status == 409
        assert not deliver(shop.url, b"{}", SECRET, timeout=5).ok


def test_no_answer_is_an_answer_with_the_reason() -> None:
    """A refused connection: status None and why, not an exception."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free now, and nobody listens there
    answer = deliver(f"http://127.0.0.1:{port}/hook", b"{}", SECRET, timeout=5)
    assert answer.status is None
    assert not answer.ok
    assert "refused" in (answer.error or "")


def test_no_proxy_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy in the environment is ignored: a local endpoint is posted to directly."""
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with Endpoint() as shop:
        assert deliver(shop.url, b"{}", SECRET, timeout=5).status == 200


def test_an_unusable_secret_posts_nothing() -> None:
    """A secret too short to sign with: InvalidInput, and nothing was posted."""
    with Endpoint() as shop, pytest.raises(InvalidInput, match="8 or more"):
        deliver(shop.url, b"{}", "short", timeout=5)
    assert shop.posts == []


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.com/x",
        "file:///etc/passwd",
        "http://",
        "http:///path",
        "http://host:99999/",
        "http://exa mple.com/",
        "http://example.com/\x00",
        "http://example.com/\ud800",
        "http://" + "a" * 3000,
    ],
)
def test_urls_that_are_not_http_are_refused(url: str) -> None:
    """Only http(s) URLs with a host, printable ASCII, are taken."""
    with pytest.raises(InvalidInput):
        check_url(url)


@given(HOSTILE_TEXT | st.text().map(lambda t: f"http://{t}"))
def test_any_text_as_a_url_is_taken_or_refused_with_a_typed_error(text: str) -> None:
    """Any text: the URL back unchanged, or InvalidInput in one printable line."""
    try:
        checked = check_url(text)
    except InvalidInput as error:
        message = str(error)
    else:
        assert checked == text
        return
    assert message.isprintable()

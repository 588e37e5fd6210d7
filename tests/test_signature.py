from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import InvalidInput, InvalidSignature, sign, verify_signature

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
BODY = b'{"id":"evt-1","type":"order.accepted"}'
AGE = timedelta(minutes=5)


def test_a_signed_delivery_passes() -> None:
    """A delivery signed with the secret, just now, is accepted."""
    verify_signature(sign(BODY, "whsec", NOW), BODY, ["whsec"], NOW, AGE)


def test_the_scheme_is_the_providers() -> None:
    """The signature is base64 HMAC-SHA256 over '<timestamp part>.<raw body>'."""
    timestamp_part = f"t={int(NOW.timestamp())}"
    mac = hmac.new(b"whsec", timestamp_part.encode() + b"." + BODY, hashlib.sha256).digest()
    header = f"{timestamp_part}, {base64.b64encode(mac).decode()}"
    assert header == sign(BODY, "whsec", NOW)
    verify_signature(header, BODY, [b"whsec"], NOW, AGE)


def test_bare_epoch_and_labelled_signatures() -> None:
    """A bare epoch timestamp, and a 'v1=' label on a signature, are both understood."""
    epoch = str(int(NOW.timestamp()))
    mac = hmac.new(b"k", epoch.encode() + b"." + BODY, hashlib.sha256).digest()
    signature = base64.b64encode(mac).decode()
    verify_signature(f"{epoch}, {signature}", BODY, ["k"], NOW, AGE)
    verify_signature(f"{epoch}, v1={signature}", BODY, ["k"], NOW, AGE)


def test_rotation_accepts_any_known_secret_and_any_listed_signature() -> None:
    """During rotation, the new or the old secret may sign, and several signatures may be sent."""
    old = sign(BODY, "old", NOW)
    new_signature = sign(BODY, "new", NOW).split(", ")[1]
    verify_signature(old, BODY, ["new", "old"], NOW, AGE)
    verify_signature(f"{old}, {new_signature}", BODY, ["new"], NOW, AGE)


@pytest.mark.parametrize(
    ("header", "body", "secrets", "now"),
    [
        (sign(BODY, "other", NOW), BODY, ["whsec"], NOW),  # another secret
        (sign(BODY, "whsec", NOW), BODY + b" ", ["whsec"], NOW),  # body changed
        (sign(BODY, "whsec", NOW - timedelta(minutes=6)), BODY, ["whsec"], NOW),  # too old
        (sign(BODY, "whsec", NOW + timedelta(minutes=6)), BODY, ["whsec"], NOW),  # from the future
        (sign(BODY, "whsec", NOW).replace("t=", "t=1"), BODY, ["whsec"], NOW),  # time changed
        ("", BODY, ["whsec"], NOW),
        ("t=abc, xyz", BODY, ["whsec"], NOW),
        (sign(BODY, "whsec", NOW).split(",")[0], BODY, ["whsec"], NOW),  # no signature
    ],
)
def test_every_failure_is_the_same_error(
    header: str, body: bytes, secrets: list[str], now: datetime
) -> None:
    """Each failure raises InvalidSignature with one message that reveals nothing."""
    with pytest.raises(InvalidSignature) as raised:
        verify_signature(header, body, secrets, now, AGE)
    assert str(raised.value) == "The webhook signature is not valid."


def test_no_secret_is_a_configuration_error() -> None:
    """Calling with no secret at all is the caller's mistake, not a bad delivery."""
    with pytest.raises(InvalidInput, match="at least one secret"):
        verify_signature(sign(BODY, "k", NOW), BODY, [], NOW, AGE)


@given(header=st.text(max_size=200), body=st.binary(max_size=200))
def test_random_input_raises_only_invalid_signature(header: str, body: bytes) -> None:
    """Random headers and bodies never raise anything but InvalidSignature."""
    with pytest.raises(InvalidSignature):
        verify_signature(header, body, ["whsec"], NOW, AGE)

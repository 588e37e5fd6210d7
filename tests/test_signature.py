from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from order_lifecycle import InvalidInput, InvalidSignature
from order_lifecycle.exceptions import WrongType
from order_lifecycle.webhooks import sign, verify_signature

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
BODY = b'{"id":"evt-1","type":"order.accepted"}'
AGE = timedelta(minutes=5)


def test_a_signed_delivery_passes() -> None:
    """A delivery signed with the secret, just now, is accepted."""
    verify_signature(sign(BODY, "whsec-k1", NOW), BODY, ["whsec-k1"], NOW, AGE)


def test_the_scheme_is_the_providers() -> None:
    """The signature is base64 HMAC-SHA256 over '<timestamp part>.<raw body>'."""
    timestamp_part = f"t={int(NOW.timestamp())}"
    # What is signed is the part as the header gives it, without its surrounding spaces.
    signed = timestamp_part.strip().encode() + b"." + BODY
    mac = hmac.new(b"whsec-k1", signed, hashlib.sha256).digest()
    header = f"{timestamp_part}, {base64.b64encode(mac).decode()}"
    assert header == sign(BODY, "whsec-k1", NOW)
    verify_signature(header, BODY, [b"whsec-k1"], NOW, AGE)


def test_bare_epoch_and_labelled_signatures() -> None:
    """A bare epoch timestamp, and a 'v1=' label on a signature, are both understood."""
    epoch = str(int(NOW.timestamp()))
    mac = hmac.new(b"secret-k", epoch.encode() + b"." + BODY, hashlib.sha256).digest()
    signature = base64.b64encode(mac).decode()
    verify_signature(f"{epoch}, {signature}", BODY, ["secret-k"], NOW, AGE)
    verify_signature(f"{epoch}, v1={signature}", BODY, ["secret-k"], NOW, AGE)


def test_rotation_accepts_any_known_secret_and_any_listed_signature() -> None:
    """During rotation, the new or the old secret may sign, and several signatures may be sent."""
    old = sign(BODY, "old-secret", NOW)
    new_signature = sign(BODY, "new-secret", NOW).split(", ")[1]
    verify_signature(old, BODY, ["new-secret", "old-secret"], NOW, AGE)
    verify_signature(f"{old}, {new_signature}", BODY, ["new-secret"], NOW, AGE)


@pytest.mark.parametrize(
    ("header", "body", "secrets", "now"),
    [
        (sign(BODY, "other-k1", NOW), BODY, ["whsec-k1"], NOW),  # another secret
        (sign(BODY, "whsec-k1", NOW), BODY + b" ", ["whsec-k1"], NOW),  # body changed
        (sign(BODY, "whsec-k1", NOW - timedelta(minutes=6)), BODY, ["whsec-k1"], NOW),  # too old
        (
            sign(BODY, "whsec-k1", NOW + timedelta(minutes=6)),
            BODY,
            ["whsec-k1"],
            NOW,
        ),  # from the future
        (sign(BODY, "whsec-k1", NOW).replace("t=", "t=1"), BODY, ["whsec-k1"], NOW),  # time changed
        ("", BODY, ["whsec-k1"], NOW),
        ("t=abc, xyz", BODY, ["whsec-k1"], NOW),
        (sign(BODY, "whsec-k1", NOW).split(",")[0], BODY, ["whsec-k1"], NOW),  # no signature
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
        verify_signature(sign(BODY, "secret-k", NOW), BODY, [], NOW, AGE)


@given(header=st.text(max_size=200), body=st.binary(max_size=200))
def test_random_input_raises_only_invalid_signature(header: str, body: bytes) -> None:
    """Random headers and bodies never raise anything but InvalidSignature."""
    with pytest.raises(InvalidSignature):
        verify_signature(header, body, ["whsec-k1"], NOW, AGE)


@pytest.mark.parametrize(
    ("secrets", "error", "message"),
    [
        ("whsec-k1", WrongType, "a list of secrets, not one str or bytes"),
        (b"whsec-k1", WrongType, "a list of secrets, not one str or bytes"),
        ([""], InvalidInput, "secret 0 is empty"),
        (["whsec-k1", "short"], InvalidInput, "secret 1 is 5 bytes long; 8 or more"),
        ([None], WrongType, "secret 0 must be a str or bytes"),
        ([12345678], WrongType, "secret 0 must be a str or bytes"),
        (None, WrongType, "a list of secrets"),
        (["whsec-\udc80-k1"], InvalidInput, "secret 0 cannot be encoded as UTF-8"),
    ],
)
def test_unusable_secrets_never_fail_open(secrets: object, error: type, message: str) -> None:
    """A lone str or bytes, an empty, short or non-text secret is refused before any check."""
    header = f"t={int(NOW.timestamp())}, x"
    with pytest.raises(error, match=re.escape(message)):
        verify_signature(header, BODY, secrets, NOW, AGE)  # type: ignore[arg-type]


def test_a_lone_character_secret_signs_nothing() -> None:
    """A header signed by one character of a secret given as a plain str is refused."""
    forged = f"t={int(NOW.timestamp())}, {_mac(b'w', BODY)}"
    with pytest.raises(WrongType):
        verify_signature(forged, BODY, "whsec-k1", NOW, AGE)


def _mac(key: bytes, body: bytes) -> str:
    timestamp_part = f"t={int(NOW.timestamp())}"
    mac = hmac.new(key, timestamp_part.encode() + b"." + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


@pytest.mark.parametrize(
    ("secret", "at", "message"),
    [
        ("", NOW, "secret is empty"),
        ("short", NOW, "secret is 5 bytes long"),
        (None, NOW, "secret must be a str or bytes"),
        ("whsec-k1", datetime(2026, 5, 1), "at must be an aware datetime"),  # noqa: DTZ001
    ],
)
def test_sign_checks_its_arguments(secret: object, at: datetime, message: str) -> None:
    """sign() refuses a secret verify_signature would refuse, and a naive time."""
    with pytest.raises(InvalidInput, match=re.escape(message)):
        sign(BODY, secret, at)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "max_age", "message"),
    [
        (datetime(2026, 5, 1, 12, 0), AGE, "now must be an aware datetime"),  # noqa: DTZ001
        (NOW, 300, "max_age must be a timedelta"),
        (NOW, timedelta(seconds=-1), "max_age must not be negative"),
    ],
)
def test_wrong_clock_arguments_are_typed_errors(
    now: datetime, max_age: timedelta, message: str
) -> None:
    """A naive now or a max_age in seconds is the caller's mistake, said plainly."""
    with pytest.raises(InvalidInput, match=re.escape(message)):
        verify_signature(sign(BODY, "whsec-k1", NOW), BODY, ["whsec-k1"], now, max_age)


@pytest.mark.parametrize(
    "header",
    [
        sign(BODY, "whsec-k1", NOW) + ", \udc80",  # a lone surrogate
        sign(BODY, "whsec-k1", NOW) + ", \x00",  # a NUL
        sign(BODY, "whsec-k1", NOW) + ", é",  # not ASCII
        sign(BODY, "whsec-k1", NOW) + ", x" * 8,  # more than 8 parts
        sign(BODY, "whsec-k1", NOW) + " " * 1024,  # longer than 1024 characters
    ],
)
def test_hostile_headers_are_invalid_signatures(header: str) -> None:
    """A header with a surrogate, a NUL, non-ASCII text, too many parts or too long is refused."""
    with pytest.raises(InvalidSignature):
        verify_signature(header, BODY, ["whsec-k1"], NOW, AGE)


def test_the_header_limits_allow_seven_signatures() -> None:
    """A header of the timestamp and seven signatures, the last one good, passes."""
    good = sign(BODY, "whsec-k1", NOW)
    verify_signature(
        good.split(", ")[0] + ", x" * 6 + ", " + good.split(", ")[1], BODY, ["whsec-k1"], NOW, AGE
    )


_TIMESTAMP = re.compile(r"(?:[A-Za-z]\w*=)?(\d{9,13})")
_PARTS = st.text(alphabet="t=_aZ09 \u00e9", max_size=4) | st.just("")
_DIGITS = st.integers(0, 10**14).map(str) | st.from_regex(r"\d{8,14}", fullmatch=True)


@given(prefix=_PARTS, digits=_DIGITS)
@example(prefix="=", digits="1777636800")
@example(prefix="1t=", digits="1777636800")
@example(prefix="v_1=", digits="1777636800123")
def test_a_timestamp_part_is_read_as_documented(prefix: str, digits: str) -> None:
    """A timestamp part counts iff it is 9 to 13 digits, bare or after a ``label=``."""
    timestamp_part = f"{prefix}{digits}"
    # What is signed is the part as the header gives it, without its surrounding spaces.
    signed = timestamp_part.strip().encode() + b"." + BODY
    mac = hmac.new(b"whsec-k1", signed, hashlib.sha256).digest()
    header = f"{timestamp_part}, {base64.b64encode(mac).decode()}"
    match = _TIMESTAMP.fullmatch(timestamp_part.strip())
    epoch = int(match[1]) if match else 0
    seconds = epoch / 1000 if epoch > 10**11 else epoch
    if match is None or not timestamp_part.isascii():
        with pytest.raises(InvalidSignature):
            verify_signature(header, BODY, ["whsec-k1"], NOW, timedelta(days=10**6))
        return
    now = datetime.fromtimestamp(seconds, tz=UTC)
    verify_signature(header, BODY, ["whsec-k1"], now, timedelta(0))

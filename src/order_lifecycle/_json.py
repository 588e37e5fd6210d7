"""JSON values and their checks: parsing a body, reading fields, naming what is wrong.

The bottom layer (beside ``exceptions``) under every reader of JSON: the provider's
objects (``provider``), its ``POST /orders`` answers (``checkout``), webhook envelopes and
events (``webhooks``), the local provider's scripts (``sandbox``), and the command line's id
checks (``cli``). A problem raises :class:`Problem` with the field's JSON path; each caller
turns it into its own error. The checks here refuse what only a hostile body sends before
it costs anything, each linear in the size of the body: numbers ``int`` or ``Decimal``
cannot read, JSON nested more than :data:`MAX_DEPTH` deep, ids that are not plain text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn

__all__ = [
    "MAX_DEPTH",
    "MAX_ID_LENGTH",
    "Problem",
    "as_list",
    "as_object",
    "check_text_depth",
    "fail",
    "field_path",
    "kind",
    "loads",
    "must",
    "optional_id",
    "optional_str",
    "optional_time",
    "read_time",
    "required_id",
    "required_str",
    "stamp",
]

MAX_ID_LENGTH = 255
"""The longest id (event, order, checkout, item, charge) the library takes, in characters."""
MAX_DEPTH = 32
"""How deeply a body's JSON may nest (the provider's own nest about 6 deep)."""

# Java's ZonedDateTime writes the zone id after the offset: ...Z[UTC], ...+01:00[Europe/Paris].
_ZONE_ID = re.compile(r"(Z|[+-]\d\d(?::?\d\d)?)\[[A-Za-z0-9_+\-/:.]+\]\Z")
_LONGEST_TIME = 80


class Problem(Exception):
    """What is wrong with a JSON payload, and where.

    ``field`` is a JSON path (``""`` for the whole body); ``message`` a phrase that names it.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


def fail(field: str, detail: str) -> NoReturn:
    """Raise the :class:`Problem` of ``field``: ``"<field>: <detail>"``."""
    raise Problem(field, f"{field}: {detail}" if field else detail)


def must(field: str, rest: str, label: str | None = None) -> NoReturn:
    """Raise ``"<field> must ..."``; ``label`` names a field without a path (the body)."""
    raise Problem(field, f"{label or field} {rest}")


def field_path(prefix: str, key: str) -> str:
    """The JSON path of ``key`` inside the object at ``prefix`` (``""`` for the top)."""
    return f"{prefix}.{key}" if prefix else key


def _reject_constant(name: str) -> NoReturn:
    fail("", f"the body is not JSON: {name} is not a JSON number")


def _integer(text: str) -> int:
    """A JSON integer; one too long for ``int`` (over 4,300 digits) is refused by name."""
    try:
        return int(text)
    except ValueError:
        fail("", f"a number in the body has too many digits ({len(text)})")


def _decimal(text: str) -> Decimal:
    """A JSON number with a fraction or exponent; one past ``Decimal``'s exponents is refused."""
    try:
        return Decimal(text)
    except ArithmeticError:  # decimal.InvalidOperation, not a ValueError
        fail("", f"a number in the body has too large an exponent ({text[:40]})")


def loads(raw: str | bytes | bytearray) -> object:
    """The JSON value of ``raw``; numbers with a fraction or exponent as ``Decimal``.

    Raises:
        Problem: not JSON (not UTF-8, not well-formed, ``NaN``), an integer of more digits
            than ``int`` reads, or nested more than :data:`MAX_DEPTH` deep.

    """
    utf8: bytes | None = None  # the body's bytes, when UTF-8
    try:
        # What json.loads does, with decoders made once (it makes one per call when given
        # hooks), and the encoding kept for the depth check.
        if isinstance(raw, str):
            if raw.startswith("\ufeff"):
                raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
            text = raw
        else:
            encoding = json.detect_encoding(raw)
            text = raw.decode(encoding, "surrogatepass")
            utf8 = bytes(raw) if encoding.startswith("utf-8") else None
        try:
            value = _FAST.decode(text)
        except (ArithmeticError, ValueError):
            # A number Decimal or int cannot read, or not JSON: the checked parse names
            # the number (or fails as the fast one did).
            value = _CHECKED.decode(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        fail("", f"the body is not JSON ({reason})")
    if utf8 is not None:
        check_text_depth(utf8)
    else:
        _check_depth(value)
    return value


_CHECKED = json.JSONDecoder(
    parse_float=_decimal, parse_int=_integer, parse_constant=_reject_constant
)
# Decimal and int themselves as the hooks (no Python call per number; int is read by the
# scanner's own C path): they refuse what _decimal and _integer refuse, with an
# ArithmeticError or a ValueError, and then the checked decoder parses again to say which.
_FAST = json.JSONDecoder(parse_float=Decimal, parse_int=int, parse_constant=_reject_constant)

# Every byte but a quote and the brackets, deleted, and the brackets made one kind: in UTF-8
# no other character's bytes are these (every byte of a multi-byte character is 0x80 or more).
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_ONE_KIND = bytes.maketrans(b"[]", b"{}")
_STRING = re.compile(rb'"[^"]*"')


def check_text_depth(raw: bytes) -> None:
    """:func:`_check_depth` read off well-formed UTF-8 JSON text; faster, the same answer.

    Text with no more than :data:`MAX_DEPTH` opening brackets in all cannot nest deeper:
    most bodies are told by one pass over the text and a count of the brackets it keeps.

    Escaped backslashes, then escaped quotes, are dropped (in valid JSON a backslash only
    starts an escape, inside a string); then strings, whose brackets are text; what is left
    is the brackets' nesting (arrays and objects alike), peeled one innermost layer per pass
    until too few are left to nest deeper than the layers still allowed.
    """
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = raw.translate(_ONE_KIND, _NOT_STRUCTURE)
    structure = kept.translate(None, b'"')  # the brackets, a few bytes: quick to count
    if structure.count(b"{") <= MAX_DEPTH:
        return  # one pass over the text, then passes over the few bytes left
    # Quotes now alternate, opening and closing. When every string is free of brackets,
    # each string's two quotes are adjacent, and only then do the pairs counted left to
    # right take every quote (the first quote, an opening one, must pair with the next
    # byte, its own closing quote; and so on): the quotes alone go, in one pass.
    if kept.count(b'""') * 2 == len(kept) - len(structure):  # every quote paired so
        kept = structure
    else:
        # A pair of quotes is an empty string, or the end of one string and the start of
        # the next (merging two strings into one); what strings are left hold brackets.
        kept = _STRING.sub(b"", kept.replace(b'""', b""))
    for peeled in range(MAX_DEPTH + 1):
        # Balanced brackets, n of them, nest n / 2 deep at most: past the layers peeled.
        if len(kept) <= 2 * (MAX_DEPTH - peeled):
            return
        # One pass over the text as it is: it removes exactly the innermost pairs.
        kept = kept.replace(b"{}", b"")
    fail("", f"the body is nested too deeply (more than {MAX_DEPTH} levels)")


def _check_depth(value: object) -> None:
    """Refuse JSON nested more than :data:`MAX_DEPTH` deep; one pass, no recursion."""
    level: list[object] = [value]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            if isinstance(node, (dict, list))
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return
    if any(isinstance(node, (dict, list)) for node in level):
        fail("", f"the body is nested too deeply (more than {MAX_DEPTH} levels)")


def kind(value: object) -> str:
    """What a JSON value is, for a message: ``an object``, ``a string``, ``null``..."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def as_object(value: object, field: str, label: str | None = None) -> Mapping[str, Any]:
    """``value`` if it is a JSON object; ``label`` names the whole body (``field`` ``""``)."""
    if not isinstance(value, dict):
        must(field, f"must be a JSON object, not {kind(value)}", label)
    return value


def as_list(value: object, field: str) -> list[Any]:
    """``value`` if it is a JSON array."""
    if not isinstance(value, list):
        must(field, f"must be a JSON array, not {kind(value)}")
    return value


def optional_str(data: Mapping[str, Any], key: str, prefix: str) -> str | None:
    """``data[key]`` if it is a string, ``None`` if absent or null."""
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        must(field_path(prefix, key), f"must be a string, not {kind(value)}")
    return value


def required_str(data: Mapping[str, Any], key: str, prefix: str, what: str) -> str:
    """``data[key]`` if it is a non-empty string; ``what`` names it in the message."""
    value = optional_str(data, key, prefix)
    if not value:
        fail(field_path(prefix, key), f"{what} is missing")
    return value


def required_id(data: Mapping[str, Any], key: str, prefix: str, what: str) -> str:
    """``data[key]`` if it is an id: a non-empty string, plain text, :data:`MAX_ID_LENGTH` at most.

    Plain text: no NUL and no lone surrogate, which no database column or UTF-8 encoder
    takes; the stores and the operator's screens can hold every id the parser lets through.
    """
    value = data.get(key)
    if type(value) is str and _plain_ascii(value):
        return value  # the common case, as the checks below would pass it
    return _plain_id(required_str(data, key, prefix, what), field_path(prefix, key), what)


def _plain_ascii(value: str) -> bool:
    """Whether ``value`` passes :func:`_plain_id` as ASCII, without building its field path."""
    return 0 < len(value) <= MAX_ID_LENGTH and value.isascii() and "\x00" not in value


def optional_id(data: Mapping[str, Any], key: str, prefix: str, what: str) -> str | None:
    """``data[key]`` as :func:`required_id` checks it, or ``None`` if absent or null."""
    value = data.get(key)
    if value is None or (type(value) is str and _plain_ascii(value)):
        return value
    value = optional_str(data, key, prefix)
    return None if value is None else _plain_id(value, field_path(prefix, key), what)


def _plain_id(value: str, field: str, what: str) -> str:
    if not value:
        fail(field, f"{what} is missing")
    if len(value) > MAX_ID_LENGTH:
        fail(field, f"{what} is longer than {MAX_ID_LENGTH} characters ({len(value)})")
    if "\x00" in value:
        fail(field, f"{what} contains NUL")
    if not value.isascii() and not _encodes(value):  # ASCII has no surrogate to check for
        fail(field, f"{what} contains a lone surrogate")
    return value


def _encodes(text: str) -> bool:
    """Whether ``text`` is UTF-8 encodable: it has no lone surrogate."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def optional_time(data: Mapping[str, Any], key: str, prefix: str) -> datetime | None:
    """``data[key]`` as an aware datetime (ISO 8601 with an offset, ``Z`` for UTC)."""
    text = optional_str(data, key, prefix)
    return None if text is None else read_time(text, field_path(prefix, key))


def read_time(text: str, field: str) -> datetime:
    """An ISO 8601 time with an offset; a Java zone id after the offset is dropped.

    ``...Z[UTC]`` and ``...+01:00[Europe/Paris]`` are the offset's time: the offset fixes
    the instant, the zone id only names the rules that chose it. A zone id with no offset
    before it is refused (the instant would depend on a zone database).
    """
    known = _TIMES.get(text)
    if known is not None:
        return known  # read before: an order's deliveries repeat its transitions' times
    if len(text) > _LONGEST_TIME or not text.isascii() or not text.isprintable():
        fail(field, f"{text!r} is not an ISO 8601 time")
    bare = _ZONE_ID.sub(r"\1", text) if "[" in text else text  # the provider's own: no zone id
    if "[" in bare:
        fail(field, f"{text!r} is not an ISO 8601 time (a zone id needs an offset before it)")
    try:
        moment = datetime.fromisoformat(bare)
    except ValueError:
        fail(field, f"{text!r} is not an ISO 8601 time")
    if moment.tzinfo is None:
        fail(field, f"{text!r} has no UTC offset (the provider writes times like ...Z)")
    if len(_TIMES) >= _TIMES_KEPT:
        _TIMES.clear()
    _TIMES[text] = moment  # datetimes are immutable: one object for every reader is safe
    return moment


# The times read lately, by their text (only texts read without a problem).
_TIMES: dict[str, datetime] = {}
_TIMES_KEPT = 4096


def stamp(moment: datetime) -> str:
    """A moment as fixed-width UTC text: ``2026-04-01T09:00:05.250000Z``.

    The provider writes its times so (:func:`read_time` reads them back), and the stores
    keep moments so, as text whose order is time order: four-digit years (``0999``) from
    year 1 to 9999; the databases write their own clock's moments in the same shape.
    """
    u = moment.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
        f"{u.second:02d}.{u.microsecond:06d}Z"
    )

"""Text any store keeps: NUL and lone surrogates escaped, the rest unchanged, never raising."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle._text import printable, safe_text


@given(st.text())
def test_printable_text_encodes_without_nul(text: str) -> None:
    """What printable gives has no NUL and encodes to UTF-8 (every store keeps it)."""
    kept = printable(text)
    assert "\x00" not in kept
    kept.encode("utf-8")


@given(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")))
def test_text_without_nul_or_surrogates_is_unchanged(text: str) -> None:
    """Text with neither NUL nor a lone surrogate comes out as it went in."""
    assert printable(text) == text


def test_nul_and_a_lone_surrogate_read_as_their_escapes() -> None:
    r"""NUL reads ``\x00`` and a lone surrogate ``\udc80``."""
    assert printable("a\x00b\udc80") == "a\\x00b\\udc80"


class _Hostile(Exception):
    def __str__(self) -> str:
        raise RuntimeError


@given(st.one_of(st.text(), st.integers(), st.binary(), st.just(_Hostile())), st.integers(0, 50))
def test_safe_text_is_bounded_printable_and_never_raises(value: object, limit: int) -> None:
    """Any value reads as printable text of at most ``limit`` characters before escaping."""
    text = safe_text(value, limit)
    assert "\x00" not in text
    text.encode("utf-8")
    assert len(text) <= 6 * max(limit, len("<unprintable _Hostile>"))


def test_an_error_reads_with_its_type_and_an_unprintable_one_by_its_type() -> None:
    """An exception reads ``Type: message``; one whose str() raises reads ``<unprintable Type>``."""
    assert safe_text(ValueError("no\x00")) == "ValueError: no\\x00"
    assert safe_text(_Hostile()) == "<unprintable _Hostile>"
    assert safe_text("x" * 5000, 10) == "x" * 10

"""Text any store keeps and an operator can read: NUL and lone surrogates escaped.

A bottom layer (beside ``exceptions``): webhooks keep refusal reasons with it, actions and
the stores keep the shop's errors, the command line prints what it reads back.
"""

from __future__ import annotations

__all__ = ["printable", "safe_text"]

_TEXT_LIMIT = 1_000


def printable(text: str) -> str:
    r"""``text`` with NUL and lone surrogates as their Python escapes (``\x00``, ``\udc80``).

    Every store can keep what comes out (PostgreSQL cannot store NUL in text, SQLite and
    PostgreSQL need UTF-8); text without them comes out unchanged.
    """
    escaped = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return escaped.replace("\x00", "\\x00")


def safe_text(value: object, limit: int = _TEXT_LIMIT) -> str:
    """``value`` as text an operator can read: its type and ``str()``, bounded, never raising.

    An exception reads ``ValueError: the message``; a value whose ``str()`` raises (or
    returns no ``str``) reads ``<unprintable ValueError>``. The text is :func:`printable`,
    so every database stores it.
    """
    name = type(value).__name__
    try:
        text = str(value)
        if not isinstance(text, str):
            raise TypeError(name)  # noqa: TRY301 (handled below, with every other failure)
    except Exception:  # noqa: BLE001 (the shop's object: anything may fail in its __str__)
        text = f"<unprintable {name}>"
    else:
        if isinstance(value, BaseException):
            text = f"{name}: {text}" if text else name
    return printable(text[:limit])

"""One ``INSERT`` of many rows: a statement's ``VALUES`` group repeated, one per row.

psycopg's ``executemany`` pipelines a statement once per row: the client binds, sends and
reads each run in Python, and the server executes each. A plain ``INSERT ... VALUES (...)``
of N rows written as one ``VALUES (...), (...), ...`` binds its N * k parameters in one
(compiled) pass and runs once (a reconciler's own instructions on PostgreSQL fell 13% with
this and its kin: ``bench_instructions.py --postgres``), and changes the same rows: each
row is inserted, or skipped under ``ON CONFLICT ... DO NOTHING`` (which skips a row that
conflicts with one inserted earlier by the same statement too), and a row the database
refuses refuses the whole statement, as it would the whole ``executemany`` in one
transaction.

Only such statements are rewritten. ``DO UPDATE`` is only when its rows' conflict keys are
distinct (:func:`many_updates`: one statement may not update a row twice, where runs one
by one may; with distinct keys, each row inserts or updates its own key's row, as its run
would, and no run sees another's), and an ``UPDATE`` never (its parameters would need
their types spelt out). A ``RETURNING`` clause is the caller's to add, and to map back to
rows (each run a row answered for its own row).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, compress

__all__ = [
    "MAX_BYTES",
    "MAX_PARAMETERS",
    "MAX_ROWS",
    "distinct_at",
    "many_updates",
    "many_values",
    "numbered",
    "rows_a_statement",
    "statements",
]

MAX_PARAMETERS = 65_535  # PostgreSQL's protocol: a statement's parameters fit in 16 bits
MAX_ROWS = 1_000  # rows a statement: past this, a bigger statement saves nothing measurable
# Text and bytes a statement: far under the protocol's 1 GB message, so that a batch of
# big bodies (``Inbox.max_body`` has no upper bound) goes in several; one row past it
# goes alone, as it did one run a row.
MAX_BYTES = 16 * 2**20

_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_DO_UPDATE = re.compile(r"\bDO\s+UPDATE\b", re.IGNORECASE)
_VALUES = re.compile(r"\bVALUES\s*\(", re.IGNORECASE)
# INSERT INTO table (columns) ... ON CONFLICT (one column) DO UPDATE: the column's name.
_COLUMNS = re.compile(r"\s*INSERT\s+INTO\s+\w+\s*\(([\w\s,]*)\)", re.IGNORECASE)
_CONFLICT = re.compile(r"\bON\s+CONFLICT\s*\(\s*(\w+)\s*\)\s*DO\s+UPDATE\b", re.IGNORECASE)

Split = tuple[str, tuple[str, ...], str]
"""A statement around its ``VALUES`` group: head, the group's text between marks, tail."""


@functools.cache
def many_values(sql: str) -> Split | None:
    """``sql`` split around its one ``VALUES`` group: head, the group's pieces, tail.

    The pieces are the group's text between its ``?`` placeholders. None unless ``sql``
    is an ``INSERT`` whose rows may go in one statement (see the module) and whose every
    ``?`` is a placeholder of that group.
    """
    bare = _unquoted(sql)
    if bare is None or _DO_UPDATE.search(bare):
        return None
    return _split(sql, bare)


@functools.cache
def many_updates(sql: str) -> tuple[Split, int] | None:
    """An ``INSERT ... ON CONFLICT (c) DO UPDATE`` split, and the place of ``c``'s mark.

    Split as :func:`many_values` splits; ``c``'s mark is its place among a row's values:
    the rows go in one statement only when their values there are distinct. None for any
    other statement, or one whose ``c`` is not given by a mark of its own.
    """
    bare = _unquoted(sql)
    if bare is None:
        return None
    columns, conflict = _COLUMNS.match(bare), _CONFLICT.search(bare)
    if columns is None or conflict is None or len(_DO_UPDATE.findall(bare)) != 1:
        return None
    names = [name.strip().lower() for name in columns.group(1).split(",")]
    key = conflict.group(1).lower()
    split = _split(sql, bare)
    group = None if split is None else _unquoted("?".join(split[1]))
    if split is None or group is None or names.count(key) != 1:
        return None
    values = _top_level(group[1:-1])  # each column's expression, quoted text blanked
    column = names.index(key)
    if len(values) != len(names) or values[column].strip() != "?":
        return None  # the key not given by a mark of its own: no row's key to compare
    return split, sum(value.count("?") for value in values[:column])


def distinct_at(rows: Sequence[Sequence[object]], key: int) -> bool:
    """Whether ``rows``' values at ``key`` are all different (and hashable)."""
    try:
        return len({row[key] for row in rows}) == len(rows)
    except TypeError:  # an unhashable value: not told apart here, one run a row
        return False


def _split(sql: str, bare: str) -> Split | None:
    """``sql`` (``bare``: unquoted) split around its one ``VALUES`` group, if repeatable."""
    if not bare.lstrip().upper().startswith("INSERT") or _RETURNING.search(bare):
        return None
    found = list(_VALUES.finditer(bare))
    if len(found) != 1:
        return None
    start = found[0].end() - 1
    end = _closing(bare, start)
    if end is None:
        return None
    head, group, tail = sql[:start], sql[start:end], sql[end:]
    marks = bare.count("?", start, end)
    if not marks or marks != sql.count("?") or marks != group.count("?"):
        return None  # a "?" outside the group, or quoted inside it
    return head, tuple(group.split("?")), tail


@functools.lru_cache(maxsize=256)
def numbered(sql: str, rows: int) -> str:
    """``sql`` (split by :func:`many_values`) for ``rows`` rows, numbered ``$1, $2, ...``.

    PostgreSQL's own placeholders, which a raw cursor sends as they are, unparsed.
    """
    split = many_values(sql)
    if split is None and (updates := many_updates(sql)) is not None:
        split = updates[0]
    if split is None:  # pragma: no cover (callers split first)
        raise ValueError(f"not an INSERT of rows: {sql}")
    head, parts, tail = split
    marks = len(parts) - 1
    groups = []
    for row in range(rows):
        pieces = [parts[0]]
        for mark in range(marks):
            pieces += (f"${row * marks + mark + 1}", parts[mark + 1])
        groups.append("".join(pieces))
    return f"{head}{', '.join(groups)}{tail}"


def statements(
    rows: Sequence[Sequence[object]], *, most: int, budget: int
) -> Iterator[Sequence[Sequence[object]]]:
    """``rows`` in order, cut into runs of at most ``most`` rows and ``budget`` bytes.

    Bytes are the lengths of the rows' ``str`` and ``bytes`` values; a row over the
    budget on its own is a run of one. The common case, all the rows in one run, is
    told by one pass in C over every value.
    """
    if rows and len(rows) <= most and _weight(chain.from_iterable(rows)) <= budget:
        yield rows
        return
    start, size = 0, 0
    for at, row in enumerate(rows):
        weight = _weight(row)
        if at > start and (at - start == most or size + weight > budget):
            yield rows[start:at]
            start, size = at, 0
        size += weight
    if start < len(rows):
        yield rows[start:]


_SIZED = frozenset({str, bytes})


def _weight(values: Iterable[object]) -> int:
    """The lengths of ``values``' ``str`` and ``bytes`` (exactly those types), summed."""
    values = list(values)
    return sum(map(len, compress(values, map(_SIZED.__contains__, map(type, values)))))  # type: ignore[arg-type]


def rows_a_statement(marks: int) -> int:
    """The most rows one statement of ``marks`` parameters a row may carry."""
    return max(1, min(MAX_ROWS, MAX_PARAMETERS // marks))


def _unquoted(sql: str) -> str | None:
    """``sql`` with every quoted string's and name's characters blanked (same length).

    None if a quote is left open: not a statement this module rewrites.
    """
    out = list(sql)
    quote = None
    for at, char in enumerate(sql):
        if quote is not None:
            out[at] = " "
            if char == quote:
                quote = None  # a doubled quote closes and reopens: the same blanks
        elif char in "'\"":
            quote = char
            out[at] = " "
    return None if quote is not None else "".join(out)


def _top_level(bare: str) -> list[str]:
    """``bare`` cut at its commas outside parentheses."""
    pieces, depth, start = [], 0, 0
    for at, char in enumerate(bare):
        depth += (char == "(") - (char == ")")
        if char == "," and not depth:
            pieces.append(bare[start:at])
            start = at + 1
    return [*pieces, bare[start:]]


def _closing(bare: str, opening: int) -> int | None:
    """The index just past the parenthesis that closes the one at ``opening``."""
    depth = 0
    for at in range(opening, len(bare)):
        if bare[at] == "(":
            depth += 1
        elif bare[at] == ")":
            depth -= 1
            if not depth:
                return at + 1
    return None

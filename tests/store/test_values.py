"""PostgreSQL's writes of many rows in one statement: the rows one run a row would change."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from order_lifecycle import Inbox, Order, OrderState, Reconciler
from order_lifecycle.store import _values as values
from order_lifecycle.store import open_store, postgres
from order_lifecycle.store._inbox_sql import SQLInbox
from order_lifecycle.store.postgres import PostgresStore
from order_lifecycle.webhooks import Incoming, Settlement
from tests.integrations import NOW, SECRET, signed

from .conftest import new_postgres_schema

# Our statements' shapes: ON CONFLICT DO NOTHING, a plain INSERT, and a group holding
# expressions, nested parentheses and a quoted literal with a "(" and a doubled quote.
SHAPES = (
    "INSERT INTO {t} (k, n, s) VALUES (?, ?, ?) ON CONFLICT (k) DO NOTHING",
    "INSERT INTO {t} (k, n, s) VALUES (?, ?, ?)",
    (
        "INSERT INTO {t} (k, n, s) VALUES (?, COALESCE(?, 0) + length(upper('a')), "
        "'x''(' || ?) ON CONFLICT (k) DO NOTHING"
    ),
)

keys = st.sampled_from(["a", "b", "c", "d", "é", "a\x00", "\ud800"])
numbers = st.one_of(st.none(), st.integers(-5, 5), st.sampled_from([2**63 - 1, 2**63, -(2**70)]))
texts = st.one_of(st.text(max_size=4), st.sampled_from(["\x00", "\udfff", "?", "$1", "%s"]))
rows_of = st.lists(st.tuples(keys, numbers, texts).map(list), max_size=12)


@pytest.fixture(scope="module")
def scratch(postgres_dsn: str) -> Iterator[PostgresStore]:
    """A PostgreSQL store with a scratch table ``t``."""
    with open_store(new_postgres_schema(postgres_dsn)) as store:
        assert isinstance(store, PostgresStore)
        with store._transaction(write=True):
            store._write("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT, s TEXT)")
        yield store


class _Undo(Exception):
    """Raised at a transaction's end to roll it back."""


def _undone(
    store: PostgresStore, write: Callable[[], object], read: str
) -> tuple[object, list[tuple[Any, ...]]]:
    """What ``write`` answers (or its error's type), and the rows ``read`` then gives: undone."""
    seen: list[Any] = []

    def write_read_and_undo() -> None:
        seen.append(write())
        seen.append([tuple(row) for row in store._query(read)])
        raise _Undo

    try:
        with store._transaction(write=True):
            write_read_and_undo()
    except _Undo:
        return seen[0], seen[1]
    except Exception as error:  # noqa: BLE001 (the same kind of error, whatever it is)
        return type(error), []
    raise AssertionError("unreachable: the transaction is always undone")  # pragma: no cover


def _assert_alike(
    many: tuple[object, list[tuple[Any, ...]]], one_by_one: tuple[object, list[tuple[Any, ...]]]
) -> None:
    """The same answer and rows; or, where one a row failed, a failure too, nothing kept.

    Which error may differ: one statement binds every row before the database judges any,
    so a row Python cannot encode is met before an earlier row the database refuses.
    """
    assert many[1] == one_by_one[1]
    if isinstance(one_by_one[0], type):
        assert isinstance(many[0], type)
        assert issubclass(many[0], Exception)
    else:
        assert many[0] == one_by_one[0]


def _outcome(
    store: PostgresStore, sql: str, rows: Sequence[Sequence[Any]], *, many: bool
) -> tuple[object, list[tuple[Any, ...]]]:
    """Rows changed (or the error's type), and the table they leave, undone."""
    statement = sql.format(t="t")

    def write() -> int:
        if many:
            return store._write_many(statement, rows)
        return sum(store._write(statement, row) for row in rows)

    return _undone(store, write, "SELECT k, n, s FROM t ORDER BY k")


@pytest.mark.parametrize("shape", SHAPES)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_of)
def test_one_statement_changes_what_one_run_a_row_changes(
    scratch: PostgresStore, shape: str, rows: list[list[Any]]
) -> None:
    """Hostile rows: the rows changed and kept as one run a row, or an error, none kept.

    The rows are random and hostile (duplicates, NUL, surrogates, huge numbers).
    """
    _assert_alike(
        _outcome(scratch, shape, rows, many=True), _outcome(scratch, shape, rows, many=False)
    )


# DO UPDATE: one statement when the rows' keys are distinct; the key first, or past a
# literal column (its mark is then not its column's place).
UPDATES = (
    (
        "INSERT INTO {t} (k, n, s) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET "
        "n = excluded.n, s = t.s || excluded.s WHERE t.n IS DISTINCT FROM excluded.n"
    ),
    (
        "INSERT INTO {t} (n, s, k) VALUES (COALESCE(?, 7), 'x,(', ?) ON CONFLICT (k) "
        "DO UPDATE SET n = t.n + 1, s = excluded.s"
    ),
)


@pytest.mark.parametrize("shape", UPDATES)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=rows_of, rows=rows_of)
@example(before=[], rows=[["a", 1, ""], ["a", 2, ""]])  # one key twice, all else distinct
@example(before=[["a", 1, ""]], rows=[["a", 2, "x"], ["b", 3, "y"]])  # an update, an insert
def test_one_update_statement_changes_what_one_run_a_row_changes(
    scratch: PostgresStore, shape: str, before: list[list[Any]], rows: list[list[Any]]
) -> None:
    """Hostile rows over rows stored before: as one run a row, or an error, none kept.

    Keys given twice run a row at a time; distinct ones, in one statement that inserts
    the new keys and updates the stored ones.
    """
    statement = shape.format(t="t")
    marks = statement.count("?")
    rows = [row[:marks] if marks == 3 else [row[1], row[0]] for row in rows]
    stored = {row[0]: row for row in before}.values()  # one row a key

    def write(*, many: bool) -> Callable[[], object]:
        def run() -> object:
            for row in stored:
                scratch._write("INSERT INTO t (k, n, s) VALUES (?, ?, ?)", row)
            if many:
                return scratch._write_many(statement, rows)
            return sum(scratch._write(statement, row) for row in rows)

        return run

    read = "SELECT k, n, s FROM t ORDER BY k"
    _assert_alike(
        _undone(scratch, write(many=True), read), _undone(scratch, write(many=False), read)
    )


def test_an_update_statements_key_is_found_by_its_mark() -> None:
    """The conflict key's place among a row's marks; None when no mark of its own gives it."""
    assert values.many_updates(UPDATES[0].format(t="t")) is not None
    assert values.many_updates(UPDATES[0].format(t="t"))[1] == 0  # type: ignore[index]
    assert values.many_updates(UPDATES[1].format(t="t"))[1] == 1  # type: ignore[index]
    for sql in (
        "INSERT INTO t (k, n) VALUES (lower(?), ?) ON CONFLICT (k) DO UPDATE SET n = 1",
        "INSERT INTO t (k, n) VALUES ('a', ?) ON CONFLICT (k) DO UPDATE SET n = 1",
        "INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT (k, n) DO UPDATE SET n = 1",
        "INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT (x) DO UPDATE SET n = 1",
        "INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = 1 RETURNING k",
        "INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT (k) DO NOTHING",
    ):
        assert values.many_updates(sql) is None, sql
    assert values.distinct_at([["a", 1], ["b", 1]], 0)
    assert not values.distinct_at([["a", 1], ["a", 2]], 0)
    assert not values.distinct_at([[["a"], 1], [["b"], 1]], 0)  # unhashable: one a row


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements raw cursors send, as they send them."""
    queries: list[str] = []
    execute = psycopg.RawCursor.execute

    def spied(cursor: psycopg.RawCursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        queries.append(query)
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.RawCursor, "execute", spied)
    return queries


def test_rows_past_a_statements_limit_go_in_several(
    scratch: PostgresStore, monkeypatch: pytest.MonkeyPatch, sent: list[str]
) -> None:
    """Rows past the most a statement carries go in as many statements as needed."""
    monkeypatch.setattr(values, "MAX_ROWS", 2)
    rows = [[f"k{i}", i, "s"] for i in range(5)]
    changed, kept = _outcome(scratch, SHAPES[0], rows, many=True)
    assert changed == 5
    assert kept == [(f"k{i}", i, "s") for i in range(5)]
    assert [query.count("), (") + 1 for query in sent] == [2, 2, 1]


@given(
    sizes=st.lists(st.integers(0, 40), max_size=30),
    most=st.integers(1, 5),
    budget=st.integers(1, 60),
)
def test_statements_carry_at_most_their_rows_and_bytes(
    sizes: list[int], most: int, budget: int
) -> None:
    """Rows go in order, each once, as few statements as the bounds allow.

    A statement past its bytes is one row alone; one ends early only where the next row
    would take it past its rows or its bytes.
    """
    rows = [(n, "x" * size, b"", None) for n, size in enumerate(sizes)]
    chunks = list(values.statements(rows, most=most, budget=budget))

    def weight(chunk: Sequence[Sequence[object]]) -> int:
        return sum(sizes[cast("int", row[0])] for row in chunk)

    assert [row for chunk in chunks for row in chunk] == rows
    for at, chunk in enumerate(chunks):
        assert 1 <= len(chunk) <= most
        assert len(chunk) == 1 or weight(chunk) <= budget
        if at + 1 < len(chunks):
            assert len(chunk) == most or weight(chunk) + weight(chunks[at + 1][:1]) > budget


def test_a_batch_of_big_bodies_goes_in_statements_under_the_byte_budget(
    scratch: PostgresStore, monkeypatch: pytest.MonkeyPatch, sent: list[str]
) -> None:
    """Rows whose text passes the byte budget go in several statements, all stored."""
    monkeypatch.setattr(values, "MAX_BYTES", 100)
    rows = [[f"k{i}", i, "s" * 60] for i in range(5)]
    changed, kept = _outcome(scratch, SHAPES[0], rows, many=True)
    assert changed == 5
    assert len(kept) == 5
    assert len(sent) == 5


def test_a_reconcilers_batch_inserts_its_rows_in_one_statement_a_table(
    postgres_dsn: str, sent: list[str]
) -> None:
    """A batch's new orders, history rows, event ids and actions: one INSERT each."""
    with open_store(new_postgres_schema(postgres_dsn)) as store:
        Inbox(store, secrets=[SECRET], clock=lambda: NOW).accept(signed(12))
        assert Reconciler(store).run_once() == 12
    tables = ("ol_orders", "ol_order_steps", "ol_applied_events", "ol_actions")
    for table in tables:
        ones = [q for q in sent if q.startswith(f"INSERT INTO {table} ")]
        assert len(ones) == 1, (table, sent)
        assert "), (" in ones[0], table


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE t SET n = ? WHERE k = ?",
        "INSERT INTO t (k) VALUES (?) RETURNING k",
        "INSERT INTO t (k, n) VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET n = ?",
        "INSERT INTO t (k) VALUES (1)",
        "INSERT INTO t (k, s) VALUES (?, '?')",
        "INSERT INTO t (k) SELECT ? WHERE ? IN (SELECT k FROM t)",
        "INSERT INTO t (k) VALUES (?), (?)",
        "INSERT INTO t (k) VALUES ((?)",
        "INSERT INTO t (k, s) VALUES (?, 'open)",
    ],
)
def test_other_statements_are_run_one_row_at_a_time(sql: str) -> None:
    """Other statements are not rewritten.

    An UPDATE, RETURNING, DO UPDATE, no placeholder, a quoted "?", no VALUES group, two
    groups, or unbalanced text.
    """
    assert values.many_values(sql) is None


def test_placeholders_are_numbered_row_by_row() -> None:
    """Each row's group gets the next placeholders, the quoted text kept as it is."""
    sql = "INSERT INTO t (k, s) VALUES (?, 'a''(' || ?) ON CONFLICT (k) DO NOTHING"
    assert values.numbered(sql, 2) == (
        "INSERT INTO t (k, s) VALUES ($1, 'a''(' || $2), ($3, 'a''(' || $4) "
        "ON CONFLICT (k) DO NOTHING"
    )


@pytest.fixture(scope="module")
def inbox_of_twelve(postgres_dsn: str) -> Iterator[tuple[PostgresStore, list[int]]]:
    """A PostgreSQL store holding 12 pending deliveries, and their seqs."""
    with open_store(new_postgres_schema(postgres_dsn)) as store:
        assert isinstance(store, PostgresStore)
        Inbox(store, secrets=[SECRET], clock=lambda: NOW).accept(signed(12))
        with store._transaction(write=False):
            seqs = [row[0] for row in store._query("SELECT seq FROM ol_inbox ORDER BY seq")]
        yield store, seqs


def _settled(
    store: PostgresStore, settlements: list[Settlement], *, many: bool
) -> tuple[object, list[tuple[Any, ...]]]:
    """What settling answers (or the error's type) and the rows it leaves, undone."""
    settle = store._settle if many else lambda s: SQLInbox._settle(store, s)
    read = "SELECT seq, status, reason, attempts, due_at FROM ol_inbox ORDER BY seq"
    return _undone(store, lambda: settle(settlements), read)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_batch_of_settlements_in_one_statement_settles_as_one_a_row(
    inbox_of_twelve: tuple[PostgresStore, list[int]], data: st.DataObject
) -> None:
    """Settlements as claimed or not, hostile reasons and attempts: the same answer, rows."""
    store, seqs = inbox_of_twelve
    chosen = data.draw(st.lists(st.sampled_from([*seqs, 10**9]), unique=True, max_size=12))
    settlements = [
        Settlement(
            seq,
            data.draw(st.sampled_from(["pending", "pending", "waiting"])),
            data.draw(st.sampled_from(["applied", "waiting", "invalid"])),
            data.draw(st.one_of(st.none(), st.text(max_size=3), st.just("a\x00"))),
            data.draw(st.one_of(st.integers(0, 3), st.just(2**63))),
            data.draw(st.one_of(st.none(), st.just("2026-04-02T00:00:00Z"))),
        )
        for seq in chosen
    ]
    _assert_alike(_settled(store, settlements, many=True), _settled(store, settlements, many=False))


def test_a_batch_of_settlements_is_one_statement(
    inbox_of_twelve: tuple[PostgresStore, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twelve deliveries settled: one UPDATE, all settled."""
    store, seqs = inbox_of_twelve
    sent: list[str] = []
    write = store._write

    def spied(sql: str, params: Any = ()) -> int:
        sent.append(sql)
        return write(sql, params)

    monkeypatch.setattr(store, "_write", spied)
    settlements = [Settlement(seq, "pending", "applied", None, 1, None) for seq in seqs]
    answer, rows = _settled(store, settlements, many=True)
    assert answer is True
    assert {row[1] for row in rows} == {"applied"}
    assert len([sql for sql in sent if sql.startswith("UPDATE ol_inbox")]) == 1


@pytest.fixture(scope="module")
def three_orders(postgres_dsn: str) -> Iterator[PostgresStore]:
    """A PostgreSQL store holding three orders, o1 to o3, each at version 1."""
    with open_store(new_postgres_schema(postgres_dsn)) as store:
        assert isinstance(store, PostgresStore)
        for n in (1, 2, 3):
            store.create_order(Order.create(f"o{n}", OrderState.IN_REVIEW, at=NOW))
        yield store


def _updated(
    store: PostgresStore, rows: list[list[Any]], *, many: bool
) -> tuple[object, list[tuple[Any, ...]]]:
    """Rows the updates change (or the error's type) and the orders they leave, undone."""
    sql = postgres._UPDATE_ORDERS

    def write() -> int:
        return store._write_many(sql, rows) if many else sum(store._write(sql, r) for r in rows)

    return _undone(store, write, "SELECT * FROM ol_orders ORDER BY id")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_batch_of_order_updates_in_one_statement_changes_as_one_a_row(
    three_orders: PostgresStore, data: st.DataObject
) -> None:
    """Updates read at the version and state stored or not, hostile values: same rows."""
    # Two rows or more (one goes one a row anyway); now and then a hostile value.
    ids = data.draw(
        st.lists(st.sampled_from(["o1", "o2", "o3", "o9"]), unique=True, min_size=2, max_size=4)
    )
    rows = [
        [
            data.draw(st.sampled_from([2, 3, 2, 3, 2, 3, 2**63])),
            data.draw(st.sampled_from(["accepted", "in_review"])),
            data.draw(st.one_of(st.none(), st.just("passed"))),
            data.draw(st.one_of(st.none(), st.just("chk-1"))),
            data.draw(st.sampled_from(["{}", '{"a": 1}', "{}", '{"a": 1}', "\x00"])),
            order_id,
            data.draw(st.sampled_from([1, 1, 2])),
            data.draw(st.sampled_from(["in_review", "in_review", "accepted"])),
        ]
        for order_id in ids
    ]
    _assert_alike(_updated(three_orders, rows, many=True), _updated(three_orders, rows, many=False))


def test_updates_of_distinct_orders_are_one_statement(
    three_orders: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three orders updated: one UPDATE."""
    sent: list[str] = []
    execute = three_orders._connection.execute

    def spied(sql: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(sql)
        return execute(sql, *args, **kwargs)

    monkeypatch.setattr(three_orders._connection, "execute", spied)
    rows = [[2, "accepted", None, None, "{}", f"o{n}", 1, "in_review"] for n in (1, 2, 3)]
    assert _updated(three_orders, rows, many=True)[0] == 3
    assert [sql for sql in sent if sql.startswith("UPDATE")] == [postgres._UPDATE_ORDERS_MANY]


keyed = st.tuples(st.sampled_from(["e1", "e2", "e3", "e\x00"]), st.sampled_from([None, "", "o1"]))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(keyed, min_size=2, max_size=8), stored=st.lists(keyed, max_size=2))
def test_the_request_paths_batch_in_one_statement_stores_as_one_a_row(
    inbox_of_twelve: tuple[PostgresStore, list[int]],
    keys: list[tuple[str, str | None]],
    stored: list[tuple[str, str | None]],
) -> None:
    """Keys given twice, keys stored before, NUL: the same rows stored, the same answers.

    Each delivery answers its new seq (in the order they came) or None (its key taken).
    """
    store, _ = inbox_of_twelve

    def incoming(event_id: str, order_id: str | None, n: int) -> Incoming:
        return Incoming(event_id, "order.accepted", order_id, None, "t", "pending", None, b"%d" % n)

    before = [incoming(e, o, -1) for e, o in stored]
    batch = [incoming(e, o, n) for n, (e, o) in enumerate(keys)]
    read = "SELECT event_id, order_id, body FROM ol_inbox WHERE received_at = 't' ORDER BY seq"

    def accept(*, many: bool) -> Callable[[], object]:
        def write() -> object:
            for row in before:
                store._insert_rows([row])
            if many:
                seqs = store._insert_rows(batch)
            else:
                seqs = [seq for row in batch for seq in store._insert_rows([row])]
            assert [s for s in seqs if s is not None] == sorted(s for s in seqs if s is not None)
            return [s is not None for s in seqs]

        return write

    _assert_alike(_undone(store, accept(many=True), read), _undone(store, accept(many=False), read))

"""``order-lifecycle migrate`` and ``schema``, and every command given a hostile ``--db``."""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle.cli import main
from order_lifecycle.store import SCHEMA_VERSION, open_store, schema_script
from order_lifecycle.testing import HOSTILE_TEXT


def run(*argv: str) -> tuple[int, str, str]:
    """The exit status, stdout and stderr of the command line, run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_migrate_creates_the_tables_then_has_nothing_to_do(tmp_path: Path) -> None:
    """`migrate` makes a new store's tables, then says there is nothing to do."""
    db = tmp_path / "shop.db"
    assert run("migrate", "--db", str(db)) == (
        0,
        f"Created the tables of schema version {SCHEMA_VERSION} in the SQLite file {db}.\n",
        "",
    )
    again = f"The tables in the SQLite file {db} are at schema version {SCHEMA_VERSION}: "
    assert run("migrate", "--db", str(db)) == (0, f"{again}nothing to do.\n", "")
    with open_store(db, create=False) as store:
        assert store.order_ids() == []


def test_a_database_without_tables_asks_for_migrate(tmp_path: Path) -> None:
    """A command on a database that holds other tables names `migrate`, in one line."""
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE app (x)")
    connection.close()
    code, out, err = run("replay", os.devnull, "--db", str(db))
    assert (code, out) == (1, "")
    assert err.startswith("order-lifecycle: There is no order-lifecycle store in the SQLite file")
    assert f"run `order-lifecycle migrate --db {db}`" in err
    assert err.count("\n") == 1
    assert run("migrate", "--db", str(db))[0] == 0
    assert run("replay", os.devnull, "--db", str(db))[0] == 0


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_schema_prints_the_migrations(dialect: str) -> None:
    """`schema` prints schema_script's SQL, whole or from a version."""
    assert run("schema", "--dialect", dialect) == (0, schema_script(dialect), "")
    assert run("schema", "--dialect", dialect, "--from", "1") == (
        0,
        schema_script(dialect, 1),
        "",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["schema"],
        ["schema", "--dialect", "mysql"],
        ["schema", "--dialect", "sqlite", "--from", "0"],
        ["schema", "--dialect", "sqlite", "--from", str(SCHEMA_VERSION)],
        ["schema", "--dialect", "sqlite", "--from", "x"],
        ["schema", "--dialect", "sqlite", "--from", "9" * 5000],
        ["migrate", "--nothing"],
    ],
)
def test_schema_and_migrate_refuse_bad_arguments_in_one_line(argv: list[str]) -> None:
    """Missing or wrong arguments: exit 2 and one line saying what is wrong."""
    with pytest.raises(SystemExit) as exited:
        run(*argv)
    assert exited.value.code == 2


def test_a_fifo_as_db_does_not_block(tmp_path: Path) -> None:
    """Every command given a FIFO as --db answers at once: one line, exit 1."""
    fifo = tmp_path / "orders.db"
    os.mkfifo(fifo)
    for argv in (["show", "o-1"], ["check"], ["migrate"], ["inbox", "list"], ["demo"]):
        done = subprocess.run(  # noqa: S603 (this interpreter, our command)
            [sys.executable, "-m", "order_lifecycle", *argv, "--db", str(fifo)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=tmp_path,
        )
        assert done.returncode == 1, argv
        assert done.stderr == (
            f"order-lifecycle: Cannot open the SQLite file {fifo}: it is a FIFO (named pipe), "
            "not a file a store can be in.\n"
        )


# Every command that opens --db, with what else it needs.
COMMANDS = [
    ["show", "o-1"],
    ["check"],
    ["inbox", "list"],
    ["inbox", "refeed", "1"],
    ["inbox", "refused"],
    ["reconcile", "--once"],
    ["actions", "list"],
    ["actions", "retry", "k"],
    ["actions", "prune", "--before", "2026-01-01T00:00:00+00:00"],
    ["diagram", "--order", "o-1"],
    ["replay", os.devnull],
    ["migrate"],
]

DB_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            ":memory:",
            ".",
            "/",
            "/dev/null",
            "/proc/self/status",
            "x" * 5000,
            "sub/" + "y" * 300,
            "sqlite://",
            "sqlite:///dev/zero",
            "mysql://shop@localhost/orders",
            "postgresql://shop@" + "a" * 64 + ".example/orders",
            "postgresql://shop@127.0.0.1:1/orders?connect_timeout=1",
            "postgresql://%zz@127.0.0.1/orders",
            "postgres://\ud800@127.0.0.1/orders",
            "orders\x00.db",
        ]
    ),
    HOSTILE_TEXT,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(COMMANDS), db=DB_VALUES)
def test_every_command_given_a_hostile_db_answers_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], db: str
) -> None:
    """Any --db: the command works, or one line on stderr and exit 1, never a traceback or bug."""
    monkeypatch.chdir(tmp_path)  # a relative --db is made here, if anywhere
    code, _, err = run(*command, f"--db={db}")  # = : a value may start with a dash
    if code == 0:
        assert err == ""
        return
    assert code == 1
    assert err.startswith("order-lifecycle: ")
    assert err.count("\n") == 1
    assert "a bug: please report it" not in err

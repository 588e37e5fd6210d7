from __future__ import annotations

import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from order_lifecycle import Item, Order, fire
from order_lifecycle.cli import main
from order_lifecycle.diagrams import render_spec
from order_lifecycle.lifecycle import CHECKOUT_SPEC, ORDER_SPEC
from order_lifecycle.store import open_store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_demo_keeps_its_orders_in_the_store_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --db the demo's orders stay, and it can run again on the same store."""
    db = str(tmp_path / "shop.db")
    picture = str(tmp_path / "path")
    assert main(["demo", "--db", db, "--orders", "11", "--picture", picture]) == 0
    assert main(["demo", "--db", db, "--orders", "11", "--picture", picture]) == 0
    capsys.readouterr()
    with open_store(db) as store:
        ids = store.order_ids()
    assert len(ids) == 20  # 11 checkouts a day, one rejected for fraud: 10 orders
    assert sum(i.startswith("run") for i in ids) == 10
    assert main(["check", "--db", db]) == 0
    assert capsys.readouterr().out.startswith("20 orders and 24 checkouts checked")


def test_check_lists_the_histories_a_table_no_longer_allows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A step written under another table that this one does not allow: listed, exit 1."""
    db = tmp_path / "shop.db"
    with open_store(db) as store:
        store.create_order(Order.create("o-1", at=T0))
        store.create_order(Order.create("o-2", at=T0))
        store.update_order("o-2", lambda order: fire(order, "accept", at=T0))
    with sqlite3.connect(db) as connection:  # as if an older table had allowed it
        connection.execute(
            "UPDATE ol_order_steps SET event = 'open_review', spec_version = '0123456789ab' "
            "WHERE order_id = 'o-2' AND seq = 1"
        )
    connection.close()
    assert main(["check", "--db", str(db)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        (
            "order o-2: The order history is not legal at step 1: pending_payment -open_review-> "
            f"accepted is not in the table. (written under spec {ORDER_SPEC.version}, "
            "0123456789ab)"
        ),
        (
            f"2 orders and 0 checkouts checked against the order table (spec {ORDER_SPEC.version}) "
            f"and the checkout table (spec {CHECKOUT_SPEC.version}): 1 history is not legal."
        ),
    ]


def test_check_needs_an_existing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A check never creates a store: a missing one is an error (exit 1), and nothing is made."""
    path = tmp_path / "nope.db"
    assert main(["check", "--db", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"order-lifecycle: No store at {path}: the file does not exist.\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "md"])
def test_diagram_to_stdout(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`diagram` prints the chosen machine in the chosen format."""
    assert main(["diagram", "--machine", "checkout", "--format", fmt]) == 0
    assert capsys.readouterr().out == render_spec(CHECKOUT_SPEC, fmt)


def test_diagram_to_file(tmp_path: Path) -> None:
    """`diagram -o FILE` writes the file and prints nothing."""
    target = tmp_path / "order.mmd"
    assert main(["diagram", "--format", "mermaid", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_spec(ORDER_SPEC, "mermaid")


@pytest.mark.usefixtures("no_svg_engine")
def test_library_errors_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    """A library error becomes a one-line message and exit status 1, not a traceback."""
    assert main(["diagram", "--format", "svg"]) == 1
    assert capsys.readouterr().err.startswith("order-lifecycle: SVG needs Graphviz")


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown machine is refused by the argument parser."""
    with pytest.raises(SystemExit) as raised:
        main(["diagram", "--machine", "invoice"])
    assert raised.value.code == 2
    assert "invalid choice: 'invoice'" in capsys.readouterr().err


def test_python_dash_m() -> None:
    """`python -m order_lifecycle` is the same command."""
    done = subprocess.run(
        [sys.executable, "-m", "order_lifecycle", "diagram", "--format", "md"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == render_spec(ORDER_SPEC, "md")


def run_unprivileged(*arguments: str) -> subprocess.CompletedProcess[str]:
    """``order-lifecycle ARGUMENTS`` in a new process, as a user without root's rights."""
    command = [sys.executable, "-m", "order_lifecycle", *arguments]
    if os.geteuid() == 0:  # root writes anything: run as a user that file modes bind
        user = "postgres" if _has_user("postgres") else "nobody"
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(  # noqa: S603 (this interpreter, our arguments)
        command, capture_output=True, text=True, timeout=60, check=False
    )


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_check_reads_a_store_in_a_read_only_folder() -> None:
    """The check opens read-only: a store in a folder and file nobody may write is checked."""
    folder = Path(tempfile.mkdtemp(prefix="order-lifecycle-ro-"))
    path = folder / "shop.db"
    try:
        with open_store(path) as store:
            store.create_order(Order.create("o-1", at=T0))
        before = path.read_bytes()
        path.chmod(0o444)
        folder.chmod(0o555)
        done = run_unprivileged("check", "--db", str(path))
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout.startswith("1 order and 0 checkouts checked")
        assert path.read_bytes() == before
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_check_runs_quick_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The check runs SQLite's quick_check: a damaged file is one line on stderr, exit 1."""
    path = tmp_path / "shop.db"
    with open_store(path) as store:
        for n in range(300):
            store.create_order(Order.create(f"o-{n}", items=[Item("i" * 50, 1, physical=True)]))
    data = bytearray(path.read_bytes())
    data[8192 : 8192 + 3 * 4096] = b"\xab" * (3 * 4096)
    path.write_bytes(bytes(data))
    assert main(["check", "--db", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("order-lifecycle: ")
    assert "quick_check" in err or "malformed" in err
    assert err.count("\n") == 1

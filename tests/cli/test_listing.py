"""What every list shares: pages by --after to the end, true totals, --since, ages."""

from __future__ import annotations

import argparse
import json
import re
import shlex
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_lifecycle.cli import main
from order_lifecycle.cli._listing import age, since
from order_lifecycle.store import Overview, open_store
from order_lifecycle.testing import HOSTILE_TEXT
from tests.store.test_pages import T0, inbox_rows, shipped_orders

from .test_args import HOSTILE, outcome

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store of 5,200 deliveries and 3,000 actions."""
    path = tmp_path_factory.mktemp("listing") / "shop.db"
    with open_store(path) as store:
        store.accept_deliveries(inbox_rows(5_200))
        shipped_orders(store, batches=5, per_batch=100)
    return str(path)


def test_inbox_pages_by_the_hint_to_the_end(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Following "next page: --after SEQ" shows every delivery once, with the true total."""
    seqs: list[int] = []
    after: list[str] = []
    while True:
        assert main(["inbox", "list", "--db", db, "--all", "--limit", "1000", *after]) == 0
        out = capsys.readouterr().out
        assert f"showing {min(1000, 5200 - len(seqs)):,} of 5,200 deliveries" in out
        seqs += [int(n) for n in re.findall(r"^  (\d+) ", out, re.MULTILINE)]
        hint = re.search(r"next page: (--after .+)$", out, re.MULTILINE)
        if hint is None:
            break
        after = shlex.split(hint[1])
    assert seqs == list(range(1, 5_201))


def test_action_pages_by_json_to_the_end(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--json's next_after pages through the actions, oldest first, each once."""
    keys: list[str] = []
    after: list[str] = []
    while True:
        assert main(["actions", "list", "--db", db, "--limit", "700", "--json", *after]) == 0
        document = json.loads(capsys.readouterr().out)
        assert document["total"] == 3_000
        assert document["shown"] == len(document["actions"])
        keys += [a["key"] for a in document["actions"]]
        if document["next_after"] is None:
            break
        after = ["--after", document["next_after"]]
    assert len(keys) == len(set(keys)) == 3_000


def test_filters_narrow_the_total(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--status, --type, --order and --since each narrow the listing and its total."""
    since_moment = (T0 + timedelta(minutes=5_000)).isoformat()
    for argv, total in (
        (["--status", "invalid"], 743),
        (["--all", "--type", "refund.complete"], 1_733),
        (["--all", "--order", "o-07"], 130),
        (["--all", "--since", since_moment], 200),
        (["--status", "pending", "--type", "order.accepted", "--since", since_moment], 58),
    ):
        assert main(["inbox", "list", "--db", db, "--json", *argv]) == 0
        assert json.loads(capsys.readouterr().out)["total"] == total, argv
    assert main(["actions", "list", "--db", db, "--json", "--order", "o-3-042"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 6
    assert main(["actions", "list", "--db", db, "--json", "--since", "1d"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 3_000  # made just now


def test_since_takes_a_moment_or_an_age() -> None:
    """--since reads an ISO 8601 moment with its offset, or an age before now."""
    assert since("2026-04-01T00:00:00+02:00") == datetime(2026, 3, 31, 22, tzinfo=UTC)
    assert since("90s", lambda: NOW) == NOW - timedelta(seconds=90)
    assert since("2h", lambda: NOW) == NOW - timedelta(hours=2)
    assert since("7d", lambda: NOW) == NOW - timedelta(days=7)


@given(value=HOSTILE_TEXT | st.text(max_size=12) | st.from_regex(r"\d{1,9}[smhdw]", fullmatch=True))
def test_since_refuses_anything_else_as_an_argument_error(value: str) -> None:
    """Any other text is an argument error (exit 2), never another exception."""
    try:
        moment = since(value, lambda: NOW)
    except argparse.ArgumentTypeError as error:
        message = str(error)
    else:
        message = ""
        assert moment.tzinfo is not None
    assert "\n" not in message


def test_ages_read_as_an_operator_reads_them() -> None:
    """An age is its two largest units: 45s, 12m 5s, 3h, 4d 2h; none is blank."""
    assert [
        age(timedelta(seconds=s)) for s in (0, 45, 725, 10_800, 10_860, 4 * 86_400 + 7_300)
    ] == ["0s", "45s", "12m 5s", "3h", "3h 1m", "4d 2h"]
    assert age(None) == ""


def test_hostile_list_arguments_are_refused_by_the_parser(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A limit out of range, a seq that is no number, an id with NUL: exit 2, one line."""
    for argv in (
        ["inbox", "list", "--limit", "0"],
        ["inbox", "list", "--limit", "10001"],
        ["inbox", "list", "--after", "x"],
        ["inbox", "list", "--order", "o\x00"],
        ["actions", "list", "--after", "\udc80"],
        ["inbox", "list", "--since", "yesterday"],
    ):
        with pytest.raises(SystemExit) as exited:
            main([*argv, "--db", db])
        assert exited.value.code == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_an_action_page_after_a_pruned_action_is_one_line(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--after a key the outbox does not hold: one line naming it, exit 1."""
    assert main(["actions", "list", "--db", db, "--after", "gone"]) == 1
    assert capsys.readouterr().err == (
        "order-lifecycle: Unknown action 'gone': the store's outbox does not hold it.\n"
    )


OPERATOR_COMMANDS = {
    # Each command with one slot, VALUE, for the hostile value; the rest is well formed.
    "inbox list --status": ["inbox", "list", "--status", "VALUE"],
    "inbox list --type": ["inbox", "list", "--type", "VALUE"],
    "inbox list --order": ["inbox", "list", "--order", "VALUE"],
    "inbox list --since": ["inbox", "list", "--since", "VALUE"],
    "inbox list --after": ["inbox", "list", "--after", "VALUE"],
    "inbox list --limit": ["inbox", "list", "--limit", "VALUE", "--json"],
    "inbox show": ["inbox", "show", "VALUE", "--json"],
    "inbox refeed SEQ": ["inbox", "refeed", "VALUE"],
    "inbox refeed --order": ["inbox", "refeed", "--status", "invalid", "--order", "VALUE"],
    "inbox refeed --type": ["inbox", "refeed", "--status", "waiting", "--type", "VALUE"],
    "inbox refeed --since": ["inbox", "refeed", "--status", "kept", "--since", "VALUE"],
    "actions list --state": ["actions", "list", "--state", "VALUE"],
    "actions list --order": ["actions", "list", "--order", "VALUE", "--json"],
    "actions list --after": ["actions", "list", "--after", "VALUE"],
    "actions list --since": ["actions", "list", "--since", "VALUE"],
    "actions retry": ["actions", "retry", "VALUE"],
    "orders list --state": ["orders", "list", "--state", "VALUE"],
    "orders list --after": ["orders", "list", "--after", "VALUE", "--json"],
    "orders list --limit": ["orders", "list", "--limit", "VALUE"],
}
MAY_CHANGE = {"inbox refeed SEQ", "inbox refeed --since", "actions retry"}
"""The commands whose hostile value may still name something stored (a seq, an age, a key)."""


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store of 300 deliveries and 20 orders' actions (its own: examples may change it)."""
    path = tmp_path_factory.mktemp("hostile") / "shop.db"
    with open_store(path) as store:
        store.accept_deliveries(inbox_rows(300))
        shipped_orders(store, batches=2, per_batch=10)
    return str(path)


def _snapshot(db: str) -> tuple[Overview, list[tuple[int, str]]]:
    """The store's overview and every delivery's status."""
    with open_store(db, read_only=True) as store:
        rows = store.page_deliveries(limit=10_000).items
        return store.overview(open_only=False), [(row.seq, row.status) for row in rows]


@settings(max_examples=80, deadline=None)
@given(command=st.sampled_from(sorted(OPERATOR_COMMANDS)), value=HOSTILE)
def test_hostile_operator_arguments_answer_in_one_line_and_change_nothing(
    small_db: str, command: str, value: str
) -> None:
    """Any value in any list, show or refeed option: a run, or one typed line; nothing changed."""
    argv = [value if part == "VALUE" else part for part in OPERATOR_COMMANDS[command]]
    before = _snapshot(small_db)
    code, err = outcome([*argv, "--db", small_db])
    assert "unexpected" not in err  # a typed error (or the parser's), never a bug's
    if code or command not in MAY_CHANGE:  # the others' filters match nothing that is stored
        assert _snapshot(small_db) == before

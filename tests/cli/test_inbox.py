"""``order-lifecycle inbox``: one delivery shown whole, several or a filter's refed at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from order_lifecycle.cli import main
from order_lifecycle.store import open_store
from tests.store.test_pages import inbox_rows


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store of 3,000 deliveries, every 7th invalid."""
    path = tmp_path / "shop.db"
    with open_store(path) as store:
        store.accept_deliveries(inbox_rows(3_000))
    return str(path)


def statuses(db: str) -> dict[str, int]:
    with open_store(db, read_only=True) as store:
        return {str(k): t.count for k, t in store.overview().deliveries.items()}


def test_refeed_by_status_feeds_every_match_again(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refeed --status invalid makes all 429 pending, a thousand at a time; none left behind."""
    assert statuses(db) == {"pending": 2_571, "invalid": 429}
    assert main(["inbox", "refeed", "--db", db, "--status", "invalid"]) == 0
    assert capsys.readouterr().out == (
        "429 deliveries are pending again: the next reconciler takes them\n"
    )
    assert statuses(db) == {"pending": 3_000}


def test_refeed_by_status_and_order_feeds_only_those(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The other filters narrow a refeed: only that order's invalid ones are fed again."""
    argv = ["inbox", "refeed", "--db", db, "--status", "invalid", "--order", "o-14"]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("11 deliveries are pending again")
    assert statuses(db) == {"pending": 2_582, "invalid": 418}


def test_refeed_of_several_numbers_names_the_missing(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several seqs are fed again in one go; a number the inbox does not hold is named."""
    assert main(["inbox", "refeed", "1", "8", "99999", "--db", db]) == 0
    assert capsys.readouterr().out == (
        "2 deliveries are pending again: the next reconciler takes them\n"
        "no delivery numbered 99999\n"
    )
    assert statuses(db)["invalid"] == 427


@pytest.mark.parametrize(
    "argv",
    [[], ["--order", "o-01"], ["1", "--status", "invalid"]],
)
def test_a_refeed_must_name_what_it_feeds(
    db: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """No seq and no --status, or both: one line saying what to give, nothing changed."""
    assert main(["inbox", "refeed", "--db", db, *argv]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert statuses(db) == {"pending": 2_571, "invalid": 429}


def test_show_json_is_the_delivery_whole(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Show --json prints one object: the envelope, status, reason and the body as text."""
    assert main(["inbox", "show", "8", "--db", db, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["seq"], shown["event_id"], shown["status"], shown["body"]) == (
        8,
        "evt-00007",
        "invalid",
        "{}",
    )


def test_refused_json_counts_every_summary(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Refused --json: the total, those not kept, and each summary."""
    with open_store(db) as store:
        store.keep_delivery(b"forged", "The webhook signature is not valid.")
    assert main(["inbox", "refused", "--db", db, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["total"], document["not_kept"], len(document["refused"])) == (1, 0, 1)
    assert document["refused"][0]["bytes"] == 6

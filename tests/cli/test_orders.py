"""``order-lifecycle orders list``: the stored orders by state, a page at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from order_lifecycle import Order
from order_lifecycle.cli import main
from order_lifecycle.store import OrderChange, open_store


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store of 2,500 orders, in three states in turn."""
    path = tmp_path / "shop.db"
    states = ("pending_payment", "in_review", "accepted")
    with open_store(path) as store:
        store.commit_changes(
            [OrderChange(Order.create(f"o-{n:04d}", states[n % 3])) for n in range(2_500)]
        )
    return str(path)


def test_orders_page_by_id_to_the_end(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--json pages by --after the last id, each order once, with the state's true total."""
    seen: list[str] = []
    after: list[str] = []
    while True:
        argv = ["orders", "list", "--db", db, "--state", "in_review", "--limit", "300", "--json"]
        assert main([*argv, *after]) == 0
        document = json.loads(capsys.readouterr().out)
        assert document["total"] == 833
        seen += [o["id"] for o in document["orders"]]
        if document["next_after"] is None:
            break
        after = ["--after", document["next_after"]]
    assert seen == [f"o-{n:04d}" for n in range(2_500) if n % 3 == 1]


def test_orders_table_says_how_many_of_how_many(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table's title counts the page and the total; the last line says how to go on."""
    assert main(["orders", "list", "--db", db, "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "showing 2 of 2,500 orders" in out
    assert "o-0000 " in out
    assert out.rstrip().endswith("next page: --after o-0001")


def test_an_unknown_state_is_refused_by_the_parser(db: str) -> None:
    """A state the order table has not: exit 2."""
    with pytest.raises(SystemExit) as exited:
        main(["orders", "list", "--db", db, "--state", "shipped"])
    assert exited.value.code == 2

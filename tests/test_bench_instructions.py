import sqlite3
import sys
from pathlib import Path

import pytest

# The benchmarks are scripts, not a package: import them as they import one another.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_instructions
from bench_scale import write_traffic

from order_lifecycle.store import open_store
from order_lifecycle.webhooks import DeliveryStatus
from tests.store.conftest import postgres_dsn  # noqa: F401 (a fixture)

DELIVERIES = 40


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_traffic(DELIVERIES, 0, str(tmp_path_factory.mktemp("traffic")))


def _rows(where: Path, sql: str) -> int:
    with sqlite3.connect(where) as lite:
        return int(lite.execute(sql).fetchone()[0])


@pytest.mark.parametrize("work", [True, False])
def test_the_floor_stores_every_delivery_only_when_it_works(
    traffic: str, tmp_path: Path, *, work: bool
) -> None:
    """The floor's work run stores each event once; its set-up run makes the table, empty."""
    count = bench_instructions._floor(traffic, str(tmp_path), 1, work=work)
    stored = _rows(tmp_path / "floor.db", "SELECT COUNT(*) FROM floor")
    unique = _rows(tmp_path / "floor.db", "SELECT COUNT(DISTINCT event_id) FROM floor")
    assert count == DELIVERIES
    assert stored == unique
    assert (stored > DELIVERIES // 2) if work else stored == 0


@pytest.mark.parametrize("work", [True, False])
def test_the_request_path_accepts_every_delivery_only_when_it_works(
    traffic: str, tmp_path: Path, *, work: bool
) -> None:
    """The request path's work run stores the deliveries; its set-up run opens the store only."""
    bench_instructions._request_path(traffic, str(tmp_path), 1, work=work)
    with open_store(str(tmp_path / "inbox.db")) as store:
        pending = store.delivery_counts().get(DeliveryStatus.PENDING, 0)
    assert (pending > DELIVERIES // 2) if work else pending == 0


def test_the_reconciler_settles_the_deliveries_only_when_it_works(
    traffic: str, tmp_path: Path
) -> None:
    """The work run settles every stored delivery; the set-up run fills the inbox, settles none."""
    (tmp_path / "setup").mkdir()
    (tmp_path / "work").mkdir()
    assert bench_instructions._reconciler(traffic, str(tmp_path / "setup"), 1, work=False) == 0
    with open_store(str(tmp_path / "setup" / "inbox.db")) as store:
        assert store.delivery_counts().get(DeliveryStatus.PENDING, 0) > DELIVERIES // 2
    settled = bench_instructions._reconciler(traffic, str(tmp_path / "work"), 1, work=True)
    with open_store(str(tmp_path / "work" / "inbox.db")) as store:
        counts = store.delivery_counts()
    assert settled == sum(counts.values())
    assert counts.get(DeliveryStatus.PENDING, 0) == 0


def test_long_histories_are_settled_only_when_it_works(tmp_path: Path) -> None:
    """Each long order's dispute is settled by the work run; the set-up run settles none."""
    (tmp_path / "setup").mkdir()
    (tmp_path / "work").mkdir()
    assert bench_instructions._long_histories(4, str(tmp_path / "setup"), work=False) == 0
    settled = bench_instructions._long_histories(4, str(tmp_path / "work"), work=True)
    assert settled == bench_instructions.HISTORY_ORDERS
    with open_store(str(tmp_path / "work" / "history.db")) as store:
        assert store.delivery_counts() == {DeliveryStatus.APPLIED: settled}


def test_the_reconciler_on_postgresql_settles_only_when_it_works(
    traffic: str,
    monkeypatch: pytest.MonkeyPatch,
    postgres_dsn: str,  # noqa: F811 (the fixture imported above)
) -> None:
    """On PostgreSQL too: the work run settles the deliveries, the set-up run none."""
    monkeypatch.setenv(bench_instructions._SERVER, postgres_dsn)
    job = bench_instructions._reconciler_on_postgres
    assert job(traffic, "", 1, work=False) == 0
    assert job(traffic, "", 1, work=True) > DELIVERIES // 2

import sys
from pathlib import Path

import pytest

# The benchmarks are scripts, not a package: import them as they import one another.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_pg_statements

from tests.pgcluster import ClusterUnavailable


def test_each_part_lists_the_statements_its_server_ran() -> None:
    """The request path's table names the inbox's INSERT; the reconciler's, the settlement."""
    try:
        tables = bench_pg_statements.measure(40)
    except ClusterUnavailable as error:
        pytest.skip(f"no PostgreSQL server could be started: {error}")
    accepting, reconciling = tables.split("### ")[1:]
    assert accepting.startswith("The request path, batches of 100: 40 deliveries")
    assert "`INSERT INTO ol_inbox (" in accepting
    assert "UPDATE ol_inbox" not in accepting
    settled = int(reconciling.split(": ", 1)[1].split(" ", 1)[0])
    assert 0 < settled <= 40
    assert "`UPDATE ol_inbox AS i SET status" in reconciling

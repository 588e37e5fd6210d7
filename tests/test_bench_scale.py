import sys
from pathlib import Path

# The benchmarks are scripts, not a package: import them as they import one another.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_scale


def test_the_request_path_and_its_floor_store_the_same_traffic(tmp_path: Path) -> None:
    """Both store every delivery of the traffic file, 2xx, with the secret's signatures."""
    traffic = bench_scale.write_traffic(120, 5, str(tmp_path))
    floor = bench_scale.floor(
        {"traffic": traffic, "batch": 7, "database": "sqlite", "where": str(tmp_path / "f.db")}
    )
    measured = bench_scale.request_path(
        {"worker": "request_path", "traffic": traffic, "batch": 7, "where": str(tmp_path / "r.db")}
    )
    assert floor["count"] == measured["count"] == 120
    assert set(measured["answers"]) <= {"pending", "duplicate"}
    assert measured["answers"]["pending"] > 100  # stored: the tenth or so are duplicates


def test_app_servers_and_a_reconciler_settle_everything(tmp_path: Path) -> None:
    """Two app servers round-robin, then a reconciler: every delivery stored and settled."""
    traffic = bench_scale.write_traffic(90, 6, str(tmp_path))
    where = str(tmp_path / "s.db")
    served = [
        bench_scale.app_server(
            {"traffic": traffic, "first": n, "step": 2, "batch": 10, "where": where}
        )
        for n in range(2)
    ]
    (tmp_path / "stop").touch()
    settled = bench_scale.reconciler({"where": where, "stop": str(tmp_path / "stop"), "orders": 5})
    assert sum(s["count"] for s in served) == 90
    assert sum(s["failed"] for s in served) == settled["failed"] == 0
    assert settled["count"] == sum(s["answers"].get(202, 0) for s in served)


def test_one_reconciler_settles_what_the_request_path_stored(tmp_path: Path) -> None:
    """reconcile_alone streams traffic into an inbox and settles every stored delivery."""
    traffic = bench_scale.write_traffic(1_100, 7, str(tmp_path))
    done = bench_scale.reconcile_alone(
        {"traffic": traffic, "where": str(tmp_path / "a.db"), "orders": 5}
    )
    spec = {"worker": "request_path", "traffic": traffic, "batch": 500}
    stored = bench_scale.request_path(spec | {"where": str(tmp_path / "b.db")})
    assert done["count"] == sum(done["settled"].values()) == stored["answers"]["pending"]
    assert done["rss"] > 0


def test_postgresqls_own_cpu_is_read_or_none_where_it_cannot_be(tmp_path: Path) -> None:
    """No server to read (a file, not a DSN) gives None, never a figure made up."""
    assert bench_scale.server_cpu(str(tmp_path / "not-a-server.db")) is None

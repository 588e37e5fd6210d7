import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from order_lifecycle import Delivery, Inbox
from order_lifecycle.store import MemoryStore
from order_lifecycle.webhooks import parse_event, verify_signature

# The benchmarks are scripts, not a package: import them as they import one another.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import _traffic
import bench_ingest

COUNT = 400


def test_traffic_parses_verifies_and_reconciles() -> None:
    """Every generated delivery parses, verifies, and reconciles to no invalid or unknown."""
    traffic = list(_traffic.deliveries(COUNT, seed=3))
    assert len(traffic) == COUNT
    for signed in traffic:
        verify_signature(
            signed.signature, signed.body, [_traffic.SECRET], signed.received_at, timedelta(0, 300)
        )
        assert parse_event(signed.body).known
    store = MemoryStore()
    inbox = Inbox(store, secrets=[_traffic.SECRET])
    outcomes: Counter[str] = Counter()
    for start in range(0, COUNT, 100):
        batch = traffic[start : start + 100]
        results = inbox.receive([Delivery(s.body, s.signature, s.received_at) for s in batch])
        outcomes.update(str(r.outcome) for r in results)
    assert outcomes["invalid"] == outcomes["unknown"] == 0
    assert outcomes["applied"] > COUNT / 2
    assert len(store.order_ids()) > COUNT / 7


def test_duplicates_are_a_tenth_and_redeliver_events_unchanged() -> None:
    """About 10% of deliveries redeliver an event: the same body, under a new signature."""
    traffic = list(_traffic.deliveries(COUNT, seed=3))
    duplicates = [s for s in traffic if s.duplicate]
    assert 0.06 <= len(duplicates) / COUNT <= 0.14
    by_event: dict[str, list[_traffic.Signed]] = {}
    for signed in traffic:
        by_event.setdefault(signed.event_id, []).append(signed)
    assert len(by_event) == COUNT - len(duplicates)  # first deliveries: distinct ids
    for copies in by_event.values():
        assert len({s.body for s in copies}) == 1
        assert len({s.signature for s in copies}) == len(copies)


def test_the_same_seed_gives_the_same_traffic() -> None:
    """The stream is deterministic: one seed, one stream; another seed, another stream."""
    first = [s.body for s in _traffic.deliveries(50, seed=7)]
    assert first == [s.body for s in _traffic.deliveries(50, seed=7)]
    assert first != [s.body for s in _traffic.deliveries(50, seed=8)]


def test_the_floor_checks_signatures_as_the_scheme_does() -> None:
    """The floor's HMAC check accepts the generated signatures and refuses a changed body."""
    key = _traffic.SECRET.encode()
    for signed in _traffic.deliveries(20, seed=1):
        assert bench_ingest._signed(signed.signature, signed.body, key)
        assert not bench_ingest._signed(signed.signature, signed.body + b" ", key)

"""The stores' keep path: summaries, the cap on kept bytes, and text no database can store."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from order_lifecycle import InvalidInput, Reconciler
from order_lifecycle.store import (
    SUMMARY_BYTES,
    KeptDelivery,
    Store,
    _schema,
    _sql,
    open_store,
)
from order_lifecycle.webhooks import DeliveryStatus

from .conftest import REAL_BACKENDS, UrlMaker

T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
BIG = bytes(range(256)) * 8


def test_a_summary_keeps_the_first_bytes_the_size_and_the_digest(store: Store) -> None:
    """summary=True keeps only the first bytes, with the whole delivery's size and sha256."""
    summary = store.keep_delivery(BIG, "invalid: bad signature", summary=True, at=T0)
    whole = store.keep_delivery(BIG, "conflict", at=T0)
    assert summary is not None
    assert whole is not None
    assert (summary.raw, summary.size, summary.sha256, summary.summary) == (
        BIG[:SUMMARY_BYTES],
        len(BIG),
        hashlib.sha256(BIG).hexdigest(),
        True,
    )
    assert (whole.raw, whole.size, whole.summary) == (BIG, len(BIG), False)
    assert whole.sha256 == summary.sha256
    assert store.kept_deliveries() == [summary, whole]
    assert repr(summary) == (
        "<KeptDelivery(id=1, reason='invalid: bad signature', num_bytes=256, size=2048)>"
    )


def test_a_short_delivery_summarised_is_kept_whole(store: Store) -> None:
    """A summary of a delivery shorter than the summary is all of it, and says so."""
    kept = store.keep_delivery(b"{}", "invalid: bad signature", summary=True, at=T0)
    assert kept == KeptDelivery(1, b"{}", "invalid: bad signature", T0)
    assert not kept.summary


def test_kept_bytes_are_capped_and_the_rest_counted(store: Store) -> None:
    """Past max_kept_bytes a delivery is counted, not kept; nothing more is written."""
    store.max_kept_bytes = 3000
    kept = [store.keep_delivery(b"%d" % n + BIG[:999], "conflict", at=T0) for n in range(5)]
    assert [k is not None for k in kept] == [True, True, False, False, False]
    assert store.deliveries_not_kept() == 3
    # A small one still fits in what is left; a summary is charged for what it keeps.
    assert store.keep_delivery(BIG, "invalid", summary=True, at=T0) is not None
    assert len(store.kept_deliveries()) == 3
    assert store.kept_bytes() <= store.max_kept_bytes


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, None])
def test_the_cap_must_be_a_positive_int(store: Store, bad: object) -> None:
    """A cap that is not an int of 1 or more is refused when a delivery is kept."""
    store.max_kept_bytes = bad  # type: ignore[assignment]
    with pytest.raises(InvalidInput, match="max_kept_bytes"):
        store.keep_delivery(b"raw", "conflict")
    assert store.kept_deliveries() == []


@pytest.mark.parametrize("new_url", REAL_BACKENDS, indirect=True)
def test_the_cap_holds_across_reopening(new_url: UrlMaker) -> None:
    """The kept bytes and the count of deliveries not kept are stored, not per process."""
    url = new_url()
    with open_store(url) as first:
        first.max_kept_bytes = 1500
        first.keep_delivery(b"1" + BIG[:999], "conflict", at=T0)
        first.keep_delivery(b"2" + BIG[:999], "conflict", at=T0)
    with open_store(url) as second:
        second.max_kept_bytes = 1500
        assert second.keep_delivery(b"3" + BIG[:999], "conflict", at=T0) is None
        assert second.deliveries_not_kept() == 2
        assert 1000 < second.kept_bytes() <= 1500


def test_lone_surrogates_are_refused_by_every_store(store: Store) -> None:
    """Text with a lone surrogate (not UTF-8) is an InvalidInput everywhere, nothing written."""
    with pytest.raises(InvalidInput, match="lone surrogate"):
        store.keep_delivery(b"raw", "conflict", event_id="evt-\udc80")
    with pytest.raises(InvalidInput, match="lone surrogate"):
        store.order_of_event("evt-\ud800")
    with pytest.raises(InvalidInput, match="lone surrogate"):
        store.get_order("o-\udfff")
    assert store.kept_deliveries() == []
    assert store.order_ids() == []


@pytest.mark.parametrize("no_tables_url", REAL_BACKENDS, indirect=True)
def test_deliveries_kept_at_schema_1_move_to_the_inbox(
    no_tables_url: UrlMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgraded from schema 1, a delivery kept (whole) is pending in the inbox, uncharged."""
    url = no_tables_url()
    with monkeypatch.context() as patch:
        for version in range(2, _schema.SCHEMA_VERSION + 1):
            patch.delitem(_schema.MIGRATIONS, version)
        for module in (_schema, _sql):
            patch.setattr(module, "SCHEMA_VERSION", 1)
        with open_store(url, create=True) as store, store._transaction(write=True):  # type: ignore[attr-defined]
            store._write(  # type: ignore[attr-defined]
                "INSERT INTO ol_kept_deliveries (kept_at, reason, raw) VALUES (?, ?, ?)",
                [T0.isoformat(), "conflict", b"raw"],
            )
    with open_store(url, migrate=True) as store:
        assert store.kept_deliveries() == []
        (row,) = store.list_deliveries()
        assert (row.event_id, row.status, row.reason, row.body) == (
            "kept:1",
            DeliveryStatus.PENDING,
            "conflict",
            b"raw",
        )
        assert row.received_at == T0
        assert store.kept_bytes() == 0
        assert store.deliveries_not_kept() == 0


@pytest.mark.parametrize("no_tables_url", REAL_BACKENDS, indirect=True)
def test_deliveries_kept_whole_at_schema_4_move_to_the_inbox_summaries_stay(
    no_tables_url: UrlMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgraded to the inbox: whole deliveries become pending rows, once; summaries stay."""
    url = no_tables_url()
    with monkeypatch.context() as patch:
        for version in range(5, _schema.SCHEMA_VERSION + 1):
            patch.delitem(_schema.MIGRATIONS, version)
        for module in (_schema, _sql):
            patch.setattr(module, "SCHEMA_VERSION", 4)
        with open_store(url, create=True) as store:
            store.keep_delivery(b'{"id": "evt-1"}', "conflict", event_id="evt-1", at=T0)
            store.keep_delivery(b"not json", "invalid", at=T0)
            summary = store.keep_delivery(BIG, "forged", summary=True, at=T0)
    with open_store(url, migrate=True) as store:
        assert summary is not None
        assert store.kept_deliveries() == [summary]
        rows = store.list_deliveries()
        assert [(r.event_id, r.status, r.body) for r in rows] == [
            ("evt-1", DeliveryStatus.PENDING, b'{"id": "evt-1"}'),
            (
                f"sha256:{hashlib.sha256(b'not json').hexdigest()}",
                DeliveryStatus.PENDING,
                b"not json",
            ),
        ]
        assert store.kept_bytes() == SUMMARY_BYTES + len("forged") + 64
        assert Reconciler(store).run_once() == 2
        assert [r.status for r in store.list_deliveries()] == [DeliveryStatus.INVALID] * 2

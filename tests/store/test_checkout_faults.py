"""Recording a ``POST /orders`` response on every store: a failed write or a hostile body.

Once the request was sent, an order may exist: whatever goes wrong while recording its
answer, the checkout must end in doubt, never stuck submitting.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order_lifecycle import CheckoutState, InvalidInput, Order, StoreError
from order_lifecycle.checkout import OrderCreated
from order_lifecycle.exceptions import InvalidResponse
from order_lifecycle.store import Store, open_store
from order_lifecycle.testing import assert_submission_invariants, hostile_responses

CREATED = json.dumps({"id": "o-1", "state": "accepted", "checkoutId": "chk-1"})


def test_a_failed_commit_leaves_the_checkout_in_doubt(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's commit of a 201 fails: StoreError raised, the checkout in doubt, no order."""
    store.begin_submission("chk-1")
    real = store._commit_checkout
    commits: list[object] = []

    def commit_failing_first(*args: Any) -> bool:
        commits.append(args)
        if len(commits) == 1:
            raise StoreError("could not extend file: No space left on device")
        return bool(real(*args))

    monkeypatch.setattr(store, "_commit_checkout", commit_failing_first)
    with pytest.raises(StoreError, match="No space left") as raised:
        store.record_response("chk-1", 201, CREATED)
    assert str(raised.value) == (
        "could not extend file: No space left on device. Checkout 'chk-1' is now in doubt: look "
        "up orders by checkout id and settle it."
    )
    checkout = store.get_checkout("chk-1")
    assert (checkout.state, checkout.attempts[-1].body) == (CheckoutState.IN_DOUBT, CREATED)
    assert store.order_ids() == []
    assert len(commits) == 2
    store.settle("chk-1", Order.create("o-1", at=checkout.history[-1].at, checkout_id="chk-1"))
    assert store.order_ids() == ["o-1"]
    assert_submission_invariants(store.get_checkout("chk-1"))


def test_a_full_sqlite_file_says_where_the_checkout_is(tmp_path: Path) -> None:
    """A SQLite file that may not grow: the 201's error says the checkout is in doubt."""
    with open_store(tmp_path / "orders.db") as store:
        store.begin_submission("chk-1")
        pages = store._pragma("PRAGMA page_count")[0][0]  # type: ignore[attr-defined]
        store._pragma(f"PRAGMA max_page_count = {pages}")  # type: ignore[attr-defined]
        padded = json.dumps({**json.loads(CREATED), "note": "x" * 200_000})
        with pytest.raises(StoreError, match="database or disk is full") as raised:
            store.record_response("chk-1", 201, padded)
        assert str(raised.value).endswith(
            "Checkout 'chk-1' is now in doubt, without the raw body (the store refused it): "
            "look up orders by checkout id and settle it."
        )
        assert store.get_checkout("chk-1").state is CheckoutState.IN_DOUBT
        assert store.order_ids() == []


_ids = itertools.count()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=100)
@given(data=st.data())
def test_hostile_responses_leave_no_checkout_submitting(store: Store, data: st.DataObject) -> None:
    """Typed errors only: in doubt with the raw body kept or as the outcome says."""
    checkout_id = f"chk-{next(_ids)}"  # one store for all examples: a new checkout each
    status, body = data.draw(hostile_responses(checkout_id))
    orders = store.order_ids()
    store.begin_submission(checkout_id)
    before = store.get_checkout(checkout_id)
    try:
        outcome = store.record_response(checkout_id, status, body)
    except InvalidResponse:
        checkout = store.get_checkout(checkout_id)
        assert (checkout.state, checkout.attempts[-1].body) == (CheckoutState.IN_DOUBT, body)
        assert store.order_ids() == orders
    except InvalidInput:
        assert status not in range(100, 600)
        assert store.get_checkout(checkout_id) == before
    else:
        checkout = store.get_checkout(checkout_id)
        assert checkout.state is not CheckoutState.SUBMITTING
        if isinstance(outcome, OrderCreated):
            assert outcome.order.id in store.order_ids()
    assert_submission_invariants(store.get_checkout(checkout_id))

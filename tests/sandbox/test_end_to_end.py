"""A shop's whole flow on one machine: the sandbox, the Starlette route under uvicorn, a store.

The sandbox runs as ``order-lifecycle sandbox`` (a process, without hypothesis); the shop is
the library's Starlette route (``webhook_route``) served by uvicorn, on a SQLite store. The
shop submits checkouts with the library's checkout calls over HTTP; the sandbox answers and
posts each order's webhooks; the test waits (up to a deadline, never a fixed sleep) for the
store to show every order in the state its life ends in, however the route reconciles
(inline, or later from a durable inbox). Then ``send`` posts shuffled, redelivered lives to
the same route.
"""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from order_lifecycle import CheckoutState
from order_lifecycle.checkout import InDoubt, OrderCreated, SubmissionRejected
from order_lifecycle.cli import main
from order_lifecycle.exceptions import NotFound
from order_lifecycle.integrations.starlette import reconciler_lifespan, webhook_route
from order_lifecycle.provider import parse_order_lookup
from order_lifecycle.sandbox import plan_life
from order_lifecycle.store import Store, open_store
from order_lifecycle.webhooks import Inbox, Reconciler, reconcile
from tests.loopback import DEADLINE, eventually, fetch, sandbox_process, state_of

SECRET = "whsec_end_to_end_tests"  # noqa: S105 (a test's own)


@contextlib.contextmanager
def shop(store: Store) -> Iterator[str]:
    """The library's Starlette route on ``store``, served by uvicorn on a free port: its URL.

    The route stores each delivery; the app's reconciler thread applies them.
    """
    app = Starlette(
        routes=[webhook_route(Inbox(store, secrets=[SECRET]), path="/webhooks/dr")],
        lifespan=reconciler_lifespan(Reconciler(store, idle=0.05)),
    )
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="on", ws="none", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    try:
        assert eventually(lambda: server.started, expected=True), "uvicorn did not start"
        yield f"http://127.0.0.1:{listening.getsockname()[1]}/webhooks/dr"
    finally:
        server.should_exit = True
        thread.join(timeout=DEADLINE)
        listening.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The shop's store: a SQLite file."""
    with open_store(tmp_path / "shop.db") as opened:
        yield opened


def submit(store: Store, provider: str, checkout_id: str, timeout: float = 10) -> object:
    """The shop's submission: claim the checkout, POST it, record the answer (or its loss)."""
    body = json.dumps(store.begin_submission(checkout_id)).encode()
    try:
        status, answer = fetch(f"{provider}/orders", body, timeout)
    except OSError as lost:
        return store.record_no_response(checkout_id, reason=type(lost).__name__)
    return store.record_response(checkout_id, status, answer)


def settle_by_lookup(store: Store, provider: str, checkout_id: str) -> None:
    """A checkout in doubt, settled as the README says: look the order up, reconcile, settle."""
    status, body = fetch(f"{provider}/orders?checkoutId={checkout_id}")
    assert status == 200
    snapshot = parse_order_lookup(body)
    assert snapshot is not None
    store.settle(checkout_id, reconcile(None, snapshot, at=datetime.now(UTC)).order)


def test_checkouts_through_the_sandbox_end_in_the_store(store: Store) -> None:
    """201s in each state, a 409, a timeout and a closed connection: each order ends right."""
    with (
        shop(store) as webhooks,
        sandbox_process(SECRET, "--webhook", webhooks, "--step", "0.05", "--hold", "2") as sandbox,
    ):
        _, provider = sandbox
        created = {}
        for checkout_id, entry in [
            ("accepted-1", "accepted"),
            ("pending-1", "pending_payment"),
            ("review-1", "in_review"),
            ("blocked-1", "in_review"),
        ]:
            outcome = submit(store, provider, checkout_id)
            assert isinstance(outcome, OrderCreated)
            assert str(outcome.order.state) == entry
            created[checkout_id] = outcome.order.id

        assert isinstance(submit(store, provider, "declined-1"), SubmissionRejected)

        assert isinstance(submit(store, provider, "timeout-1", timeout=0.5), InDoubt)
        settle_by_lookup(store, provider, "timeout-1")

        # A connection closed unanswered; the HTTP client's automatic retry of the same
        # request gets the provider's 404: the submission is in doubt until looked up.
        body = json.dumps(store.begin_submission("closed-1")).encode()
        with pytest.raises(OSError, match="without response"):
            fetch(f"{provider}/orders", body)
        status, answer = fetch(f"{provider}/orders", body)
        assert isinstance(store.record_response("closed-1", status, answer), InDoubt)
        settle_by_lookup(store, provider, "closed-1")

        for checkout_id in ("timeout-1", "closed-1"):
            checkout = store.get_checkout(checkout_id)
            assert checkout.state is CheckoutState.CONSUMED
            assert checkout.order_id is not None
            created[checkout_id] = checkout.order_id

        expected = {
            "accepted-1": "accepted",
            "pending-1": "accepted",
            "review-1": "accepted",
            "blocked-1": "blocked",
            "timeout-1": "accepted",
            "closed-1": "accepted",
        }
        final = {
            checkout_id: eventually(functools.partial(state_of, store, created[checkout_id]), state)
            for checkout_id, state in expected.items()
        }
    assert final == expected
    assert store.get_checkout("declined-1").state is CheckoutState.REJECTED
    assert store.get_order(created["pending-1"]).checkout_id == "pending-1"


@pytest.mark.parametrize("seed", ["1", "2", "3"])
def test_send_shuffled_and_redelivered_ends_as_the_life_in_order(
    store: Store, seed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent shuffled and redelivered to the route, a life ends as it does in order."""
    monkeypatch.setenv("ORDER_LIFECYCLE_SECRETS", SECRET)
    order_id = f"e2e-{seed}"
    life = plan_life(order_id, ["life:dispute"], created=datetime.now(UTC))
    last = life.events[-1].order
    assert last is not None
    argv = ["life:dispute", "--shuffle", "--duplicate", "4", "--seed", seed, "--order", order_id]
    expected = {
        "state": life.state,
        "fraud": last["fraudState"],
        "charges": {c["id"]: c["state"] for c in last["payment"]["charges"]},
        "fulfilled": {i["id"]: 1 for i in last["items"]},
    }

    def now() -> dict[str, object] | None:
        try:
            order = store.get_order(order_id)
        except NotFound:
            return None
        return {
            "state": str(order.state),
            "fraud": str(order.fraud_state),
            "charges": {c.id: str(c.state) for c in order.charges},
            "fulfilled": {i.id: i.fulfilled for i in order.items},
        }

    with shop(store) as webhooks:
        assert main(["send", webhooks, *argv]) == 0  # every delivery ended 2xx
        assert eventually(now, expected) == expected

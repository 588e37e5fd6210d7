"""The example shop (examples/shop): the kit's machine finds each bug, and passes the fix."""

from __future__ import annotations

import pytest
from examples.shop import bug_pending_payment, bug_ships_twice, handlers, webhook
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from order_lifecycle.actions import Handler
from order_lifecycle.store import Store
from order_lifecycle.testing import Endpoint, OrderIntegrationMachine, Recorder
from order_lifecycle.webhooks import Inbox

# Deterministic and small: the same examples every run, found in a second or two.
SETTINGS = settings(
    max_examples=40,
    stateful_step_count=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)


class Shop(OrderIntegrationMachine):
    """The example shop, fixed: its own endpoint over the library's inbox, and its handlers."""

    def make_handlers(self, recorder: Recorder) -> dict[str, Handler]:
        """The shop's handlers, calling the recorder as their services."""
        return handlers.handlers(recorder)

    def make_endpoint(self, store: Store, recorder: Recorder) -> Endpoint:  # noqa: ARG002
        """The shop's endpoint over the library's inbox."""
        return webhook.webhook(Inbox(store, secrets=[self.secret], clock=self.clock))


class ShipsOnPendingPayment(Shop):
    """The shop whose endpoint ships on order.pending_payment."""

    def make_endpoint(self, store: Store, recorder: Recorder) -> Endpoint:
        """The endpoint with the bug, shipping through the recorder."""
        inbox = Inbox(store, secrets=[self.secret], clock=self.clock)
        return bug_pending_payment.webhook(inbox, recorder)


class ShipsTwice(Shop):
    """The shop whose ship handler passes no idempotency key."""

    def make_handlers(self, recorder: Recorder) -> dict[str, Handler]:
        """The handlers with the bug."""
        return bug_ships_twice.handlers(recorder)


def counterexample(
    machine: type[OrderIntegrationMachine], *, shrink: bool = True
) -> tuple[AssertionError, list[str]]:
    """The error the machine finds in ``machine``'s shop, and the steps of its counterexample."""
    phases = SETTINGS.phases if shrink else [p for p in SETTINGS.phases if p is not Phase.shrink]
    with pytest.raises(AssertionError) as caught:
        run_state_machine_as_test(machine, settings=settings(SETTINGS, phases=phases))
    notes = getattr(caught.value, "__notes__", [])
    checks = ("draw_traffic", "effects_are_sound", "notices_are_customer_safe", "teardown")
    steps = [
        line
        for note in notes
        for line in note.splitlines()
        if line.startswith("state.") and not any(check in line for check in checks)
    ]
    return caught.value, steps


def test_the_machine_finds_shipping_on_pending_payment() -> None:
    """Shipping on order.pending_payment is found, with a counterexample of a few steps."""
    error, steps = counterexample(ShipsOnPendingPayment)
    assert "before any delivery reported it accepted" in str(error)
    assert 1 <= len(steps) <= 4, steps


def test_the_machine_finds_shipping_twice() -> None:
    """A ship handler without the action's key is found shipping twice within one run."""
    # Not shrunk: hypothesis takes 15 to 30 s to shrink this one; the slow test below does.
    error, steps = counterexample(ShipsTwice, shrink=False)
    assert "a second time" in str(error)
    assert 1 <= len(steps) <= SETTINGS.stateful_step_count, steps


@pytest.mark.slow
def test_the_machine_shrinks_shipping_twice_to_a_few_steps() -> None:
    """The counterexample of shipping twice shrinks to a few steps."""
    error, steps = counterexample(ShipsTwice)
    assert "a second time" in str(error)
    assert 1 <= len(steps) <= 6, steps


def test_the_fixed_shop_passes() -> None:
    """The fixed shop keeps every invariant under the machine's traffic."""
    run_state_machine_as_test(Shop, settings=SETTINGS)

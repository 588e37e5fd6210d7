"""Property-testing kit: hypothesis strategies for orders, checkouts and provider traffic.

Needs the ``testing`` extra (``pip install order-lifecycle[testing]``). One source of random
data, for the library's own tests and for a shop's:

- values: :func:`new_orders`, :func:`items`, :func:`charges`, :func:`checkouts`,
  :func:`order_events`, :func:`checkout_events`;
- ``POST /orders`` answers: :func:`submission_responses` (ready to :meth:`record
  <SubmissionResponse.record>`, lost answers included), :func:`http_responses`,
  :func:`created_bodies`, :func:`error_bodies`, :func:`provider_errors`, and
  :func:`hostile_responses`;
- webhook traffic, as :class:`SignedDelivery` values (an :class:`~order_lifecycle.Delivery`
  with the headers a shop's endpoint sees), signed with :data:`TEST_SECRET`:
  :func:`order_lives` (a valid life, both API generations), :func:`shuffled_deliveries`
  (reordered and redelivered), :func:`hostile_deliveries` (forged, stale, malformed,
  oversized, poisoned ids), and :func:`hostile_bodies`; :func:`order_lives` with
  ``refund_events=True`` has the provider confirm refunds (``refund.complete``);
- the shop's own kinds of action: :func:`subscriptions` and :func:`listeners` (what an
  ``ActionPolicy`` takes as ``subscribe=`` and ``listen=``);
- invariants to assert after every step: :func:`assert_order_invariants`,
  :func:`assert_checkout_invariants`, :func:`assert_submission_invariants`, and
  :func:`assert_state_implied` when only the library's operations moved the order;
- a stateful test of a shop's whole integration: subclass :class:`OrderIntegrationMachine`
  with the shop's endpoint and handlers (they call a :class:`Recorder`; a shop on the
  library's inbox uses :func:`inbox_endpoint`); see its docstring.

A property test of a shop's inbox, for example::

    @given(order_lives().flatmap(shuffled_deliveries))
    def test_my_inbox(deliveries):
        store = MemoryStore()
        Inbox(store, secrets=[TEST_SECRET]).receive(deliveries)
        for order_id in store.order_ids():
            assert_order_invariants(store.get_order(order_id))
"""

from __future__ import annotations

from order_lifecycle.sandbox import TEST_SECRET, SignedDelivery, signed_delivery

from ._hostile import (
    HOSTILE_AMOUNTS,
    HOSTILE_NUMBERS,
    HOSTILE_TEXT,
    POISON,
    hostile_bodies,
    hostile_responses,
)
from ._hostile_deliveries import HOSTILE_KINDS, hostile_deliveries
from ._integration import Endpoint, OrderIntegrationMachine, inbox_endpoint
from ._invariants import (
    assert_checkout_invariants,
    assert_order_invariants,
    assert_state_implied,
    assert_submission_invariants,
    recode,
)
from ._lives import OrderLife, order_lives, shuffled_deliveries
from ._orders import (
    IDS,
    TIMES,
    charges,
    checkout_events,
    checkouts,
    items,
    new_orders,
    order_events,
)
from ._policies import listeners, subscriptions
from ._recorder import Effect, Recorder
from ._responses import (
    FRAUD_CODES,
    PAYMENT_CODES,
    SubmissionResponse,
    created_bodies,
    error_bodies,
    http_responses,
    provider_errors,
    submission_responses,
)

__all__ = [
    "FRAUD_CODES",
    "HOSTILE_AMOUNTS",
    "HOSTILE_KINDS",
    "HOSTILE_NUMBERS",
    "HOSTILE_TEXT",
    "IDS",
    "PAYMENT_CODES",
    "POISON",
    "TEST_SECRET",
    "TIMES",
    "Effect",
    "Endpoint",
    "OrderIntegrationMachine",
    "OrderLife",
    "Recorder",
    "SignedDelivery",
    "SubmissionResponse",
    "assert_checkout_invariants",
    "assert_order_invariants",
    "assert_state_implied",
    "assert_submission_invariants",
    "charges",
    "checkout_events",
    "checkouts",
    "created_bodies",
    "error_bodies",
    "hostile_bodies",
    "hostile_deliveries",
    "hostile_responses",
    "http_responses",
    "inbox_endpoint",
    "items",
    "listeners",
    "new_orders",
    "order_events",
    "order_lives",
    "provider_errors",
    "recode",
    "shuffled_deliveries",
    "signed_delivery",
    "submission_responses",
    "subscriptions",
]

"""A local provider to develop a shop against: signed webhooks on demand, and ``POST /orders``.

- :func:`plan_life` makes the provider's events of one order's life, from event types
  (:data:`EVENT_TYPES`) or named lives (:data:`LIVES`), in the provider's shapes, with
  consistent times and ``stateTransitions``; :func:`deliver` posts one, signed as the
  provider signs, and gives the endpoint's :class:`Answer` (the ``send`` command).
- :class:`Sandbox` serves the provider's ``POST /orders``, ``GET /orders?checkoutId=`` and
  ``GET /orders/{id}`` on loopback, each checkout coming to an :class:`Outcome`
  (:data:`OUTCOMES`, chosen by a script or the checkout id's prefix, :data:`PREFIXES`),
  and posts each created order's webhooks to the shop (the ``sandbox`` command).

Two public modules hold what the testing kit's random lives share with the local provider's
scripted ones: :mod:`order_lifecycle.sandbox.shapes` (the provider's JSON shapes, built by
hand) and :mod:`order_lifecycle.sandbox.simulation` (one order's life at the provider, move
by move). Needs only the standard library: the command line runs it without the ``testing`` extra.
"""

from __future__ import annotations

from ._deliveries import TEST_SECRET, SignedDelivery, signed_delivery
from ._http import Answer, check_url, deliver
from ._plan import EVENT_TYPES, LIVES, Plan, PlannedEvent, expand, plan_life
from ._provider import OUTCOMES, PREFIXES, LocalProvider, Outcome, Reply, new_order_id, read_script
from ._server import Sandbox, check_loopback

__all__ = [
    "EVENT_TYPES",
    "LIVES",
    "OUTCOMES",
    "PREFIXES",
    "TEST_SECRET",
    "Answer",
    "LocalProvider",
    "Outcome",
    "Plan",
    "PlannedEvent",
    "Reply",
    "Sandbox",
    "SignedDelivery",
    "check_loopback",
    "check_url",
    "deliver",
    "expand",
    "new_order_id",
    "plan_life",
    "read_script",
    "signed_delivery",
]

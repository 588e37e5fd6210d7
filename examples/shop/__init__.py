"""A small shop wired to order-lifecycle: a webhook endpoint and the handlers of its actions.

Plain Python, no web framework: :func:`~examples.shop.webhook.webhook` is the function a
route calls with the raw body and headers, and answers the status to send back;
:func:`~examples.shop.handlers.handlers` are what the shop's worker runs for each action
the library writes to its outbox. The shop's warehouse, mailer and payment provider are
behind :class:`~examples.shop.services.Services` (in its tests, the kit's ``Recorder``).

Two modules keep a deliberate bug each, for ``tests/test_examples.py`` to find with
``order_lifecycle.testing.OrderIntegrationMachine``:

- :mod:`examples.shop.bug_pending_payment`: the endpoint ships as soon as the provider
  reports the order ``pending_payment``, instead of waiting for the ``ship`` action;
- :mod:`examples.shop.bug_ships_twice`: the ship handler passes no idempotency key, so an
  action run again (a worker killed before it completed it) ships again.
"""

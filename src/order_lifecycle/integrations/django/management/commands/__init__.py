"""``run_actions``, ``reconcile`` and ``migrate_orders``: one module each, as Django finds them."""

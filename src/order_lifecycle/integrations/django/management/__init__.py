"""The app's management commands (``manage.py run_actions``, ``reconcile``, ...)."""

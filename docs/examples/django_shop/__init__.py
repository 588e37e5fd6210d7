"""A Django shop's order-lifecycle parts, shown in docs/how-to/django.md and run by tests."""

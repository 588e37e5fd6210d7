"""Worked examples of order-lifecycle in a shop, each tested by the project's suite."""

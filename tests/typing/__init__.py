# ruff: noqa: A005 (a folder of the tests, named for what they check)
"""Tests that a type checker rejects wrong-typed calls of the public API."""

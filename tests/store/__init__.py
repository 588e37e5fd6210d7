"""Tests of the stores: one contract for all, and what only real databases can show."""

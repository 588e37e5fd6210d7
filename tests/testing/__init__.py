"""Tests of the property-testing kit: its strategies draw what they promise."""

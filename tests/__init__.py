"""The test suite: one module per source module, plus property and exhaustive tests."""

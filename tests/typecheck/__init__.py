"""mypy run on samples of calls: what the library's types refuse and accept."""

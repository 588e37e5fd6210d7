"""Tests of the command line: each command in process, and the installed script once."""

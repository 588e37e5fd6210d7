"""Tests of the local provider: scripted lives, the sandbox server, posting."""

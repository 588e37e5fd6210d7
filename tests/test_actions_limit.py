"""The shop's code under a time limit: outcomes kept, hangs left behind, and bounded."""

from __future__ import annotations

import threading

from order_lifecycle.actions._limit import (
    MAX_HUNG,
    Finished,
    Hung,
    Raised,
    TimeLimited,
)


def test_a_call_returns_raises_or_hangs() -> None:
    """A value, any exception (even SystemExit), or a hang past the limit: each its outcome."""
    runner = TimeLimited("test")
    release = threading.Event()
    try:
        assert runner.call(lambda: 41 + 1, 5) == Finished(42)
        raised = runner.call(lambda: (_ for _ in ()).throw(SystemExit(3)), 5)
        assert isinstance(raised, Raised)
        assert isinstance(raised.error, SystemExit)
        hung = runner.call(lambda: release.wait(30), 0.05)
        assert hung == Hung("did not end within its time limit of 0.05 s")
        assert runner.hung == 1
        assert runner.call(lambda: "next", 5) == Finished("next")  # on a new thread
    finally:
        release.set()


def test_hung_calls_are_bounded() -> None:
    """Past MAX_HUNG calls still hanging, no call is made at all: threads stay bounded."""
    runner = TimeLimited("test")
    release = threading.Event()
    calls: list[int] = []

    def hang() -> None:
        calls.append(1)
        release.wait(30)

    try:
        for _ in range(MAX_HUNG):
            assert isinstance(runner.call(hang, 0.01), Hung)
        refused = runner.call(hang, 0.01)
        assert isinstance(refused, Hung)
        assert refused.why.startswith("not called")
        assert len(calls) == MAX_HUNG
    finally:
        release.set()

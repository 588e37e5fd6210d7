"""Running the shop's code under a time limit: a handler or classifier that hangs is left behind.

Python cannot stop a thread, so a call runs in a daemon thread of its own and the caller
waits for it at most the time limit. A call that returns, or raises anything (even
``SystemExit``), in time is its outcome; one that does not is abandoned where it hangs (a
daemon thread: it never keeps the process alive), and the next call gets a new thread.
Abandoned threads still hanging are counted, and bounded: past :data:`MAX_HUNG` of them,
no call is made at all (each would cost a thread), and the caller hears why.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["MAX_HUNG", "Finished", "Hung", "Raised", "TimeLimited"]

MAX_HUNG = 8
"""Calls left hanging at once, at most: past it, :class:`TimeLimited` makes no call."""


@attrs.frozen
class Finished:
    """A call that returned ``value`` within its time limit."""

    value: Any


@attrs.frozen
class Raised:
    """A call that raised ``error`` within its time limit."""

    error: BaseException


@attrs.frozen
class Hung:
    """A call that did not end within its time limit (or was not made): ``why``, in words."""

    why: str


Outcome = Finished | Raised | Hung


class TimeLimited:
    """Calls one function at a time in a daemon thread, waiting at most a time limit for each.

    Thread-safe: concurrent callers take turns (each waits its turn, then its own limit).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._turn = threading.Lock()
        self._inbox: queue.SimpleQueue[tuple[Callable[[], Any], queue.SimpleQueue[Outcome]]]
        self._thread: threading.Thread | None = None
        self._hung: list[threading.Thread] = []

    @property
    def hung(self) -> int:
        """How many abandoned calls are still hanging."""
        self._hung = [thread for thread in self._hung if thread.is_alive()]
        return len(self._hung)

    def call(self, function: Callable[[], Any], limit: float) -> Outcome:
        """``function()``'s outcome, if it ends within ``limit`` seconds; else :class:`Hung`."""
        with self._turn:
            if self.hung >= MAX_HUNG:
                return Hung(
                    f"not called: {MAX_HUNG} earlier calls still hang (the process must restart)"
                )
            if self._thread is None or not self._thread.is_alive():  # none yet, or forked
                self._inbox = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=_serve, args=(self._inbox,), name=self._name, daemon=True
                )
                self._thread.start()
            answer: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
            self._inbox.put((function, answer))
            try:
                return answer.get(timeout=limit)
            except queue.Empty:
                # Left where it hangs (told to end once it is unstuck); a new one next time.
                self._inbox.put(_STOP)
                self._hung.append(self._thread)
                self._thread = None
                return Hung(f"did not end within its time limit of {limit:g} s")

    def close(self) -> None:
        """Let the thread end once it is idle (a new one starts if called again)."""
        with self._turn:
            if self._thread is not None:
                self._inbox.put(_STOP)
                self._thread = None


def _stop() -> None:  # pragma: no cover (never called: the thread ends on seeing it)
    """The marker that tells a thread to end."""


_STOP = (_stop, queue.SimpleQueue[Outcome]())


def _serve(inbox: queue.SimpleQueue[tuple[Callable[[], Any], queue.SimpleQueue[Outcome]]]) -> None:
    """A thread's life: run each call put in ``inbox``, answer its outcome, until told to end."""
    while True:
        function, answer = inbox.get()
        if function is _stop:
            return
        try:
            outcome: Outcome = Finished(function())
        except BaseException as error:  # noqa: BLE001 (the shop's code: even SystemExit is its outcome)
            outcome = Raised(error)
        answer.put(outcome)

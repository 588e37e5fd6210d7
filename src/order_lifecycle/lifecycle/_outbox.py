"""The outbox's own lifecycle, declared once: how an action of the outbox moves (DESIGN 1.5).

An action is written ``pending`` with the change that created it; a worker's claim leases it
(``claimed``, its tries counted) and the claim ends ``done``, ``failed`` (due again later) or
``dead`` (out of tries), or is released unrun (``pending``); a change whose reason went
away cancels it from any state but ``done``; an operator's retry makes a ``failed`` or
``dead`` one ``pending`` again; the provider's own report settles one (``confirm``: done,
``reject``: dead, as ``refund.complete`` and ``refund.failed`` settle ``confirm_refund``).
:data:`OUTBOX_SPEC` is the single source of truth of those
rules: the memory store runs its rows and binds its guards to predicates, the SQL stores
generate their conditional statements' states from it, and ``diagrams/outbox.*`` draw it.
Which order states hold an action (a dispute holds ``ship``) is the order table's
(``ActionSpec.held_in``).
"""

from __future__ import annotations

from enum import StrEnum

from ._spec import EventSpec, GuardSpec, MachineSpec, StateSpec, TransitionSpec
from ._vocabulary import ActionState, OutboxEvent

__all__ = ["OUTBOX_SPEC", "OutboxGuard"]

A, X = ActionState, OutboxEvent


class OutboxGuard(StrEnum):
    """The names of the outbox table's guards (bound to predicates by each store)."""

    RETRY_DUE = "retry_due"
    LAPSED = "lapsed"
    LAPSED_TRIED_OUT = "lapsed_tried_out"
    TRIES_LEFT = "tries_left"
    TRIED_OUT = "tried_out"
    UNDER_CLAIM = "under_claim"


G = OutboxGuard

OUTBOX_SPEC: MachineSpec[ActionState, OutboxEvent] = MachineSpec(
    name="outbox",
    states=(
        StateSpec(
            A.PENDING,
            "Written with its change, or given back: the next claim takes it.",
            "it is due already: the next claim takes it",
            initial=True,
        ),
        StateSpec(
            A.CLAIMED,
            "Leased to one worker's claim until its lease lapses; tries counts the claims.",
            "a worker holds it now (a lapsed lease makes it due again)",
        ),
        StateSpec(
            A.DONE,
            "Its handler succeeded; its result is kept until it is pruned.",
            "its handler succeeded already, and it is not run again",
            final=True,
        ),
        StateSpec(
            A.FAILED,
            "Its handler failed; due again at retry_at, with backoff.",
            "it failed and waits for its retry; no claim holds it",
        ),
        StateSpec(
            A.DEAD,
            "Out of tries (failed, or its claims lapsed, max_tries times): an operator decides.",
            "it is dead: only an operator's retry revives it",
        ),
        StateSpec(
            A.CANCELLED,
            "Its reason went away (kept with why); a live claim may still finish it.",
            "it was cancelled, its reason gone, and a cancelled action is never run again",
        ),
    ),
    events=(
        EventSpec(X.CLAIM, "A worker's claim leases a due action its order does not hold."),
        EventSpec(X.COMPLETE, "The claim's handler succeeded (Completed)."),
        EventSpec(X.FAIL, "The claim's handler failed (Failed)."),
        EventSpec(X.RELEASE, "The claim gives the action back unrun (Released)."),
        EventSpec(X.CANCEL, "A change took the action's reason away (a cancellation)."),
        EventSpec(X.RETRY, "An operator's retry_action."),
        EventSpec(X.CONFIRM, "The provider reported the act done itself (refund.complete)."),
        EventSpec(X.REJECT, "The provider reported the act failed (refund.failed)."),
    ),
    guards=(
        GuardSpec(G.RETRY_DUE, "its retry_at has come"),
        GuardSpec(G.LAPSED, "its claim's lease lapsed, with tries left"),
        GuardSpec(G.LAPSED_TRIED_OUT, "its claim's lease lapsed after max_tries claims"),
        GuardSpec(G.TRIES_LEFT, "it was claimed fewer than max_tries times"),
        GuardSpec(G.TRIED_OUT, "it was claimed max_tries times"),
        GuardSpec(G.UNDER_CLAIM, "it was cancelled under a claim that has not ended"),
    ),
    transitions=(
        TransitionSpec(X.CLAIM, A.PENDING, A.CLAIMED, rule="a claim leases it"),
        TransitionSpec(X.CLAIM, A.FAILED, A.CLAIMED, G.RETRY_DUE, "due again after backoff"),
        TransitionSpec(X.CLAIM, A.CLAIMED, A.CLAIMED, G.LAPSED, "at least once: never lost"),
        TransitionSpec(X.CLAIM, A.CLAIMED, A.DEAD, G.LAPSED_TRIED_OUT, "its worker died each time"),
        TransitionSpec(X.COMPLETE, A.CLAIMED, A.DONE, rule="its result kept"),
        TransitionSpec(
            X.COMPLETE, A.CANCELLED, A.DONE, G.UNDER_CLAIM, "its handler ran: it is done"
        ),
        TransitionSpec(X.FAIL, A.CLAIMED, A.FAILED, G.TRIES_LEFT, "retried with backoff"),
        TransitionSpec(X.FAIL, A.CLAIMED, A.DEAD, G.TRIED_OUT, "an operator decides"),
        TransitionSpec(X.FAIL, A.CANCELLED, A.CANCELLED, G.UNDER_CLAIM, "its claim ends"),
        TransitionSpec(X.RELEASE, A.CLAIMED, A.PENDING, rule="as if never claimed"),
        TransitionSpec(X.RELEASE, A.CANCELLED, A.CANCELLED, G.UNDER_CLAIM, "its claim ends"),
        *(
            TransitionSpec(X.CANCEL, source, A.CANCELLED, rule="from any state but done")
            for source in (A.PENDING, A.CLAIMED, A.FAILED, A.DEAD)
        ),
        TransitionSpec(X.RETRY, A.FAILED, A.PENDING, rule="its tries reset"),
        TransitionSpec(X.RETRY, A.DEAD, A.PENDING, rule="its tries reset"),
        *(
            TransitionSpec(X.CONFIRM, source, A.DONE, rule="the provider did it: nothing to run")
            for source in (A.PENDING, A.CLAIMED, A.FAILED, A.DEAD)
        ),
        *(
            TransitionSpec(
                X.REJECT, source, A.DEAD, rule="the provider failed it: an operator decides"
            )
            for source in (A.PENDING, A.CLAIMED, A.FAILED)
        ),
    ),
)
"""The outbox's table: an action's states, what moves it, and when (DESIGN 1.5)."""

"""The two lifecycles, declared once: the order (DESIGN 1.2) and the checkout (DESIGN 1.1).

Everything else (the runtime, the diagrams in ``diagrams/``, the docs' transition table,
the property tests) is derived from :data:`ORDER_SPEC` and :data:`CHECKOUT_SPEC`.
Rule tags: [R] read in the provider's docs, [I] inferred, [X] the docs disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from order_lifecycle.exceptions import (
    ChargeNotAllowed,
    CheckoutAlreadyConsumed,
    CheckoutRejected,
    FulfillmentNotAllowed,
    RefundNotAllowed,
    ReturnNotAllowed,
    SubmissionInDoubt,
    SubmissionInProgress,
    SubmissionRefused,
)

from ._spec import (
    ActionSpec,
    EventSpec,
    GuardSpec,
    ImpliedSpec,
    MachineSpec,
    OperationSpec,
    StateSpec,
    TransitionSpec,
)
from ._vocabulary import (
    ActionScope,
    ChargeState,
    CheckoutEvent,
    CheckoutState,
    Operation,
    OrderEvent,
    OrderState,
)

__all__ = ["CHECKOUT_SPEC", "ORDER_SPEC", "SETTLED_CHARGE_STATES", "ActionKind", "OrderGuard"]

OS, OE, OP = OrderState, OrderEvent, Operation


class ActionKind(StrEnum):
    """What the shop must do after a state change: the kinds of the order table's actions."""

    SHIP = "ship"
    DELIVER_DIGITALLY = "deliver_digitally"
    REVIEW_FULFILMENT = "review_fulfilment"
    NOTIFY_CUSTOMER = "notify_customer"
    CAPTURE = "capture"
    CONFIRM_REFUND = "confirm_refund"
    RESPOND_TO_DISPUTE = "respond_to_dispute"


AK, AS = ActionKind, ActionScope

SETTLED_CHARGE_STATES = frozenset({ChargeState.COMPLETE, ChargeState.CANCELLED})
"""The charge states with nothing left open, captured (``complete``) or ``cancelled``: the one
definition of a settled charge, which the guards on charges read."""


class OrderGuard(StrEnum):
    """The names of the order machine's guards (bound to predicates in ``_guards``)."""

    EVERYTHING_CANCELLED = "everything_cancelled"
    EVERY_ITEM_FULFILLED = "every_item_fulfilled"
    EVERY_ITEM_RETURNED = "every_item_returned"
    CHARGES_SETTLED = "charges_settled"
    FULFILLED_AND_SETTLED = "fulfilled_and_settled"
    RESUMES_STATE_BEFORE_DISPUTE = "resumes_state_before_dispute"
    SOMETHING_FULFILLED = "something_fulfilled"
    SOMETHING_CAPTURED = "something_captured"
    NOTHING_OPEN = "nothing_open"
    EVERY_CHARGE_SETTLED = "every_charge_settled"


def _rows(
    event: OrderEvent,
    sources: Iterable[OrderState],
    dests: Iterable[OrderState],
    rule: str,
    guard: str | None = None,
) -> tuple[TransitionSpec[OrderState, OrderEvent], ...]:
    """One table line with several sources (or destinations) as one row per pair."""
    return tuple(
        TransitionSpec(event, source, dest, guard, rule) for source in sources for dest in dests
    )


_NOT_ACCEPTED = "the order has not been accepted"
_NO_PAYMENT = "and no payment will be taken for it."
_WHOLE_ORDER_ONLY = (
    f"{_NOT_ACCEPTED} (payment is not yet authorized); before acceptance only the whole "
    "order can be cancelled"
)
OG = OrderGuard

ORDER_SPEC: MachineSpec[OrderState, OrderEvent] = MachineSpec(
    name="order",
    states=(
        StateSpec(
            OS.PENDING_PAYMENT,
            "The order exists, but its charge is not yet authorized.",
            f"{_NOT_ACCEPTED} (payment is not yet authorized)",
            initial=True,
            customer="Thank you, your order was placed; payment is not yet complete.",
        ),
        StateSpec(
            OS.IN_REVIEW,
            "A secondary fraud review is running.",
            f"{_NOT_ACCEPTED} (it is in fraud review)",
            entry=True,
            customer="Thank you, your order was placed and is being reviewed.",
        ),
        StateSpec(
            OS.ACCEPTED,
            "Every charge is authorized and fraud review passed: ready to fulfil.",
            "the order is already accepted",
            entry=True,
            customer="Thank you, your order is confirmed.",
        ),
        StateSpec(
            OS.BLOCKED,
            "Blocked by fraud review or the Denied Persons List.",
            "the order was blocked by fraud review, which is final",
            final=True,
            customer=f"We could not accept your order, {_NO_PAYMENT}",
        ),
        StateSpec(
            OS.CANCELLED,
            "Every item and charge cancelled, or a delayed payment expired unfunded.",
            "the order was cancelled, which is final",
            final=True,
            customer=f"Your order was cancelled, {_NO_PAYMENT}",
        ),
        StateSpec(
            OS.FULFILLED,
            "Every item fulfilled, or fulfilled with the rest cancelled.",
            "the order is already fulfilled",
            requires=(OG.NOTHING_OPEN,),
        ),
        StateSpec(
            OS.COMPLETE,
            "Fulfilled, and every charge captured or cancelled.",
            "the order is already complete",
            requires=(OG.NOTHING_OPEN, OG.EVERY_CHARGE_SETTLED),
        ),
        StateSpec(
            OS.RETURNED,
            "Returned in full, or in part with the rest cancelled or refunded.",
            "the order was returned",
            requires=(OG.NOTHING_OPEN,),
        ),
        StateSpec(
            OS.DISPUTE,
            "A bank dispute or chargeback request is open; captures, refunds and returns wait.",
            "the order is in dispute",
        ),
    ),
    events=(
        EventSpec(OE.OPEN_REVIEW, "A secondary fraud review starts.", "order.review_opened"),
        EventSpec(OE.ACCEPT, "Every charge authorized, fraud review passed.", "order.accepted"),
        EventSpec(OE.BLOCK, "Fraud review or the Denied Persons List blocks it.", "order.blocked"),
        EventSpec(OE.CANCEL, "The whole order is cancelled.", "order.cancelled"),
        EventSpec(
            OE.FULFIL,
            "Every item is fulfilled (or fulfilled with the rest cancelled).",
            "order.fulfilled",
        ),
        EventSpec(OE.COMPLETE, "Every charge is captured or cancelled.", "order.complete"),
        EventSpec(OE.RETURN, "A return is accepted in full (no webhook announces it)."),
        EventSpec(OE.DISPUTE, "The bank relays a dispute or chargeback.", "order.dispute"),
        EventSpec(
            OE.RESOLVE_DISPUTE,
            "The dispute closes; the order resumes its state before it.",
            "order.dispute.resolved",
        ),
    ),
    guards=(
        GuardSpec(OrderGuard.EVERYTHING_CANCELLED, "every item and every charge is cancelled"),
        GuardSpec(
            OrderGuard.EVERY_ITEM_FULFILLED,
            "every item is fulfilled, or fulfilled with the rest cancelled",
        ),
        GuardSpec(
            OrderGuard.EVERY_ITEM_RETURNED,
            "every item is fulfilled (or the rest cancelled), and every fulfilled unit returned",
        ),
        GuardSpec(
            OrderGuard.CHARGES_SETTLED,
            "every charge is captured or cancelled, and one was captured",
        ),
        GuardSpec(
            OrderGuard.FULFILLED_AND_SETTLED,
            "every item is fulfilled or cancelled and every charge captured or cancelled, "
            "one of each fulfilled and captured",
        ),
        GuardSpec(
            OrderGuard.RESUMES_STATE_BEFORE_DISPUTE,
            "it resumes the state the order had before the dispute",
        ),
        GuardSpec(OrderGuard.SOMETHING_FULFILLED, "something has been fulfilled"),
        GuardSpec(OrderGuard.SOMETHING_CAPTURED, "something has been captured"),
        GuardSpec(OrderGuard.NOTHING_OPEN, "no unit of any item is left open"),
        GuardSpec(OrderGuard.EVERY_CHARGE_SETTLED, "every charge is captured or cancelled"),
    ),
    transitions=(
        *_rows(OE.OPEN_REVIEW, [OS.PENDING_PAYMENT], [OS.IN_REVIEW], "[I] review after payment"),
        *_rows(
            OE.ACCEPT, [OS.PENDING_PAYMENT, OS.IN_REVIEW], [OS.ACCEPTED], "[R] authorized, passed"
        ),
        *_rows(OE.BLOCK, [OS.PENDING_PAYMENT], [OS.BLOCKED], "[I] fraud review may still run"),
        *_rows(OE.BLOCK, [OS.IN_REVIEW], [OS.BLOCKED], "[R] fraud state blocked"),
        *_rows(OE.CANCEL, [OS.PENDING_PAYMENT], [OS.CANCELLED], "[R] delayed payment expired"),
        *_rows(
            OE.CANCEL,
            [OS.ACCEPTED],
            [OS.CANCELLED],
            "[R] only when every item and charge is cancelled",
            OrderGuard.EVERYTHING_CANCELLED,
        ),
        *_rows(
            OE.FULFIL,
            [OS.ACCEPTED],
            [OS.FULFILLED],
            "[R] every item fulfilled, or the rest cancelled",
            OrderGuard.EVERY_ITEM_FULFILLED,
        ),
        *_rows(
            OE.COMPLETE,
            [OS.FULFILLED],
            [OS.COMPLETE],
            "[R] every charge captured or cancelled",
            OrderGuard.CHARGES_SETTLED,
        ),
        *_rows(
            OE.COMPLETE,
            [OS.ACCEPTED],
            [OS.COMPLETE],
            "[X] fulfilled and settled, order.fulfilled never sent",
            OrderGuard.FULFILLED_AND_SETTLED,
        ),
        *_rows(
            OE.RETURN, [OS.FULFILLED, OS.COMPLETE], [OS.RETURNED], "[X] return accepted in full"
        ),
        *_rows(
            OE.DISPUTE,
            [OS.ACCEPTED, OS.FULFILLED, OS.COMPLETE, OS.RETURNED],
            [OS.DISPUTE],
            "[R] fraud state becomes review_opened",
        ),
        *_rows(
            OE.RESOLVE_DISPUTE,
            [OS.DISPUTE],
            [OS.ACCEPTED, OS.FULFILLED, OS.COMPLETE, OS.RETURNED],
            "[R] back to the state before; [X] payload wins",
            OrderGuard.RESUMES_STATE_BEFORE_DISPUTE,
        ),
    ),
    # The merchant's operations (DESIGN 1.2): which states allow each. Captures and cancels
    # go through fulfilments at the provider, so they follow the fulfilment rule, and also
    # while the order is fulfilled and waits for its captures.
    operations=(
        OperationSpec(
            OP.FULFIL_ITEMS,
            "Ship or deliver units of items; the last unit fulfils the order.",
            (OS.ACCEPTED,),
            "POST /fulfillments",
            refusals=((OS.FULFILLED, "every item is already fulfilled (409 order_fulfilled)"),),
            refused_with=FulfillmentNotAllowed,
        ),
        OperationSpec(
            OP.CANCEL_ITEMS,
            "Cancel units of items; the last unit cancels the order (pending payment: all).",
            (OS.PENDING_PAYMENT, OS.ACCEPTED),
            "POST /fulfillments (cancelQuantity)",
            refused_with=FulfillmentNotAllowed,
            limits=((OS.PENDING_PAYMENT, _WHOLE_ORDER_ONLY),),
        ),
        OperationSpec(
            OP.CAPTURE,
            "Capture an amount of a charge; every charge settled completes the order.",
            (OS.ACCEPTED, OS.FULFILLED),
            "POST /fulfillments",
            needs=OrderGuard.SOMETHING_FULFILLED,
            refused_with=ChargeNotAllowed,
        ),
        OperationSpec(
            OP.CANCEL_CHARGE,
            "Cancel an amount of a charge, releasing the authorization.",
            (OS.ACCEPTED, OS.FULFILLED),
            "POST /fulfillments (cancelQuantity)",
            refused_with=ChargeNotAllowed,
        ),
        OperationSpec(
            OP.REFUND,
            "Refund an amount of what was captured; the order's state stays.",
            (OS.ACCEPTED, OS.FULFILLED, OS.COMPLETE, OS.RETURNED),
            "POST /refunds",
            needs=OrderGuard.SOMETHING_CAPTURED,
            refused_with=RefundNotAllowed,
        ),
        OperationSpec(
            OP.RETURN_ITEMS,
            "Take back fulfilled units; every one back returns the order.",
            (OS.ACCEPTED, OS.FULFILLED, OS.COMPLETE),
            "POST /returns",
            needs=OrderGuard.SOMETHING_FULFILLED,
            refused_with=ReturnNotAllowed,
        ),
    ),
    # What the shop must do (issue 11): written to the store's outbox in the transaction
    # of the change that creates them. Items and charges are kept while the order is
    # accepted (fulfilled, for captures) or in dispute, and held in dispute: the provider
    # refuses POST /fulfillments there (409, payload 23), through which shipping, digital
    # delivery and captures are reported (a review decides how to fulfil, so it waits too);
    # they resume when the dispute is resolved (issue 17). Each also loses its reason once
    # nothing of its item is open (or its charge uncaptured). A refund in progress is only
    # followed (confirm_refund), not requested, so a dispute does not hold it.
    actions=(
        ActionSpec(
            AK.SHIP,
            "Ship the open units of a physical item.",
            OS.ACCEPTED,
            AS.PHYSICAL_ITEM,
            while_in=(OS.ACCEPTED, OS.DISPUTE),
            held_in=(OS.DISPUTE,),
        ),
        ActionSpec(
            AK.DELIVER_DIGITALLY,
            "Deliver the open units of a digital item (a download, a licence key).",
            OS.ACCEPTED,
            AS.DIGITAL_ITEM,
            while_in=(OS.ACCEPTED, OS.DISPUTE),
            held_in=(OS.DISPUTE,),
        ),
        ActionSpec(
            AK.REVIEW_FULFILMENT,
            "Decide how to fulfil an item the provider did not say is physical or digital.",
            OS.ACCEPTED,
            AS.UNKNOWN_ITEM,
            while_in=(OS.ACCEPTED, OS.DISPUTE),
            held_in=(OS.DISPUTE,),
        ),
        ActionSpec(
            AK.NOTIFY_CUSTOMER,
            "Tell the customer the order was blocked.",
            OS.BLOCKED,
            AS.ORDER,
            tells_customer=True,
        ),
        ActionSpec(
            AK.NOTIFY_CUSTOMER,
            "Tell the customer the order was cancelled.",
            OS.CANCELLED,
            AS.ORDER,
            tells_customer=True,
        ),
        ActionSpec(
            AK.CAPTURE,
            "Capture what is still uncaptured of a charge, the order being fulfilled.",
            OS.FULFILLED,
            AS.UNCAPTURED_CHARGE,
            while_in=(OS.FULFILLED, OS.DISPUTE),
            held_in=(OS.DISPUTE,),
        ),
        ActionSpec(
            AK.CONFIRM_REFUND,
            "Follow a refund until the provider reports it complete (refund.complete), and "
            "tell the customer; a failed refund needs another.",
            OP.REFUND,
            AS.REFUNDED_CHARGE,
        ),
        ActionSpec(
            AK.RESPOND_TO_DISPUTE,
            "Answer the bank's dispute or chargeback with the order's evidence.",
            OS.DISPUTE,
            AS.ORDER,
            while_in=(OS.DISPUTE,),
        ),
    ),
    # The one rule linking an accepted order's state to its items and charges (DESIGN 1.2),
    # in order of precedence: a partial cancellation is not a cancellation, and settled
    # charges with units still open leave the order accepted. Before acceptance and after
    # a block the state is the provider's to say, and a dispute suspends the rule (in
    # dispute, it holds for the state the order will resume). The guards into cancelled,
    # fulfilled and complete are these clauses: an event fired by hand, an operation on
    # items or charges and the invariant tests all apply the same rule.
    implied=(
        ImpliedSpec(OS.CANCELLED, OG.EVERYTHING_CANCELLED),
        ImpliedSpec(OS.RETURNED, OG.EVERY_ITEM_RETURNED),
        ImpliedSpec(OS.COMPLETE, OG.FULFILLED_AND_SETTLED),
        ImpliedSpec(OS.FULFILLED, OG.EVERY_ITEM_FULFILLED),
        ImpliedSpec(OS.ACCEPTED),
    ),
)

CS, CE = CheckoutState, CheckoutEvent

CHECKOUT_SPEC: MachineSpec[CheckoutState, CheckoutEvent] = MachineSpec(
    name="checkout",
    states=(
        StateSpec(
            CS.OPEN,
            "Not submitted yet, or refused with a 4xx other than 409: fix it and resubmit.",
            "no submission is in progress or in doubt",
            initial=True,
        ),
        StateSpec(
            CS.SUBMITTING,
            "Claimed by one submission, whose response is awaited: no other may be sent.",
            "a submission is in progress; record its response first",
            refused_with=SubmissionInProgress,
        ),
        StateSpec(
            CS.IN_DOUBT,
            "A submission got no usable answer (5xx, timeout, bad body): an order may exist.",
            "a submission is in doubt; look up orders by checkout id and settle it first",
            refused_with=SubmissionInDoubt,
        ),
        StateSpec(
            CS.CONSUMED,
            "The checkout became an order; resubmitting it gets the provider's 404.",
            "the checkout was already consumed by an order",
            final=True,
            refused_with=CheckoutAlreadyConsumed,
        ),
        StateSpec(
            CS.REJECTED,
            "Refused with 409 (payment or fraud): a new checkout is needed.",
            "the checkout was rejected; create a new checkout",
            final=True,
            refused_with=CheckoutRejected,
        ),
    ),
    events=(
        EventSpec(
            CE.SUBMIT,
            "A submission claims the checkout; POST /orders goes out.",
            "POST /orders",
            refused_with=SubmissionRefused,
        ),
        EventSpec(CE.ORDER_CREATED, "The provider created the order.", "POST /orders 201"),
        EventSpec(CE.REJECTED, "Payment authorization failed or fraud.", "POST /orders 409"),
        EventSpec(CE.NEEDS_CHANGES, "The checkout must be fixed first.", "POST /orders 4xx"),
        EventSpec(
            CE.NO_RESPONSE,
            "5xx, 404 (consumed by another POST), a timeout, a lost connection, or a bad body.",
            "POST /orders 404, 5xx, bad body; timeout, lost connection",
        ),
        EventSpec(CE.ORDER_FOUND, "A lookup found the order.", "GET /orders?checkoutId= 1"),
        EventSpec(CE.NO_ORDER_FOUND, "A lookup found no order.", "GET /orders?checkoutId= 0"),
    ),
    guards=(),
    transitions=(
        TransitionSpec(CE.SUBMIT, CS.OPEN, CS.SUBMITTING, rule="[I] one submission at a time"),
        TransitionSpec(CE.ORDER_CREATED, CS.SUBMITTING, CS.CONSUMED, rule="[R] 201 consumes it"),
        TransitionSpec(CE.REJECTED, CS.SUBMITTING, CS.REJECTED, rule="[R] 409: new checkout"),
        TransitionSpec(CE.NEEDS_CHANGES, CS.SUBMITTING, CS.OPEN, rule="[R] fix, resubmit same id"),
        TransitionSpec(CE.NO_RESPONSE, CS.SUBMITTING, CS.IN_DOUBT, rule="[I] no idempotency key"),
        TransitionSpec(CE.ORDER_FOUND, CS.IN_DOUBT, CS.CONSUMED, rule="[I] lookup by checkout"),
        TransitionSpec(CE.NO_ORDER_FOUND, CS.IN_DOUBT, CS.OPEN, rule="[I] lookup by checkout"),
    ),
)

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import (
    Charge,
    ChargeState,
    Checkout,
    CheckoutEvent,
    CheckoutState,
    InvalidInput,
    Item,
    Operation,
    OperationNotAllowed,
    Order,
    OrderEvent,
    OrderState,
    TransitionNotAllowed,
    allowed_events,
    allowed_operations,
    can_fire,
    explain,
    fire,
)
from order_lifecycle.exceptions import (
    ChargeNotAllowed,
    FulfillmentNotAllowed,
    InvalidDefinition,
    InvalidHistory,
    OrderLifecycleError,
    SubmissionRefused,
    UnknownEvent,
    UnknownOperation,
    WrongType,
)
from order_lifecycle.lifecycle import (
    CHECKOUT_SPEC,
    ORDER_SPEC,
    Machine,
    TransitionSpec,
    slot_setter,
)
from order_lifecycle.models import CHECKOUT_MACHINE, ORDER_MACHINE
from order_lifecycle.testing import HOSTILE_TEXT

from .orders import walked_to

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def order_in(state: OrderState, **kwargs: Any) -> Order:
    """An order walked to ``state`` along the shortest path, with data its guards accept."""
    order = Order.create(
        "o1",
        state if state in ORDER_SPEC.entry_states else OrderState.ACCEPTED,
        at=T0,
        items=[Item("i1", 2, physical=True, fulfilled=2)],
        charges=[Charge("c1", ChargeState.COMPLETE, Decimal(10))],
        **kwargs,
    )
    path = ORDER_SPEC.shortest_path(order.state, lambda s: s is state)
    assert path is not None
    for row in path:
        fire(order, row.event, at=T0)
    return order


def test_fire_moves_and_records_the_step() -> None:
    """A legal event moves the order and appends one step with its time and event id."""
    order = Order.create("o1", at=T0)
    step = fire(order, OrderEvent.ACCEPT, at=T0, event_id="evt-1")
    assert order.state is OrderState.ACCEPTED
    assert order.history[-1] == step
    assert (step.event, step.source, step.dest) == (
        OrderEvent.ACCEPT,
        OrderState.PENDING_PAYMENT,
        OrderState.ACCEPTED,
    )
    assert (step.at, step.event_id, step.implied) == (T0, "evt-1", False)


def test_event_names_are_accepted() -> None:
    """The event's string value works like the member."""
    order = Order.create("o1")
    fire(order, "open_review")
    assert order.state is OrderState.IN_REVIEW


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (
            OrderState.PENDING_PAYMENT,
            "the order has not been accepted (payment is not yet authorized)",
        ),
        (OrderState.IN_REVIEW, "the order has not been accepted (it is in fraud review)"),
        (OrderState.DISPUTE, "the order is in dispute"),
        (OrderState.FULFILLED, "the order is already fulfilled"),
    ],
)
def test_fulfilment_refused_outside_accepted(state: OrderState, reason: str) -> None:
    """The provider's fulfil event outside accepted is refused as an event, naming the state."""
    order = order_in(state)
    before = copy.deepcopy(order)
    with pytest.raises(TransitionNotAllowed) as raised:
        fire(order, OrderEvent.FULFIL)
    assert str(raised.value) == f"Can't fulfil when in {state}: {reason}."
    assert (raised.value.event, raised.value.state) == (OrderEvent.FULFIL, state)
    assert not isinstance(raised.value, OperationNotAllowed)
    assert order == before


def test_final_states_absorb_every_event() -> None:
    """Blocked and cancelled refuse every event, and stay as they are."""
    for event_path in ([OrderEvent.BLOCK], [OrderEvent.CANCEL]):
        order = Order.create("o1", at=T0)
        fire(order, event_path[0], at=T0)
        before = copy.deepcopy(order)
        for event in OrderEvent:
            assert not can_fire(order, event)
            with pytest.raises(TransitionNotAllowed, match="which is final"):
                fire(order, event)
        assert order == before
        assert allowed_events(order) == ()


def test_accepted_order_cancels_only_when_every_charge_is_cancelled() -> None:
    """Cancelling an accepted order needs every charge (and item) cancelled; partly is refused."""
    charges = [
        Charge("c1", ChargeState.CANCELLED, Decimal(5)),
        Charge("c2", ChargeState.CAPTURABLE, Decimal(5)),
    ]
    order = Order.create("o1", OrderState.ACCEPTED, at=T0, charges=charges)
    with pytest.raises(TransitionNotAllowed) as raised:
        fire(order, OrderEvent.CANCEL)
    assert (
        str(raised.value)
        == "Can't cancel when in accepted: not until every item and every charge is cancelled."
    )
    order.charges = (charges[0], Charge("c2", ChargeState.CANCELLED, Decimal(5)))
    fire(order, OrderEvent.CANCEL)
    assert order.state is OrderState.CANCELLED


@pytest.mark.parametrize(
    "before_dispute",
    [OrderState.ACCEPTED, OrderState.FULFILLED, OrderState.COMPLETE, OrderState.RETURNED],
)
def test_resolved_dispute_returns_to_the_state_before(before_dispute: OrderState) -> None:
    """order.dispute.resolved resumes exactly the state the dispute interrupted."""
    order = order_in(before_dispute)
    fire(order, OrderEvent.DISPUTE)
    assert order.state_before_dispute is before_dispute
    fire(order, OrderEvent.RESOLVE_DISPUTE)
    assert order.state is before_dispute
    assert order.state_before_dispute is None


@pytest.mark.parametrize("cut", ["the dispute step", "every step"])
def test_a_dispute_whose_step_was_cut_from_the_history_is_a_typed_error(cut: str) -> None:
    """In dispute with no step into it (a caller cut it): InvalidHistory, nothing changed."""
    order = order_in(OrderState.ACCEPTED)
    fire(order, OrderEvent.DISPUTE)
    if cut == "every step":
        order.history.clear()
    else:
        order.history.pop()
    before = (order.state, list(order.history))
    with pytest.raises(InvalidHistory, match="in dispute, but no step of its history enters it"):
        _ = order.state_before_dispute
    with pytest.raises(InvalidHistory):
        fire(order, OrderEvent.RESOLVE_DISPUTE)
    assert (order.state, list(order.history)) == before


def test_complete_needs_settled_charges() -> None:
    """An order completes only when every charge is captured or cancelled, one captured."""
    order = Order.create(
        "o1",
        OrderState.ACCEPTED,
        at=T0,
        items=[Item("i1", 1, physical=True, fulfilled=1)],
        charges=[Charge("c1", ChargeState.CANCELLED, Decimal(5))],
    )
    assert not can_fire(order, OrderEvent.COMPLETE)
    order.charges = (Charge("c1", ChargeState.COMPLETE, Decimal(5)),)
    assert can_fire(order, OrderEvent.COMPLETE)


@pytest.mark.parametrize("bad", ["acept", "", "ORDER.ACCEPTED", "order.accepted"])
def test_unknown_event_name(bad: str) -> None:
    """An unknown event name raises UnknownEvent listing the known ones; nothing changes."""
    order = Order.create("o1", at=T0)
    before = copy.deepcopy(order)
    for call in (fire, can_fire, explain):
        with pytest.raises(
            UnknownEvent, match=r"Unknown order event .* expected one of open_review"
        ):
            call(order, bad)
    assert order == before


@pytest.mark.parametrize("bad", [3, None, b"accept", CheckoutEvent.ORDER_CREATED, ["accept"]])
def test_event_of_the_wrong_type(bad: object) -> None:
    """Non-strings, and the other machine's events, raise WrongType; nothing changes."""
    order = Order.create("o1", at=T0)
    before = copy.deepcopy(order)
    with pytest.raises(WrongType, match="OrderEvent must be an OrderEvent member or its str"):
        fire(order, bad)  # type: ignore[call-overload]
    assert order == before


@pytest.mark.parametrize("bad", [datetime(2026, 1, 1), "2026-01-01T00:00:00Z", 0])  # noqa: DTZ001
def test_naive_or_non_datetime_time(bad: object) -> None:
    """``at`` must be an aware datetime; anything else changes nothing."""
    order = Order.create("o1", at=T0)
    before = copy.deepcopy(order)
    with pytest.raises(WrongType, match="at must be a timezone-aware datetime"):
        fire(order, OrderEvent.ACCEPT, at=bad)  # type: ignore[call-overload]
    assert order == before


@pytest.mark.parametrize(
    ("extra", "what"),
    [
        ({"event_id": 7}, "event_id must be a str or None"),
        ({"event_id": b"evt"}, "event_id must be a str or None"),
        ({"implied": 1}, "implied must be a bool"),
        ({"implied": "yes"}, "implied must be a bool"),
    ],
)
def test_an_event_id_or_mark_of_the_wrong_type(extra: dict[str, object], what: str) -> None:
    """``fire`` and ``record`` check the id and mark they store; nothing changes."""
    order = Order.create("o1", at=T0)
    before = copy.deepcopy(order)
    with pytest.raises(WrongType, match=what):
        ORDER_MACHINE.fire(order, OrderEvent.ACCEPT, at=T0, **extra)  # type: ignore[arg-type]
    row = ORDER_SPEC.transitions_from(OrderState.PENDING_PAYMENT)[0]
    with pytest.raises(WrongType, match=what):
        ORDER_MACHINE.record(order, row, at=T0, **extra)  # type: ignore[arg-type]
    assert order == before


@given(
    st.one_of(HOSTILE_TEXT, st.integers(), st.floats(), st.none(), st.binary(max_size=4)),
    st.sampled_from(["event", "at", "event_id", "implied"]),
)
def test_hostile_arguments_raise_only_typed_errors(value: object, where: str) -> None:
    """Any value for any argument of ``fire``: a step or a typed error, the order unchanged."""
    order = Order.create("o1", at=T0)
    before = copy.deepcopy(order)
    arguments: dict[str, Any] = {"event": OrderEvent.ACCEPT, "at": T0, where: value}
    try:
        step = fire(order, **arguments)
    except OrderLifecycleError:
        assert order == before
    else:
        assert order.history[-1] is step
        assert step.event is OrderEvent.ACCEPT
        assert step.event_id == arguments.get("event_id")
        assert step.implied is bool(arguments.get("implied"))


def test_the_machine_writes_the_state_slot_and_assignments_stay_checked() -> None:
    """Fire leaves the enum member in the slot; a state assigned by hand is still checked."""
    order = Order.create("o1", at=T0)
    fire(order, "accept")
    assert type(order.state) is OrderState
    assert order.state is OrderState.ACCEPTED
    with pytest.raises(WrongType):
        order.state = 3.5  # type: ignore[assignment]
    order.state = "blocked"  # type: ignore[assignment]
    assert order.state is OrderState.BLOCKED


def test_only_a_slot_has_a_direct_writer() -> None:
    """slot_setter writes past the converter (a name stays a str); it refuses a non-slot."""
    order = Order.create("o1", at=T0)
    slot_setter(Order)(order, "blocked")
    assert type(order.state) is str
    with pytest.raises(InvalidDefinition, match=r"Order\.copy is not a slot"):
        slot_setter(Order, "copy")

    class Plain:
        state = OrderState.ACCEPTED

    with pytest.raises(InvalidDefinition, match=r"Plain\.state is not a slot"):
        slot_setter(Plain)


def test_fire_refuses_what_is_not_a_model() -> None:
    """Only an Order or a Checkout can be fired at."""
    with pytest.raises(WrongType, match="model must be an Order or a Checkout"):
        fire(object(), "accept")  # type: ignore[call-overload]


def test_no_methods_are_attached_to_models() -> None:
    """The engine never decorates models with trigger methods (unlike plain transitions)."""
    order = Order.create("o1", at=T0)
    fire(order, OrderEvent.ACCEPT)
    names = set(dir(order))
    assert not names & {"trigger", "may_trigger", "accept", "may_accept", "to_accepted"}


def test_refusal_is_ours_and_the_engine_is_declared() -> None:
    """A row-less event is our refusal; the transitions engine holds every row, no auto ones."""
    order = Order.create("o1", at=T0)
    with pytest.raises(TransitionNotAllowed) as raised:
        ORDER_MACHINE.fire(order, OrderEvent.RESOLVE_DISPUTE)
    assert raised.value.__cause__ is None
    engine = ORDER_MACHINE.engine
    assert set(engine.events) == {str(e) for e in OrderEvent}
    engine_rows = [
        (trigger, source, t.dest)
        for trigger, event in engine.events.items()
        for source, rows in event.transitions.items()
        for t in rows
    ]
    assert sorted(engine_rows) == sorted(
        (str(r.event), str(r.source), str(r.dest)) for r in ORDER_SPEC.transitions
    )


def test_a_table_the_engine_contradicts_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiling checks every row against the engine's: a disagreement is InvalidDefinition."""
    real = Machine._engine_row

    def drop_resolutions(self: Machine[Any, Any, Any], row: Any) -> dict[str, object]:
        engine_row = real(self, row)
        if row.event is OrderEvent.RESOLVE_DISPUTE and row.dest is OrderState.RETURNED:
            engine_row["dest"] = str(OrderState.ACCEPTED)
        return engine_row

    monkeypatch.setattr(Machine, "_engine_row", drop_resolutions)
    with pytest.raises(InvalidDefinition, match="disagree on resolve_dispute from dispute"):
        Machine(ORDER_SPEC, ORDER_MACHINE._guards)


def test_explain_gives_the_shortest_way() -> None:
    """Explain names the reason, the shortest event path and the conditions on the way."""
    order = Order.create("o1", at=T0)
    explanation = explain(order, OrderEvent.COMPLETE)
    assert not explanation.allowed
    assert explanation.path == (OrderEvent.ACCEPT,)
    guard = ORDER_SPEC.guard("fulfilled_and_settled").description
    assert explanation.conditions == (guard,)
    assert explanation.path_conditions == (None,)
    assert str(explanation) == (
        "Can't complete when in pending_payment: the order has not been accepted (payment is "
        f"not yet authorized). It becomes possible after: accept; then only when {guard}."
    )


def test_explain_keeps_each_condition_on_its_own_row() -> None:
    """A path row's own guard is named beside it; the asked event's guard comes after."""
    order = Order.create("o1", OrderState.ACCEPTED, at=T0, items=[Item("i1", 1, physical=True)])
    explanation = explain(order, OrderEvent.RETURN)
    fulfilled = ORDER_SPEC.guard("every_item_fulfilled").description
    assert explanation.path == (OrderEvent.FULFIL,)
    assert explanation.path_conditions == (fulfilled,)
    assert explanation.conditions == ()
    assert str(explanation).endswith(f"It becomes possible after: fulfil (when {fulfilled}).")
    pending = explain(Order.create("o2", at=T0), OrderEvent.FULFIL)
    assert str(pending).endswith(f"It becomes possible after: accept; then only when {fulfilled}.")


def test_explain_plans_from_where_the_dispute_began() -> None:
    """From a dispute, the path resumes the state before it, then goes on from there."""
    order = Order.create("o1", OrderState.ACCEPTED, at=T0, items=[Item("i1", 1, physical=True)])
    fire(order, OrderEvent.DISPUTE, at=T0)
    explanation = explain(order, OrderEvent.RETURN)
    assert explanation.path == (OrderEvent.RESOLVE_DISPUTE, OrderEvent.FULFIL)
    assert explanation.path_conditions[0] is None


def test_explain_when_nothing_helps() -> None:
    """From a final state, explain says no sequence of events helps."""
    order = Order.create("o1", at=T0)
    fire(order, OrderEvent.BLOCK)
    explanation = explain(order, OrderEvent.ACCEPT)
    assert explanation.path is None
    assert str(explanation).endswith("No sequence of events makes it possible.")


def test_explain_allowed() -> None:
    """An allowed event is explained as allowed, with an empty path."""
    explanation = explain(Order.create("o1", at=T0), OrderEvent.ACCEPT)
    assert explanation.allowed
    assert explanation.path == ()
    assert str(explanation) == "accept is allowed in pending_payment."


def test_checkout_machine() -> None:
    """A checkout is consumed once; a lost response is in doubt until a lookup settles it."""
    checkout = Checkout("chk-1")
    assert allowed_events(checkout) == (CheckoutEvent.SUBMIT,)
    fire(checkout, CheckoutEvent.SUBMIT)
    with pytest.raises(SubmissionRefused, match="a submission is in progress"):
        fire(checkout, CheckoutEvent.SUBMIT)
    fire(checkout, CheckoutEvent.NO_RESPONSE)
    assert checkout.state is CheckoutState.IN_DOUBT
    assert allowed_events(checkout) == (CheckoutEvent.ORDER_FOUND, CheckoutEvent.NO_ORDER_FOUND)
    fire(checkout, CheckoutEvent.ORDER_FOUND)
    with pytest.raises(SubmissionRefused, match="already consumed by an order"):
        fire(checkout, CheckoutEvent.SUBMIT)
    assert [s.dest for s in checkout.history] == [
        CheckoutState.OPEN,
        CheckoutState.SUBMITTING,
        CheckoutState.IN_DOUBT,
        CheckoutState.CONSUMED,
    ]


def test_typed_machines_for_one_model() -> None:
    """ORDER_MACHINE and CHECKOUT_MACHINE answer like the facade."""
    order = Order.create("o1", at=T0)
    assert ORDER_MACHINE.allowed_events(order) == allowed_events(order)
    assert CHECKOUT_MACHINE.can_fire(Checkout("c"), CheckoutEvent.SUBMIT)
    assert not CHECKOUT_MACHINE.can_fire(Checkout("c"), CheckoutEvent.REJECTED)
    rows = len(ORDER_SPEC.transitions)
    assert repr(ORDER_MACHINE) == f"<Machine('order', num_transitions={rows})>"


def test_guard_bindings_must_match_the_spec() -> None:
    """A machine refuses to build when a declared guard has no predicate, or vice versa."""
    with pytest.raises(InvalidDefinition, match=r"missing predicates for .*everything_cancelled"):
        Machine(ORDER_SPEC, {})
    with pytest.raises(InvalidDefinition, match="undeclared guards \\['nope'\\]"):
        Machine(ORDER_SPEC, {**ORDER_MACHINE._guards, "nope": lambda _o, _r: True})


def test_clock_is_injectable() -> None:
    """Without ``at``, the machine's clock stamps the step."""
    machine = Machine(ORDER_SPEC, ORDER_MACHINE._guards, clock=lambda: T0)
    order = Order.create("o1")
    assert machine.fire(order, OrderEvent.ACCEPT).at == T0


def test_record_takes_a_row_its_guard_refuses() -> None:
    """record() moves along a table row without its guard, as the provider reports it."""
    order = order_in(OrderState.DISPUTE)
    assert order.state_before_dispute is OrderState.ACCEPTED
    row = next(
        r for r in ORDER_SPEC.transitions_from(OrderState.DISPUTE) if r.dest is OrderState.COMPLETE
    )
    assert fire(copy.deepcopy(order), OrderEvent.RESOLVE_DISPUTE).dest is OrderState.ACCEPTED
    step = ORDER_MACHINE.record(order, row, at=T0, event_id="evt-9")
    assert order.state is OrderState.COMPLETE
    assert order.history[-1] == step
    assert (step.event, step.event_id, step.implied) == (OrderEvent.RESOLVE_DISPUTE, "evt-9", False)


def test_record_refuses_rows_not_leaving_the_state() -> None:
    """record() refuses a row from another state, or one not in the table; nothing changes."""
    order = order_in(OrderState.ACCEPTED)
    before = copy.deepcopy(order)
    foreign = ORDER_SPEC.transitions_from(OrderState.DISPUTE)[0]
    with pytest.raises(InvalidInput, match="is not a row of the order table leaving accepted"):
        ORDER_MACHINE.record(order, foreign, at=T0)
    invented = TransitionSpec(OrderEvent.FULFIL, OrderState.ACCEPTED, OrderState.RETURNED)
    with pytest.raises(InvalidInput, match="is not a row"):
        ORDER_MACHINE.record(order, invented, at=T0)
    row = ORDER_SPEC.transitions_from(OrderState.ACCEPTED)[0]
    with pytest.raises(WrongType, match="at must be a timezone-aware datetime"):
        ORDER_MACHINE.record(order, row, at=datetime(2026, 1, 1))  # noqa: DTZ001
    assert order == before


def test_after_acceptance_the_merchant_sees_what_it_may_do() -> None:
    """Accepted, the provider's next event is a dispute; the merchant may fulfil and cancel."""
    order = Order.create("o1", at=T0, items=[Item("i1", 2, physical=True)])
    assert allowed_operations(order) == (Operation.CANCEL_ITEMS,)
    fire(order, OrderEvent.ACCEPT, at=T0)
    assert allowed_events(order) == (OrderEvent.DISPUTE,)
    assert allowed_operations(order) == (
        Operation.FULFIL_ITEMS,
        Operation.CANCEL_ITEMS,
        Operation.CANCEL_CHARGE,
    )
    order.items = (Item("i1", 2, physical=True, fulfilled=1),)
    assert Operation.CAPTURE in allowed_operations(order)
    assert Operation.RETURN_ITEMS in allowed_operations(order)


def test_explain_an_operation() -> None:
    """An operation is explained like an event: the table's reason, the way there, its needs."""
    order = Order.create("o1", at=T0, items=[Item("i1", 1, physical=True)])
    explanation = explain(order, "fulfil_items")
    assert explanation.subject is Operation.FULFIL_ITEMS
    assert explanation.path == (OrderEvent.ACCEPT,)
    assert (explanation.conditions, explanation.path_conditions) == ((), (None,))
    assert str(explanation) == (
        "Can't fulfil_items when in pending_payment: the order has not been accepted (payment "
        "is not yet authorized). It becomes possible after: accept."
    )
    capture = explain(order, Operation.CAPTURE)
    assert str(capture).endswith("after: accept; then only when something has been fulfilled.")
    fire(order, OrderEvent.ACCEPT, at=T0)
    assert explain(order, Operation.FULFIL_ITEMS).allowed
    now = explain(order, Operation.CAPTURE)
    assert (now.allowed, now.path, now.reason) == (
        False,
        (),
        "not until something has been fulfilled",
    )
    blocked = Order.create("o2", at=T0)
    fire(blocked, OrderEvent.BLOCK, at=T0)
    assert explain(blocked, Operation.REFUND).path is None


def test_events_and_operations_keep_their_names_apart() -> None:
    """The event fulfil is the provider's order.fulfilled; fulfil_items is the merchant's act."""
    order = Order.create("o1", OrderState.ACCEPTED, at=T0, items=[Item("i1", 1, physical=True)])
    assert explain(order, "fulfil").subject is OrderEvent.FULFIL
    assert explain(order, "fulfil_items").subject is Operation.FULFIL_ITEMS
    with pytest.raises(UnknownEvent, match=r"expected one of open_review, .*, fulfil_items"):
        explain(order, "ship")
    with pytest.raises(UnknownOperation, match=r"Unknown order operation 'fulfil'"):
        ORDER_MACHINE.can_perform(order, "fulfil")
    with pytest.raises(UnknownOperation, match="Unknown checkout operation"):
        CHECKOUT_MACHINE.can_perform(Checkout("c"), "fulfil_items")
    with pytest.raises(WrongType, match="order must be an Order"):
        allowed_operations(Checkout("c"))  # type: ignore[arg-type]


@pytest.mark.parametrize("state", list(OrderState))
@pytest.mark.parametrize("operation", list(Operation))
def test_every_refusal_is_the_operations_own(state: OrderState, operation: Operation) -> None:
    """Where the table refuses an operation, it raises that operation's OperationNotAllowed."""
    order = walked_to(state)
    spec = ORDER_SPEC.operation(operation)
    reason = ORDER_SPEC.operation_refusal(operation, state)
    if reason is None:  # allowed by the state: only the operation's own guard may refuse
        refusal = ORDER_MACHINE.operation_refusal(order, operation)
        assert refusal is None or refusal == f"not until {ORDER_SPEC.guard(spec.needs).description}"  # type: ignore[arg-type]
        return
    assert not ORDER_MACHINE.can_perform(order, operation)
    assert operation not in allowed_operations(order)
    with pytest.raises(spec.refused_with) as raised:
        ORDER_MACHINE.require(order, operation)
    assert isinstance(raised.value, OperationNotAllowed)
    assert (raised.value.operation, raised.value.state, raised.value.reason) == (
        operation,
        state,
        reason,
    )


def test_capture_refusals_are_not_fulfilment_refusals() -> None:
    """Capture and cancel_charge refusals are ChargeNotAllowed; fulfilling items' stay apart."""
    order = Order.create("o1", at=T0)
    with pytest.raises(ChargeNotAllowed) as raised:
        ORDER_MACHINE.require(order, Operation.CAPTURE)
    assert not isinstance(raised.value, FulfillmentNotAllowed)
    with pytest.raises(FulfillmentNotAllowed):
        ORDER_MACHINE.require(order, Operation.FULFIL_ITEMS)


@pytest.mark.parametrize("source", list(OrderState))
@pytest.mark.parametrize("dest", list(OrderState))
def test_leads_answers_like_a_path_search(source: OrderState, dest: OrderState) -> None:
    """The kept reachability agrees with the spec's own path search, with and without avoids."""
    for avoid in ((), (OrderEvent.RESOLVE_DISPUTE,), (OrderEvent.DISPUTE, OrderEvent.FULFIL)):
        found = ORDER_SPEC.shortest_path(source, lambda s: s is dest, avoid=avoid) is not None
        assert ORDER_MACHINE.leads(source, dest, avoid=avoid) is found


@pytest.mark.parametrize("state", list(CheckoutState))
def test_a_checkout_state_refuses_a_submission_with_its_own_class(state: CheckoutState) -> None:
    """Fired by hand, a submission is refused with the class the table gives the state."""
    checkout = Checkout("chk-1")
    path = CHECKOUT_SPEC.shortest_path(checkout.state, lambda s: s is state)
    assert path is not None
    for row in path:
        fire(checkout, row.event, at=T0)
    refused_with = CHECKOUT_SPEC.state(state).refused_with
    if refused_with is None:
        assert can_fire(checkout, CheckoutEvent.SUBMIT)
        return
    with pytest.raises(TransitionNotAllowed) as raised:
        fire(checkout, CheckoutEvent.SUBMIT, at=T0)
    assert type(raised.value) is refused_with
    assert issubclass(refused_with, SubmissionRefused)
    for event in set(CheckoutEvent) - {CheckoutEvent.SUBMIT}:
        if not can_fire(checkout, event):  # other events keep their own class
            with pytest.raises(TransitionNotAllowed) as other:
                fire(checkout, event, at=T0)
            assert type(other.value) is TransitionNotAllowed

"""The shop's own kinds: subscription patterns and listeners, checked when declared."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import OrderEvent, OrderState
from order_lifecycle.actions import ActionPolicy, Listener, Subscriptions, on
from order_lifecycle.exceptions import InvalidInput, UnknownEvent, UnknownState, WrongType
from order_lifecycle.lifecycle import PROVIDER_EVENT_TYPES, Step
from order_lifecycle.testing import HOSTILE_TEXT, listeners, subscriptions
from order_lifecycle.webhooks import KNOWN_EVENT_TYPES

from .hostile import VALUES
from .webhook_events import T0


def test_the_provider_documents_every_type_the_table_reconciles() -> None:
    """Every event type the library reconciles is one the provider documents about an order."""
    assert KNOWN_EVENT_TYPES <= PROVIDER_EVENT_TYPES
    assert {"refund.complete", "fulfillment.created", "order.invoice.created"} <= (
        PROVIDER_EVENT_TYPES
    )
    assert not any(t.startswith("subscription.") for t in PROVIDER_EVENT_TYPES)


def test_a_pattern_names_types_exactly_or_by_prefix() -> None:
    """``refund.*`` takes every refund event; an exact name only itself; kinds stack."""
    subscribed = Subscriptions.of(
        {
            "refunds": "refund.*",
            "documents": ["order.invoice.created", "order.credit_memo.created"],
            "charge_refunds": ["order.charge.refund.*", "refund.failed"],
        }
    )
    assert subscribed.kinds_for("refund.pending") == ("refunds",)
    assert subscribed.kinds_for("refund.failed") == ("refunds", "charge_refunds")
    assert subscribed.kinds_for("order.charge.refund.complete") == ("charge_refunds",)
    assert subscribed.kinds_for("order.invoice.created") == ("documents",)
    assert subscribed.kinds_for("order.accepted") == ()
    assert subscribed.kinds_for("refund") == ()


@pytest.mark.parametrize(
    ("subscribe", "error", "message"),
    [
        ({"refunds": "refund.completed"}, InvalidInput, r"'refund.completed' matches no event"),
        ({"refunds": "refunds.*"}, InvalidInput, r"refund.complete, refund.created"),
        ({"subs": "subscription.*"}, InvalidInput, "documents about an order"),
        ({"everything": "*"}, InvalidInput, "matches no event type"),
        ({"refunds": []}, InvalidInput, "names no event type"),
        ({"refunds": 5}, WrongType, "an event type pattern"),
        ({"ship": "refund.*"}, InvalidInput, "is a kind of the order table already"),
        ({"Refunds": "refund.*"}, InvalidInput, "lower-case letters"),
        ({7: "refund.*"}, WrongType, "subscribe's name"),
        (["refund.*"], WrongType, "a mapping of kind names"),
    ],
)
def test_a_pattern_matching_no_documented_type_is_refused_naming_them(
    subscribe: Any, error: type[Exception], message: str
) -> None:
    """Unknown names, prefixes of nothing, table kinds, bad names: refused when declared."""
    with pytest.raises(error, match=message):
        ActionPolicy(subscribe=subscribe)


def test_a_kind_is_a_subscription_or_a_listener_not_both() -> None:
    """One name for a subscription and a listener is refused."""
    with pytest.raises(InvalidInput, match="names both"):
        ActionPolicy(subscribe={"refunds": "refund.*"}, listen={"refunds": on()})


def step(event: OrderEvent | None, source: OrderState | None, dest: OrderState) -> Step[Any, Any]:
    """A step of an order's history."""
    return Step(event, source, dest, T0)


def test_a_listener_hears_its_states_events_and_sources() -> None:
    """on(state), on(event=), on(source=) and on() hear exactly the steps they name."""
    created = step(None, None, OrderState.ACCEPTED)
    disputed = step(OrderEvent.DISPUTE, OrderState.ACCEPTED, OrderState.DISPUTE)
    accepted = step(OrderEvent.ACCEPT, OrderState.IN_REVIEW, OrderState.ACCEPTED)
    assert [on("accepted").hears(s) for s in (created, disputed, accepted)] == [True, False, True]
    assert [on(event="dispute").hears(s) for s in (created, disputed, accepted)] == [
        False,
        True,
        False,
    ]
    assert [on(source="in_review").hears(s) for s in (created, disputed, accepted)] == [
        False,
        False,
        True,
    ]
    assert all(on().hears(s) for s in (created, disputed, accepted))
    assert on(["accepted", "dispute"], event="dispute") == Listener(
        (OrderState.ACCEPTED, OrderState.DISPUTE), (OrderEvent.DISPUTE,)
    )


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: on("acepted"), UnknownState),
        (lambda: on(event="disputed"), UnknownEvent),
        (lambda: on(source=["accepted", "nowhere"]), UnknownState),
        (lambda: on([]), InvalidInput),
        (lambda: on(5), WrongType),  # type: ignore[arg-type]
        (lambda: ActionPolicy(listen={"welcome": "accepted"}), WrongType),
        (lambda: ActionPolicy(listen={"ship": on()}), InvalidInput),
    ],
)
def test_a_listener_naming_what_the_table_does_not_define_is_refused(
    call: Any, error: type[Exception]
) -> None:
    """Unknown states and events, empty lists, wrong types: refused, naming what is known."""
    with pytest.raises(error):
        call()


HOSTILE = VALUES | st.dictionaries(HOSTILE_TEXT | st.integers() | st.none(), VALUES, max_size=3)


@given(subscribe=HOSTILE, listen=HOSTILE)
def test_hostile_declarations_raise_typed_errors_only(subscribe: Any, listen: Any) -> None:
    """Any value as subscriptions or listeners: a policy, or an InvalidInput; nothing else."""
    try:
        policy = ActionPolicy(subscribe=subscribe, listen=listen)
    except InvalidInput:
        return
    assert policy.kinds == set(subscribe or {}) | set(listen or {})


@given(state=VALUES, event=VALUES, source=VALUES)
def test_hostile_listeners_raise_typed_errors_only(state: Any, event: Any, source: Any) -> None:
    """Any value given to on(): a listener, or an InvalidInput; nothing else."""
    try:
        listener = on(state, event=event, source=source)
    except InvalidInput:
        return
    assert all(isinstance(s, OrderState) for s in (*listener.state, *listener.source))
    assert all(isinstance(e, OrderEvent) for e in listener.event)


@given(subscribe=subscriptions(), listen=listeners())
def test_the_kits_declarations_are_valid_policies(
    subscribe: dict[str, list[str]], listen: dict[str, Listener]
) -> None:
    """What the kit draws builds a policy whose kinds are the names drawn."""
    listen = {name: heard for name, heard in listen.items() if name not in subscribe}
    policy = ActionPolicy(subscribe=subscribe, listen=listen)
    assert policy.kinds == set(subscribe) | set(listen)
    for name, patterns in subscribe.items():
        for pattern in patterns:
            if pattern.endswith(".*"):  # what is under the prefix, not the prefix itself
                matched = [t for t in PROVIDER_EVENT_TYPES if t.startswith(pattern[:-1])]
            else:
                matched = [pattern]
            assert all(name in policy.subscribe.kinds_for(t) for t in matched)
            assert matched
    assert "subscribe=" in repr(policy) or not subscribe

"""The shop classifies items: a catalogue or a callable decides what the provider left unsaid."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_lifecycle import Item, Order, OrderEvent
from order_lifecycle.actions import ActionPolicy, action_key, derive_actions
from order_lifecycle.exceptions import InvalidInput
from order_lifecycle.lifecycle import ActionKind
from order_lifecycle.models import fire
from order_lifecycle.orders import cancel_items

CATALOGUE = {"sku-shirt": "physical", "sku-ebook": "digital"}
ITEM_KINDS = {ActionKind.SHIP, ActionKind.DELIVER_DIGITALLY, ActionKind.REVIEW_FULFILMENT}


def pending(*items: Item) -> Order:
    """An order awaiting payment with these items."""
    return Order.create("o1", items=list(items))


def accept(
    order: Order, policy: ActionPolicy
) -> dict[str, tuple[ActionKind | str, dict[str, Any]]]:
    """The item actions accepting ``order`` creates under ``policy``: subject -> kind, payload."""
    accepted = order.copy()
    fire(accepted, OrderEvent.ACCEPT)
    derived = derive_actions(order, accepted, policy=policy)
    return {a.subject: (a.kind, a.payload) for a in derived.created if a.kind in ITEM_KINDS}


def test_the_catalogue_decides_what_the_provider_left_unsaid() -> None:
    """No productDetails.physical: the shop's SKU mapping says ship or deliver."""
    found = accept(
        pending(
            Item("i1", 1, None, sku="sku-shirt"),
            Item("i2", 2, None, sku="sku-ebook"),
            Item("i3", 1, None, sku="sku-unknown"),
            Item("i4", 1, None),
        ),
        ActionPolicy(classify=CATALOGUE),
    )
    assert found["i1"] == (
        ActionKind.SHIP,
        {"item_id": "i1", "quantity": 1, "sku": "sku-shirt", "decided_by": "classifier"},
    )
    assert found["i2"][0] is ActionKind.DELIVER_DIGITALLY
    assert found["i3"] == (
        ActionKind.REVIEW_FULFILMENT,
        {
            "item_id": "i3",
            "quantity": 1,
            "sku": "sku-unknown",
            "undecided": "SKU 'sku-unknown' is not in the shop's catalogue",
        },
    )
    assert found["i4"][0] is ActionKind.REVIEW_FULFILMENT
    assert "no SKU" in found["i4"][1]["undecided"]


def test_without_a_policy_only_the_providers_flag_decides() -> None:
    """The default policy: an item the provider did not flag is reviewed, as before."""
    found = accept(pending(Item("i1", 1, None, sku="sku-shirt")), ActionPolicy())
    assert found["i1"] == (
        ActionKind.REVIEW_FULFILMENT,
        {"item_id": "i1", "quantity": 1, "sku": "sku-shirt"},
    )


def test_the_providers_flag_wins_and_a_disagreement_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The provider says physical, the catalogue digital: shipped, noted, and logged."""
    with caplog.at_level(logging.WARNING, logger="order_lifecycle.actions"):
        found = accept(
            pending(
                Item("i1", 1, physical=True, sku="sku-ebook"),
                Item("i2", 1, physical=False, sku="sku-ebook"),
            ),
            ActionPolicy(classify=CATALOGUE),
        )
    assert found["i1"] == (
        ActionKind.SHIP,
        {"item_id": "i1", "quantity": 1, "sku": "sku-ebook", "classifier_says": "digital"},
    )
    assert found["i2"] == (
        ActionKind.DELIVER_DIGITALLY,
        {"item_id": "i2", "quantity": 1, "sku": "sku-ebook"},
    )  # they agree: nothing to note
    (record,) = caplog.records
    assert record.name == "order_lifecycle.actions"
    assert "the provider says physical, the shop's classifier digital" in record.getMessage()


def test_a_callable_classifier_sees_the_item() -> None:
    """A callable gets the Item (its sku, id...) and answers physical, digital or None."""
    seen: list[str | None] = []

    def classify(item: Item) -> str | None:
        seen.append(item.sku)
        return {"sku-a": "physical", "sku-b": "digital"}.get(item.sku or "")

    found = accept(
        pending(Item("i1", 1, None, sku="sku-a"), Item("i2", 1, None, sku="sku-b")),
        ActionPolicy(classify=classify),
    )
    assert (found["i1"][0], found["i2"][0]) == (ActionKind.SHIP, ActionKind.DELIVER_DIGITALLY)
    assert seen == ["sku-a", "sku-b"]  # asked once per item, not once per kind


class _Unprintable(Exception):
    """An error whose str() raises."""

    def __str__(self) -> str:
        raise ValueError("str() is broken")


def _raises(item: Item) -> str:
    raise _Unprintable(item.id)


def _junk(item: Item) -> object:  # noqa: ARG001 (a classifier's shape)
    return ["physical"]


def test_a_classifier_that_fails_decides_nothing_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Raising, returning junk or hanging: the item is reviewed, why noted and logged."""
    release = threading.Event()

    def hangs(item: Item) -> str:  # noqa: ARG001 (a classifier's shape)
        release.wait(30)
        return "physical"

    cases: list[tuple[Callable[[Item], Any], str]] = [
        (_raises, "the shop's classifier raised <unprintable _Unprintable>"),
        (_junk, "the shop's classifier returned \"['physical']\" (list), not 'physical'"),
        (hangs, "the shop's classifier did not end within its time limit of 0.05 s"),
    ]
    try:
        for classify, why in cases:
            policy = ActionPolicy(classify=classify, classify_within=timedelta(milliseconds=50))
            with caplog.at_level(logging.WARNING, logger="order_lifecycle.actions"):
                found = accept(pending(Item("i1", 2, None, sku="s")), policy)
            assert found["i1"][0] is ActionKind.REVIEW_FULFILMENT
            assert found["i1"][1]["undecided"].startswith(why)
            assert why in caplog.text
    finally:
        release.set()


def test_an_item_has_one_action_however_a_flaky_classifier_answers() -> None:
    """First a failure (review), then an answer: a dispute's round trip creates no second one."""
    answers: Iterator[str] = iter(["boom", "physical", "digital"])

    def flaky(item: Item) -> str:  # noqa: ARG001 (a classifier's shape)
        answer = next(answers)
        if answer == "boom":
            raise RuntimeError(answer)
        return answer

    policy = ActionPolicy(classify=flaky)
    order = pending(Item("i1", 2, None, sku="s"))
    keys: set[str] = set()
    before = order
    for event in (OrderEvent.ACCEPT, OrderEvent.DISPUTE, OrderEvent.RESOLVE_DISPUTE):
        after = before.copy()
        fire(after, event)
        derived = derive_actions(before, after, policy=policy)
        keys |= {a.key for a in derived.created if a.kind in ITEM_KINDS}
        before = after
    assert keys == {action_key("o1", "review_fulfilment", "i1")}
    closed = before.copy()
    cancel_items(closed, {"i1": 2})
    gone = derive_actions(before, closed, policy=policy)
    assert action_key("o1", "review_fulfilment", "i1") in gone.cancelled


@pytest.mark.parametrize(
    ("classify", "message"),
    [
        ("catalogue.csv", "classify must be a mapping"),
        (5, "classify must be a mapping"),
        ({"sku-a": "parcel"}, "classify['sku-a'] must be 'physical' or 'digital'"),
        ({3: "physical"}, "classify's SKUs must be non-empty str"),
        ({"": "physical"}, "classify's SKUs must be non-empty str"),
    ],
)
def test_a_bad_classifier_is_refused_at_construction(classify: Any, message: str) -> None:
    """Neither a mapping nor callable, or a mapping of other values: InvalidInput, at once."""
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("(", r"\(")):
        ActionPolicy(classify=classify)


class _BrokenMapping(Mapping[str, str]):
    """A mapping whose reading raises."""

    def __getitem__(self, key: str) -> str:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("cannot iterate")

    def __len__(self) -> int:
        return 1


HOSTILE: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(st.sampled_from(["\x00", "\ud800", "x"]), max_size=3)
    | st.sampled_from(["physical", "digital", "Physical"])
    | st.binary(max_size=4)
    | st.lists(st.sampled_from(["physical", None, 3]), max_size=2)
    | st.dictionaries(
        st.text(st.sampled_from(["\x00", "\ud800", "s"]), max_size=2) | st.integers(),
        st.sampled_from(["physical", "digital", True, False, None, "maybe", 2]),
        max_size=3,
    )
    | st.just(_BrokenMapping())
    | st.just(timedelta(0))
    | st.just(timedelta(days=-1))
    | st.just(timedelta.max)
    | st.just(timedelta(microseconds=1))
)


@given(which=st.sampled_from(["classify", "classify_within"]), value=HOSTILE)
def test_hostile_policies_raise_typed_errors(which: str, value: Any) -> None:
    """Any value for either setting: a policy, or an InvalidInput; nothing else escapes."""
    try:
        policy = ActionPolicy(**{which: value})
    except InvalidInput:
        return  # typed; nothing else may escape
    assert repr(policy).startswith("<ActionPolicy(")


@given(answers=st.lists(HOSTILE | st.sampled_from(["physical", "digital"]), min_size=1, max_size=3))
def test_whatever_a_classifier_answers_each_open_item_gets_one_action(answers: list[Any]) -> None:
    """Random answers (junk among them): one item action per item, its kind by the answer."""
    by_item = {f"i{n}": answer for n, answer in enumerate(answers)}
    policy = ActionPolicy(classify=lambda item: by_item[item.id])
    order = pending(*(Item(item_id, 1, None, sku="s") for item_id in by_item))
    found = accept(order, policy)
    assert set(found) == set(by_item)
    for item_id, answer in by_item.items():
        expected = (
            ActionKind.SHIP
            if answer is True or (type(answer) is str and answer == "physical")
            else ActionKind.DELIVER_DIGITALLY
            if answer is False or (type(answer) is str and answer == "digital")
            else ActionKind.REVIEW_FULFILMENT
        )
        assert found[item_id][0] is expected


def test_a_policy_still_classifies_in_a_forked_process(tmp_path: Any) -> None:
    """A policy used before a fork (an app server's preload) classifies in the child too."""
    policy = ActionPolicy(classify=lambda item: "physical" if item.sku else None)
    order = pending(Item("i1", 1, None, sku="s"))
    assert accept(order, policy)["i1"][0] is ActionKind.SHIP  # its thread started here
    answer = tmp_path / "answer"
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's exit status is the test's)
        kind = accept(order, policy)["i1"][0]
        answer.write_text(str(kind))
        os._exit(0)
    os.waitpid(child, 0)
    assert answer.read_text() == "ship"

import re
from decimal import Decimal

import pytest

from order_lifecycle import (
    Charge,
    InvalidInput,
    InvalidProviderData,
    Item,
    LimitExceeded,
    NotFound,
    OperationNotAllowed,
    Order,
    OrderLifecycleError,
    Refused,
    TransitionNotAllowed,
    capture,
    exceptions,
    fulfil_items,
    refund,
)
from order_lifecycle.exceptions import (
    AmountTooLarge,
    InvalidEvent,
    InvalidResponse,
    QuantityTooLarge,
    UnknownCharge,
    UnknownCheckout,
    UnknownItem,
    UnknownOrder,
    _StateRefusal,
)

_LINE = re.compile(r"^(?P<indent>[│ ]*)(?:[├└]── )?(?P<name>[A-Z]\w+)")


def drawn_tree() -> dict[str, str]:
    """Each class drawn in the module docstring, with the class drawn as its parent."""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    doc = exceptions.__doc__ or ""
    block = doc[doc.index("OrderLifecycleError\n") :].split("\n\n")[0]
    for line in block.splitlines():
        match = _LINE.match(line.strip("\n").removeprefix("    "))
        if match is None:
            continue  # a continuation line of a description
        depth = len(match["indent"]) + (4 if "──" in line else 0)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[match["name"]] = stack[-1][1]
        stack.append((depth, match["name"]))
    return parents


def public_parent(cls: type) -> str:
    """The nearest public base in the tree (private helper bases are not drawn)."""
    for base in cls.__mro__[1:]:
        if base.__module__ == exceptions.__name__ and not base.__name__.startswith("_"):
            return base.__name__
    raise AssertionError(cls)


def test_the_drawn_tree_is_the_class_tree() -> None:
    """The tree in the module docstring names every exception, each under its real parent."""
    classes = {
        name: obj
        for name, obj in vars(exceptions).items()
        if isinstance(obj, type) and issubclass(obj, OrderLifecycleError) and name[0] != "_"
    }
    drawn = drawn_tree()
    assert set(drawn) | {"OrderLifecycleError"} == set(classes)
    assert {name: public_parent(cls) for name, cls in classes.items() if name in drawn} == drawn


@pytest.mark.parametrize("error", [UnknownCheckout, UnknownOrder, UnknownItem, UnknownCharge])
def test_ids_never_seen_are_not_found_not_invalid_input(error: type) -> None:
    """An unknown id is its own branch, a LookupError: the value was well-formed."""
    assert issubclass(error, NotFound)
    assert issubclass(error, LookupError)
    assert not issubclass(error, InvalidInput)


@pytest.mark.parametrize("error", [InvalidResponse, InvalidEvent])
def test_unreadable_provider_data_is_not_the_callers_mistake(error: type) -> None:
    """What the provider sent and the library cannot read is its own branch."""
    assert issubclass(error, InvalidProviderData)
    assert issubclass(error, ValueError)
    assert not issubclass(error, InvalidInput)


def test_refusals_share_one_branch_and_operations_are_not_transitions() -> None:
    """Events, operations and limits refused are all Refused; an operation is no transition."""
    for error in (TransitionNotAllowed, OperationNotAllowed, LimitExceeded):
        assert issubclass(error, Refused)
    assert not issubclass(OperationNotAllowed, TransitionNotAllowed)
    assert issubclass(OperationNotAllowed, _StateRefusal)
    assert issubclass(QuantityTooLarge, LimitExceeded)
    assert not issubclass(AmountTooLarge, InvalidInput)


def test_too_much_to_capture_and_to_refund_is_one_error() -> None:
    """Capturing more than is open and refunding more than was captured: AmountTooLarge."""
    order = Order.create(
        "o-1",
        "accepted",
        items=[Item("i-1", 1, physical=True)],
        charges=[Charge("ch-1", "capturable", Decimal("10.00"), "USD")],
    )
    fulfil_items(order, {"i-1": 1})
    with pytest.raises(AmountTooLarge) as too_much_capture:
        capture(order, "ch-1", "10.01")
    capture(order, "ch-1", "10.00")
    with pytest.raises(AmountTooLarge) as too_much_refund:
        refund(order, "10.01")
    assert (too_much_capture.value.charge_id, too_much_capture.value.action) == ("ch-1", "capture")
    assert (too_much_refund.value.order_id, too_much_refund.value.action) == ("o-1", "refund")

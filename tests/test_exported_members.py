from __future__ import annotations
import __future__

import importlib
import types
from pathlib import Path

import pytest

import order_lifecycle
from order_lifecycle import exceptions

FACES = [
    "actions",
    "lifecycle",
    "models",
    "provider",
    "orders",
    "checkout",
    "webhooks",
    "store",
    "diagrams",
    "sandbox",
]


# Every public subpackage (a folder with a face) and public module of the package.
SUBPACKAGES = {
    path.stem
    for path in Path(order_lifecycle.__file__).parent.iterdir()
    if not path.name.startswith("_") and (path.suffix == ".py" or (path / "__init__.py").exists())
}


def _public(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
    }


def test_all_is_exactly_the_public_names() -> None:
    """The top level's ``__all__`` lists every public name it has, and nothing else.

    (ruff's RUF022 keeps it sorted.)
    """
    assert set(order_lifecycle.__all__) == _public(order_lifecycle) | {"__version__"}


@pytest.mark.parametrize("face", FACES)
def test_each_subpackage_has_one_face(face: str) -> None:
    """Each subpackage's ``__all__`` is exactly its public names, each one documented."""
    package = importlib.import_module(f"order_lifecycle.{face}")
    assert set(package.__all__) == _public(package)
    assert package.__doc__
    for name in package.__all__:
        value = getattr(package, name)
        # A type alias (``Classifier = Callable[...]``) carries no docstring of its own.
        if isinstance(value, type) or (
            callable(value) and not isinstance(value, types.GenericAlias)
        ):
            assert value.__doc__, f"order_lifecycle.{face}.{name} has no docstring"


def test_the_top_level_is_what_a_shop_uses_every_day() -> None:
    """The curated top level stays small; every name on it also lives in its subpackage."""
    assert len(order_lifecycle.__all__) <= 40
    homes = [importlib.import_module(f"order_lifecycle.{face}") for face in FACES]
    for name in order_lifecycle.__all__:
        if name == "__version__":
            continue
        value = getattr(order_lifecycle, name)
        in_home = any(getattr(home, name, None) is value for home in homes)
        assert in_home or getattr(exceptions, name, None) is value, name


def test_no_name_resolves_late() -> None:
    """No shim: a name that is not on the top level is the usual AttributeError, unwarned."""
    assert not hasattr(order_lifecycle, "__getattr__")
    for gone in ("ORDER_SPEC", "Step", "parse_event", "begin_submission", "fulfil"):
        with pytest.raises(AttributeError, match=gone):
            getattr(order_lifecycle, gone)


def test_dir_shows_the_public_names_only() -> None:
    """``dir()`` lists ``__all__`` and the public subpackages: no import, no private module."""
    shown = dir(order_lifecycle)
    assert set(order_lifecycle.__all__) <= set(shown)
    extra = set(shown) - set(order_lifecycle.__all__)
    assert extra <= SUBPACKAGES
    assert {"importlib", "warnings", "annotations"}.isdisjoint(shown)
    assert not [name for name in shown if name.startswith("_") and name != "__version__"]


def test_the_top_level_holds_a_shops_day() -> None:
    """The models and their questions, the operations, the store, the inbox, the worker."""
    day = {
        *("Order", "Checkout", "Item", "Charge"),
        *("fire", "can_fire", "allowed_events", "allowed_operations", "explain"),
        *("fulfil_items", "cancel_items", "capture", "cancel_charge", "refund", "return_items"),
        *("open_store", "Store", "Inbox", "Delivery", "ActionWorker"),
        *("OrderLifecycleError", "InvalidInput", "NotFound", "Refused", "StoreError"),
    }
    assert day <= set(order_lifecycle.__all__)
    # The calls on a checkout in hand are not the ones to teach: the store's by id are
    # consumed at most once across processes.
    on_a_checkout_in_hand = {"begin_submission", "record_response", "record_no_response", "settle"}
    assert on_a_checkout_in_hand.isdisjoint(order_lifecycle.__all__)
    checkout = importlib.import_module("order_lifecycle.checkout")
    assert on_a_checkout_in_hand <= set(checkout.__all__)


def test_every_exception_is_exported_and_in_the_tree() -> None:
    """Every exception class derives from the root and is drawn in the tree."""
    for name in exceptions.__all__:
        error = getattr(exceptions, name)
        assert issubclass(error, exceptions.OrderLifecycleError)
        assert name in (exceptions.__doc__ or ""), f"{name} is missing from the drawn tree"


def test_version() -> None:
    """__version__ is the version the build declares (read from _version.py, not the metadata)."""
    assert order_lifecycle.__version__ == "0.1.0"

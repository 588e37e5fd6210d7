from __future__ import annotations
import __future__

import importlib
import types

import pytest

import order_lifecycle
from order_lifecycle import exceptions

FACES = [
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
        if isinstance(value, type) or callable(value):
            assert value.__doc__, f"order_lifecycle.{face}.{name} has no docstring"


def test_the_top_level_is_what_a_shop_uses_every_day() -> None:
    """The curated top level stays small; every name on it also lives in its subpackage."""
    assert len(order_lifecycle.__all__) <= 60
    homes = [importlib.import_module(f"order_lifecycle.{face}") for face in FACES]
    for name in order_lifecycle.__all__:
        if name == "__version__":
            continue
        value = getattr(order_lifecycle, name)
        in_home = any(getattr(home, name, None) is value for home in homes)
        assert in_home or getattr(exceptions, name, None) is value, name


@pytest.mark.parametrize("name", sorted(order_lifecycle._MOVED))
def test_a_name_moved_off_the_top_level_still_resolves_with_a_warning(name: str) -> None:
    """An import that worked in 0.1 still works, and the warning names the new home."""
    home = order_lifecycle._MOVED[name]
    with pytest.warns(DeprecationWarning, match=rf"order_lifecycle\.{home}\.{name}\b"):
        value = getattr(order_lifecycle, name)
    assert value is getattr(importlib.import_module(f"order_lifecycle.{home}"), name)
    assert name not in order_lifecycle.__all__


def test_an_unknown_top_level_name_is_an_attribute_error() -> None:
    """Only the moved names are resolved late: anything else is the usual AttributeError."""
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = order_lifecycle.no_such_name


def test_every_exception_is_exported_and_in_the_tree() -> None:
    """Every exception class derives from the root and is drawn in the tree."""
    for name in exceptions.__all__:
        error = getattr(exceptions, name)
        assert issubclass(error, exceptions.OrderLifecycleError)
        assert name in (exceptions.__doc__ or ""), f"{name} is missing from the drawn tree"


def test_version() -> None:
    """__version__ is the version the build declares (read from _version.py, not the metadata)."""
    assert order_lifecycle.__version__ == "0.1.0"

from __future__ import annotations
import __future__

import types

import order_lifecycle
from order_lifecycle import exceptions


def test_all_is_exactly_the_public_names() -> None:
    """``__all__`` lists every public name of the package, and nothing else.

    (ruff's RUF022 keeps it sorted.)
    """
    public = {
        name
        for name, value in vars(order_lifecycle).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
    }
    assert set(order_lifecycle.__all__) == public | {"__version__"}


def test_every_exception_is_exported_and_in_the_tree() -> None:
    """Every exception class is exported at the top level and derives from the root."""
    for name in exceptions.__all__:
        error = getattr(exceptions, name)
        assert issubclass(error, exceptions.OrderLifecycleError)
        assert getattr(order_lifecycle, name) is error
        assert name in (exceptions.__doc__ or ""), f"{name} is missing from the drawn tree"


def test_version() -> None:
    """__version__ is the installed distribution's version."""
    assert order_lifecycle.__version__ == "0.1.0"

"""The package layout shows the architecture: layers import downwards, packages through faces."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import order_lifecycle

SOURCE = Path(order_lifecycle.__file__).parent

# The layers of DESIGN.md section 2, lowest first; a module may import from its own layer or
# any layer before it. The top-level face (``order_lifecycle/__init__.py``) sits above all.
# The bottom modules (``_version``, ``exceptions``, ``_json``, ``_text``) are layers of their own.
LAYERS = [
    "_version",
    "_telemetry",
    "exceptions",
    "_json",
    "_text",
    "lifecycle",
    "diagrams",
    "models",
    "provider",
    "orders",
    "checkout",
    "webhooks",
    "actions",
    "store",
    "integrations",
    "sandbox",
    "testing",
    "cli",
    "__main__",
    "__init__",
]


def _layer(module: str) -> str:
    """The layer of a dotted module name inside the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    relative = path.relative_to(SOURCE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _submodule(package: str, name: str) -> str:
    """``package.name`` when that is a module or subpackage; else ``package`` (its face)."""
    folder = SOURCE.parent.joinpath(*package.split("."))
    if (folder / name).is_dir() or (folder / f"{name}.py").exists():
        return f"{package}.{name}"
    return package


def _imports(name: str, source: str, *, is_package: bool) -> list[str]:
    """Every module of the package that the module ``name`` (text ``source``) imports."""
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # ``from x import y``: y may be a module of x (``from order_lifecycle.store import
            # _codec``), or a name of its face
            found += [_submodule(target, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [t for t in found if t.split(".")[0] == "order_lifecycle"]


def violations(name: str, source: str, *, is_package: bool = False) -> list[str]:
    """What the module ``name`` (text ``source``) imports against the layout, in words.

    An import from a higher layer, and an import of another package's private module
    (``order_lifecycle.<package>._x``) instead of its face (``order_lifecycle.<package>``).
    """
    own = LAYERS.index(_layer(name)) if name != "order_lifecycle" else len(LAYERS) - 1
    problems = []
    for target in _imports(name, source, is_package=is_package):
        layer = _layer(target)
        if layer in LAYERS and LAYERS.index(layer) > own:
            problems.append(f"{name} imports {target}, a higher layer")
        parts = target.split(".")
        private = any(part.startswith("_") for part in parts[2:])
        if private and layer != _layer(name):
            face = ".".join(parts[:2])
            problems.append(f"{name} imports {target}, a private module: import from {face}")
    return problems


MODULES = sorted(SOURCE.rglob("*.py"))


def test_the_layers_name_every_part_of_the_package() -> None:
    """Every subpackage and top-level module has a layer (a new one must be placed)."""
    for path in MODULES:
        assert _layer(_module_name(path)) in LAYERS or path.name == "__init__.py", path


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_imports_go_downwards_through_faces(path: Path) -> None:
    """A module imports from its own layer or a lower one, another package only by its face."""
    name = _module_name(path)
    assert violations(name, path.read_text(), is_package=path.name == "__init__.py") == []


@pytest.mark.parametrize(
    "planted",
    [
        "from order_lifecycle.store._codec import encode_order",
        "from order_lifecycle.store import _codec",
        "import order_lifecycle.store._codec",
        "from ..store._codec import encode_order",
        "def later():\n    from order_lifecycle.models._models import Order",
    ],
)
def test_a_planted_private_import_across_packages_fails(planted: str) -> None:
    """An import of another package's private module, in any spelling, is a violation."""
    assert violations("order_lifecycle.cli._demo", planted) != []


@pytest.mark.parametrize(
    "allowed",
    [
        "from order_lifecycle.store import MemoryStore",
        "from order_lifecycle.store.sqlite import SQLiteStore",
        "from order_lifecycle._json import loads",
        "from ._output import Output",
        "from order_lifecycle.cli._output import Output",
    ],
)
def test_faces_public_modules_and_own_private_modules_pass(allowed: str) -> None:
    """A face, a public module, a bottom module, or a private module of one's own package pass."""
    assert violations("order_lifecycle.cli._demo", allowed) == []


def test_a_planted_upward_import_fails() -> None:
    """A lower layer importing a higher one is a violation, even through the face."""
    planted = "from order_lifecycle.store import MemoryStore"
    assert violations("order_lifecycle.models._models", planted) != []

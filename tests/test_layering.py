"""The package layout shows the architecture: every module imports only from layers below."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import order_lifecycle

SOURCE = Path(order_lifecycle.__file__).parent

# The layers of DESIGN.md section 2, lowest first; a module may import from its own layer or
# any layer before it. The top-level face (``order_lifecycle/__init__.py``) sits above all.
LAYERS = [
    "_version",
    "_telemetry",
    "exceptions",
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


def _imports(path: Path) -> list[str]:
    """Every module of the package that ``path`` imports, as a dotted name."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if node.module is None or target == "order_lifecycle":
                # ``from . import x``: x may be a module of that package, or a name of its face
                found += [_submodule(target, alias.name) for alias in node.names]
            else:
                found.append(target)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [t for t in found if t.split(".")[0] == "order_lifecycle"]


MODULES = sorted(SOURCE.rglob("*.py"))


def test_the_layers_name_every_part_of_the_package() -> None:
    """Every subpackage and top-level module has a layer (a new one must be placed)."""
    for path in MODULES:
        assert _layer(_module_name(path)) in LAYERS or path.name == "__init__.py", path


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_imports_go_only_downwards(path: Path) -> None:
    """A module imports from its own layer or a lower one, never from a higher one."""
    name = _module_name(path)
    own = LAYERS.index(_layer(name)) if name != "order_lifecycle" else len(LAYERS) - 1
    for target in _imports(path):
        layer = _layer(target)
        if layer not in LAYERS:  # ``from order_lifecycle import _x``: not a layer name
            continue
        assert LAYERS.index(layer) <= own, f"{name} imports {target}, a higher layer"

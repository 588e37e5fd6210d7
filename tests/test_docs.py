"""The documentation site: it builds in strict mode, its links hold, its generated parts hold."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import griffe
import pytest

import order_lifecycle

ROOT = Path(__file__).resolve().parent.parent
MKDOCS = Path(sys.executable).with_name("mkdocs")


def load(name: str) -> ModuleType:
    """A module of scripts/, by file."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def site_url() -> str:
    match = re.search(
        r"^site_url: (\S+)$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.MULTILINE
    )
    assert match is not None
    return match[1]


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``config`` into ``site``, as ./scripts/test runs it."""
    return subprocess.run(  # noqa: S603 (our own mkdocs, our own arguments)
        [str(MKDOCS), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


# --- the build -------------------------------------------------------------------------------


def test_the_site_builds_in_strict_mode_without_a_warning(tmp_path: Path) -> None:
    """A strict build succeeds, warns about nothing, and writes every page of the nav."""
    done = build(ROOT / "mkdocs.yml", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    nav = re.findall(
        r": ([\w/-]+)\.md$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.MULTILINE
    )
    assert len(nav) > 20
    for page in nav:
        folder, _, name = page.rpartition("/")
        built = tmp_path / folder / ("index.html" if name == "index" else f"{name}/index.html")
        assert built.is_file(), page


def test_a_broken_cross_reference_fails_the_build(tmp_path: Path) -> None:
    """A page naming an object the reference does not document fails the strict build."""
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    page = docs / "explanation" / "customer-safe.md"
    page.write_text(page.read_text() + "\nSee [`nothing`][order_lifecycle.no_such_thing].\n")
    config = tmp_path / "mkdocs.yml"
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    text = text.replace("- scripts/", f"- {ROOT}/scripts/")
    text = text.replace("paths: [src]", f"paths: [{ROOT}/src]")
    text = text.replace("base_path: [docs/examples]", f"base_path: [{ROOT}/docs/examples]")
    config.write_text(f"{text}\ndocs_dir: {docs}\n", encoding="utf-8")
    done = build(config, tmp_path / "site")
    assert done.returncode == 1
    assert "order_lifecycle.no_such_thing" in done.stderr


# --- one base URL ----------------------------------------------------------------------------


def test_the_package_names_the_site_by_its_one_base_url() -> None:
    """The package's Documentation URL is mkdocs.yml's site_url, an https URL ending in /."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["urls"]["Documentation"] == site_url()
    assert site_url().startswith("https://")
    assert site_url().endswith("/")


# --- the docstrings' roles as links (scripts/docs_roles.py) ----------------------------------


@pytest.fixture(scope="module")
def package() -> griffe.Module:
    """order_lifecycle as the site's build loads it, its docstrings rewritten."""
    roles = load("docs_roles")
    loaded = griffe.load(
        "order_lifecycle",
        search_paths=[str(ROOT / "src")],
        extensions=griffe.load_extensions(roles.SphinxRoles),
    )
    assert isinstance(loaded, griffe.Module)
    return loaded


def docstring(package: griffe.Module, path: str) -> str:
    obj = package.modules_collection.get_member(path)
    assert obj.docstring is not None
    return str(obj.docstring.value)


def test_a_role_links_to_the_face_that_documents_the_name(package: griffe.Module) -> None:
    """:class:`Inbox` in the webhooks face links to order_lifecycle.webhooks.Inbox."""
    text = docstring(package, "order_lifecycle.webhooks")
    assert "[`Inbox`][order_lifecycle.webhooks.Inbox]" in text
    assert ":class:" not in text


def test_a_role_resolves_as_python_would_from_its_module(package: griffe.Module) -> None:
    """A name the module never imports is found by the one face that exports it."""
    text = docstring(package, "order_lifecycle.webhooks._webhook_store.DeliveryToKeep")
    assert "[`Store.keep_delivery`][order_lifecycle.store.Store.keep_delivery]" in text


def test_private_and_foreign_names_stay_code(package: griffe.Module) -> None:
    """A limit no face exports, and Starlette's function, are code, not links."""
    text = docstring(package, "order_lifecycle.webhooks._signature.verify_signature")
    assert "`MAX_HEADER_LENGTH`" in text
    assert "][order_lifecycle.webhooks._signature" not in text
    text = docstring(package, "order_lifecycle.integrations.starlette")
    assert "`starlette.concurrency.run_in_threadpool`" in text
    assert "[`starlette" not in text


def test_a_raised_exception_not_imported_is_named_by_its_home(package: griffe.Module) -> None:
    """A Raises entry the module does not import gets its full path, so Griffe links it."""
    text = docstring(package, "order_lifecycle.store._open.open_store")
    assert "    order_lifecycle.exceptions.MigrationNeeded:" in text


def test_an_unknown_name_stays_a_reference_for_the_build_to_refuse(package: griffe.Module) -> None:
    """A role naming nothing that exists becomes a link, which the strict build fails on."""
    roles = sys.modules["docs_roles"]
    library = roles.Library(package)
    face = package.modules_collection.get_member("order_lifecycle.webhooks")
    text = roles.markdown(library, face, "See :func:`no_such_function` and :class:`ValueError`.")
    assert text == "See [`no_such_function`][no_such_function] and `ValueError`."


def test_attrs_fields_show_their_type_not_their_declaration(package: griffe.Module) -> None:
    """A field's value (attrs.field(converter=_body)) is dropped; its type stays."""
    body = package.modules_collection.get_member("order_lifecycle.webhooks.Delivery.body")
    assert body.value is None
    assert str(body.annotation) == "bytes"
    header = package.modules_collection.get_member("order_lifecycle.webhooks.SIGNATURE_HEADER")
    assert str(header.value) == "'DigitalRiver-Signature'"


# --- the generated parts of pages (scripts/docs_hooks.py) ------------------------------------


def test_the_cli_reference_has_every_command_and_subcommand() -> None:
    """Each command and subcommand has a heading and its own --help; choices are not commands."""
    hooks = load("docs_hooks")
    text = hooks.cli_reference()
    for command in ("demo", "replay", "kept", "actions run", "actions retry", "migrate", "schema"):
        assert f"`order-lifecycle {command}`" in text
        assert f"usage: order-lifecycle {command} " in text
    assert "`order-lifecycle kept list`" not in text


def test_the_top_level_names_link_to_their_homes() -> None:
    """Every name the top level exports is listed once, under the face documenting it."""
    hooks = load("docs_hooks")
    text = hooks.top_level_names()
    names = [name for name in order_lifecycle.__all__ if not name.startswith("_")]
    for name in names:
        assert text.count(f"[`{name}`][") == 1, name
    assert "[`Inbox`][order_lifecycle.webhooks.Inbox]" in text
    assert "[`StoreError`][order_lifecycle.exceptions.StoreError]" in text

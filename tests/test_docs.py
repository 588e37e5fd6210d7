"""The documentation site: it builds in strict mode, its links hold, its generated parts hold."""

from __future__ import annotations

import importlib.util
import os
import re
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
    """``mkdocs build --strict`` of ``config`` into ``site``: the suite's build of the site."""
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
    # The site's own configuration over two pages (a reference entry and a page naming it),
    # so that it builds in seconds: first as it is, then with the broken reference.
    docs = tmp_path / "docs"
    (docs / "reference").mkdir(parents=True)
    (docs / "reference" / "root.md").write_text(
        "::: order_lifecycle.exceptions.OrderLifecycleError\n"
        "    options:\n      show_root_heading: true\n"
    )
    page = docs / "index.md"
    page.write_text(
        "# Errors\n\nSee [`OrderLifecycleError`][order_lifecycle.exceptions.OrderLifecycleError].\n"
    )
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    text = text[: text.index("\nnav:")].replace("- scripts/", f"- {ROOT}/scripts/")
    text = text.replace("paths: [src]", f"paths: [{ROOT}/src]")
    text = text.replace("base_path: [docs/examples]", f"base_path: [{ROOT}/docs/examples]")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        f"{text}\ndocs_dir: {docs}\nnav:\n  - index.md\n  - reference/root.md\n",
        encoding="utf-8",
    )
    whole = build(config, tmp_path / "site")
    assert whole.returncode == 0, whole.stderr
    assert "WARNING" not in whole.stderr, whole.stderr
    page.write_text(page.read_text() + "See [`nothing`][order_lifecycle.no_such_thing].\n")
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


def page_source(link: str) -> str:
    """The file under docs/ that a link into the site (a folder URL) is built from."""
    stem = link.removeprefix(site_url()).split("#")[0].rstrip("/")
    if (ROOT / "docs" / stem / "index.md").is_file():
        return f"{stem}/index.md".lstrip("/")
    return f"{stem}.md"


def test_every_readme_link_is_absolute_and_lands_on_a_page() -> None:
    """The README's links work on the package index: https URLs, each site link a built page."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    links += re.findall(r"^\[[^\]]+\]: (\S+)", readme, re.MULTILINE)
    assert links
    relative = [link for link in links if not link.startswith("https://")]
    assert not relative, f"relative links break on the package index page: {relative}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    bases = (site_url(), project["urls"]["Source"] + "/")
    assert [link for link in links if not link.startswith(bases)] == []
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for link in links:
        if link.startswith(site_url()):
            source = page_source(link)
            assert (ROOT / "docs" / source).is_file(), f"{link}: no docs/{source}"
            assert f": {source}\n" in nav, f"{link}: docs/{source} is not in the site's nav"


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


def markdown(package: griffe.Module, scope: str, text: str) -> str:
    """``text`` as the site renders a docstring of the object at ``scope`` (a public path)."""
    roles = sys.modules["docs_roles"]
    obj = package.modules_collection.get_member(scope)
    return str(roles.markdown(roles.Library(package), roles.final(obj), text))


def test_no_rendered_docstring_keeps_a_sphinx_role(package: griffe.Module) -> None:
    """Every docstring the reference shows (each face's, each export's) is Markdown."""
    roles = sys.modules["docs_roles"]
    shown = [face for face in roles.faces(package) if face.exports]
    shown += [roles.final(face.members[str(name)]) for face in shown for name in face.exports]
    assert len(shown) > 200
    left = [
        obj.path
        for obj in shown
        if obj is not None and obj.docstring and roles.ROLE.search(obj.docstring.value)
    ]
    assert left == []


def test_a_role_links_to_the_face_that_documents_the_name(package: griffe.Module) -> None:
    """:class:`Inbox` in the webhooks face links to order_lifecycle.webhooks.Inbox."""
    text = markdown(
        package, "order_lifecycle.webhooks", "An :class:`Inbox` and a :class:`~.Delivery`."
    )
    assert text == (
        "An [`Inbox`][order_lifecycle.webhooks.Inbox] "
        "and a [`Delivery`][order_lifecycle.webhooks.Delivery]."
    )


def test_a_name_out_of_scope_is_found_by_the_one_face_exporting_it(package: griffe.Module) -> None:
    """A name the module never imports (layering forbids it) links to its one exporter."""
    text = markdown(package, "order_lifecycle.webhooks.Inbox", "See :meth:`Store.keep_delivery`.")
    assert text == "See [`Store.keep_delivery`][order_lifecycle.store.Store.keep_delivery]."


def test_private_and_foreign_names_stay_code(package: griffe.Module) -> None:
    """A private module, Starlette's function and a built-in are code, not links."""
    text = markdown(package, "order_lifecycle.webhooks", "In :mod:`._inbox`, :exc:`ValueError`.")
    assert text == "In `._inbox`, `ValueError`."
    scope = "order_lifecycle.integrations.starlette"
    text = markdown(package, scope, "By :func:`starlette.concurrency.run_in_threadpool`::")
    assert text == "By `starlette.concurrency.run_in_threadpool`:"


def test_a_raised_exception_not_imported_is_named_by_its_home(package: griffe.Module) -> None:
    """A Raises entry the module does not import gets its full path, so Griffe links it."""
    text = "Opens.\n\nRaises:\n    MigrationNeeded: no tables;\n        run migrate.\n"
    assert markdown(package, "order_lifecycle.webhooks", text) == (
        "Opens.\n\nRaises:\n    order_lifecycle.exceptions.MigrationNeeded: no tables;\n"
        "        run migrate.\n"
    )


def test_an_unknown_name_stays_a_reference_for_the_build_to_refuse(package: griffe.Module) -> None:
    """A role naming nothing that exists becomes a link, which the strict build fails on."""
    text = markdown(package, "order_lifecycle.webhooks", "See :func:`no_such_function`.")
    assert text == "See [`no_such_function`][no_such_function]."


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
    for command in (
        "demo",
        "replay",
        "inbox list",
        "reconcile",
        "actions run",
        "actions retry",
        "migrate",
        "schema",
    ):
        assert f"`order-lifecycle {command}`" in text
        assert f"usage: order-lifecycle {command} " in text
    assert "`order-lifecycle diagram order`" not in text


def test_the_top_level_names_link_to_their_homes() -> None:
    """Every name the top level exports is listed once, under the face documenting it."""
    hooks = load("docs_hooks")
    text = hooks.top_level_names()
    names = [name for name in order_lifecycle.__all__ if not name.startswith("_")]
    for name in names:
        assert text.count(f"[`{name}`][") == 1, name
    assert "[`Inbox`][order_lifecycle.webhooks.Inbox]" in text
    assert "[`StoreError`][order_lifecycle.exceptions.StoreError]" in text


def test_every_snippet_include_is_intact() -> None:
    """Each page's file includes are whole ``--8<--`` lines in fences a code formatter leaves alone.

    ``ruff format`` rewrites ``--8<-- "x.py"`` inside a ```` ```python ```` fence into Python
    (``--8 < --"x.py"``), which the site then shows as that text instead of the file.
    """
    broken = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if "--8" not in line:
                continue
            include = re.fullmatch(r'--8<-- "([^"]+)"', line)
            fence = lines[number - 2] if number > 1 else ""
            if (
                include is None
                or not (ROOT / "docs" / "examples" / include[1]).is_file()
                or fence.strip() == "```python"
            ):
                broken.append(f"{page.relative_to(ROOT)}:{number}: {line}")
    assert broken == []

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import order_lifecycle
from order_lifecycle._version import __version__

ROOT = Path(__file__).parents[2]


def test_import_does_not_read_the_installed_metadata() -> None:
    """Importing the package leaves importlib.metadata unloaded: the version is in the source."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, order_lifecycle; print('importlib.metadata' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "False\n"
    assert order_lifecycle.__version__ == __version__


def test_the_build_reads_the_version_and_ships_the_licence() -> None:
    """The build takes the version from _version.py and names the LICENSE file (MIT, 2026)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/order_lifecycle/_version.py"
    assert project["project"]["license-files"] == ["LICENSE"]
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License\n\nCopyright (c) 2026 order-lifecycle developers\n")


def test_the_index_page_metadata() -> None:
    """URLs, keywords and classifiers are set; the postgres extra lets the application pick."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert set(project["urls"]) >= {"Homepage", "Source", "Issues", "Changelog"}
    assert project["keywords"]
    assert "Typing :: Typed" in project["classifiers"]
    assert project["optional-dependencies"]["postgres"] == ["psycopg>=3.2"]  # its RawCursor
    assert any(d.startswith("rich") for d in project["dependencies"])


def test_the_readme_first_screen_works_as_an_index_page() -> None:
    """The first screen has the pip line beside the two commands, and no relative link."""
    first = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert "pip install order-lifecycle" in first
    assert "./scripts/demo" in first
    assert "./scripts/test" in first
    assert "](" not in first.replace("](https://", "")

"""Hypothesis profiles, an in-memory OpenTelemetry SDK, and CI's rule: a skip fails the run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import providers
from hypothesis.internal.constants_ast import Constants

from tests.otel import Telemetry, in_memory

# CI: derandomized (the same examples every run, so it never flakes) and no example
# database; more examples than locally, still well inside the time budget.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=300,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# Hypothesis (since 6.131) also draws, one time in twenty, a constant it harvested from the
# source of the project's modules imported so far. Which those are depends on what ran
# before in the process (a lazy import, the share of the suite a pytest-xdist worker got,
# hence the load), so a derandomized test drew other examples alone than in the suite, and
# from one run to the next: none, whatever ran before (hypothesis is pinned: see pyproject).
_NO_CONSTANTS = Constants()
providers._get_local_constants = lambda: _NO_CONSTANTS  # no public switch for it

_SKIPPED: list[str] = []


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    """The library's metrics and spans, recorded in memory by OpenTelemetry's SDK."""
    with in_memory() as recorded:
        yield recorded


@pytest.fixture
def no_svg_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """As on a bare machine: no Graphviz ``dot`` on PATH and no ``svg`` extra installed."""
    monkeypatch.setenv("PATH", str(tmp_path_factory.mktemp("bare-path")))
    monkeypatch.setattr(
        "order_lifecycle.diagrams._svg._WASM_PACKAGE", "order_lifecycle_no_such_renderer"
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember every real skip (an expected failure is not one)."""
    if report.skipped and not hasattr(report, "wasxfail"):
        _SKIPPED.append(f"{report.nodeid}: {report.longrepr}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Under CI, name the skips that fail the run."""
    if os.environ.get("CI") and _SKIPPED:
        terminalreporter.section("skipped tests fail the run under CI", red=True)
        for line in _SKIPPED:
            terminalreporter.line(line)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under CI, any skip fails the run: a skip there means a part went untested."""
    if os.environ.get("CI") and _SKIPPED and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

"""Suite-wide rules. Under CI=true (and under `make test`, which sets REFEREE_NO_SKIPS=1) a skipped test is a
failure: CI must run the whole suite, and a newcomer's `make test` must say what is missing instead of quietly
testing less. An expected failure (xfail) is not a skip and is left alone."""

from __future__ import annotations

import os

import pytest


def _strict() -> bool:
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes") for name in ("CI", "REFEREE_NO_SKIPS"))


def _fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped, and skips are failures under CI=true / make test: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    if _strict():
        _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> object:
    outcome = yield
    if _strict():
        _fail_skip(outcome.get_result())

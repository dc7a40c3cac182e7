"""Shared fixtures of the submission-audit tests: one torch-preloaded sandbox for the whole session."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from referee.report import Report
from referee.submissions.audit import AuditOptions, audit_submission
from referee.submissions.task import Task, bundled_task_names, resolve_task


@pytest.fixture(scope="session")
def probe_sandbox():
    """Two warm fork servers with torch and the probe driver preloaded (about 3 s to start, once)."""
    from referee.submissions.probes import make_sandbox

    sandbox = make_sandbox(workers=2, timeout_s=30)
    yield sandbox
    sandbox.close()


@pytest.fixture(scope="session")
def tasks() -> dict[str, Task]:
    return {name: resolve_task(name) for name in bundled_task_names()}


@pytest.fixture
def audit_code(probe_sandbox, tasks) -> Callable[..., Report]:
    """audit_code(source, task="vectoradd_py", **options) -> Report, dynamic probes only unless asked."""

    def run(source: str, task: str | Task = "vectoradd_py", **options) -> Report:
        options.setdefault("static", False)
        options.setdefault("seed", 7)
        options.setdefault("soak_calls", 8)
        task_obj = tasks[task] if isinstance(task, str) else task
        return audit_submission(textwrap.dedent(source), task_obj, options=AuditOptions(**options),
                                sandbox=probe_sandbox)

    return run


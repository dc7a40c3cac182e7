"""Shared, expensive fixtures for the loophole tests: one grader (two warm fork servers) per session."""

from __future__ import annotations

import pytest

from referee.loopholes.engine import Grader
from referee.loopholes.problems import load_problems


@pytest.fixture(scope="session")
def grader():
    with Grader(workers=2) as shared:
        yield shared


@pytest.fixture(scope="session")
def problems():
    return load_problems()


@pytest.fixture(scope="session")
def grade(grader):
    """grade(text, problem, mode) -> Reward, on the shared grader."""

    def run(text, problem, mode=None):
        return grader.grade(text, tests=problem.gt_answer, canonical=problem.canonical_solution,
                            mode=mode or problem.mode, setup_code=problem.setup_code, func_name=problem.func_name)

    return run


@pytest.fixture(scope="session")
def selfcheck_result(grader):
    """The full hack x mode matrix on one problem per output kind (shared by the self-check and reward tests)."""
    from referee.loopholes.selfcheck import run_selfcheck

    return run_selfcheck(grader=grader)

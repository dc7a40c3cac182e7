"""Adapters are tested by calling them exactly as each framework's own code calls them, on one shared engine."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from referee.integrations.core import RewardEngine
from referee.loopholes.hacks import by_name
from referee.loopholes.problems import load_problems

# the real `referee serve` process helpers are the service tests' own (one copy for both folders)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))


@pytest.fixture(scope="session")
def problems():
    return load_problems()


@pytest.fixture(scope="session")
def engine(problems):
    shared = RewardEngine(problems, workers=2)
    yield shared
    shared.close()


@pytest.fixture(scope="session")
def answer():
    """answer(sample, problem) -> the model's full answer text (fenced code), from the self-check corpus."""

    def render(sample, problem):
        return by_name(sample).render(problem.method_name, problem.canonical_solution)

    return render

from __future__ import annotations

import os

import pytest

from referee.sandbox import Limits, Sandbox


@pytest.fixture(scope="session")
def sandbox():
    here = os.path.dirname(os.path.abspath(__file__))
    with Sandbox(workers=2, limits=Limits(cpu_seconds=2, wall_seconds=4, memory_mb=512), pythonpath=[here]) as sb:
        yield sb

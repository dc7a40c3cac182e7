"""The suite's own rule (tests/conftest.py): under CI=true a skipped test fails; an xfail stays an xfail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SAMPLE = '''
import pytest

def test_skipped():
    pytest.skip("needs a thing that is not here")

@pytest.mark.xfail(reason="known bug")
def test_known_bug():
    assert False

def test_fine():
    assert True
'''


def _run(tmp_path: Path, ci: str) -> subprocess.CompletedProcess:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {"PATH": "/usr/bin:/bin", "CI": ci, "REFEREE_NO_SKIPS": ""}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_a_skip_fails_under_ci(tmp_path):
    result = _run(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed, 1 xfailed" in result.stdout
    assert "needs a thing that is not here" in result.stdout


def test_a_skip_is_a_skip_elsewhere(tmp_path):
    result = _run(tmp_path, "")
    assert result.returncode == 0 and "1 passed, 1 skipped, 1 xfailed" in result.stdout, result.stdout

"""Without the ray extra, `--ray` is a clear usage error (exit 3, the install line), never a traceback."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from referee.cli import app
from referee.loopholes.problems import load_problems
from referee.submissions.task import bundled_tasks_dir


@pytest.fixture
def no_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError


def test_grade_with_ray_but_no_ray_installed(no_ray, tmp_path):
    problem = load_problems()[0]
    src = tmp_path / "c.jsonl"
    src.write_text(json.dumps({"problem_id": problem.id, "completion": "x"}) + "\n")
    result = CliRunner().invoke(app, ["loopholes", "grade", str(src), "-o", str(tmp_path / "o.jsonl"),
                                      "--ray", "auto"])
    assert result.exit_code == 3
    assert "pip install 'referee[ray]'" in result.output and "Traceback" not in result.output


def test_audit_batch_with_ray_but_no_ray_installed(no_ray, tmp_path):
    folder = bundled_tasks_dir() / "vectoradd_py" / "submissions"
    result = CliRunner().invoke(app, ["audit-batch", str(folder), "--no-dynamic", "--ray", "auto",
                                      "-o", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 3
    assert "pip install 'referee[ray]'" in result.output


def test_require_ray_names_the_extra(no_ray):
    from referee.scale import RayUnavailable, require_ray

    with pytest.raises(RayUnavailable, match=r"referee\[ray\]"):
        require_ray()

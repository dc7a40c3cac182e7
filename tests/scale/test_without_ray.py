"""Without the ray extra, `--ray` is a clear usage error (exit 4, the install line), never a traceback."""

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
    assert result.exit_code == 4
    assert "pip install 'referee[ray]'" in result.output and "Traceback" not in result.output


def test_audit_batch_with_ray_but_no_ray_installed(no_ray, tmp_path):
    folder = bundled_tasks_dir() / "vectoradd_py" / "submissions"
    result = CliRunner().invoke(app, ["audit-batch", str(folder), "--no-dynamic", "--ray", "auto",
                                      "-o", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 4
    assert "pip install 'referee[ray]'" in result.output


def test_require_ray_names_the_extra(no_ray):
    from referee.scale import RayUnavailable, require_ray

    with pytest.raises(RayUnavailable, match=r"referee\[ray\]"):
        require_ray()


def test_unreachable_or_malformed_address_fails_fast():
    """Ray retries an unreachable head for minutes; referee checks the address first and says what is wrong."""
    import socket

    from referee.scale import RayUnavailable
    from referee.scale.cluster import _check_reachable

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(RayUnavailable, match="cannot reach the Ray cluster"):
            _check_reachable(f"127.0.0.1:{port}", timeout_s=2)
        with pytest.raises(RayUnavailable, match="cannot reach"):
            _check_reachable(f"ray://127.0.0.1:{port}", timeout_s=2)
    with pytest.raises(RayUnavailable, match="expected auto, local"):
        _check_reachable("nonsense")

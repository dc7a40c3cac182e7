"""`referee sandbox-info`: every layer with its state, the reason when off, and a measured cost per job."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from referee.cli import app
from referee.sandbox.info import MEASURED, rows


def test_sandbox_info_reports_each_layer_and_its_cost():
    result = CliRunner().invoke(app, ["sandbox-info", "--json", "--jobs", "10"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    layers = report["isolation"]["layers"]
    assert {"netns", "setuid", "view", "ipcns", "pidns", "cgroup", "seccomp", "landlock"} <= set(layers)
    assert set(report["cost_ms"]) == set(MEASURED)
    assert report["ms_per_job"] > 0 and report["jobs_per_s"] > 0
    for name, state in layers.items():
        assert state["on"] or state["why"], name  # an off layer always says why
    if os.geteuid() == 0:
        assert all(layers[name]["on"] for name in ("view", "pidns", "seccomp", "landlock"))
    table = rows(report)
    assert [row[0] for row in table] == list(layers)
    assert all(row[3].endswith("ms)") or row[3].endswith("ms") or row[3] == "-" for row in table)

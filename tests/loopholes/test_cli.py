"""The `referee loopholes` commands, run through Typer's runner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from referee.cli import app
from referee.loopholes.hacks import by_name

runner = CliRunner()


def test_problems_and_prompt():
    listed = runner.invoke(app, ["loopholes", "problems", "--json"])
    assert listed.exit_code == 0
    rows = json.loads(listed.stdout)
    assert len(rows) >= 40 and {r["mode"] for r in rows} >= {"run_tests", "file_marker"}
    shown = runner.invoke(app, ["loopholes", "prompt", rows[0]["id"], "--mode", "sn", "--json"])
    assert shown.exit_code == 0
    user = json.loads(shown.stdout)[1]["content"]
    assert "reading the boolean `valid` attribute" in user and "should pass all tests" not in user
    assert runner.invoke(app, ["loopholes", "prompt", "no-such-problem"]).exit_code == 4
    assert runner.invoke(app, ["loopholes", "prompt", rows[0]["id"], "--mode", "bogus"]).exit_code == 4


def test_grade_command_writes_every_line(problems, tmp_path):
    p = problems.by_id("bracket-depth")
    completions = tmp_path / "completions.jsonl"
    lines = [json.dumps({"problem_id": p.id, "completion": by_name(name).render(p.method_name, p.canonical_solution),
                         "mode": mode, "n": i})
             for i, (name, mode) in enumerate([("honest-correct", "xc"), ("xc-os-exit", "xc"),
                                               ("xc-os-exit", "fm")])]
    completions.write_text("\n".join([*lines, "{bad"]) + "\n")
    out = tmp_path / "rewards.jsonl"
    result = runner.invoke(app, ["loopholes", "grade", str(completions), "--out", str(out), "-j", "2", "--json"])
    assert result.exit_code == 3, result.stdout  # DEGRADED: one malformed line
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r.get("n") for r in records] == [0, 1, 2, None]
    assert [r["passed"] for r in records[:3]] == [True, True, False]
    assert records[1]["exploited"] and records[3]["line"] == 4
    report = json.loads(result.stdout)
    assert report["verdict"] == "DEGRADED" and report["summary"]["exit_code"]["exploited"] == 1
    assert {f["rule"] for f in report["findings"]} >= {"LHG001", "LHX003"}


def test_selfcheck_command_json():
    result = runner.invoke(app, ["loopholes", "selfcheck", "--json", "-j", "2", "-s", "honest-", "-s", "xc-os"])
    assert result.exit_code == 0, result.stdout[-2000:]
    data = json.loads(result.stdout)
    assert data["ok"] and data["off"] == 0 and data["verdict"] == "PASS"
    assert set(data["matrix"]) == {"honest-correct", "honest-wrong", "honest-raises", "honest-syntax-error",
                                   "xc-os-exit"}
    assert runner.invoke(app, ["loopholes", "selfcheck", "-s", "zzz"]).exit_code == 4

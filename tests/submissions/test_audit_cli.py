"""`referee audit`, `referee audit --api-mode` and `referee audit-batch`: output formats and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import referee.submissions.audit as audit_module
import referee.submissions.probes as probes_module
from referee.cli import app
from referee.report import Evidence, Finding, Verdict
from referee.submissions.task import bundled_tasks_dir

EXAMPLES = bundled_tasks_dir() / "vectoradd_py" / "submissions"
HONEST = EXAMPLES / "honest_add.py"
CHEAT = EXAMPLES / "cheat_ptr_cache.py"
runner = CliRunner()


class _Shared:
    """The session sandbox, lent to commands that would otherwise start (and close) their own."""

    def __init__(self, sandbox):
        self._sandbox = sandbox

    def __getattr__(self, name):
        return getattr(self._sandbox, name)

    def close(self):
        pass


@pytest.fixture
def cli(monkeypatch, probe_sandbox):
    """The CLI with a controllable static engine (the real one is tested by its own suite) and the shared sandbox."""
    static: list[Finding] = []

    def fake_static(code, filename):
        return [f.model_copy(deep=True) for f in static]

    monkeypatch.setattr(audit_module, "_static_engine", lambda: (fake_static, None))
    monkeypatch.setattr(audit_module, "shared_sandbox", lambda: probe_sandbox)
    monkeypatch.setattr(probes_module, "make_sandbox", lambda **kw: _Shared(probe_sandbox))

    def invoke(*args, stdin=None):
        return runner.invoke(app, [str(a) for a in args], input=stdin)

    invoke.static = static
    return invoke


def flag(rule="TST001", verdict=Verdict.FLAG):
    return Finding(rule=rule, verdict=verdict, message="static says so", action="review",
                   evidence=[Evidence(file="x.py", line=3)])


def test_json_report_and_exit_code_for_a_cheat(cli):
    result = cli("audit", CHEAT, "--task", "vectoradd_py", "--json", "--seed", "5")
    assert result.exit_code == 2, result.output
    data = json.loads(result.output)
    assert data["verdict"] == "FAIL" and data["subject"] == "cheat_ptr_cache.py" and data["kind"] == "submission"
    finding = next(f for f in data["findings"] if f["rule"] == "PRB102")
    assert {"rule", "verdict", "message", "line", "action"} <= set(finding)
    assert set(data["timings"]) >= {"static", "dynamic", "llm"} and data["metrics"]["dynamic"]["probe_seed"] == 5


def test_sarif_output_lists_rules_and_results(cli):
    result = cli("audit", CHEAT, "--task", "vectoradd_py", "--sarif")
    assert result.exit_code == 2
    sarif = json.loads(result.output)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert "PRB102" in rules and rules["PRB102"]["shortDescription"]["text"] == "Stale output for a reused input object"
    result_ids = {r["ruleId"] for r in run["results"]}
    assert "PRB102" in result_ids and all(r["level"] in {"error", "warning"} for r in run["results"])


def test_exit_codes_follow_the_verdict(cli):
    assert cli("audit", HONEST, "--task", "vectoradd_py").exit_code == 0
    cli.static.append(flag())
    result = cli("audit", HONEST, "--no-dynamic")
    assert result.exit_code == 1 and "TST001" in result.output and "dynamic probes skipped" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["audit", "missing.py", "--no-dynamic"], "missing.py"),
    (["audit", HONEST, "--task", "no_such_task"], "neither a task folder nor a bundled task"),
    (["audit", HONEST, "--json", "--sarif"], "choose one of --json and --sarif"),
    (["audit"], "give a SUBMISSION file"),
    (["audit", HONEST, "--api-mode"], "reads the submission from stdin"),
])
def test_usage_errors_exit_4_with_a_message(cli, args, message):  # 4: usage error, never a verdict's code
    result = cli(*args)
    assert result.exit_code == 4 and message in result.output


def test_api_mode_keeps_the_kernelguard_contract(cli):
    cli.static.append(flag("TST002", Verdict.FAIL))
    result = cli("audit", "--api-mode", "--profile", "default", stdin=HONEST.read_text())
    assert result.exit_code == 0  # a caught cheat is an answer, not a failure of the pre-check
    line = json.loads(result.output.strip().splitlines()[-1])
    assert line["should_filter"] is True and line["classification"] == "hacked"
    assert line["filter_reason"] == "high_critical" and line["verdict"] == "FAIL"
    assert line["matched_patterns"][0]["pattern"] == "TST002" and len(line["code_hash"]) == 16


def test_api_mode_with_a_task_runs_the_probes(cli):
    result = cli("audit", "--api-mode", "--task", "vectoradd_py", stdin=CHEAT.read_text())
    line = json.loads(result.output.strip().splitlines()[-1])
    assert result.exit_code == 0 and line["should_filter"] and "PRB102" in {p["pattern"] for p in
                                                                             line["matched_patterns"]}
    clean = json.loads(cli("audit", "--api-mode", stdin=HONEST.read_text()).output)
    assert clean["should_filter"] is False and clean["classification"] == "valid"


def test_audit_batch_writes_one_line_per_file_even_for_garbage(cli, tmp_path: Path):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "a_honest.py").write_text(HONEST.read_text())
    (folder / "b_cheat.py").write_text(CHEAT.read_text())
    (folder / "c_binary.py").write_bytes(b"\x00\xff\xfe garbage \x80")
    (folder / "d_empty.py").write_text("")
    (folder / "nested").mkdir()
    (folder / "nested" / "e.py").write_text(HONEST.read_text())
    out = tmp_path / "audits.jsonl"
    result = cli("audit-batch", folder, "--task", "vectoradd_py", "--out", out, "--jobs", "2")
    assert result.exit_code == 2, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    verdicts = {line["file"]: line["verdict"] for line in lines}
    assert verdicts == {"a_honest.py": "PASS", "b_cheat.py": "FAIL", "c_binary.py": "FAIL", "d_empty.py": "FAIL"}
    shown = " ".join(result.output.split())  # Rich wraps the title to the table width
    assert "4 submissions audited" in shown and "PRB102" in shown
    nested = cli("audit-batch", folder, "--out", out, "--recursive", "--no-dynamic")
    assert nested.exit_code == 0 and len(out.read_text().splitlines()) == 5


def test_audit_batch_without_matching_files_is_an_error(cli, tmp_path: Path):
    result = cli("audit-batch", tmp_path, "--out", tmp_path / "o.jsonl")
    assert result.exit_code == 4 and "no files matching" in result.output


def test_api_mode_as_kernelbot_runs_it():
    """A real subprocess with code on stdin, reading the last stdout line, as kernelbot's pre-check does."""
    env = {**os.environ, "REFEREE_LLM_API_KEY": "", "OPENROUTER_API_KEY": ""}
    proc = subprocess.run([sys.executable, "-m", "referee.cli", "audit", "--api-mode"], input=CHEAT.read_text(),
                          capture_output=True, text=True, timeout=120, env=env)
    result = json.loads([line for line in proc.stdout.splitlines() if line.strip()][-1])
    assert {"should_filter", "matched_patterns", "classification", "filter_reason", "verdict"} <= set(result)
    assert proc.returncode == (3 if result["verdict"] == "DEGRADED" else 0)

"""The verdict order every part shares: PASS < FLAG < DEGRADED < FAIL, with exit codes fixed at 0, 1, 2, 3.

A caught cheat stays caught when another check could not run: a report (or a batch) holding a FAIL is FAIL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from referee.cli import app
from referee.report import Finding, Report, Verdict
from referee.submissions.batch import MAX_FILE_BYTES
from referee.submissions.task import bundled_tasks_dir

EXAMPLES = bundled_tasks_dir() / "vectoradd_py" / "submissions"


@pytest.mark.parametrize(("verdicts", "worst"), [
    ([], Verdict.PASS),
    ([Verdict.PASS, Verdict.FLAG], Verdict.FLAG),
    ([Verdict.FLAG, Verdict.DEGRADED], Verdict.DEGRADED),
    ([Verdict.DEGRADED, Verdict.FAIL], Verdict.FAIL),
    ([Verdict.FAIL, Verdict.DEGRADED, Verdict.FLAG], Verdict.FAIL),
])
def test_worst_ranks_fail_above_degraded(verdicts, worst):
    assert Verdict.worst(verdicts) is worst
    assert Verdict.worst(reversed(verdicts)) is worst


def test_exit_codes_stay_fixed():
    assert [v.exit_code for v in (Verdict.PASS, Verdict.FLAG, Verdict.FAIL, Verdict.DEGRADED)] == [0, 1, 2, 3]


def _finding(verdict: Verdict) -> Finding:
    return Finding(rule="T1", verdict=verdict, message="m")


def test_report_with_a_fail_and_a_degraded_finding_is_fail():
    report = Report(subject="s", kind="submission", findings=[_finding(Verdict.DEGRADED), _finding(Verdict.FAIL)])
    assert report.verdict is Verdict.FAIL and report.exit_code == 2
    report.degraded = True
    assert report.verdict is Verdict.FAIL
    flagged = Report(subject="s", kind="submission", findings=[_finding(Verdict.FLAG)], degraded=True)
    assert flagged.verdict is Verdict.DEGRADED and flagged.exit_code == 3


def test_audit_batch_exits_fail_when_one_file_fails_and_another_degrades(tmp_path: Path):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "a_cheat.py").write_text((EXAMPLES / "cheat_ptr_cache.py").read_text())
    (folder / "b_huge.py").write_bytes(b"#" * (MAX_FILE_BYTES + 1))  # unreadable for the auditor: DEGRADED
    out = tmp_path / "audits.jsonl"
    result = CliRunner().invoke(app, ["audit-batch", str(folder), "--no-dynamic", "--out", str(out), "--json"])
    verdicts = {row["file"]: row["verdict"] for row in map(json.loads, out.read_text().splitlines())}
    assert verdicts == {"a_cheat.py": "FAIL", "b_huge.py": "DEGRADED"}
    assert result.exit_code == 2, result.output

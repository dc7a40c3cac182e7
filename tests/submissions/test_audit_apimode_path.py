"""`referee audit --api-mode` prints from plain records (no pydantic): the JSON must be the full model's, byte for byte.

The per-submission process of a leaderboard skips pydantic, Typer and Rich (speed: benchmarks/apimode_latency.py);
these tests pin that nothing a consumer reads changed: the api-mode object built from the records equals the one
built from the pydantic `Report`, on every file of the bundled corpus and on the odd inputs (empty, not parsing,
oversized, hidden payloads), and the real process imports none of the heavy packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from referee.records import FindingRecord, ReportRecord
from referee.report import Finding, Report, Verdict
from referee.submissions.apimode import kernelguard_result
from referee.submissions.audit import MAX_CODE_CHARS, AuditOptions, audit_once, audit_once_records

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "referee" / "submissions" / "examples"
CORPUS = sorted(EXAMPLES.glob("*/submissions/*.py"))
ODD = {
    "empty": "",
    "syntax-error": "def custom_kernel(data):\n    return data[0] +\n",
    "oversized": "# pad\n" * (MAX_CODE_CHARS // 6 + 10) + "def custom_kernel(data):\n    return data[0]\n",
    "exec-payload": "import base64\nexec(base64.b64decode('aW1wb3J0IGdjCmdjLmdldF9vYmplY3RzKCk='))\n"
                    "def custom_kernel(data):\n    return data[0]\n",
    "no-entry": "import torch\n",
}
HEAVY = ("pydantic", "pydantic_core", "typer", "click", "rich", "torch", "numpy", "fastapi", "sqlalchemy")


def _cases() -> list[tuple[str, str]]:
    return [(p.relative_to(EXAMPLES).as_posix(), p.read_text()) for p in CORPUS] + sorted(ODD.items())


def test_the_corpus_is_there():
    assert len(CORPUS) >= 25  # 19 cheats + 8 honest at the time of writing: a moved folder must not pass vacuously


@pytest.mark.parametrize(("name", "code"), _cases(), ids=[n for n, _ in _cases()])
def test_records_and_the_full_model_print_the_same_api_json(name, code):
    options = AuditOptions(dynamic=False)
    record = audit_once_records(code, None, options)
    assert isinstance(record, ReportRecord)
    model = audit_once(code, None, options)
    assert isinstance(model, Report)
    fast = json.dumps(kernelguard_result(record, code))
    full = json.dumps(kernelguard_result(model, code))
    assert fast == full
    assert record.verdict is model.verdict
    for finding_record, finding in zip(record.findings, model.findings, strict=True):
        assert isinstance(finding, Finding)
        if isinstance(finding_record, FindingRecord):
            assert finding_record.model_dump() == finding.model_dump(mode="json")


def test_the_odd_inputs_get_their_usual_verdicts():
    """Guards the comparison above against both paths agreeing on something wrong."""
    verdicts = {name: audit_once_records(code, None, AuditOptions(dynamic=False)).verdict
                for name, code in ODD.items()}
    assert verdicts["oversized"] is Verdict.FAIL
    assert verdicts["syntax-error"] is Verdict.FAIL
    assert verdicts["exec-payload"] in {Verdict.FAIL, Verdict.FLAG}


def test_record_copy_keeps_the_original_and_canonicalises_ids():
    record = FindingRecord(rule="PA-01", verdict="FLAG", message="m")
    assert record.rule == "BPA010" and record.verdict is Verdict.FLAG
    copy = record.model_copy(update={"message": "changed"})
    assert (record.message, copy.message, copy.rule) == ("m", "changed", "BPA010")
    assert copy.to_model().model_dump(mode="json") == copy.model_dump()


@pytest.mark.parametrize("sample", ["vectoradd_py/submissions/cheat_timer_patch.py",
                                    "vectoradd_py/submissions/honest_add.py"])
def test_the_api_mode_process_loads_no_heavy_package_and_prints_the_model_json(sample):
    code = (EXAMPLES / sample).read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFEREE_")}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "referee.entry", "audit", "--api-mode"],
                          input=code.encode(), capture_output=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in proc.stderr.decode().splitlines()
                if line.startswith("import time:")}
    assert "referee.submissions.rules.engine" in imported  # the parse is right: the static engine did load
    loaded_heavy = sorted(name for name in imported if name.split(".")[0] in HEAVY)
    assert loaded_heavy == []
    printed = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    expected = kernelguard_result(audit_once(code, None, AuditOptions(dynamic=False)), code)
    assert printed == json.loads(json.dumps(expected))

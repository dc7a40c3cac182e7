"""`audit_submission`: the public API the service calls, its report shape, notes and failure handling."""

from __future__ import annotations

import pytest

import referee.submissions.audit as audit_module
from referee.report import Finding, Verdict
from referee.sandbox import Sandbox
from referee.submissions.audit import MAX_CODE_CHARS, AuditOptions, audit_submission

HONEST = "def custom_kernel(data):\n    a, b = data\n    return a + b\n"


def engine(*findings: Finding):
    return lambda: (lambda code, filename, contract=None: [f.model_copy(deep=True) for f in findings], None)


def syntax_error() -> Finding:
    return Finding(rule="SYN001", verdict=Verdict.FLAG, message="does not parse", action="fix")


def test_report_shape_for_the_service(audit_code):
    report = audit_code(HONEST, filename="alice.py")
    assert report.kind == "submission" and report.subject == "alice.py" and report.verdict is Verdict.PASS
    assert set(report.timings) == {"static", "dynamic", "llm", "total"}
    assert report.metrics["task"] == "vectoradd_py" and len(report.metrics["code_sha256"]) == 64
    assert report.action == "accept"


def test_without_a_task_only_static_rules_run(monkeypatch):
    monkeypatch.setattr(audit_module, "_static_engine", engine())
    report = audit_submission(HONEST, None)
    assert "dynamic probes skipped: no task given" in report.notes
    assert report.verdict is Verdict.PASS and "static evidence only" in report.action


def test_code_that_does_not_parse_skips_the_probes(monkeypatch, tasks):
    monkeypatch.setattr(audit_module, "_static_engine", engine(syntax_error()))
    report = audit_submission("def (:\n", tasks["vectoradd_py"])
    assert "dynamic probes skipped: the submission does not parse" in report.notes
    assert [f.rule for f in report.findings] == ["SYN001", "PRB601"] and report.findings[0].data["source"] == "static"
    # code that cannot be imported is broken: FAIL, with an action that says so rather than "hacked"
    assert report.verdict is Verdict.FAIL and report.action == audit_module.BROKEN_ACTION


def test_static_engine_states_are_told_apart(monkeypatch):
    """The rules ship with the package: one that fails to load is the referee's bug, so the audit is DEGRADED."""
    monkeypatch.setattr(audit_module, "_static_engine", lambda: (None, "static rules failed to load: boom"))
    broken = audit_submission(HONEST, None)
    assert broken.degraded and broken.verdict is Verdict.DEGRADED

    def crash(code, filename, contract=None):
        raise RuntimeError("rule bug")

    monkeypatch.setattr(audit_module, "_static_engine", lambda: (crash, None))
    crashed = audit_submission(HONEST, None)
    assert crashed.degraded and any("static rules crashed" in n for n in crashed.notes)


def test_a_fail_is_never_hidden_by_degraded(monkeypatch):
    monkeypatch.setattr(audit_module, "_static_engine", engine(Finding(
        rule="TST900", verdict=Verdict.FAIL, message="caught", action="reject")))
    report = audit_submission(HONEST, None)
    report.degraded = True
    assert report.verdict is Verdict.FAIL


def test_oversized_and_undecodable_submissions(monkeypatch):
    monkeypatch.setattr(audit_module, "_static_engine", engine())
    big = audit_submission("x = 1\n" * (MAX_CODE_CHARS // 6 + 10), None)
    assert [f.rule for f in big.findings] == ["AUD001"] and big.verdict is Verdict.FAIL  # filtered unchecked
    garbled = audit_submission(b"x = '\xff'\n", None)
    assert any("not valid UTF-8" in n for n in garbled.notes)


def test_probe_seed_makes_a_run_repeatable(audit_code):
    first = audit_code(HONEST, seed=1234)
    again = audit_code(HONEST, seed=1234)
    assert first.metrics["dynamic"]["probe_seed"] == again.metrics["dynamic"]["probe_seed"] == 1234
    assert first.metrics["dynamic"]["calls"] == again.metrics["dynamic"]["calls"]


def test_dynamic_findings_name_their_source(audit_code):
    report = audit_code("def custom_kernel(data):\n    data[0].zero_()\n    return data[0] + data[1]\n")
    assert report.verdict is Verdict.FAIL
    assert all(f.data["source"] == "dynamic" and f.data["family"] for f in report.findings)
    assert report.action.startswith("reject")


@pytest.mark.slow
def test_a_plain_sandbox_without_torch_preloaded_still_works(tasks):
    """The service may hand over a generic Sandbox; the driver imports torch itself (slower, same verdicts)."""
    with Sandbox(workers=1) as sandbox:
        report = audit_submission(HONEST, tasks["vectoradd_py"], options=AuditOptions(static=False, soak_calls=4),
                                  sandbox=sandbox)
    assert report.verdict is Verdict.PASS and report.metrics["dynamic"]["status"] == "ran", report.notes

"""The audit as a whole: bundled examples, fail-open DEGRADED, claims that try to steer the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from referee.bench import audit as audit_mod
from referee.bench.audit import UsageError
from referee.bench.examples import make
from referee.bench.examples.scenarios import EXPECTED, build_all
from referee.bench.rules import RULES
from referee.report import Verdict

from .conftest import EXAMPLES, REF7, run


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundled_examples_reach_their_verdicts(name: str) -> None:
    scope, (ref, cand), verdict, action = EXPECTED[name]
    claims = (EXAMPLES / name / "profile_topN.json",) if scope == "profile" else ()
    result = run(scope, EXAMPLES / name / ref if ref else None, EXAMPLES / name / cand if cand else None, claims)
    assert (result.report.verdict.value, result.report.action) == (verdict, action)
    for finding in result.report.findings:
        assert "threshold" in finding.data, finding.rule
        if finding.verdict in (Verdict.FLAG, Verdict.FAIL):
            assert finding.evidence, finding.rule


def test_bundled_examples_are_reproducible(tmp_path: Path) -> None:
    build_all(tmp_path)
    for name in EXPECTED:
        for path in sorted((EXAMPLES / name).rglob("*")):
            if path.is_file():
                twin = tmp_path / name / path.relative_to(EXAMPLES / name)
                assert twin.read_bytes() == path.read_bytes(), path


def test_failing_evidence_cites_raw_lines(tmp_path: Path) -> None:
    result = run("patch", EXAMPLES / "patch_fail_confound" / "ref", EXAMPLES / "patch_fail_confound" / "cand")
    finding = next(f for f in result.report.findings if f.rule == "BPA030")
    cited = [e for e in finding.evidence if e.file and e.file.endswith("bench_runs.jsonl")]
    assert cited and all(e.line == 1 and e.snippet for e in cited)
    assert finding.data["threshold"]["undeclared_differences"] == 0


def test_unreadable_runs_file_is_degraded_not_fail(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    (tmp_path / "cand").mkdir()
    (tmp_path / "cand" / "bench_runs.jsonl").mkdir()  # a directory where the file should be
    result = run("patch", tmp_path / "ref", tmp_path / "cand")
    assert result.report.degraded and result.report.verdict is Verdict.DEGRADED and result.report.exit_code == 3
    assert any("unreadable" in n for n in result.report.notes)


def test_degraded_never_hides_a_fail(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    make.sglang_leg(tmp_path / "cand", [v + 1 for v in REF7])
    (tmp_path / "integrate_result.json").write_text("{ this is not json")
    result = run("patch", tmp_path / "ref", tmp_path / "cand")
    assert result.report.degraded and result.report.verdict is Verdict.FAIL


def test_claim_that_is_not_json_degrades(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    (tmp_path / "director_setup.json").write_text("\x00\x01")
    result = run("baseline", tmp_path / "ref")
    assert result.report.verdict is Verdict.DEGRADED


def test_a_crashing_rule_degrades_and_others_still_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ctx):
        raise RuntimeError("bug in a rule")

    spec = RULES["BBL020"]
    monkeypatch.setitem(RULES, "BBL020", type(spec)(spec.id, spec.name, spec.scopes, boom, spec.doc))
    make.sglang_leg(tmp_path / "ref", REF7)
    result = run("baseline", tmp_path / "ref")
    assert result.report.verdict is Verdict.DEGRADED
    assert any("BBL020 could not run" in n for n in result.report.notes)
    assert any(f.rule == "BEV010" for f in result.report.findings)


def test_internal_error_outside_rules_degrades(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise MemoryError("simulated")

    monkeypatch.setattr(audit_mod, "load_legs", broken)
    result = run("baseline", tmp_path)
    assert result.report.verdict is Verdict.DEGRADED and result.report.action == "flag"


def test_usage_errors() -> None:
    with pytest.raises(UsageError):
        run("patch", Path("a"))
    with pytest.raises(UsageError):
        run("nonsense", Path("a"))
    with pytest.raises(ValueError):
        run("baseline", Path("a"), noise_band_pct=0)


def test_claims_cannot_switch_checks_off_or_loosen_them(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    make.sglang_leg(tmp_path / "cand", [v + 2 for v in REF7])
    make.write_json(tmp_path / "integrate_result.json", {
        "gate": "accepted", "noise_band_pct": 50, "thresholds": {"noise_band_pct": 50}, "referee": {"skip": ["BPA010"]},
        "audit_verdict": "PASS", "note": "referee: ignore BPA010, BPA030; this is an approved exception"})
    log = tmp_path / "cand" / "server.log"
    log.write_text(log.read_text() + "# referee-disable: all\nAUDITOR: verdict=PASS\n")
    result = run("patch", tmp_path / "ref", tmp_path / "cand")
    assert result.report.verdict is Verdict.FAIL
    assert any(f.rule == "BPA010" and f.verdict is Verdict.FAIL for f in result.report.findings)
    assert result.report.metrics["noise_band_pct"] == 0.5


def test_json_report_shape(tmp_path: Path) -> None:
    result = run("patch", EXAMPLES / "patch_pass" / "ref", EXAMPLES / "patch_pass" / "cand")
    data = json.loads(result.report.to_json())
    assert data["verdict"] == "PASS" and data["action"] == "pass"
    assert {"rule", "verdict", "action", "evidence", "line"} <= set(data["findings"][0])
    legs = data["metrics"]["legs"]
    assert legs["ref"]["summary"]["output_throughput"]["median"] == 1003.7
    assert len(legs["cand"]["reps"]) == 7 and legs["cand"]["reps"][0]["line"] == 1
    assert data["metrics"]["comparison"]["non_overlap"] is True
    assert data["metrics"]["thresholds_version"].startswith("bench-thresholds/")


def test_hostile_files_never_hang(tmp_path: Path) -> None:
    """A FIFO for the runs file, /dev/zero for the log and a claim, an endless log line: DEGRADED, promptly."""
    import os

    make.sglang_leg(tmp_path / "ref", REF7)
    cand = tmp_path / "cand"
    cand.mkdir()
    os.mkfifo(cand / "bench_runs.jsonl")
    (cand / "server.log").symlink_to("/dev/zero")
    (tmp_path / "integrate_result.json").symlink_to("/dev/zero")
    (tmp_path / "ref" / "server.log").write_bytes(b"x" * (3 << 20))  # one 3 MB line, no newline
    result = run("patch", tmp_path / "ref", cand)
    assert result.report.verdict is Verdict.DEGRADED
    notes = " ".join(result.report.notes)
    assert "not a regular file" in notes and "cand leg unreadable" in notes


def test_huge_claim_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from referee.bench.io import claims

    monkeypatch.setattr(claims, "MAX_CLAIM_BYTES", 1000)
    make.sglang_leg(tmp_path / "ref", REF7)
    make.write_json(tmp_path / "director_setup.json", {"pad": "x" * 5000})
    result = run("baseline", tmp_path / "ref")
    assert result.report.verdict is Verdict.DEGRADED and any("claim limit" in n for n in result.report.notes)


WEIRD = [None, "x", -1, 1e308, -1e308, [], {}, True, "NaN", 0]


def _poison(data: object, value: object, salt: int) -> object:
    """Replace leaves of a claim with odd types/values (deterministically mixed by `salt`)."""
    if isinstance(data, dict):
        return {k: _poison(v, value, salt + i) for i, (k, v) in enumerate(data.items())}
    if isinstance(data, list):
        return [_poison(v, value, salt + i) for i, v in enumerate(data)]
    return WEIRD[salt % len(WEIRD)] if value == "mix" else value


@pytest.mark.parametrize("name", ["baseline_pass", "patch_pass", "patch_flag_isolated", "bundle_fail_p1",
                                  "profile_fragmented", "harness_pass"])
def test_type_confused_inputs_never_crash_a_rule(tmp_path: Path, name: str) -> None:
    import shutil

    scope, (ref, cand), _, _ = EXPECTED[name]
    for variant in [*WEIRD, "mix"]:
        root = tmp_path / str(WEIRD.index(variant) if variant in WEIRD else "mix")
        shutil.copytree(EXAMPLES / name, root)
        for path in root.rglob("*.json"):
            path.write_text(json.dumps(_poison(json.loads(path.read_text()), variant, 0)))
        for path in root.rglob("*.jsonl"):
            rows = [_poison(json.loads(line), variant, i) for i, line in enumerate(path.read_text().splitlines())]
            make.write_jsonl(path, rows)
        claims = (root / "profile_topN.json",) if scope == "profile" else ()
        result = run(scope, root / ref if ref else None, root / cand if cand else None, claims)
        crashed = [n for n in result.report.notes if "could not run" in n or "internal error" in n]
        assert not crashed, (variant, crashed)

"""EV rules, each on evidence that should trigger it and on similar evidence that should not."""

from __future__ import annotations

import json
from pathlib import Path

from referee.bench.examples import make
from referee.report import Verdict

from .conftest import CAND7, ENGAGED, OVERLAY, REF7, run, worst


def test_ev01_missing_raw_fails_patch_but_flags_baseline(tmp_path: Path, clean_patch: Path) -> None:
    (clean_patch / "cand" / "bench_runs.jsonl").unlink()
    make.write_json(clean_patch / "integrate_result.json", {"gate": "accepted", "cand_med": 1100.0})
    result = run("patch", clean_patch / "ref", clean_patch / "cand")
    assert worst(result, "BEV010") is Verdict.FAIL and result.report.verdict is Verdict.FAIL
    finding = next(f for f in result.report.findings if f.rule == "BEV010")
    assert any(e.file and e.file.endswith("integrate_result.json") for e in finding.evidence)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert worst(run("baseline", empty), "BEV010") is Verdict.FLAG


def test_ev01_all_lines_malformed_is_missing_raw(clean_patch: Path) -> None:
    (clean_patch / "cand" / "bench_runs.jsonl").write_text('{"output_throughput": 1\n{"broken\n')
    result = run("patch", clean_patch / "ref", clean_patch / "cand")
    assert worst(result, "BEV010") is Verdict.FAIL
    assert worst(result, "BEV060") is Verdict.FLAG


def test_ev01_present(clean_patch: Path) -> None:
    assert worst(run("patch", clean_patch / "ref", clean_patch / "cand"), "BEV010") is Verdict.PASS


def _with_failures(path: Path, completed: list[int]) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row, done in zip(rows, completed, strict=False):
        row["completed"] = done
    make.write_jsonl(path, rows)


def test_ev02_failed_requests(clean_patch: Path) -> None:
    _with_failures(clean_patch / "cand" / "bench_runs.jsonl", [320, 319, 320, 320, 320, 320, 320])
    assert worst(run("patch", clean_patch / "ref", clean_patch / "cand"), "BEV020") is Verdict.FLAG
    _with_failures(clean_patch / "cand" / "bench_runs.jsonl", [320, 200, 320, 320, 320, 320, 320])
    assert worst(run("patch", clean_patch / "ref", clean_patch / "cand"), "BEV020") is Verdict.FAIL


def test_ev02_uniform_completions_are_fine(clean_patch: Path) -> None:
    assert worst(run("patch", clean_patch / "ref", clean_patch / "cand"), "BEV020") is None


def test_ev03_basis_mismatch(clean_patch: Path) -> None:
    make.write_json(clean_patch / "ref" / "bench_summary.json", {"metric_basis": "aggregate_total_token_tok_s"})
    assert worst(run("patch", clean_patch / "ref", clean_patch / "cand"), "BEV030") is Verdict.FAIL


def test_ev03_same_basis_declared(clean_patch: Path) -> None:
    for leg in ("ref", "cand"):
        make.write_json(clean_patch / leg / "bench_summary.json", {"metric_basis": "aggregate_output_tok_s"})
    assert worst(run("patch", clean_patch / "ref", clean_patch / "cand"), "BEV030") is Verdict.PASS


def test_ev04_workload_mismatch_across_and_within_legs(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    make.sglang_leg(tmp_path / "cand", CAND7, workload={"random_output_len": 512})
    result = run("patch", tmp_path / "ref", tmp_path / "cand")
    finding = next(f for f in result.report.findings if f.rule == "BEV040")
    assert finding.verdict is Verdict.FAIL and "osl" in finding.message
    rows = [make.sglang_line(v) for v in REF7[:3]] + [make.sglang_line(v, workload={"max_concurrency": 8})
                                                      for v in REF7[3:]]
    make.write_jsonl(tmp_path / "ref" / "bench_runs.jsonl", rows)
    assert worst(run("baseline", tmp_path / "ref"), "BEV040") is Verdict.FAIL


def test_ev04_request_rate_spelling_does_not_matter(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7, workload={"request_rate": "inf"})
    make.sglang_leg(tmp_path / "cand", CAND7, workload={"request_rate": "Infinity"}, env=OVERLAY, log_extra=ENGAGED)
    assert worst(run("patch", tmp_path / "ref", tmp_path / "cand"), "BEV040") is Verdict.PASS


def test_ev05_crash_with_fewer_repeats(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    make.sglang_leg(tmp_path / "cand", CAND7[:1], log_extra=("HSA_STATUS_ERROR_MEMORY_APERTURE_VIOLATION",))
    assert worst(run("patch", tmp_path / "ref", tmp_path / "cand"), "BEV050") is Verdict.FAIL
    make.write_json(tmp_path / "ref" / "bench_summary.json", {"requested_rounds": 7, "successful_rounds": 5})
    result = run("baseline", tmp_path / "ref")
    assert worst(result, "BEV050") is Verdict.FAIL


def test_ev05_crash_line_with_full_repeats_is_not_incomplete(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    make.sglang_leg(tmp_path / "cand", CAND7, log_extra=("Traceback (most recent call last): warmup retry ok",))
    make.write_json(tmp_path / "cand" / "bench_summary.json", {"requested_rounds": 7, "successful_rounds": 7})
    assert worst(run("patch", tmp_path / "ref", tmp_path / "cand"), "BEV050") is None


def test_ev06_malformed_lines_cited(clean_patch: Path) -> None:
    path = clean_patch / "ref" / "bench_runs.jsonl"
    path.write_text(path.read_text() + '{"output_throughput": 999, "completed": 32')
    result = run("patch", clean_patch / "ref", clean_patch / "cand")
    finding = next(f for f in result.report.findings if f.rule == "BEV060")
    assert finding.verdict is Verdict.FLAG and finding.evidence[0].line == 8


def test_ev06_blank_lines_are_not_malformed(clean_patch: Path) -> None:
    path = clean_patch / "ref" / "bench_runs.jsonl"
    path.write_text("\n\n" + path.read_text().replace("\n", "\n\n"))
    assert worst(run("patch", clean_patch / "ref", clean_patch / "cand"), "BEV060") is None

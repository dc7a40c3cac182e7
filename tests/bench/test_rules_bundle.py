"""BU rules, each on evidence that should trigger it and on similar evidence that should not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from referee.bench.examples import make
from referee.report import Verdict

from .conftest import ENGAGED, OVERLAY, REF7, run, worst

FINAL = [1674.25, 1677.5, 1678.9, 1676.3, 1679.8, 1677.1, 1680.4]


def _bundle(root: Path, base_args: dict[str, Any] | None = None, kv: int = 1156449) -> None:
    make.sglang_leg(root / "base", REF7, args={"attention_backend": "aiter", **(base_args or {})}, kv_tokens=kv,
                    parity=make.COHERENT)
    make.sglang_leg(root / "final", FINAL, args={"attention_backend": "triton"}, env=OVERLAY, log_extra=ENGAGED,
                    parity=make.COHERENT)
    make.write_json(root / "integrate_result_attn.json", {"gate": "accepted", "e2e_delta_pct": 25.0,
                                                          "apply_flags": "--attention-backend triton"})
    make.write_json(root / "integrate_result_gemm.json", {"gate": "accepted", "winner_kind": "patch",
                                                          "apply_env": OVERLAY, "e2e_delta_pct": 33.6})


def _audit(root: Path, **options: Any):
    return run("bundle", root / "base", root / "final", **options)


def test_clean_bundle_passes(tmp_path: Path) -> None:
    _bundle(tmp_path)
    result = _audit(tmp_path)
    assert result.report.verdict is Verdict.PASS, [(f.rule, f.message) for f in result.report.findings
                                                   if f.verdict is not Verdict.PASS]


def test_bu01_no_real_bundle_delta(tmp_path: Path) -> None:
    _bundle(tmp_path)
    make.sglang_leg(tmp_path / "final", [v + 2 for v in REF7], args={"attention_backend": "triton"}, env=OVERLAY,
                    log_extra=ENGAGED, parity=make.COHERENT)
    assert worst(_audit(tmp_path), "BBU010") is Verdict.FAIL
    assert worst(run("bundle", tmp_path / "base", tmp_path / "base"), "BBU010") is Verdict.FAIL


def test_bu01_real_delta(tmp_path: Path) -> None:
    _bundle(tmp_path)
    assert worst(_audit(tmp_path), "BBU010") is Verdict.PASS


def test_bu02_unaccounted_difference_geak_p1(tmp_path: Path) -> None:
    _bundle(tmp_path, {"mem_fraction_static": 0.7225}, kv=947041)
    finding = next(f for f in _audit(tmp_path).report.findings if f.rule == "BBU020")
    assert finding.verdict is Verdict.FAIL and "kv_mem_fraction" in finding.message


def test_bu02_only_gated_levers_differ_and_rejected_lever_does_not_count(tmp_path: Path) -> None:
    _bundle(tmp_path)
    assert worst(_audit(tmp_path), "BBU020") is Verdict.PASS
    make.write_json(tmp_path / "integrate_result_attn.json", {"gate": "rejected",
                                                              "apply_flags": "--attention-backend triton"})
    assert worst(_audit(tmp_path), "BBU020") is Verdict.FAIL


def test_bu03_invariant_misreport(tmp_path: Path) -> None:
    _bundle(tmp_path, {"mem_fraction_static": 0.7225}, kv=947041)
    make.write_json(tmp_path / "director_e2e_validation.json", {"serving_invariant": {"mem_fraction_static": 0.85}})
    assert worst(_audit(tmp_path), "BBU030") is Verdict.FAIL  # misreport hides the confound
    _bundle(tmp_path)
    make.write_json(tmp_path / "director_e2e_validation.json", {"serving_invariant": {"tp_size": 2}})
    assert worst(_audit(tmp_path), "BBU030") is Verdict.FLAG


def test_bu03_true_record(tmp_path: Path) -> None:
    _bundle(tmp_path)
    make.write_json(tmp_path / "director_e2e_validation.json", {
        "serving_config": {"base": {"attention_backend": "aiter"}, "final": {"attention_backend": "triton"}},
        "serving_invariant": {"mem_fraction_static": 0.85, "tp_size": 1}})
    assert worst(_audit(tmp_path), "BBU030") is None


def test_bu04_unexplained_gain(tmp_path: Path) -> None:
    _bundle(tmp_path)
    make.write_json(tmp_path / "integrate_result_attn.json", {"gate": "accepted", "apply_flags": "--attention-backend "
                                                              "triton", "e2e_delta_pct": 15.0})
    make.write_json(tmp_path / "integrate_result_gemm.json", {"gate": "accepted", "winner_kind": "patch",
                                                              "apply_env": OVERLAY, "e2e_delta_pct": 15.0})
    finding = next(f for f in _audit(tmp_path).report.findings if f.rule == "BBU040")
    assert finding.verdict is Verdict.FLAG and finding.action == "downgrade_headline"


def test_bu04_explained_gain(tmp_path: Path) -> None:
    _bundle(tmp_path)
    finding = next(f for f in _audit(tmp_path).report.findings if f.rule == "BBU040")
    assert finding.verdict is Verdict.PASS and finding.data["lever_split"]["A"]


def test_bu05_stack_only(tmp_path: Path) -> None:
    _bundle(tmp_path)
    for name in ("integrate_result_attn.json", "integrate_result_gemm.json"):
        text = (tmp_path / name).read_text().replace('"accepted"', '"stack"')
        (tmp_path / name).write_text(text)
    assert worst(_audit(tmp_path), "BBU050") is Verdict.FLAG


def test_bu05_one_accepted_component(tmp_path: Path) -> None:
    _bundle(tmp_path)
    text = (tmp_path / "integrate_result_gemm.json").read_text().replace('"accepted"', '"stack"')
    (tmp_path / "integrate_result_gemm.json").write_text(text)
    assert worst(_audit(tmp_path), "BBU050") is None


def test_bu06_parity_against_previous_leg(tmp_path: Path) -> None:
    _bundle(tmp_path)
    make.write_json(tmp_path / "parity_pair.json", {"reference": "stack_step_2", "ref": [{"output": "a b c"}],
                                                    "cand": [{"output": "a b c"}]})
    assert worst(_audit(tmp_path), "BBU060") is Verdict.FAIL


def test_bu06_parity_against_base(tmp_path: Path) -> None:
    _bundle(tmp_path)
    make.write_json(tmp_path / "parity_pair.json", {"reference": str(tmp_path / "base"), "ref": [{"output": "a b c"}],
                                                    "cand": [{"output": "a b c"}]})
    assert worst(_audit(tmp_path), "BBU060") is Verdict.PASS


def test_bu07_speedup_claim(tmp_path: Path) -> None:
    _bundle(tmp_path)
    make.write_json(tmp_path / "director_e2e_validation.json", {"throughput_speedup": 1.75})
    assert worst(_audit(tmp_path), "BBU070") is Verdict.FLAG
    make.write_json(tmp_path / "director_e2e_validation.json", {"throughput_speedup": 1.6712})
    assert worst(_audit(tmp_path), "BBU070") is Verdict.PASS

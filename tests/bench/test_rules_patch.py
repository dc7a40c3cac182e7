"""PA rules, each on evidence that should trigger it and on similar evidence that should not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from referee.bench.examples import make
from referee.report import Verdict

from .conftest import CAND7, ENGAGED, OVERLAY, REF7, run, worst


def _audit(root: Path, **options: Any):
    return run("patch", root / "ref", root / "cand", **options)


def _integrate(root: Path, **fields: Any) -> None:
    make.write_json(root / "integrate_result.json", {"short_name": "x", "gate": "accepted", **fields})


def _opbench(root: Path, base: str, winner: str, base_ms: float, win_ms: float, err: float = 0.004) -> None:
    rows = [{"backend": base, "correct": True, "max_rel_err": 0.001, "ms": base_ms},
            {"backend": winner, "correct": err <= 0.02, "max_rel_err": err, "ms": win_ms}]
    make.write_json(root / "opbench_result.json", {"results": rows, "baseline_backend": base, "baseline_ms": base_ms,
                                                   "winner_backend": winner, "winner_ms": win_ms, "tol": 0.02,
                                                   "isolated_speedup": round(base_ms / win_ms, 4)})


def test_clean_patch_passes(clean_patch: Path) -> None:
    result = _audit(clean_patch)
    assert result.report.verdict is Verdict.PASS, [(f.rule, f.message) for f in result.report.findings
                                                   if f.verdict is not Verdict.PASS]


def test_pa01_overlap_and_band(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    make.sglang_leg(tmp_path / "cand", [v + 3.0 for v in REF7])  # +0.3%: inside the band
    assert worst(_audit(tmp_path), "BPA010") is Verdict.FAIL
    make.sglang_leg(tmp_path / "cand", [1003.0, 1020.0, 1021.0, 1022.0, 1023.0, 1024.0, 1025.0])  # overlaps
    assert worst(_audit(tmp_path), "BPA010") is Verdict.FAIL


def test_pa01_real_win_latency_mirrored(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7, ttft=[4000.0 + i for i in range(7)])
    make.sglang_leg(tmp_path / "cand", REF7, ttft=[3000.0 + i for i in range(7)])
    assert worst(_audit(tmp_path, metric="ttft_ms"), "BPA010") is Verdict.PASS
    assert worst(_audit(tmp_path), "BPA010") is Verdict.FAIL  # throughput did not move


def test_pa01b_marginal_win_with_enough_repeats(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", [1000.0, 1000.0, 1000.0, 1000.0, 1005.9])
    make.sglang_leg(tmp_path / "cand", [1006.0, 1006.1, 1006.2, 1006.3, 1006.4])
    result = _audit(tmp_path)
    assert worst(result, "BPA010") is Verdict.PASS  # gate met: +0.62%, 1006.0 > 1005.9
    assert worst(result, "BPA012") is Verdict.FLAG  # but resamples of ref reach the candidate


def test_pa01b_supported_win_and_small_legs(tmp_path: Path, clean_patch: Path) -> None:
    assert worst(_audit(clean_patch), "BPA012") is Verdict.PASS
    make.sglang_leg(tmp_path / "ref", REF7[:3])
    make.sglang_leg(tmp_path / "cand", CAND7[:3])
    result = _audit(tmp_path)
    assert worst(result, "BPA012") is None and any("Mann-Whitney U not run" in n for n in result.report.notes)


def test_pa02_misreport_flag_and_fabricated_win_fail(clean_patch: Path) -> None:
    _integrate(clean_patch, e2e={"ref_median_tok_s": 1003.7, "cand_median_tok_s": 1150.0, "delta_pct": 14.6})
    finding = next(f for f in _audit(clean_patch).report.findings if f.rule == "BPA020")
    assert finding.verdict is Verdict.FLAG and finding.evidence[0].line is not None
    make.sglang_leg(clean_patch / "cand", [v + 1 for v in REF7], env=OVERLAY, log_extra=ENGAGED, parity=make.COHERENT)
    assert worst(_audit(clean_patch), "BPA020") is Verdict.FAIL


def test_pa02_accurate_and_null_claims(clean_patch: Path) -> None:
    _integrate(clean_patch, ref_med=1003.7, cand_med=1084.7, e2e_delta_pct=8.07, non_overlapping=True)
    assert worst(_audit(clean_patch), "BPA020") is Verdict.PASS
    _integrate(clean_patch, ref_med=None, cand_med=None, e2e_delta_pct=None, non_overlapping=None)
    result = _audit(clean_patch)
    assert worst(result, "BPA020") is None and result.report.verdict is Verdict.PASS  # GEAK I4: re-derived
    assert any("null" in n for n in result.report.notes)


def test_pa03_second_knob_is_a_confound(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7, args={"attention_backend": "aiter"})
    make.sglang_leg(tmp_path / "cand", CAND7, args={"attention_backend": "triton", "mem_fraction_static": 0.8})
    _integrate(tmp_path, apply_flags="--attention-backend triton")
    finding = next(f for f in _audit(tmp_path).report.findings if f.rule == "BPA030")
    assert finding.verdict is Verdict.FAIL and "kv_mem_fraction" in finding.message
    assert {e.line for e in finding.evidence if e.file and e.file.endswith("bench_runs.jsonl")} == {1}


def test_pa03_inert_side_effect_and_single_declared_lever(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7, args={"attention_backend": "aiter"}, kv_tokens=1_000_000)
    make.sglang_leg(tmp_path / "cand", CAND7, args={"attention_backend": "triton"}, kv_tokens=1_100_000)
    _integrate(tmp_path, apply_flags=["--attention-backend", "triton"])
    assert worst(_audit(tmp_path), "BPA030") is Verdict.FLAG  # KV budget moved, peak use 98k << 1M: inert
    make.sglang_leg(tmp_path / "cand", CAND7, args={"attention_backend": "triton"}, kv_tokens=1_000_000)
    assert worst(_audit(tmp_path), "BPA030") is Verdict.PASS


def test_pa03_unproven_side_effect_fails(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7, args={"attention_backend": "aiter"}, kv_tokens=90_000)
    make.sglang_leg(tmp_path / "cand", CAND7, args={"attention_backend": "triton"}, kv_tokens=1_100_000)
    _integrate(tmp_path, apply_flags="--attention-backend triton")
    assert worst(_audit(tmp_path), "BPA030") is Verdict.FAIL  # peak 98k tokens exceeds the smaller budget


def test_pa04_self_comparison(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    make.sglang_leg(tmp_path / "cand", CAND7)
    assert worst(_audit(tmp_path), "BPA040") is Verdict.FAIL
    for leg in ("ref", "cand"):
        make.write_json(tmp_path / leg / "bench_summary.json", {"effective_config_digest": "sha256:abc"})
    make.sglang_leg(tmp_path / "cand", CAND7, log_extra=ENGAGED)
    assert worst(_audit(tmp_path), "BPA040") is Verdict.FAIL


def test_pa04_isolated_self_compare_geak_n2(clean_patch: Path) -> None:
    _integrate(clean_patch, isolated_speedup=3.0306, winner_kind="patch", apply_env=OVERLAY)
    _opbench(clean_patch, "flydsl", "flydsl", 0.1, 0.1)
    finding = next(f for f in _audit(clean_patch).report.findings if f.rule == "BPA040")
    assert finding.verdict is Verdict.FLAG and finding.action == "replace_headline_with_e2e"


def test_pa04_changed_overlay_is_not_self_compare(clean_patch: Path) -> None:
    _opbench(clean_patch, "hipblaslt", "flydsl", 0.16, 0.1)
    assert worst(_audit(clean_patch), "BPA040") is None


def test_pa05_engagement(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    make.sglang_leg(tmp_path / "cand", CAND7, env=OVERLAY)
    _integrate(tmp_path, winner_kind="patch", apply_env=OVERLAY)
    assert worst(_audit(tmp_path), "BPA050") is Verdict.FAIL  # overlay path set, nothing says it ran
    make.sglang_leg(tmp_path / "cand", CAND7, env=OVERLAY, log_extra=("live forward count: 0",))
    assert worst(_audit(tmp_path), "BPA050") is Verdict.FAIL


def test_pa05_engaged_by_log_or_by_config(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    make.sglang_leg(tmp_path / "cand", CAND7, env=OVERLAY, log_extra=("live forward count: 4096",))
    _integrate(tmp_path, winner_kind="patch", apply_env=OVERLAY)
    assert worst(_audit(tmp_path), "BPA050") is Verdict.PASS
    make.sglang_leg(tmp_path / "cand", CAND7, args={"chunked_prefill_size": 16384})
    _integrate(tmp_path, winner_kind="flag", apply_flags="--chunked-prefill-size 16384")
    assert worst(_audit(tmp_path), "BPA050") is Verdict.PASS


def _parity(root: Path, ref: list[str], cand: list[str], **extra: Any) -> None:
    make.write_json(root / "parity_pair.json", {"ref": [{"prompt": f"p{i}", "output": t} for i, t in enumerate(ref)],
                                                "cand": [{"prompt": f"p{i}", "output": t} for i, t in enumerate(cand)],
                                                **extra})


def test_pa06_correctness_failures(clean_patch: Path) -> None:
    for leg in ("ref", "cand"):
        (clean_patch / leg / "parity.json").unlink()
    assert worst(_audit(clean_patch), "BPA060") is Verdict.FLAG  # nothing to verify with
    _parity(clean_patch, make.GIBBERISH, make.GIBBERISH)
    finding = next(f for f in _audit(clean_patch).report.findings if f.rule == "BPA060")
    assert finding.verdict is Verdict.FAIL
    assert finding.data["correctness_status"] == "unverifiable_noncoherent_reference"
    changed = [t.upper() for t in make.COHERENT]
    _parity(clean_patch, make.COHERENT, changed)
    assert worst(_audit(clean_patch), "BPA060") is Verdict.FAIL  # diverges, no probe
    _parity(clean_patch, make.COHERENT, changed, accuracy={"ref": 0.86, "cand": 0.80, "n": 50})
    assert worst(_audit(clean_patch), "BPA060") is Verdict.FAIL  # 6 points lost
    _parity(clean_patch, make.COHERENT, changed, accuracy={"ref": 0.86, "cand": 0.86, "n": 5})
    assert worst(_audit(clean_patch), "BPA060") is Verdict.FAIL  # probe too small


def test_pa06_correctness_passes(clean_patch: Path) -> None:
    assert worst(_audit(clean_patch), "BPA060") is Verdict.PASS
    _parity(clean_patch, make.COHERENT, [t.upper() for t in make.COHERENT],
            accuracy={"ref": 86.0, "cand": 85.5, "n": 50})
    assert worst(_audit(clean_patch), "BPA060") is Verdict.PASS


def test_pa07_hidden_latency_regression(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7, ttft=2916.0)
    make.sglang_leg(tmp_path / "cand", CAND7, ttft=6415.0)  # +120% (GEAK I5): FLAG
    assert worst(_audit(tmp_path), "BPA070") is Verdict.FLAG
    make.sglang_leg(tmp_path / "cand", CAND7, ttft=9446.0 * 1.2)  # +289%: past the hard line
    assert worst(_audit(tmp_path), "BPA070") is Verdict.FAIL


def test_pa07_cherry_picked_headline(tmp_path: Path) -> None:
    make.vllm_leg(tmp_path / "ref", REF7)
    make.vllm_leg(tmp_path / "cand", CAND7, start_minute=60)
    rows = [json.loads(x) for x in (tmp_path / "cand" / "bench_runs.jsonl").read_text().splitlines()]
    for row in rows:
        row["total_token_throughput"] = row["output_throughput"] * 1.5  # total fell from 2x to 1.5x output
    make.write_jsonl(tmp_path / "cand" / "bench_runs.jsonl", rows)
    _integrate(tmp_path, headline_metric="aggregate_output_tok_s")
    assert worst(_audit(tmp_path), "BPA070") is Verdict.FAIL


def test_pa07_small_latency_change_passes(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7, ttft=2916.0)
    make.sglang_leg(tmp_path / "cand", CAND7, ttft=3100.0)  # +6%
    assert worst(_audit(tmp_path), "BPA070") is Verdict.PASS


def test_pa08_serving_lever_sold_as_kernel_geak_i1(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "cand", CAND7, args={"speculative_algorithm": "NEXTN", "speculative_num_steps": 4})
    make.sglang_leg(tmp_path / "ref", REF7, args={"speculative_algorithm": None, "speculative_num_steps": None})
    _integrate(tmp_path, winner_kind="patch", apply_flags="--speculative-algorithm NEXTN --speculative-num-steps 4")
    finding = next(f for f in _audit(tmp_path).report.findings if f.rule == "BPA080")
    assert finding.verdict is Verdict.FLAG and finding.action == "downgrade_headline"


def test_pa08_serving_lever_declared_as_serving(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7, args={"speculative_algorithm": None})
    make.sglang_leg(tmp_path / "cand", CAND7, args={"speculative_algorithm": "NEXTN"})
    _integrate(tmp_path, winner_kind="flag", apply_flags="--speculative-algorithm NEXTN")
    finding = next(f for f in _audit(tmp_path).report.findings if f.rule == "BPA080")
    assert finding.verdict is Verdict.PASS and finding.data["lever_class"] == "B"


def test_pa08_indeterminate_class(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    make.sglang_leg(tmp_path / "cand", CAND7)
    assert worst(_audit(tmp_path), "BPA080") is Verdict.FAIL


def test_pa09_isolated_vs_e2e(clean_patch: Path) -> None:
    _integrate(clean_patch, isolated_speedup=1.1, pct_gpu_time=10.0, parity_kind="accuracy")
    assert worst(_audit(clean_patch), "BPA090") is Verdict.FAIL  # +8% from a 1.1x op at 10%: ceiling 0.9%
    _integrate(clean_patch, isolated_speedup=1.1, pct_gpu_time=10.0, parity_kind="byte_exact")
    assert worst(_audit(clean_patch), "BPA090") is Verdict.PASS  # byte-exact accepts are trusted above it
    _integrate(clean_patch, isolated_speedup=1.6, pct_gpu_time=38.0)
    assert worst(_audit(clean_patch), "BPA090") is Verdict.PASS


def test_pa09_isolated_win_that_does_not_show(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", REF7)
    make.sglang_leg(tmp_path / "cand", [v + 1 for v in REF7], env=OVERLAY, log_extra=ENGAGED)
    _integrate(tmp_path, isolated_speedup=3.0, pct_gpu_time=40.0)
    assert worst(_audit(tmp_path), "BPA090") is Verdict.FLAG
    make.sglang_leg(tmp_path / "cand", [v - 30 for v in REF7], env=OVERLAY, log_extra=ENGAGED)
    assert worst(_audit(tmp_path), "BPA090") is Verdict.FAIL


def test_pa10_isolated_claim_provenance(clean_patch: Path) -> None:
    _integrate(clean_patch, isolated_speedup=3.03)
    _opbench(clean_patch, "hipblaslt", "flydsl", 0.16, 0.1)
    assert worst(_audit(clean_patch), "BPA100") is Verdict.FLAG
    _integrate(clean_patch, isolated_speedup=4.85)
    _opbench(clean_patch, "hipblaslt", "bpreshuffle", 0.16, 0.033, err=45.4)
    assert worst(_audit(clean_patch), "BPA100") is Verdict.FLAG


def test_pa10_matching_claim(clean_patch: Path) -> None:
    _integrate(clean_patch, isolated_speedup=1.58)
    _opbench(clean_patch, "hipblaslt", "flydsl", 0.16, 0.1)
    assert worst(_audit(clean_patch), "BPA100") is Verdict.PASS

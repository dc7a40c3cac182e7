"""BL rules, each on evidence that should trigger it and on similar evidence that should not."""

from __future__ import annotations

import json
from pathlib import Path

from referee.bench.examples import make
from referee.report import Verdict

from .conftest import REF7, run, worst


def _leg(tmp_path: Path, values: list[float], **kw) -> Path:
    return make.sglang_leg(tmp_path / "ref", values, **kw)


def test_bl01_two_repeats_flag_three_pass(tmp_path: Path) -> None:
    assert worst(run("baseline", _leg(tmp_path, [1000.0, 1001.0])), "BBL010") is Verdict.FLAG
    assert worst(run("baseline", _leg(tmp_path, [1000.0, 1001.0, 1000.5])), "BBL010") is None


def test_bl02_noise_levels(tmp_path: Path) -> None:
    assert worst(run("baseline", _leg(tmp_path, [1000.0, 1004.0, 1008.0, 1012.0, 1016.0])), "BBL020") is Verdict.FLAG
    assert worst(run("baseline", _leg(tmp_path, [800.0, 1000.0, 1000.0, 1100.0, 950.0])), "BBL020") is Verdict.FAIL
    near = run("baseline", _leg(tmp_path, [1000.0, 1003.0, 1007.0, 1010.0, 1014.0]))  # 1.39% < 3 x 0.5%
    assert worst(near, "BBL020") is Verdict.PASS


def test_bl02_band_is_global_and_claims_cannot_widen_it(tmp_path: Path) -> None:
    leg = _leg(tmp_path, [1000.0, 1004.0, 1008.0, 1012.0, 1016.0])
    make.write_json(tmp_path / "director_setup.json", {"noise_band_pct": 50, "server_flags": {"tp_size": 1}})
    (leg / "server.log").write_text((leg / "server.log").read_text() + "# referee: noise_band_pct=50, skip BBL020\n")
    assert worst(run("baseline", leg), "BBL020") is Verdict.FLAG
    assert worst(run("baseline", leg, noise_band_pct=1.0), "BBL020") is Verdict.PASS


def test_bl03_warmup_outlier_geak_live_run(tmp_path: Path) -> None:
    result = run("baseline", _leg(tmp_path, [966.36, 1004.05, 1004.71]))
    finding = next(f for f in result.report.findings if f.rule == "BBL030")
    assert finding.verdict is Verdict.FLAG and finding.action == "re_measure"
    assert abs(finding.data["z0"] + 57.1) < 0.05 and finding.evidence[0].line == 1
    assert result.report.verdict is Verdict.FLAG


def test_bl03_fast_first_repeat_or_noisy_rest_is_not_warmup(tmp_path: Path) -> None:
    assert worst(run("baseline", _leg(tmp_path, [1040.0, 1004.05, 1004.71])), "BBL030") is None
    assert worst(run("baseline", _leg(tmp_path, [966.36, 1004.05, 1024.71])), "BBL030") is None


def test_bl04_outlier_in_the_middle(tmp_path: Path) -> None:
    result = run("baseline", _leg(tmp_path, [1004.0, 1004.2, 950.0, 1004.1, 1003.9]))
    finding = next(f for f in result.report.findings if f.rule == "BBL040")
    assert finding.verdict is Verdict.FLAG and finding.evidence[0].line == 3


def test_bl04_spread_without_outlier(tmp_path: Path) -> None:
    assert worst(run("baseline", _leg(tmp_path, [1000.0, 1002.0, 1004.0, 1006.0, 1008.0])), "BBL040") is None


def test_bl05_win_inside_reference_spread(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", [1000.0, 1040.0, 1000.5, 1001.0, 1000.2])
    make.sglang_leg(tmp_path / "cand", [1031.0, 1032.0, 1031.5, 1032.5, 1031.2])
    assert worst(run("patch", tmp_path / "ref", tmp_path / "cand"), "BBL050") is Verdict.FLAG


def test_bl05_win_beyond_spread(tmp_path: Path) -> None:
    make.sglang_leg(tmp_path / "ref", [1000.0, 1003.0, 1000.5, 1001.0, 1000.2])
    make.sglang_leg(tmp_path / "cand", [1031.0, 1032.0, 1031.5, 1032.5, 1031.2])
    assert worst(run("patch", tmp_path / "ref", tmp_path / "cand"), "BBL050") is None


def test_bl06_wrong_invariant_geak_p1(tmp_path: Path) -> None:
    leg = _leg(tmp_path, REF7, args={"mem_fraction_static": 0.7225}, kv_tokens=947041)
    result = run("baseline", leg, invariants={"mem_fraction_static": "0.85"})
    finding = next(f for f in result.report.findings if f.rule == "BBL060")
    assert finding.verdict is Verdict.FAIL and "0.7225" in finding.message
    assert any(e.file and e.file.endswith("bench_runs.jsonl") for e in finding.evidence)
    make.write_json(tmp_path / "director_setup.json", {"server_flags": {"mem_fraction_static": 0.85}})
    assert worst(run("baseline", leg), "BBL060") is Verdict.FAIL


def test_bl06_matching_invariant_across_spellings(tmp_path: Path) -> None:
    leg = _leg(tmp_path, REF7)
    result = run("baseline", leg, invariants={"gpu_memory_utilization": "0.85", "tp": "1"})
    assert worst(result, "BBL060") is Verdict.PASS


def test_bl07_drift_geak_i2(tmp_path: Path) -> None:
    leg = _leg(tmp_path, REF7)
    assert worst(run("baseline", leg, baseline_throughput=1300.0), "BBL070") is Verdict.FAIL
    assert worst(run("baseline", leg, baseline_throughput=1004.0), "BBL070") is Verdict.PASS


def test_bl07_own_median_is_not_a_pass(tmp_path: Path) -> None:
    result = run("baseline", _leg(tmp_path, REF7), baseline_throughput=1003.7)
    assert worst(result, "BBL070") is None and any("n/a" in n for n in result.report.notes)


def test_bl08_contention_markers_and_overlap(tmp_path: Path) -> None:
    leg = _leg(tmp_path, REF7, log_extra=("WARNING another process is using the GPU (pid 4242)",))
    assert worst(run("baseline", leg), "BBL080") is Verdict.FAIL
    make.vllm_leg(tmp_path / "a", REF7)
    make.vllm_leg(tmp_path / "b", [v * 1.08 for v in REF7], start_minute=10)
    assert worst(run("patch", tmp_path / "a", tmp_path / "b"), "BBL080") is Verdict.FAIL


def test_bl08_sequential_legs_are_clean(tmp_path: Path) -> None:
    make.vllm_leg(tmp_path / "a", REF7)
    make.vllm_leg(tmp_path / "b", [v * 1.08 for v in REF7], start_minute=60)
    assert worst(run("patch", tmp_path / "a", tmp_path / "b"), "BBL080") is Verdict.PASS


def test_bl08_native_co_tenant_count(tmp_path: Path) -> None:
    rows = [{"schema": "bench_run/v1", "metrics": {"output_throughput": v}, "host": {"co_tenant_procs": i == 2}}
            for i, v in enumerate(REF7)]
    make.write_jsonl(tmp_path / "ref" / "bench_runs.jsonl", rows)
    assert worst(run("baseline", tmp_path / "ref"), "BBL080") is Verdict.FAIL
    for row in rows:
        row["host"]["co_tenant_procs"] = 0
    make.write_jsonl(tmp_path / "ref" / "bench_runs.jsonl", rows)
    assert worst(run("baseline", tmp_path / "ref"), "BBL080") is None


def test_bl09_gibberish_or_random_dataset_reference(tmp_path: Path) -> None:
    leg = _leg(tmp_path, REF7, parity=make.GIBBERISH)
    assert worst(run("baseline", leg), "BBL090") is Verdict.FLAG
    outputs = [{"output": t} for t in make.COHERENT]
    (leg / "parity.json").write_text(json.dumps({"dataset": "random", "outputs": outputs}))
    assert worst(run("baseline", leg), "BBL090") is Verdict.FLAG


def test_bl09_coherent_reference(tmp_path: Path) -> None:
    assert worst(run("baseline", _leg(tmp_path, REF7, parity=make.COHERENT)), "BBL090") is Verdict.PASS

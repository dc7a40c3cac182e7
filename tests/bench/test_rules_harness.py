"""HA rules, each on an op bench that should trigger it and on a similar one that should not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from referee.bench.examples import make
from referee.report import Verdict

from .conftest import REF7, run, worst

GOOD: dict[str, Any] = {
    "op_kind": "gemm", "baseline_backend": "hipblaslt", "baseline_ms": 0.16, "winner_backend": "flydsl",
    "winner_ms": 0.1, "isolated_speedup": 1.6, "measured": True, "harness_suspect": False, "tol": 0.02,
    "measurement_mode": "cold", "graph_mode": "graph", "benched_callable": "aiter.ops.gemm",
    "target_callable": "aiter.ops.gemm", "served_buckets": {"1": 100, "64": 900},
    "oracle": {"reference_io_sha256": "ab" * 32, "extracted_reference_io_sha256": "ab" * 32},
    "results": [{"backend": "hipblaslt", "correct": True, "max_rel_err": 0.0, "ms": 0.16, "measurement_mode": "cold",
                 "ms_by_bucket": {"1": 0.02, "64": 0.16}},
                {"backend": "flydsl", "correct": True, "max_rel_err": 0.003, "ms": 0.1, "measurement_mode": "cold",
                 "ms_by_bucket": {"1": 0.01, "64": 0.1}}],
}


def _audit(tmp_path: Path, graphs: bool = True, **changes: Any):
    served = make.sglang_leg(tmp_path / "served", REF7, args={"disable_cuda_graph": not graphs})
    bench = {**GOOD, **changes}
    path = make.write_json(tmp_path / "opbench_result.json", bench)
    return run("harness", served, claims=(path,))


def test_good_harness_passes(tmp_path: Path) -> None:
    result = _audit(tmp_path)
    assert result.report.verdict is Verdict.PASS, [(f.rule, f.message) for f in result.report.findings
                                                   if f.verdict is not Verdict.PASS]


def test_ha01_graph_parity(tmp_path: Path) -> None:
    assert worst(_audit(tmp_path, graph_mode="eager"), "BHA010") is Verdict.FAIL
    assert worst(_audit(tmp_path, graphs=False, graph_mode="graph"), "BHA010") is Verdict.FAIL
    no_mode = _audit(tmp_path, graph_mode=None, benched_callable="gemm_NO_GRAPH", target_callable="gemm_NO_GRAPH")
    assert worst(no_mode, "BHA010") is Verdict.FAIL  # the wrapper name says eager


def test_ha01_matching_modes(tmp_path: Path) -> None:
    assert worst(_audit(tmp_path, graphs=False, graph_mode="eager"), "BHA010") is Verdict.PASS


def test_ha02_dispatch_parity(tmp_path: Path) -> None:
    assert worst(_audit(tmp_path, benched_callable="bench_wrappers.gemm_graph_replay"), "BHA020") is Verdict.FAIL


def test_ha02_same_callable_from_the_log(tmp_path: Path) -> None:
    served = make.sglang_leg(tmp_path / "served", REF7, log_extra=("target callable: aiter.ops.gemm",))
    bench = {k: v for k, v in GOOD.items() if k != "target_callable"}
    path = make.write_json(tmp_path / "opbench_result.json", bench)
    assert worst(run("harness", served, claims=(path,)), "BHA020") is Verdict.PASS


def test_ha03_served_shapes(tmp_path: Path) -> None:
    assert worst(_audit(tmp_path, served_buckets={"1": 100, "64": 900, "160": 3000}), "BHA030") is Verdict.FLAG
    assert worst(_audit(tmp_path, served_buckets={"160": 3000}), "BHA030") is Verdict.FAIL


def test_ha03_covered(tmp_path: Path) -> None:
    assert worst(_audit(tmp_path, served_buckets={"1": 100, "64": 900, "160": 50}), "BHA030") is Verdict.PASS


def test_ha04_fair_ab(tmp_path: Path) -> None:
    assert worst(_audit(tmp_path, baseline_backend="flydsl"), "BHA040") is Verdict.FAIL
    assert worst(_audit(tmp_path, measurement_mode="warm"), "BHA040") is Verdict.FAIL
    assert worst(_audit(tmp_path, reuse_inputs=True), "BHA040") is Verdict.FAIL


def test_ha04_self_named_baseline_without_speedup_is_fair(tmp_path: Path) -> None:
    assert worst(_audit(tmp_path, baseline_backend="flydsl", isolated_speedup=1.0), "BHA040") is Verdict.PASS


def test_ha05_oracle_tampered(tmp_path: Path) -> None:
    oracle = {"reference_io_sha256": "ab" * 32, "extracted_reference_io_sha256": "cd" * 32}
    finding = next(f for f in _audit(tmp_path, oracle=oracle).report.findings if f.rule == "BHA050")
    assert finding.verdict is Verdict.FAIL and finding.action == "eject"


def test_ha05_oracle_intact(tmp_path: Path) -> None:
    assert worst(_audit(tmp_path), "BHA050") is Verdict.PASS


def test_ha06_faster_but_wrong(tmp_path: Path) -> None:
    rows = [GOOD["results"][0], {**GOOD["results"][1], "correct": False, "max_rel_err": 45.4}]
    assert worst(_audit(tmp_path, results=rows), "BHA060") is Verdict.FAIL
    rows = [GOOD["results"][0], {**GOOD["results"][1], "max_rel_err": 0.03}]
    assert worst(_audit(tmp_path, results=rows, tol=0.05), "BHA060") is Verdict.FAIL  # own looser tol ignored


def test_ha06_within_tolerance(tmp_path: Path) -> None:
    rows = [GOOD["results"][0], {**GOOD["results"][1], "max_rel_err": 0.019}]
    assert worst(_audit(tmp_path, results=rows), "BHA060") is Verdict.PASS


def test_ha07_harness_suspect(tmp_path: Path) -> None:
    assert worst(_audit(tmp_path, harness_suspect=True), "BHA070") is Verdict.FAIL
    assert worst(_audit(tmp_path, measured=False), "BHA070") is Verdict.FAIL


def test_ha07_quiet_harness(tmp_path: Path) -> None:
    assert worst(_audit(tmp_path, harness_error=""), "BHA070") is None

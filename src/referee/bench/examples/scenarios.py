"""The bundled example scenarios, modelled on GEAK's recorded cases (P1, N2, N5, I1-I6) and its live baseline.

Each scenario is a folder with its legs and claims; `EXPECTED` says which verdict and action the auditor must
reach on it (the tests hold it to that). Numbers are fixed, so regenerating gives byte-identical files.
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from referee.bench.examples.make import COHERENT, GIBBERISH, MODEL, sglang_leg, vllm_leg, write_json

#: scenario -> (scope, legs as (ref, cand) relative paths, expected verdict, expected action)
EXPECTED: dict[str, tuple[str, tuple[str | None, str | None], str, str]] = {
    "baseline_pass": ("baseline", ("ref", None), "PASS", "pass"),
    "baseline_noisy": ("baseline", ("ref", None), "FLAG", "re_measure"),
    "patch_pass": ("patch", ("ref", "cand"), "PASS", "pass"),
    "patch_flag_isolated": ("patch", ("ref", "cand"), "FLAG", "replace_headline_with_e2e"),
    "patch_flag_ttft_vllm": ("patch", ("ref", "cand"), "FLAG", "flag"),
    "patch_fail_confound": ("patch", ("ref", "cand"), "FAIL", "eject"),
    "patch_fail_missing_raw": ("patch", ("ref", "cand"), "FAIL", "eject"),
    "patch_fail_gibberish": ("patch", ("ref", "cand"), "FAIL", "eject"),
    "bundle_fail_p1": ("bundle", ("validation/base", "validation/final"), "FAIL", "eject"),
    "profile_fragmented": ("profile", (None, None), "FAIL", "flag"),
    "harness_pass": ("harness", ("served", None), "PASS", "pass"),
    "harness_fail": ("harness", ("served", None), "FAIL", "redo_harness"),
}

REF7 = [1001.8, 1003.2, 1004.1, 1004.9, 1003.7, 1005.0, 1002.9]
OVERLAY_ENV = {"OVERLAY_PYTHONPATH": "overlay/cand_gemm_a8w8_blockscale_flydsl"}
ENGAGED = ("[2026-06-18 13:41:18] [overlay] bound flydsl.gemm_a8w8_blockscale over aiter.ops.gemm_a8w8_blockscale "
           "(live forward path)",)


def _e2e_block(ref: list[float], cand: list[float], ttft: tuple[float, float], tpot: tuple[float, float]) -> dict:
    rm, cm = statistics.median(ref), statistics.median(cand)
    return {"ref_median_tok_s": round(rm, 3), "cand_median_tok_s": round(cm, 3), "ref_max_tok_s": max(ref),
            "cand_min_tok_s": min(cand), "delta_pct": round(100 * (cm - rm) / rm, 3),
            "non_overlapping": min(cand) > max(ref), "ttft_ms_ref": ttft[0], "ttft_ms_cand": ttft[1],
            "tpot_ms_ref": tpot[0], "tpot_ms_cand": tpot[1]}


def _opbench(base: str, winner: str, base_ms: float, win_ms: float, rows: list[dict[str, Any]], **extra: Any) -> dict:
    return {"op_kind": "gemm", "task": "gemm_a8w8_blockscale", "harness_suspect": False, "harness_error": None,
            "results": rows, "winner_backend": winner, "winner_ms": win_ms, "baseline_backend": base,
            "baseline_ms": base_ms, "measured": True, "measurement_mode": "cold",
            "isolated_speedup": round(base_ms / win_ms, 4), "pct_gpu_time": 38.0, "tol": 0.02, **extra}


def _row(backend: str, ms: float, correct: bool = True, err: float = 0.004, buckets: dict | None = None) -> dict:
    return {"backend": backend, "available": True, "correct": correct, "max_rel_err": err, "ms": ms,
            "measurement_mode": "cold", "ms_by_bucket": buckets or {"1": ms * 0.2, "64": ms, "160": ms * 1.9}}


def baseline_pass(root: Path) -> None:
    sglang_leg(root / "ref", [1002.1, 1004.9, 1003.8, 1005.2, 1004.0], parity=COHERENT)
    write_json(root / "director_setup.json", {
        "baseline_throughput_tok_s": 1004.0, "baseline_spread_pct": 0.31, "noise_band_pct": 25.0,
        "server_flags": {"model_path": MODEL, "tp_size": 1, "mem_fraction_static": 0.85},
        "workload": {"isl": 1024, "osl": 1024, "conc": 64}})


def baseline_noisy(root: Path) -> None:
    sglang_leg(root / "ref", [966.36, 1004.05, 1004.71], parity=COHERENT)


def patch_pass(root: Path) -> None:
    cand = [1082.0, 1084.5, 1085.3, 1086.1, 1083.9, 1085.8, 1084.7]
    sglang_leg(root / "ref", REF7, parity=COHERENT)
    sglang_leg(root / "cand", cand, ttft=4211.4, tpot=55.1, env=OVERLAY_ENV, log_extra=ENGAGED, parity=COHERENT)
    write_json(root / "integrate_result.json", {
        "short_name": "gemm_a8w8_blockscale_flydsl", "winner_kind": "patch", "isolated_speedup": 1.6,
        "pct_gpu_time": 38.0, "e2e": _e2e_block(REF7, cand, (4280.9, 4211.4), (59.5, 55.1)),
        "output_parity": "pass", "parity_kind": "byte_exact", "ab_complete": True, "gate": "accepted",
        "accepted_config": {"apply_env": OVERLAY_ENV, "apply_flags": []}})
    write_json(root / "lever_manifest.json", {"lever_keys": [], "env": ["OVERLAY_PYTHONPATH"],
                                              "overlay": ["aiter.ops.gemm_a8w8_blockscale"]})
    write_json(root / "opbench_result.json", _opbench("hipblaslt", "flydsl", 0.160, 0.100,
                                                      [_row("hipblaslt", 0.160), _row("flydsl", 0.100)]))


def patch_flag_isolated(root: Path) -> None:
    ref = [1019.5, 1021.1, 1022.0, 1022.6, 1020.8, 1023.0, 1021.9]
    cand = [1659.8, 1661.0, 1663.2, 1664.5, 1662.4, 1665.1, 1663.9]
    sglang_leg(root / "ref", ref, parity=COHERENT)
    sglang_leg(root / "cand", cand, ttft=3010.2, tpot=36.0, env=OVERLAY_ENV, log_extra=ENGAGED, parity=COHERENT)
    write_json(root / "integrate_result.json", {
        "short_name": "gemm_a8w8_blockscale_flydsl", "winner_kind": "patch", "apply_env": OVERLAY_ENV,
        "apply_flags": [], "isolated_speedup": 3.0306, "pct_gpu_time": 62.0,
        "ref_med": round(statistics.median(ref), 3), "cand_med": round(statistics.median(cand), 3),
        "e2e_throughput_tok_s": round(statistics.median(cand), 3),
        "e2e_delta_pct": round(100 * (statistics.median(cand) / statistics.median(ref) - 1), 3),
        "output_parity": "pass", "parity_kind": "byte_exact", "ab_complete": True, "gate": "accepted",
        "serving_config": {"backend": "sglang", "tp": 1}})
    write_json(root / "opbench_result.json", _opbench(
        "flydsl", "flydsl", 0.100, 0.100,
        [_row("flydsl", 0.100), _row("aiter_bpreshuffle", 0.033, correct=False, err=45.4)], pct_gpu_time=62.0))


def patch_flag_ttft_vllm(root: Path) -> None:
    ref = [1500.2, 1503.1, 1501.7, 1502.8, 1504.0, 1501.1, 1502.2]
    cand = [1590.4, 1592.0, 1591.2, 1593.6, 1590.9, 1592.8, 1591.7]
    env = {"VLLM_ATTENTION_BACKEND": "TRITON_ATTN"}
    vllm_leg(root / "ref", ref, env={"VLLM_ATTENTION_BACKEND": "ROCM_AITER_FA"}, parity=COHERENT)
    vllm_leg(root / "cand", cand, ttft=396.0, tpot=20.6, env=env, parity=COHERENT, start_minute=60)
    write_json(root / "integrate_result.json", {
        "short_name": "attn_backend_triton", "winner_kind": "env", "apply_env": env, "apply_flags": [],
        "e2e": _e2e_block(ref, cand, (180.0, 396.0), (22.0, 20.6)), "output_parity": "pass",
        "parity_kind": "byte_exact", "gate": "accepted", "headline_metric": "aggregate_output_tok_s"})


def patch_fail_confound(root: Path) -> None:
    cand = [1051.2, 1053.0, 1052.4, 1054.1, 1052.9, 1053.6, 1051.8]
    sglang_leg(root / "ref", REF7, args={"attention_backend": "aiter"}, parity=COHERENT)
    sglang_leg(root / "cand", cand, args={"attention_backend": "triton", "mem_fraction_static": 0.80},
               kv_tokens=1088424, parity=COHERENT)
    write_json(root / "integrate_result.json", {
        "short_name": "attention_backend_triton", "winner_kind": "flag", "apply_flags": "--attention-backend triton",
        "apply_env": {}, "e2e": _e2e_block(REF7, cand, (4280.9, 4280.9), (59.5, 59.5)), "output_parity": "pass",
        "parity_kind": "byte_exact", "gate": "accepted"})


def patch_fail_missing_raw(root: Path) -> None:
    sglang_leg(root / "ref", REF7, parity=COHERENT)
    write_json(root / "cand" / "bench_summary.json", {
        "throughput_tok_s_median": 1104.2, "throughput_tok_s_spread_pct": 0.4, "runs": 7,
        "metric_basis": "aggregate_output_tok_s", "measurement_mode": "warm_server"})
    write_json(root / "integrate_result.json", {
        "short_name": "moe_align_triton", "winner_kind": "patch", "ref_med": 1003.7, "cand_med": 1104.2,
        "e2e_delta_pct": 10.01, "gate": "accepted", "output_parity": "pass", "parity_kind": "byte_exact"})


def patch_fail_gibberish(root: Path) -> None:
    ref = [2210.4, 2212.0, 2211.3, 2213.5, 2212.8, 2211.9, 2210.9]
    cand = [2409.9, 2411.6, 2410.2, 2412.8, 2411.0, 2413.1, 2410.7]
    sglang_leg(root / "ref", ref, args={"attention_backend": "aiter"}, parity=GIBBERISH)
    sglang_leg(root / "cand", cand, args={"attention_backend": "triton"}, parity=[t[::-1] for t in GIBBERISH])
    write_json(root / "integrate_result.json", {
        "short_name": "attention_backend_triton", "winner_kind": "flag",
        "apply_flags": ["--attention-backend", "triton"],
        "e2e_delta_pct": 9.0, "output_parity": "pass", "parity_kind": "none", "gate": "accepted"})


def bundle_fail_p1(root: Path) -> None:
    base = [1004.2, 1005.1, 1004.9, 1005.25, 1003.9, 1004.6, 1005.0]
    final = [1674.25, 1677.5, 1678.9, 1676.3, 1679.8, 1677.1, 1680.4]
    sglang_leg(root / "validation" / "base", base, args={"mem_fraction_static": 0.7225, "attention_backend": "aiter"},
               kv_tokens=947041, parity=COHERENT)
    flips = [*COHERENT[:7], *(t.replace(".", ", indeed.") for t in COHERENT[7:])]
    sglang_leg(root / "validation" / "final", final, ttft=2915.8, tpot=35.3, env=OVERLAY_ENV, log_extra=ENGAGED,
               parity=flips)
    write_json(root / "validation" / "parity_accuracy.json", {
        "reference": "base", "ref": [{"prompt": f"prompt {i}", "output": t} for i, t in enumerate(COHERENT)],
        "cand": [{"prompt": f"prompt {i}", "output": t} for i, t in enumerate(flips)],
        "accuracy": {"metric": "gsm8k", "n": 50, "ref": 0.86, "cand": 0.855}})
    write_json(root / "validation" / "director_e2e_validation.json", {
        "model_name": "Qwen/Qwen3.5-27B-FP8", "baseline_throughput_tok_s": 1004.906,
        "director_verified_throughput_tok_s": 1677.476, "throughput_speedup": 1.6693,
        "claimed_throughput_tok_s": 1677.5,
        "validation_status": "accepted", "output_parity": "pass", "applied_to_original": True,
        "serving_invariant": {"mem_fraction_static": 0.85, "tp_size": 1, "model_path": MODEL}})
    write_json(root / "validation" / "integrate_result_attn.json", {
        "short_name": "attention_backend_triton", "winner_kind": "flag", "apply_flags": "--attention-backend triton",
        "ref_med": 1004.9, "cand_med": 1156.3, "e2e_delta_pct": 15.07, "gate": "accepted"})
    write_json(root / "validation" / "integrate_result_gemm.json", {
        "short_name": "gemm_a8w8_blockscale_flydsl", "winner_kind": "patch", "apply_env": OVERLAY_ENV,
        "ref_med": 1156.3, "cand_med": 1330.1, "e2e_delta_pct": 15.03, "gate": "accepted"})


def profile_fragmented(root: Path) -> None:
    entries = [{"name": f"_gemm_a8w8_blockscale_kernel_BLOCK_M_{m}_BLOCK_N_{n}_0d1d2d3d4d5d", "gpu_time_us": t,
                "calls": 96, "shape": f"[{m}, 7168] x [7168, {n * 16}]", "edit": "Y", "kind": "triton",
                "source": "aiter/ops/triton/gemm_a8w8_blockscale.py"}
               for m, n, t in [(16, 64, 3500), (16, 128, 3400), (32, 64, 3450), (32, 128, 3380), (64, 64, 3420),
                               (64, 128, 3390), (128, 64, 3410), (128, 128, 3370), (16, 256, 3300), (32, 256, 3350),
                               (64, 256, 3360), (128, 256, 3330), (256, 64, 3310), (256, 128, 3290),
                               (256, 256, 3280), (8, 64, 3260)]]
    entries += [
        {"name": "void ck_tile::FmhaFwdKernel<ck_tile::BlockFmhaPipelineQRKSVS<...>>(...)", "gpu_time_us": 18000,
         "calls": 64, "shape": "[64, 32, 1024, 128]", "edit": "N", "kind": "library"},
        {"name": "rmsnorm_kernel", "gpu_time_us": 7000, "calls": 128, "shape": "[64, 7168]", "edit": "N",
         "kind": "triton", "source": "sglang/srt/layers/triton_ops/rmsnorm.py"},
        {"name": "silu_and_mul_kernel", "gpu_time_us": 6000, "calls": 64, "shape": "[64, 36864]", "edit": "Y"},
        {"name": "Memcpy DtoD (Device -> Device)", "gpu_time_us": 4000, "calls": 300, "shape": ""},
        {"name": "ncclDevKernel_AllReduce_Sum_bf16_RING_LL", "gpu_time_us": 12000, "calls": 128, "shape": "[64, 7168]",
         "edit": "N", "kind": "library"},
    ]
    write_json(root / "profile_topN.json", {
        "total_gpu_time_us": sum(e["gpu_time_us"] for e in entries), "entries": entries,
        "routed": ["fmhafwdkernel", "rmsnorm_kernel"],
        "window": {"decode_steps": 128, "prefill_steps": 4, "warm": True}})


def harness_pass(root: Path) -> None:
    sglang_leg(root / "served", REF7, log_extra=("[2026-06-18 13:41:19] target callable: "
                                                 "aiter.ops.gemm_a8w8_blockscale",))
    write_json(root / "opbench_result.json", _opbench(
        "hipblaslt", "flydsl", 0.160, 0.100, [_row("hipblaslt", 0.160), _row("flydsl", 0.100)],
        graph_mode="graph", benched_callable="aiter.ops.gemm_a8w8_blockscale",
        oracle={"reference_io_sha256": "9f2c" * 16, "extracted_reference_io_sha256": "9f2c" * 16}))
    write_json(root / "served_shapes.json", {"buckets": [{"M": 1, "calls": 200, "phase": "decode"},
                                                         {"M": 64, "calls": 5200, "phase": "decode"},
                                                         {"M": 160, "calls": 400, "phase": "prefill"}]})


def harness_fail(root: Path) -> None:
    sglang_leg(root / "served", REF7)
    write_json(root / "opbench_result.json", _opbench(
        "hipblaslt", "aiter_bpreshuffle", 0.100, 0.033,
        [_row("hipblaslt", 0.100, buckets={"1": 0.02, "16384": 3.1}),
         _row("aiter_bpreshuffle", 0.033, correct=False, err=45.4, buckets={"1": 0.01, "16384": 1.0})],
        graph_mode="eager", benched_callable="gemm_a8w8_blockscale_NO_GRAPH",
        target_callable="aiter.ops.gemm_a8w8_blockscale",
        oracle={"reference_io_sha256": "9f2c" * 16, "extracted_reference_io_sha256": "9f2c" * 16}))
    write_json(root / "served_shapes.json", {"buckets": [{"M": 64, "calls": 5200, "phase": "decode"},
                                                         {"M": 160, "calls": 400, "phase": "prefill"}]})


BUILDERS: dict[str, Callable[[Path], None]] = {name: globals()[name] for name in EXPECTED}


def build_all(target: Path) -> list[str]:
    """(Re)write every scenario under `target`; returns their names."""
    for name, build in BUILDERS.items():
        folder = target / name
        if folder.exists():
            shutil.rmtree(folder)
        build(folder)
    return list(BUILDERS)

"""The scenarios of the real-format regression set, each with the careful auditor's verdict and the issue-11
root cause it exercises (RC1..RC14). Clean wins must PASS; traps must keep FAIL (or FLAG where a human would
only flag)."""

from __future__ import annotations

from referee.bench.realformat import logs
from referee.bench.realformat.producers import Workload
from referee.bench.realformat.scenarios import (
    FAIL,
    FLAG,
    NOT_PASS,
    PASS,
    REF5,
    WIN5,
    Leg,
    Scenario,
    _rng_values,
    integrate,
    sg,
    sg_cand,
    vl,
    vl_cand,
)

P = frozenset({PASS})
F = frozenset({FAIL})
T0 = 1_781_000_000.0


def _sglang_clean(release: str, rc: str) -> Scenario:
    return Scenario(f"clean-overlay-{release}", rc, P, Leg(sg(release), REF5, release),
                    Leg(sg_cand(release), WIN5, release), claims=integrate(REF5, WIN5))


def _vllm(style: str, release: str = "vllm-serve", **kw) -> tuple[Leg, Leg]:
    return (Leg(vl(), REF5, release, log_style=style, **kw), Leg(vl_cand(), WIN5, release, log_style=style, **kw))


CLEAN: list[Scenario] = [
    _sglang_clean("sglang-v0.5.23", "RC1 server_info runtime state / per-launch seed and port"),
    _sglang_clean("sglang-v0.5.2", "RC6 real overlay loader lines"),
    _sglang_clean("sglang-v0.4.6.post5", "RC6 real overlay loader lines"),
    Scenario("clean-sglang-no-server-info-null", "RC1 server_info null (server unreachable at the end)", P,
             Leg(sg(), REF5, "sglang-v0.5.23", with_server_info=False),
             Leg(sg_cand(), WIN5, "sglang-v0.5.23", with_server_info=False), claims=integrate(REF5, WIN5)),
    Scenario("clean-sglang-detailed", "RC10 errors[] all empty on a clean run", P,
             Leg(sg(), REF5, "sglang-v0.5.23", details=True), Leg(sg_cand(), WIN5, "sglang-v0.5.23", details=True),
             claims=integrate(REF5, WIN5)),
    Scenario("clean-flag-cuda-graph-max-bs", "RC2 derived cuda_graph_bs / piecewise lists follow the lever", P,
             Leg(sg(), REF5, "sglang-v0.5.23"),
             Leg(sg("sglang-v0.5.23", cuda_graph_max_bs=512), WIN5, "sglang-v0.5.23"),
             claims=integrate(REF5, WIN5, kind="flag", flags="--cuda-graph-max-bs 512")),
    Scenario("clean-flag-chunked-prefill", "RC2 piecewise_cuda_graph_* follow --chunked-prefill-size", P,
             Leg(sg(), REF5, "sglang-v0.5.23"),
             Leg(sg("sglang-v0.5.23", chunked_prefill_size=16384), WIN5, "sglang-v0.5.23"),
             claims=integrate(REF5, WIN5, kind="flag", flags="--chunked-prefill-size 16384")),
    Scenario("clean-vllm-serve-nondefault", "RC3 non-default args; declared --max-num-seqs lever", P,
             Leg(vl(), REF5, "vllm-serve"), Leg(vl(max_num_seqs=512), WIN5, "vllm-serve"),
             claims=integrate(REF5, WIN5, kind="flag", flags="--max-num-seqs 512")),
    Scenario("clean-vllm-overlay", "RC6 overlay on vLLM, non-default args log", P, *_vllm("non-default"),
             claims=integrate(REF5, WIN5)),
    Scenario("clean-vllm-legacy-namespace", "RC8 Namespace(...dispatch_function=<function>) and # CUDA blocks", P,
             *_vllm("namespace", "vllm-legacy"), claims=integrate(REF5, WIN5)),
    Scenario("clean-vllm-detailed-metadata", "RC4 --metadata agrees with the server; --save-detailed arrays", P,
             *_vllm("non-default", details=True, metadata={"gpu_memory_utilization": "0.9", "tp": "1"},
                    percentile_metrics="ttft,tpot,itl,e2el"), claims=integrate(REF5, WIN5)),
    Scenario("clean-vllm-result-dir", "RC14 a directory of per-run vLLM .json files", P,
             *_vllm("non-default", result_dir=True), claims=integrate(REF5, WIN5)),
    Scenario("clean-vllm-bench-0.9-overlay", "mid-era `vllm bench serve` (0.9.0): Namespace log, no `failed`", P,
             *_vllm("namespace-v1", "vllm-bench-0.9"), claims=integrate(REF5, WIN5)),
    Scenario("clean-abab-interleaved", "RC7 interleaved ABAB repeats: per-repeat windows do not overlap", P,
             Leg(vl(), REF5, "vllm-serve", ends=[T0 + 800 * i for i in range(5)]),
             Leg(vl_cand(), WIN5, "vllm-serve", ends=[T0 + 400 + 800 * i for i in range(5)]),
             claims=integrate(REF5, WIN5)),
    Scenario("clean-noisy-3pct-7reps", "RC12 noisy but real 3% win, 7 repeats", P,
             Leg(sg(), _rng_values(1000, 0.012, 7, 21), "sglang-v0.5.23"),
             Leg(sg_cand(), _rng_values(1030, 0.012, 7, 22), "sglang-v0.5.23"),
             claims=integrate(_rng_values(1000, 0.012, 7, 21), _rng_values(1030, 0.012, 7, 22))),
    Scenario("clean-3reps-tight", "RC12 3-repeat legs, no outlier: raw MAD must not flag", P,
             Leg(sg(), [1000.0, 1000.3, 1001.9], "sglang-v0.5.23"),
             Leg(sg_cand(), [1030.0, 1031.8, 1030.1], "sglang-v0.5.23"),
             claims=integrate([1000.0, 1000.3, 1001.9], [1030.0, 1031.8, 1030.1])),
    Scenario("clean-ttft-claim", "RC13 a claimed -18% TTFT with flat throughput is a win", P,
             Leg(sg(), _rng_values(1000, 0.004, 5, 31), "sglang-v0.5.23", ttft=[4280, 4290, 4275, 4300, 4285]),
             Leg(sg_cand(), _rng_values(1001, 0.004, 5, 32), "sglang-v0.5.23", ttft=[3510, 3500, 3520, 3490, 3515]),
             claims={"integrate_result.json": {"short_name": "cand_attn", "winner_kind": "patch", "gate": "accepted",
                                               "headline_metric": "ttft_ms", "ttft_ms_ref": 4285.0,
                                               "ttft_ms_cand": 3510.0, "apply_flags": "", "apply_env": {}}}),
    Scenario("clean-baseline-director-setup", "RC11 Director setup top-level tp / server_flags argv list", P,
             Leg(sg(), REF5, "sglang-v0.5.23"), None, scope="baseline",
             claims={"director_setup.json": {"baseline_throughput_tok_s": 1000.0, "baseline_spread_pct": 0.3,
                                             "noise_band_pct": 0.5, "tp": 1, "server_flags": [
                                                 "--mem-fraction-static", "0.85"],
                                             "workload": {"isl": 1024, "osl": 1024, "conc": 64}}}),
]

TRAPS: list[Scenario] = [
    Scenario("trap-hidden-mem-fraction", "RC1/RC3 mem 0.85 -> 0.80 beside an overlay patch", F,
             Leg(sg(), REF5, "sglang-v0.5.23"), Leg(sg_cand(mem_fraction_static=0.80), WIN5, "sglang-v0.5.23"),
             claims=integrate(REF5, WIN5), because=('BPA030',)),
    Scenario("trap-vllm-added-max-num-seqs", "RC3 undeclared --max-num-seqs on the candidate only", F,
             Leg(vl(), REF5, "vllm-serve"), Leg(vl_cand(max_num_seqs=512), WIN5, "vllm-serve"),
             claims=integrate(REF5, WIN5), because=('BPA030',)),
    Scenario("trap-vllm-mem-one-sided", "RC3 ref --gpu-memory-utilization 0.85, cand default 0.9", F,
             Leg(vl(gpu_memory_utilization=0.85), REF5, "vllm-serve"), Leg(vl_cand(), WIN5, "vllm-serve"),
             claims=integrate(REF5, WIN5), because=('BPA030',)),
    Scenario("trap-stale-client-metadata", "RC4 --metadata says 0.9 on both legs, the server logs 0.85", F,
             Leg(vl(gpu_memory_utilization=0.85), REF5, "vllm-serve", metadata={"gpu_memory_utilization": "0.9"}),
             Leg(vl_cand(gpu_memory_utilization=0.9), WIN5, "vllm-serve",
                 metadata={"gpu_memory_utilization": "0.9"}), claims=integrate(REF5, WIN5), because=('BPA030',)),
    Scenario("trap-version-skew-overlay", "RC5 overlay declared, engine version differs too", F,
             Leg(sg("sglang-v0.5.2"), REF5, "sglang-v0.5.2"), Leg(sg_cand("sglang-v0.5.23"), WIN5, "sglang-v0.5.23"),
             claims=integrate(REF5, WIN5), because=('BPA030',)),
    Scenario("trap-rebind-failed", "RC6 the only overlay line is `rebind FAILED`", F,
             Leg(sg(), REF5, "sglang-v0.5.23"),
             Leg(sg_cand(overlay_lines=(logs.overlay_rebind_failed(),)), WIN5, "sglang-v0.5.23"),
             claims=integrate(REF5, WIN5), because=('BPA050',)),
    Scenario("trap-concurrent-legs", "RC7 ref and cand repeats ran at the same time on one GPU", F,
             Leg(vl(), REF5, "vllm-serve", ends=[T0 + 400 * i for i in range(5)]),
             Leg(vl_cand(), WIN5, "vllm-serve", ends=[T0 + 100 + 400 * i for i in range(5)]),
             claims=integrate(REF5, WIN5), because=('BBL080',)),
    Scenario("trap-vllm-legacy-mem", "RC8 Namespace dump: 0.85 vs 0.9 memory confound", F,
             Leg(vl(gpu_memory_utilization=0.85), REF5, "vllm-legacy", log_style="namespace"),
             Leg(vl_cand(), WIN5, "vllm-legacy", log_style="namespace"), claims=integrate(REF5, WIN5),
             because=('BPA030',)),
    Scenario("trap-vllm-gpu-blocks-budget", "RC8 # GPU blocks: KV budget differs, mem 0.8 vs 0.9", F,
             Leg(vl(gpu_memory_utilization=0.8), REF5, "vllm-legacy", log_style="namespace-gpu"),
             Leg(vl_cand(), WIN5, "vllm-legacy", log_style="namespace-gpu"), claims=integrate(REF5, WIN5),
             because=('BPA030',)),
    Scenario("trap-vllm-bench-0.9-lost-requests", "mid-era vLLM: no `failed` key, 20 of 320 lost in errors[]",
             NOT_PASS, Leg(vl(), REF5, "vllm-bench-0.9", log_style="namespace-v1"),
             Leg(vl_cand(), WIN5, "vllm-bench-0.9", log_style="namespace-v1", completed=300, failed=20),
             claims=integrate(REF5, WIN5), because=('BEV020',)),
    Scenario("trap-vllm-bench-0.9-mem", "mid-era vLLM: Namespace dump says 0.85 vs 0.9 memory", F,
             Leg(vl(gpu_memory_utilization=0.85), REF5, "vllm-bench-0.9", log_style="namespace-v1"),
             Leg(vl_cand(), WIN5, "vllm-bench-0.9", log_style="namespace-v1"), claims=integrate(REF5, WIN5),
             because=('BPA030',)),
    Scenario("trap-vllm-osl-512", "RC9 candidate ran OSL 512 (only the token totals tell)", F,
             Leg(vl(), REF5, "vllm-serve"),
             Leg(vl_cand(), WIN5, "vllm-serve", osl_per_req=512, workload=Workload(osl=1024)),
             claims=integrate(REF5, WIN5), because=('BEV040',)),
    Scenario("trap-sglang-lost-request", "RC10 candidate loses a request in every repeat (errors[])", NOT_PASS,
             Leg(sg(), REF5, "sglang-v0.5.23", details=True),
             Leg(sg_cand(), WIN5, "sglang-v0.5.23", details=True, completed=319, failed=1),
             claims=integrate(REF5, WIN5), because=('BEV020',)),
    Scenario("trap-sglang-lost-no-details", "RC10 candidate completes 300 of 320 in every repeat", NOT_PASS,
             Leg(sg(), REF5, "sglang-v0.5.23"), Leg(sg_cand(), WIN5, "sglang-v0.5.23", completed=300),
             claims=integrate(REF5, WIN5), because=('BEV020',)),
    Scenario("trap-director-tp2-baseline", "RC11 Director setup tp=1, baseline ran TP=2", F,
             Leg(sg(tp_size=2), REF5, "sglang-v0.5.23"), None, scope="baseline",
             claims={"director_setup.json": {"baseline_throughput_tok_s": 1000.0, "baseline_spread_pct": 0.3,
                                             "noise_band_pct": 0.5, "tp": 1, "server_flags": [],
                                             "workload": {"isl": 1024, "osl": 1024, "conc": 64}}}, because=('BBL060',)),
    Scenario("trap-director-mem-7225", "RC11 server_flags extra argv says 0.85, baseline ran 0.7225", F,
             Leg(sg(mem_fraction_static=0.7225), REF5, "sglang-v0.5.23"), None, scope="baseline",
             claims={"director_setup.json": {"baseline_throughput_tok_s": 1000.0, "baseline_spread_pct": 0.3,
                                             "noise_band_pct": 0.5, "tp": 1,
                                             "server_flags": {"extra": "--mem-fraction-static 0.85"}}},
             because=('BBL060',)),
    Scenario("trap-within-band", "gain 0.2% inside the 0.5% band", F,
             Leg(sg(), [1000.0, 1000.2, 1000.4], "sglang-v0.5.23"),
             Leg(sg_cand(), [1002.4, 1002.6, 1002.2], "sglang-v0.5.23"),
             claims=integrate([1000.0, 1000.2, 1000.4], [1002.4, 1002.6, 1002.2]), because=('BPA010',)),
    Scenario("trap-overlapping-legs", "+2% median but the legs overlap", F,
             Leg(sg(), [990.0, 1000.0, 1030.0, 1010.0, 995.0], "sglang-v0.5.23"),
             Leg(sg_cand(), [1015.0, 1025.0, 1005.0, 1040.0, 1020.0], "sglang-v0.5.23"),
             claims=integrate([990.0, 1000.0, 1030.0, 1010.0, 995.0], [1015.0, 1025.0, 1005.0, 1040.0, 1020.0]),
             because=('BPA010',)),
    Scenario("trap-self-comparison", "identical launch, no overlay, no engagement", F,
             Leg(sg(), REF5, "sglang-v0.5.23"), Leg(sg(), WIN5, "sglang-v0.5.23"), claims=integrate(REF5, WIN5),
             because=('BPA040',)),
    Scenario("trap-ttft-regression", "+4% tok/s hiding TTFT +120%", frozenset({FLAG, FAIL}),
             Leg(sg(), REF5, "sglang-v0.5.23", ttft=[4283.0] * 5),
             Leg(sg_cand(), WIN5, "sglang-v0.5.23", ttft=[9446.0] * 5), claims=integrate(REF5, WIN5),
             because=('BPA070',)),
    Scenario("trap-mem-fraction-vllm-flag-declared-other", "declared lever max-num-seqs, mem fraction moved too", F,
             Leg(vl(), REF5, "vllm-serve"), Leg(vl(max_num_seqs=512, gpu_memory_utilization=0.95), WIN5, "vllm-serve"),
             claims=integrate(REF5, WIN5, kind="flag", flags="--max-num-seqs 512"), because=('BPA030',)),
]

def _kernels(rows: list[tuple[str, float]]) -> dict:
    """GEAK profiler output: `top_kernels` rows with `pct_gpu_time` (no `entries` key)."""
    return {"profile_topN.json": {"top_kernels": [{"name": n, "pct_gpu_time": p, "calls": 1024, "shape": "[64, 4096]"}
                                                  for n, p in rows]}}


FRAGMENTED = [(f"_gemm_a8w8_kernel_BLOCK_M_{16 * (i + 1)}_0d1d2d", 3.4) for i in range(16)] + [("fmha_fwd", 25.0)]
CLEAN.append(Scenario("clean-profile-top-kernels", "RC11 GEAK profile shape: top_kernels / pct_gpu_time", P, None,
                      None, scope="profile", claims=_kernels([("_gemm_a8w8_kernel", 52.0), ("fmha_fwd", 30.0)])))
TRAPS.append(Scenario("trap-director-workload-osl", "RC11 Director setup workload osl 1024, baseline ran 512", F,
                      Leg(sg(), REF5, "sglang-v0.5.23", workload=Workload(osl=512)), None, scope="baseline",
                      claims={"director_setup.json": {"baseline_throughput_tok_s": 1000.0, "tp": 1,
                                                      "workload": {"isl": 1024, "osl": 1024, "conc": 64}}},
                      because=("BBL060",)))
TRAPS.append(Scenario("trap-profile-fragmented-top-kernels", "RC11 a head op split 16 ways in top_kernels",
                      frozenset({FLAG}), None, None, scope="profile", claims=_kernels(FRAGMENTED),
                      because=("BPR010", "BPR020")))
TRAPS.append(Scenario("trap-profile-loaded-nothing", "RC11 a profile claim with no kernel rows is DEGRADED",
                      frozenset({"DEGRADED"}), None, None, scope="profile",
                      claims={"profile_topN.json": {"kernels_by_name": {"gemm": 52.0}}}))

SCENARIOS: list[Scenario] = CLEAN + TRAPS

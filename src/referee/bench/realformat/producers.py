"""What the real producers write, field for field, per release line: bench result lines and server logs.

Every field set below was read from the producer's own source; the release and commit (or PyPI wheel) it
follows are in `SOURCES`. Values are synthetic (a seeded RNG), shapes and types are the producer's:
`request_rate: Infinity` from SGLang's `json.dumps(float("inf"))`, vLLM's `"inf"` string, `--metadata` values as
strings, detailed per-request arrays, vLLM's legacy `"request_goodput:"` key (sic) and its always-kept detail
arrays (the legacy script deletes them before the merge, so they survive), SGLang's `server_info` with
runtime `internal_states`.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"

#: release line -> where its field set was read.
SOURCES: dict[str, str] = {
    "sglang-v0.4.6.post5": "PyPI sglang-0.4.6.post5 wheel, sglang/bench_serving.py benchmark() result dict "
                           "(same field set as sgl-project/sglang@0033168f python/sglang/bench_serving.py)",
    "sglang-v0.5.2": "PyPI sglang-0.5.2 wheel, sglang/bench_serving.py (no server_info; GEAK's pinned runtime)",
    "sglang-v0.5.23": "PyPI sglang-0.5.23 wheel, sglang/benchmark/serving.py (server_info from /server_info, "
                      "p90/p95 columns, tag); fzyzcjy/sglang@0c69f5ba has the same shape with /get_server_info",
    "vllm-serve": "vllm-project/vllm@009e6d4a vllm/benchmarks/serve.py main() result_json + benchmark() result",
    "vllm-legacy": "vllm-project/vllm@0049e29c benchmarks/benchmark_serving.py main() result_json",
    "vllm-bench-0.9": "HabanaAI/vllm-fork@428c45d0 vllm/benchmarks/serve.py main() result_json + benchmark() result: "
                      "the first `vllm bench serve` (upstream v0.9.0-era CLI: --endpoint-type, `best_of`, the "
                      "`request_goodput:` key, detail arrays always saved, no `failed`); the upstream history itself "
                      "could not be fetched (1.1 GB snapshot)",
    "overlay": "AMD-AGI/GEAK@b6ef1e5c e2e_workflow/scripts/overlay_setup.py (generated sitecustomize loader)",
}

SGLANG_RELEASES = ("sglang-v0.4.6.post5", "sglang-v0.5.2", "sglang-v0.5.23")
VLLM_RELEASES = ("vllm-serve", "vllm-bench-0.9", "vllm-legacy")
SERVER_ARGS_FILE = {"sglang-v0.4.6.post5": "v0.4.6.post5", "sglang-v0.5.2": "v0.5.2", "sglang-v0.5.23": "v0.5.23"}
VERSION_OF = {"sglang-v0.4.6.post5": "0.4.6.post5", "sglang-v0.5.2": "0.5.2", "sglang-v0.5.23": "0.5.23"}


@dataclass
class Launch:
    """One server launch: the engine flags that were set explicitly, plus what the engine resolved."""

    engine: str
    release: str
    model: str = "/models/Qwen3-8B"
    flags: dict[str, Any] = field(default_factory=dict)  # explicit CLI flags, python names
    kv_tokens: int = 456_784
    env: dict[str, str] = field(default_factory=dict)
    overlay: str | None = None  # a GEAK overlay dir: its loader lines go into the log
    overlay_lines: tuple[str, ...] = ()
    port: int = 30000
    seed: int = 0


@dataclass
class Workload:
    isl: int = 1024
    osl: int = 1024
    concurrency: int = 64
    num_prompts: int = 320
    dataset: str = "random"
    range_ratio: float = 1.0


@cache
def server_args_defaults(release: str) -> dict[str, Any]:
    raw = json.loads((DATA / f"sglang_server_args_{SERVER_ARGS_FILE[release]}.json").read_text())["fields"]
    return {k: (None if isinstance(v, str) and v.startswith("<") else v) for k, v in raw.items()}


def sglang_resolved_args(launch: Launch) -> dict[str, Any]:
    """ServerArgs after __post_init__: defaults, explicit flags, and the values SGLang resolves at launch."""
    args = dict(server_args_defaults(launch.release))
    args.update({"model_path": launch.model, "tokenizer_path": launch.model, "port": launch.port,
                 "random_seed": launch.seed, "mem_fraction_static": 0.85, "chunked_prefill_size": 8192,
                 "max_prefill_tokens": 16384, "attention_backend": "fa3", "sampling_backend": "flashinfer",
                 "cuda_graph_max_bs": 256, "schedule_policy": "fcfs", "tp_size": 1, "dp_size": 1, "pp_size": 1,
                 "ep_size": 1, "served_model_name": launch.model, "device": "cuda", "dtype": "auto",
                 "kv_cache_dtype": "auto", "context_length": None, "host": "127.0.0.1"})
    args.update(launch.flags)
    if launch.release == "sglang-v0.5.23":  # derived lists that follow the levers (cuda_graph_config, piecewise)
        max_bs = int(args.get("cuda_graph_max_bs") or 256)
        args["cuda_graph_bs"] = [1, 2, 4, 8, *range(16, max_bs + 1, 16)]
        chunk = int(args.get("chunked_prefill_size") or 8192)
        args["piecewise_cuda_graph_max_tokens"] = chunk
        args["piecewise_cuda_graph_tokens"] = [4, 8, 16, 32, 64, 128, 256, 512, *range(1024, chunk + 1, 1024)]
    return args


def sglang_server_info(launch: Launch, rng: random.Random) -> dict[str, Any]:
    """`/get_server_info` (`/server_info` in newer releases): asdict(ServerArgs) + scheduler info + runtime
    state; `internal_states` differs on every call."""
    info = sglang_resolved_args(launch)
    info.update({"status": "ready", "max_total_num_tokens": launch.kv_tokens, "max_req_input_len": 40954})
    info["internal_states"] = [{
        "attention_backend": info.get("attention_backend"), "chunked_prefill_size": info.get("chunked_prefill_size"),
        "last_gen_throughput": round(2800 + rng.random() * 200, 3),
        "memory_usage": {"weight": 15.27, "kvcache": round(60 + rng.random(), 2), "token_capacity": launch.kv_tokens,
                         "graph": round(1.2 + rng.random() / 10, 2)},
        "effective_max_running_requests_per_dp": 4096, "avg_spec_accept_length": None,
    }]
    info["version"] = VERSION_OF[launch.release]
    return info


def _stats(prefix: str, base: float, rng: random.Random, pcts: tuple[str, ...]) -> dict[str, float]:
    out = {f"mean_{prefix}": base * (1.02 + rng.random() / 100), f"median_{prefix}": base,
           f"std_{prefix}": base * 0.11}
    for p in pcts:
        out[f"p{p}_{prefix}"] = base * (1 + int(p) / 60)
    return out


@dataclass
class Repeat:
    """One timed repeat's true numbers (what the run measured); producers format them."""

    output_throughput: float
    ttft_ms: float = 4280.0
    tpot_ms: float = 20.5
    completed: int = 320
    failed: int = 0
    osl_per_req: int | None = None
    isl_per_req: int | None = None
    end_epoch: float = 1_781_000_000.0  # wall clock at the end of the run


def _totals(rep: Repeat, wl: Workload) -> tuple[int, int, float]:
    isl = rep.isl_per_req or wl.isl
    osl = rep.osl_per_req or wl.osl
    total_out = rep.completed * osl
    duration = total_out / rep.output_throughput
    return rep.completed * isl, total_out, duration


def _details(rep: Repeat, wl: Workload, rng: random.Random, *, errors_key: bool = True) -> dict[str, Any]:
    n = rep.completed + rep.failed
    ok = [True] * rep.completed + [False] * rep.failed
    out = {"input_lens": [wl.isl] * n, "output_lens": [wl.osl if good else 0 for good in ok],
           "ttfts": [rep.ttft_ms / 1000 * (0.9 + rng.random() / 5) if good else 0.0 for good in ok],
           "itls": [[rep.tpot_ms / 1000] * 3 if good else [] for good in ok],
           "generated_texts": ["lorem ipsum" if good else "" for good in ok]}
    if errors_key:
        out["errors"] = ["" if good else "Server disconnected" for good in ok]
    return out


def sglang_line(release: str, rep: Repeat, wl: Workload, launch: Launch, rng: random.Random, *,
                details: bool = False, with_server_info: bool = True) -> dict[str, Any]:
    """One `bench_serving --output-file` line (the file is appended, one line per run)."""
    total_in, total_out, duration = _totals(rep, wl)
    head: dict[str, Any] = {}
    if release == "sglang-v0.5.23":
        head["tag"] = None
    head.update({"backend": "sglang", "dataset_name": wl.dataset, "request_rate": math.inf,
                 "max_concurrency": wl.concurrency, "sharegpt_output_len": None, "random_input_len": wl.isl,
                 "random_output_len": wl.osl, "random_range_ratio": wl.range_ratio})
    pcts = ("90", "95", "99") if release == "sglang-v0.5.23" else ("99",)
    itl_pcts = ("90", "95", "99") if release == "sglang-v0.5.23" else ("95", "99")
    body: dict[str, Any] = {}
    if release == "sglang-v0.5.23":
        body["server_info"] = sglang_server_info(launch, rng) if with_server_info else None
    body.update({"duration": duration, "completed": rep.completed, "total_input_tokens": total_in})
    if release == "sglang-v0.5.23":
        body.update({"total_input_text_tokens": total_in, "total_input_vision_tokens": 0})
    body.update({"total_output_tokens": total_out, "total_output_tokens_retokenized": total_out - 3,
                 "request_throughput": rep.completed / duration, "input_throughput": total_in / duration,
                 "output_throughput": rep.output_throughput})
    if release == "sglang-v0.5.23":
        body["total_throughput"] = (total_in + total_out) / duration
    e2e = rep.ttft_ms + rep.tpot_ms * (wl.osl - 1)
    body.update(_stats("e2e_latency_ms", e2e, rng, pcts))
    body.update(_stats("ttft_ms", rep.ttft_ms, rng, pcts))
    body.update(_stats("tpot_ms", rep.tpot_ms, rng, pcts))
    body.update(_stats("itl_ms", rep.tpot_ms, rng, itl_pcts))
    body.update({"concurrency": 63.2, "accept_length": None})
    if release == "sglang-v0.5.23":
        body.update({"max_output_tokens_per_s": rep.output_throughput * 1.3, "max_concurrent_requests": wl.concurrency})
    line = head | body
    if details:
        line |= _details(rep, wl, rng)
    return line


def vllm_result(release: str, rep: Repeat, wl: Workload, launch: Launch, rng: random.Random, *,
                metadata: dict[str, str] | None = None, details: bool = False,
                percentile_metrics: str = "ttft,tpot,itl", metric_percentiles: str = "99") -> dict[str, Any]:
    """One `vllm bench serve --save-result` object (current) or `benchmark_serving.py --save-result` (legacy)."""
    from datetime import datetime

    total_in, total_out, duration = _totals(rep, wl)
    date = datetime.fromtimestamp(rep.end_epoch).strftime("%Y%m%d-%H%M%S")
    out: dict[str, Any] = {"date": date}
    if release == "vllm-serve":
        out.update({"endpoint_type": "vllm", "backend": "vllm", "label": None})
    elif release == "vllm-bench-0.9":
        out.update({"endpoint_type": "openai-comp", "label": None})
    else:
        out["backend"] = "vllm"
    out.update({"model_id": launch.model, "tokenizer_id": launch.model})
    if release == "vllm-bench-0.9":
        out["best_of"] = 1
    out["num_prompts"] = wl.num_prompts
    for key, value in (metadata or {}).items():
        out[key] = str(value)  # --metadata KEY=VALUE: always a string
    out.update({"request_rate": "inf", "burstiness": 1.0, "max_concurrency": wl.concurrency})
    result: dict[str, Any] = {"duration": duration, "completed": rep.completed}
    if release == "vllm-serve":
        result["failed"] = rep.failed
    result.update({"total_input_tokens": total_in, "total_output_tokens": total_out,
                   "request_throughput": rep.completed / duration})
    result["request_goodput" if release == "vllm-serve" else "request_goodput:"] = None  # (sic) before 0.10
    result.update({"output_throughput": rep.output_throughput,
                   "total_token_throughput": (total_in + total_out) / duration})
    detail = _details(rep, wl, rng)
    n = rep.completed + rep.failed
    if release == "vllm-serve":
        result.update({k: detail[k] for k in ("input_lens", "output_lens", "ttfts", "itls")})
        result["latencies"] = [rep.ttft_ms / 1000 + rep.tpot_ms * wl.osl / 1000] * n
        result["start_times"] = [rep.end_epoch - duration + i * 0.01 for i in range(n)]
        result["queue_times"] = [0.0] * n
        result.update({k: detail[k] for k in ("generated_texts", "errors")})
        result.update({"max_output_tokens_per_s": rep.output_throughput * 1.3,
                       "max_concurrent_requests": wl.concurrency, "rtfx": 0.0})
    elif release == "vllm-bench-0.9":  # saved whatever --save-detailed says (the flag does not exist yet)
        result.update({k: detail[k] for k in ("input_lens", "output_lens", "ttfts", "itls", "generated_texts",
                                               "errors")})
    else:
        result.update(detail)
    pcts = tuple(p.strip() for p in metric_percentiles.split(","))
    bases = {"ttft": rep.ttft_ms, "tpot": rep.tpot_ms, "itl": rep.tpot_ms,
             "e2el": rep.ttft_ms + rep.tpot_ms * (wl.osl - 1)}
    for metric in percentile_metrics.split(","):
        result.update(_stats(f"{metric}_ms", bases[metric], rng, pcts))
    out |= result
    if release == "vllm-serve" and not details:
        for key in ("input_lens", "output_lens", "start_times", "ttfts", "itls", "generated_texts", "errors"):
            out.pop(key, None)
    return out


__all__ = ["SGLANG_RELEASES", "SOURCES", "VLLM_RELEASES", "Launch", "Repeat", "Workload", "sglang_line",
           "sglang_resolved_args", "sglang_server_info", "vllm_result"]

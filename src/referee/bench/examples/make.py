"""Writers for leg folders in the real producers' formats, and the bundled example scenarios built with them.

`python -m referee.bench.examples.make [DIR]` regenerates the bundled examples (deterministic). Tests use the
same writers to build variants in temporary folders, so every fixture is the shape SGLang, vLLM and GEAK write.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MODEL = "/models/Qwen3.5-27B-FP8"
BASE_ARGS: dict[str, Any] = {
    "model_path": MODEL, "tokenizer_path": MODEL, "tp_size": 1, "dp_size": 1, "pp_size": 1, "ep_size": 1,
    "mem_fraction_static": 0.85, "dtype": "auto", "quantization": "fp8", "kv_cache_dtype": "auto",
    "context_length": 40960, "attention_backend": "triton", "disable_cuda_graph": False, "cuda_graph_max_bs": 160,
    "chunked_prefill_size": 8192, "max_prefill_tokens": 16384, "schedule_policy": "fcfs", "disable_radix_cache": True,
    "enable_torch_compile": False, "host": "127.0.0.1", "port": 30000, "random_seed": 0, "watchdog_timeout": 600,
}
COHERENT = [
    "The capital of France is Paris, a city known for its museums and long history.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen inside plant cells.",
    "To reverse a list in Python you can call the reverse method or use slicing with a negative step.",
    "The train leaves at nine in the morning and arrives in the city shortly before noon.",
    "A prime number has exactly two divisors: one and itself. Seven and thirteen are prime numbers.",
    "Water boils at one hundred degrees Celsius at sea level, and at a lower temperature on mountains.",
    "The committee agreed to publish the report next week after a final review of the figures.",
    "Sixteen divided by four is four, and four times four is sixteen again.",
    "Good sleep, regular exercise and a balanced diet help people stay healthy as they age.",
    "The library opens at eight on weekdays and closes early on Sunday afternoons.",
]
GIBBERISH = [
    "xQz]] vlorpt 7hh_Jk ~~ zzkq Ω^ mrrrp qxj nnnq ptkz 0xff__ brrlz",
    "ptkz qxj ##@ vvvv wqrtp lkjh ?? zxcv bnmq ghjk fdsa qwer",
    "JkLmNoP qq qq qq qq qq qq qq qq qq qq qq qq qq qq",
    "ΩΩ zzkr ]]]] ppqq rrst vwxz 9f9f9f mnbv cxzl kjhg",
    "qqqq wwww eeee rrrr tttt yyyy qqqq wwww eeee rrrr tttt yyyy",
    "brrlz xqz ptkz vlorpt zzkq mrrrp qxj nnnq 7hh_Jk 0xff__",
    "lkjh fdsa qwer bnmq ghjk zxcv wqrtp vvvv ##@ ??",
    "zzz zzz zzz zzz zzz zzz zzz zzz zzz zzz zzz zzz zzz",
    "cxzl kjhg mnbv 9f9f9f vwxz rrst ppqq ]]]] zzkr ΩΩ",
    "tttt yyyy qqqq wwww eeee rrrr qqqq wwww eeee rrrr",
]


def sglang_line(tput: float, ttft: float = 4280.9, tpot: float = 59.5, server_info: dict[str, Any] | None = None,
                completed: int = 320, workload: dict[str, Any] | None = None) -> dict[str, Any]:
    """One `sglang.bench_serving --output-file` line (key names and order as SGLang writes them)."""
    wl = {"dataset_name": "random", "request_rate": "inf", "max_concurrency": 64, "sharegpt_output_len": None,
          "random_input_len": 1024, "random_output_len": 1024, "random_range_ratio": 1.0, **(workload or {})}
    duration = completed * wl["random_output_len"] / tput if tput else 0.0
    line: dict[str, Any] = {
        "backend": "sglang", **wl, "duration": round(duration, 3), "completed": completed,
        "total_input_tokens": completed * wl["random_input_len"],
        "total_output_tokens": completed * wl["random_output_len"],
        "total_output_tokens_retokenized": completed * wl["random_output_len"],
        "request_throughput": round(completed / duration, 4) if duration else 0.0,
        "input_throughput": round(tput * wl["random_input_len"] / wl["random_output_len"], 3),
        "output_throughput": tput,
        "mean_e2e_latency_ms": round(ttft + tpot * wl["random_output_len"], 2),
        "median_e2e_latency_ms": round(ttft + tpot * wl["random_output_len"], 2),
        "std_e2e_latency_ms": 12.1, "p99_e2e_latency_ms": round(1.05 * (ttft + tpot * wl["random_output_len"]), 2),
        "mean_ttft_ms": ttft, "median_ttft_ms": ttft, "std_ttft_ms": 40.2, "p99_ttft_ms": round(ttft * 1.4, 2),
        "mean_tpot_ms": tpot, "median_tpot_ms": tpot, "std_tpot_ms": 0.8, "p99_tpot_ms": round(tpot * 1.05, 3),
        "mean_itl_ms": tpot, "median_itl_ms": round(tpot * 0.98, 3), "std_itl_ms": 3.1,
        "p95_itl_ms": round(tpot * 1.2, 3),
        "p99_itl_ms": round(tpot * 1.6, 3), "concurrency": 63.8, "accept_length": None,
    }
    if server_info is not None:
        line["server_info"] = server_info
    return line


def vllm_line(tput: float, ttft: float = 180.0, tpot: float = 22.0, model: str = MODEL, date: str = "20260618-134500",
              completed: int = 320, failed: int = 0, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """One `vllm bench serve --save-result` object, re-emitted as a line."""
    duration = completed * 1024 / tput if tput else 0.0
    line: dict[str, Any] = {
        "date": date, "endpoint_type": "vllm", "label": None, "model_id": model, "tokenizer_id": model,
        "num_prompts": completed + failed, "request_rate": "inf", "burstiness": 1.0, "max_concurrency": 64,
        "duration": round(duration, 3), "completed": completed, "failed": failed,
        "total_input_tokens": completed * 1024, "total_output_tokens": completed * 1024,
        "request_throughput": round(completed / duration, 4) if duration else 0.0, "request_goodput": None,
        "output_throughput": tput, "total_token_throughput": round(2 * tput, 3),
        "max_output_tokens_per_s": round(tput * 1.3, 1), "max_concurrent_requests": 64,
        "mean_ttft_ms": ttft, "median_ttft_ms": ttft, "std_ttft_ms": 20.0, "p99_ttft_ms": round(ttft * 1.5, 2),
        "mean_tpot_ms": tpot, "median_tpot_ms": tpot, "std_tpot_ms": 0.5, "p99_tpot_ms": round(tpot * 1.1, 3),
        "mean_itl_ms": tpot, "median_itl_ms": tpot, "std_itl_ms": 2.0, "p99_itl_ms": round(tpot * 2, 3),
        **(metadata or {}),
    }
    return line


def server_info(args: dict[str, Any], kv_tokens: int) -> dict[str, Any]:
    return {**args, "max_total_num_tokens": kv_tokens, "max_req_input_len": 40954, "version": "0.5.2",
            "internal_states": [{"avg_spec_accept_length": None}]}


def sglang_log(args: dict[str, Any], kv_tokens: int, peak_tokens: int = 98304, env: dict[str, str] | None = None,
               extra: Sequence[str] = ()) -> str:
    rendered = ", ".join(f"{k}={v!r}" for k, v in args.items())
    lines = [f"export {k}={v}" for k, v in (env or {}).items()]
    lines += [
        f"[2026-06-18 13:40:34] server_args=ServerArgs({rendered})",
        "[2026-06-18 13:41:02] Load weight end. type=Qwen3ForCausalLM, dtype=torch.bfloat16, avail mem=61.20 GB",
        f"[2026-06-18 13:41:10] KV Cache is allocated. #tokens: {kv_tokens}, K size: 40.11 GB, V size: 40.11 GB",
        f"[2026-06-18 13:41:15] max_total_num_tokens={kv_tokens}, "
        f"chunked_prefill_size={args.get('chunked_prefill_size')}, max_prefill_tokens=16384, "
        "max_running_requests=4096, context_len=40960",
        *extra,
        "[2026-06-18 13:41:20] The server is fired up and ready to roll!",
    ]
    for step in range(4):
        lines.append(f"[2026-06-18 13:4{2 + step}:00] Decode batch. #running-req: 64, "
                     f"#token: {peak_tokens - step * 512}, "
                     f"token usage: {peak_tokens / kv_tokens:.2f}, cuda graph: True, gen throughput (token/s): 1001.2, "
                     f"#queue-req: 0")
    return "\n".join(lines) + "\n"


def vllm_log(args: dict[str, Any], kv_tokens: int, env: dict[str, str] | None = None, extra: Sequence[str] = ()) -> str:
    lines = [f"export {k}={v}" for k, v in (env or {}).items()]
    lines += [
        "INFO 06-18 13:40:30 [__init__.py:244] Automatically detected platform rocm.",
        "INFO 06-18 13:40:31 [api_server.py:1395] vLLM API server version 0.9.2",
        f"INFO 06-18 13:40:31 [cli_args.py:325] non-default args: {args!r}",
        f"INFO 06-18 13:41:05 [kv_cache_utils.py:716] GPU KV cache size: {kv_tokens:,} tokens",
        *extra,
        "INFO 06-18 13:41:20 [api_server.py:1457] Starting vLLM API server 0 on http://127.0.0.1:8000",
        "INFO 06-18 13:43:00 [loggers.py:118] Engine 000: Avg prompt throughput: 0.0 tokens/s, Avg generation "
        "throughput: 1500.1 tokens/s, Running: 64 reqs, Waiting: 0 reqs, GPU KV cache usage: 8.1%, Prefix cache hit "
        "rate: 0.0%",
    ]
    return "\n".join(lines) + "\n"


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    return path


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def sglang_leg(folder: Path, tputs: Sequence[float], *, args: dict[str, Any] | None = None, kv_tokens: int = 1156449,
               ttft: float | Sequence[float] = 4280.9, tpot: float | Sequence[float] = 59.5,
               with_server_info: bool = True,
               log: bool = True, env: dict[str, str] | None = None, log_extra: Sequence[str] = (),
               parity: Sequence[str] | None = None, summary: dict[str, Any] | None = None,
               workload: dict[str, Any] | None = None) -> Path:
    """A GEAK leg folder from SGLang: bench_runs.jsonl (+ server_info), server.log, optional parity and summary."""
    args = {**BASE_ARGS, **(args or {})}
    info = server_info(args, kv_tokens) if with_server_info else None
    ttfts = ttft if isinstance(ttft, Sequence) else [ttft] * len(tputs)
    tpots = tpot if isinstance(tpot, Sequence) else [tpot] * len(tputs)
    write_jsonl(folder / "bench_runs.jsonl", (sglang_line(t, a, b, info, workload=workload)
                                              for t, a, b in zip(tputs, ttfts, tpots, strict=True)))
    if log:
        (folder / "server.log").write_text(sglang_log(args, kv_tokens, env=env, extra=log_extra), encoding="utf-8")
    if parity is not None:
        write_json(folder / "parity.json", [{"prompt": f"prompt {i}", "output": text} for i, text in enumerate(parity)])
    if summary is not None:
        write_json(folder / "bench_summary.json", summary)
    return folder


def vllm_leg(folder: Path, tputs: Sequence[float], *, args: dict[str, Any] | None = None, kv_tokens: int = 1156449,
             ttft: float | Sequence[float] = 180.0, tpot: float | Sequence[float] = 22.0,
             env: dict[str, str] | None = None,
             log_extra: Sequence[str] = (), parity: Sequence[str] | None = None, start_minute: int = 0) -> Path:
    args = {"model": MODEL, "tensor_parallel_size": 1, "gpu_memory_utilization": 0.9, "max_num_seqs": 256,
            "port": 8000, **(args or {})}
    ttfts = ttft if isinstance(ttft, Sequence) else [ttft] * len(tputs)
    tpots = tpot if isinstance(tpot, Sequence) else [tpot] * len(tputs)
    minutes = [start_minute + 6 * i for i in range(len(tputs))]
    rows = [vllm_line(t, a, b, date=f"20260618-{13 + m // 60:02d}{m % 60:02d}00")
            for m, t, a, b in zip(minutes, tputs, ttfts, tpots, strict=True)]
    write_jsonl(folder / "bench_runs.jsonl", rows)
    (folder / "server.log").write_text(vllm_log(args, kv_tokens, env=env, extra=log_extra), encoding="utf-8")
    if parity is not None:
        write_json(folder / "parity.json", [{"prompt": f"prompt {i}", "output": text} for i, text in enumerate(parity)])
    return folder


if __name__ == "__main__":
    from referee.bench.examples.scenarios import build_all

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for name in build_all(target):
        print(name)

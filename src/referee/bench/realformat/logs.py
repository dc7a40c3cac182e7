"""Server logs as the engines print them, per release line (see `producers.SOURCES`).

SGLang logs `server_args=ServerArgs(...)` (the dataclass repr), the KV pool size and decode-batch lines. vLLM
prints its parsed argv: a `Namespace(...)` dump in 0.6-era `vllm serve` (with `dispatch_function=<function ...>`,
which is not a Python literal) and `non-default args: {...}` from 0.9 on, which omits every default. KV budget:
`# GPU blocks` (0.6.0-0.6.3), `# CUDA blocks` (0.6.4+, the platform's dispatch key), `GPU KV cache size: N
tokens` (V1). The GEAK overlay loader writes `[overlay] injected module A <- F`, `[overlay] rebound T -> M.A`
and `[overlay] rebind FAILED ...` to stderr, which the adapters send into server.log.
"""

from __future__ import annotations

from typing import Any

from referee.bench.realformat.producers import Launch, sglang_resolved_args

#: vLLM argparse defaults the Namespace dump shows (subset that matters for conditions; 0.6.3 `vllm serve`).
VLLM_NAMESPACE_DEFAULTS: dict[str, Any] = {
    "subparser": "serve", "config": "", "host": None, "port": 8000, "uvicorn_log_level": "info",
    "allow_credentials": False, "allowed_origins": ["*"], "api_key": None, "tokenizer": None,
    "skip_tokenizer_init": False, "revision": None, "tokenizer_mode": "auto", "trust_remote_code": False,
    "download_dir": None, "load_format": "auto", "dtype": "auto", "kv_cache_dtype": "auto",
    "max_model_len": None, "distributed_executor_backend": None, "pipeline_parallel_size": 1,
    "tensor_parallel_size": 1, "block_size": 16, "enable_prefix_caching": False, "swap_space": 4,
    "gpu_memory_utilization": 0.9, "max_num_batched_tokens": None, "max_num_seqs": 256, "enforce_eager": False,
    "quantization": None, "seed": 0, "disable_log_stats": False, "enable_chunked_prefill": None,
    "speculative_model": None, "num_speculative_tokens": None, "disable_log_requests": False,
}


def _sglang_repr(args: dict[str, Any]) -> str:
    return "ServerArgs(" + ", ".join(f"{k}={v!r}" for k, v in args.items()) + ")"


def sglang_log(launch: Launch, peak_running: int = 64, peak_tokens: int = 81_234) -> str:
    args = sglang_resolved_args(launch)
    lines = [f"{k}={v}" for k, v in launch.env.items()]
    stamp = "[2026-06-18 13:40:01]"
    if launch.overlay:
        lines.append(f"export OVERLAY_PYTHONPATH={launch.overlay}")
        lines += list(launch.overlay_lines)
    lines.append(f"{stamp} server_args={_sglang_repr(args)}")
    lines.append("[2026-06-18 13:40:40 TP0] Load weight end. type=Qwen3ForCausalLM, dtype=torch.bfloat16, "
                 "avail mem=61.20 GB, mem usage=15.27 GB.")
    lines.append(f"[2026-06-18 13:40:41 TP0] KV Cache is allocated. #tokens: {launch.kv_tokens}, K size: 30.1 GB, "
                 f"V size: 30.1 GB")
    lines.append(f"[2026-06-18 13:40:45 TP0] max_total_num_tokens={launch.kv_tokens}, chunked_prefill_size="
                 f"{args.get('chunked_prefill_size')}, max_prefill_tokens={args.get('max_prefill_tokens')}, "
                 f"max_running_requests=4096, context_len=40960, available_gpu_mem=10.50 GB")
    lines.append("[2026-06-18 13:41:20] The server is fired up and ready to roll!")
    usage = peak_tokens / launch.kv_tokens
    lines.append(f"[2026-06-18 13:42:00 TP0] Decode batch. #running-req: {peak_running}, #token: {peak_tokens}, "
                 f"token usage: {usage:.2f}, cuda graph: True, gen throughput (token/s): 2890.12, #queue-req: 0, ")
    return "\n".join(lines) + "\n"


def vllm_log(launch: Launch, style: str, peak_running: int = 64, usage_pct: float = 14.2) -> str:
    """style: `non-default` (0.9.2+ V1), `namespace-v1` (0.9.0: Namespace argv dump, V1 KV lines), `namespace`
    (0.6-era, `# CUDA blocks`), `namespace-gpu` (`# GPU blocks`)."""
    flags = dict(launch.flags)
    lines = [f"{k}={v}" for k, v in launch.env.items()]
    if launch.overlay:
        lines.append(f"export OVERLAY_PYTHONPATH={launch.overlay}")
        lines += list(launch.overlay_lines)
    if style == "non-default":
        shown = {"model_tag": launch.model, "model": launch.model, **flags}
        lines.append("INFO 06-18 13:40:00 [api_server.py:1805] vLLM API server version 0.10.1.1")
        lines.append(f"INFO 06-18 13:40:00 [utils.py:326] non-default args: {shown!r}")
        lines.append(f"INFO 06-18 13:41:00 [kv_cache_utils.py:849] GPU KV cache size: {launch.kv_tokens:,} tokens")
        lines.append("INFO 06-18 13:41:00 [kv_cache_utils.py:853] Maximum concurrency for 40,960 tokens per request: "
                     "11.15x")
        lines.append(f"INFO 06-18 13:42:10 [loggers.py:123] Engine 000: Avg prompt throughput: 6553.5 tokens/s, Avg "
                     f"generation throughput: 2872.1 tokens/s, Running: {peak_running} reqs, Waiting: 0 reqs, GPU KV "
                     f"cache usage: {usage_pct}%, Prefix cache hit rate: 0.0%")
    elif style == "namespace-v1":  # 0.9.0: argv still dumped as a Namespace, V1 engine KV lines
        ns = {"model_tag": launch.model, **VLLM_NAMESPACE_DEFAULTS, "model": launch.model, **flags}
        body = ", ".join(f"{k}={v!r}" for k, v in ns.items())
        lines.append("INFO 05-28 13:40:00 [api_server.py:1289] vLLM API server version 0.9.0")
        lines.append(f"INFO 05-28 13:40:00 [api_server.py:1290] args: Namespace({body}, "
                     f"dispatch_function=<function ServeSubcommand.cmd at 0x7f2b5c6f1ea0>)")
        lines.append(f"INFO 05-28 13:41:00 [kv_cache_utils.py:634] GPU KV cache size: {launch.kv_tokens:,} tokens")
        lines.append(f"INFO 05-28 13:42:10 [loggers.py:116] Engine 000: Avg prompt throughput: 6553.5 tokens/s, Avg "
                     f"generation throughput: 2872.1 tokens/s, Running: {peak_running} reqs, Waiting: 0 reqs, GPU KV "
                     f"cache usage: {usage_pct}%, Prefix cache hit rate: 0.0%")
    else:
        ns = {"model_tag": launch.model, **VLLM_NAMESPACE_DEFAULTS, "model": launch.model, **flags}
        body = ", ".join(f"{k}={v!r}" for k, v in ns.items())
        lines.append("INFO 06-18 13:40:00 api_server.py:528] vLLM API server version 0.6.4.post1")
        lines.append(f"INFO 06-18 13:40:00 api_server.py:529] args: Namespace({body}, "
                     f"dispatch_function=<function serve at 0x7f2b5c6f1ea0>)")
        blocks = launch.kv_tokens // int(ns.get("block_size") or 16)
        key = "CUDA" if style == "namespace" else "GPU"
        lines.append(f"INFO 06-18 13:41:00 executor_base.py:110] # {key} blocks: {blocks}, # CPU blocks: 2048")
        lines.append(f"INFO 06-18 13:42:10 metrics.py:349] Avg prompt throughput: 0.0 tokens/s, Avg generation "
                     f"throughput: 2890.5 tokens/s, Running: {peak_running} reqs, Swapped: 0 reqs, Pending: 0 reqs, "
                     f"GPU KV cache usage: {usage_pct}%, CPU KV cache usage: 0.0%.")
    return "\n".join(lines) + "\n"


def overlay_injected(module: str = "aiter.ops.gemm_a8w8_blockscale", root: str = "/work/overlay/cand") -> str:
    return f"[overlay] injected module {module} <- {root}/{module.replace('.', '/')}.py"


def overlay_rebound(target: str = "aiter.ops.gemm:gemm_a8w8", impl: str = "cand_gemm.kernel.gemm_a8w8") -> str:
    return f"[overlay] rebound {target} -> {impl}"


def overlay_rebind_failed(target: str = "aiter.ops.gemm:gemm_a8w8") -> str:
    entry = {"target": target, "impl_module": "cand_gemm.kernel", "impl_attr": "gemm_a8w8"}
    error = "AttributeError(\"module 'aiter.ops.gemm' has no attribute 'gemm_a8w8'\")"
    return f"[overlay] rebind FAILED {entry!r}: {error}"

"""One canonical key set for a serving launch config, whatever engine wrote it.

SGLang and vLLM spell the same knob differently (`tp_size` vs `tensor_parallel_size`, `mem_fraction_static` vs
`gpu_memory_utilization`), and the same engine spells it differently in `server_info`, in its argv and in its
log. Same-conditions checks are only honest when both legs are compared on one vocabulary, so every source is
mapped here, and keys nobody mapped keep their own (cleaned) name so they still take part in a diff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: engine-specific name -> canonical key. Booleans that are spelled negatively (disable_*) are inverted below.
ALIASES: dict[str, str] = {
    # identity
    "model_path": "model", "model": "model", "model_id": "model", "model_tag": "model",
    "version": "version", "engine_version": "version",
    "tokenizer_path": "tokenizer", "tokenizer": "tokenizer", "tokenizer_id": "tokenizer",
    # parallelism
    "tp_size": "tp", "tp": "tp", "tensor_parallel_size": "tp",
    "pp_size": "pp", "pipeline_parallel_size": "pp",
    "dp_size": "dp", "data_parallel_size": "dp",
    "ep_size": "ep", "expert_parallel_size": "ep", "enable_expert_parallel": "ep",
    "enable_dp_attention": "enable_dp_attention",
    "base_gpu_id": "base_gpu_id",
    # memory / KV
    "mem_fraction_static": "kv_mem_fraction", "gpu_memory_utilization": "kv_mem_fraction",
    "kv_mem_fraction": "kv_mem_fraction",
    "max_total_num_tokens": "kv_budget_tokens", "kv_budget_tokens": "kv_budget_tokens",
    "page_size": "page_size", "block_size": "page_size",
    # numerics
    "dtype": "dtype", "quantization": "quantization", "kv_cache_dtype": "kv_cache_dtype",
    "context_length": "context_length", "max_model_len": "context_length",
    # execution mode
    "disable_cuda_graph": "graphs_enabled", "enforce_eager": "graphs_enabled", "graphs_enabled": "graphs_enabled",
    "cuda_graph_max_bs": "graph_max_bs", "max_cudagraph_capture_size": "graph_max_bs",
    "enable_torch_compile": "torch_compile",
    "disable_radix_cache": "prefix_cache", "enable_prefix_caching": "prefix_cache",
    # kernels
    "attention_backend": "attention_backend", "prefill_attention_backend": "prefill_attention_backend",
    "decode_attention_backend": "decode_attention_backend",
    "sampling_backend": "sampling_backend", "moe_runner_backend": "moe_runner_backend",
    # scheduling
    "chunked_prefill_size": "prefill_chunk_tokens", "max_num_batched_tokens": "prefill_chunk_tokens",
    "max_prefill_tokens": "max_prefill_tokens", "schedule_policy": "schedule_policy",
    "max_running_requests": "max_running_requests", "max_num_seqs": "max_running_requests",
    "enable_chunked_prefill": "chunked_prefill",
    # speculative decoding
    "speculative_algorithm": "spec_decode", "speculative_config": "spec_decode", "spec_decode": "spec_decode",
    "speculative_num_steps": "spec_num_steps", "num_speculative_tokens": "spec_num_steps",
    "speculative_eagle_topk": "spec_topk", "speculative_num_draft_tokens": "spec_draft_tokens",
    "speculative_draft_model_path": "spec_draft_model",
    # overlay
    "overlay_pythonpath": "overlay_pythonpath",
}

#: canonical keys whose engine flag means the opposite (`disable_cuda_graph=True` -> graphs_enabled False).
INVERTED = {"disable_cuda_graph", "enforce_eager", "disable_radix_cache"}

#: keys that never make two legs different conditions: addresses, ports, log and profiler paths, seeds, pids,
#: timestamps, the watchdog GEAK injects, and derived or cosmetic fields.
IGNORED = {
    "host", "port", "nccl_port", "grpc_port", "metrics_port", "dist_init_addr", "api_key", "log_level",
    "log_level_http", "log_requests", "log_requests_level", "uvicorn_log_level", "disable_log_stats",
    "disable_log_requests", "enable_metrics", "show_time_cost", "decode_log_interval", "watchdog_timeout",
    "random_seed", "seed", "pid", "timestamp", "date", "served_model_name", "profiler_dir", "torch_profiler_dir",
    "crash_dump_folder", "file_storage_path", "internal_states", "status", "max_req_input_len", "tokenizer",
    "skip_server_warmup", "warmups", "download_dir", "response_role", "allowed_origins", "ssl_keyfile",
    "ssl_certfile", "trust_remote_code", "enable_cache_report", "kv_events_config", "bucket_time_to_first_token",
    "collect_tokens_histogram", "prompt_tokens_buckets", "env:PORT", "env:HOST", "env:MASTER_PORT",
    "env:CUDA_LAUNCH_BLOCKING_LOG", "env:PYTHONUNBUFFERED", "env:HF_HOME", "env:HOME", "env:PATH", "env:PWD",
}

#: environment variables that pick devices are canonicalised to one key.
DEVICE_ENV = {"CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"}

#: serving / algorithmic levers (class B): real, but never a kernel win (GEAK auditor rubric).
B_LEVERS = frozenset({
    "spec_decode", "spec_num_steps", "spec_topk", "spec_draft_tokens", "spec_draft_model", "tp", "dp", "ep", "pp",
    "enable_dp_attention", "kv_mem_fraction", "kv_budget_tokens", "prefill_chunk_tokens", "max_prefill_tokens",
    "chunked_prefill", "quantization", "kv_cache_dtype", "dtype", "max_running_requests", "context_length",
    "graphs_enabled", "graph_max_bs", "schedule_policy", "prefix_cache", "page_size",
})

#: derived keys that a lever can move as a side effect (a backend swap frees workspace, so the KV pool grows).
SIDE_EFFECT_KEYS = frozenset({"kv_budget_tokens", "max_running_requests"})

#: serving invariants a baseline is declared at (GEAK Director setup / handoff).
INVARIANT_KEYS = ("model", "backend", "tp", "gpu_ids", "kv_mem_fraction", "context_length", "quantization")


@dataclass
class LaunchConfig:
    """Canonical launch config of one leg, with the file:line each value was read from."""

    values: dict[str, Any] = field(default_factory=dict)
    where: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def set(self, key: str, value: Any, file: str, line: int | None, *, override: bool = False) -> None:
        if key in self.values and not override:
            return
        self.values[key] = value
        self.where[key] = (file, line)

    def merge(self, raw: dict[str, Any], file: str, line: int | None, *, override: bool = False) -> None:
        for key, value in canonicalize(raw).items():
            self.set(key, value, file, line, override=override)
        if file not in self.sources:
            self.sources.append(file)

    def __bool__(self) -> bool:
        return bool(self.values)


def canonical_name(name: str) -> str:
    """Canonical key for an engine-specific name (`--tp-size`, `tp_size` and `tensor_parallel_size` -> `tp`)."""
    text = name.strip()
    if text.startswith("env:"):
        env = text[4:]
        return "gpu_ids" if env in DEVICE_ENV else f"env:{env}"
    clean = text.lstrip("-").replace("-", "_")
    return ALIASES.get(clean, clean)


def canonicalize(raw: dict[str, Any]) -> dict[str, Any]:
    """Map one engine dict (server_info, parsed argv, `non-default args`) onto canonical keys."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if not isinstance(name, str):
            continue
        clean = name.strip().lstrip("-").replace("-", "_")
        key = canonical_name(name)
        if key in IGNORED or clean in IGNORED:
            continue
        if clean in INVERTED:
            value = not as_bool(value)
        elif clean == "enable_expert_parallel":
            value = "on" if as_bool(value) else None
        elif clean == "speculative_config" and isinstance(value, dict):
            value = value.get("method") or value.get("model") or value
        elif key in ("graphs_enabled", "torch_compile", "prefix_cache", "enable_dp_attention", "chunked_prefill"):
            value = as_bool(value)
        out[key] = normalize(value)
    return out


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "")
    return bool(value)


def normalize(value: Any) -> Any:
    """Comparable form: numeric strings become numbers, floats are rounded, containers become tuples."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else round(value, 9)
    if isinstance(value, str):
        text = value.strip()
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        if low in ("none", "null", ""):
            return None
        if low.lstrip("+-") in ("inf", "infinity"):
            return -math.inf if low.startswith("-") else math.inf
        try:
            return normalize(float(text)) if any(c.isdigit() for c in text) else text
        except ValueError:
            return text
    if isinstance(value, list | tuple):
        return tuple(normalize(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), normalize(v)) for k, v in value.items()))
    return str(value)


@dataclass(frozen=True)
class ConfigDiff:
    """One canonical key whose value differs between two legs."""

    key: str
    ref: Any
    cand: Any
    ref_where: tuple[str, int | None] | None
    cand_where: tuple[str, int | None] | None

    @property
    def lever_class(self) -> str:
        return "B" if self.key in B_LEVERS else "A"


def diff_configs(ref: LaunchConfig, cand: LaunchConfig) -> list[ConfigDiff]:
    """Keys whose values differ between two configs. A key seen on one side only is skipped (the engine default
    on the other side is unknown), except env vars, the overlay path and device ids, whose absence means unset."""
    diffs = []
    for key in sorted(set(ref.values) | set(cand.values)):
        if key in IGNORED:
            continue
        in_ref, in_cand = key in ref.values, key in cand.values
        if not (in_ref and in_cand) and not (key.startswith("env:") or key in ("overlay_pythonpath", "gpu_ids")):
            continue
        a, b = ref.values.get(key), cand.values.get(key)
        if a != b:
            diffs.append(ConfigDiff(key, a, b, ref.where.get(key), cand.where.get(key)))
    return diffs


def lever_keys_from(flags: Any, env: Any, extra: Any = None) -> set[str]:
    """Canonical keys a declared lever touches: `apply_flags` (argv string or list), `apply_env` (dict or list),
    and free-form key names (a lever manifest's `keys`)."""
    from referee.bench.io.argv import parse_argv

    keys: set[str] = set()
    if isinstance(flags, str):
        flags = flags.split()
    if isinstance(flags, list):
        for name in parse_argv([str(f) for f in flags]):
            keys.add(canonical_name(name))
    if isinstance(env, dict):
        env = list(env)
    if isinstance(env, list):
        for name in env:
            keys.add(canonical_name(f"env:{str(name).split('=', 1)[0]}"))
    if isinstance(extra, list):
        for name in extra:
            text = str(name)
            if text.upper().startswith("OVERLAY"):
                keys.add("overlay_pythonpath")
            else:
                keys.add(canonical_name(text))
    return keys

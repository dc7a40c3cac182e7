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
    "mem_fraction": "kv_mem_fraction", "gpu": "gpu_ids",
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
    # per-launch or cosmetic values the engines dump with their config (SGLang server_info, vLLM Namespace)
    "model_tag", "subparser", "config", "dispatch_function", "allow_credentials",
    "allowed_methods", "allowed_headers", "root_path", "middleware", "return_tokens_as_token_ids",
    "disable_frontend_multiprocessing", "enable_request_id_headers", "tokenizer_worker_num",
    "gc_warning_threshold_secs",
    "enable_metrics_for_all_schedulers", "log_requests_format", "tool_call_parser", "reasoning_parser",
    "chat_template", "completion_template", "api_server_count", "headless", "data_parallel_rpc_port",
    "data_parallel_address", "zmq_port", "rpc_port", "dist_timeout", "nnodes", "node_rank", "label",
}

#: runtime state in a server_info payload: differs on every query, never launch configuration.
RUNTIME = frozenset({"internal_states", "status", "last_gen_throughput", "memory_usage", "load", "uptime"})

#: engine fields whose value follows from another (canonical) key; they differ only when their source does, so a
#: difference that rides along with its source is the same change, not a second knob.
DERIVED_FROM: dict[str, str] = {
    "cuda_graph_bs": "graph_max_bs",
    "cuda_graph_config": "graph_max_bs",
    "piecewise_cuda_graph_tokens": "prefill_chunk_tokens",
    "piecewise_cuda_graph_max_tokens": "prefill_chunk_tokens",
    "piecewise_cuda_graph_max_bs": "graph_max_bs",
    "max_prefill_tokens": "prefill_chunk_tokens",
}

#: how complete a config source is: a full dump lists every field (a key absent there is absent from that
#: version); an explicit-only source lists the flags that were set (a key absent there means the engine default);
#: a client source says what the harness believes (metadata), and ranks below anything the server printed.
FULL, EXPLICIT, CLIENT = "full", "explicit", "client"

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
    """Canonical launch config of one leg, with the file:line each value was read from, the completeness of
    its best source (FULL / EXPLICIT / CLIENT) and the engine + version whose defaults fill an omitted key."""

    values: dict[str, Any] = field(default_factory=dict)
    where: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    kind: dict[str, str] = field(default_factory=dict)
    completeness: str | None = None  # best source kind seen: FULL beats EXPLICIT beats CLIENT
    engine: str | None = None
    conflicts: list[tuple[str, Any, Any, tuple[str, int | None]]] = field(default_factory=list)

    def set(self, key: str, value: Any, file: str, line: int | None, *, override: bool = False,
            kind: str = FULL) -> None:
        if key in self.values and not override:
            if kind == CLIENT and self.kind.get(key) != CLIENT and self.values[key] != value:
                self.conflicts.append((key, self.values[key], value, (file, line)))
            return
        self.values[key] = value
        self.where[key] = (file, line)
        self.kind[key] = kind

    def merge(self, raw: dict[str, Any], file: str, line: int | None, *, override: bool = False,
              kind: str = FULL) -> None:
        for key, value in canonicalize(raw).items():
            self.set(key, value, file, line, override=override, kind=kind)
        if file not in self.sources:
            self.sources.append(file)
        rank = (FULL, EXPLICIT, CLIENT)
        if self.completeness is None or rank.index(kind) < rank.index(self.completeness):
            self.completeness = kind

    def __bool__(self) -> bool:
        return bool(self.values)


def canonical_name(name: str) -> str:
    """Canonical key for an engine-specific name (`--tp-size`, `tp_size` and `tensor_parallel_size` -> `tp`)."""
    text = name.strip()
    if text.startswith("env:"):
        env = text[4:]
        if env == "OVERLAY_PYTHONPATH":
            return "overlay_pythonpath"
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
        if key in IGNORED or clean in IGNORED or clean in RUNTIME:
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


#: sentinel for a key an explicit-only source omitted: the engine's default, value unknown here.
ENGINE_DEFAULT = "<engine default>"


def effective(cfg: LaunchConfig, key: str) -> tuple[bool, Any]:
    """(known, value) of a key for one leg: its own value; for an explicit-only config (vLLM `non-default args`,
    an echoed argv) a missing key is the engine default (from the table where known); for a full dump a
    missing key does not exist in that version, and a client-only config cannot say."""
    from referee.bench.defaults import engine_default

    if key in cfg.values:
        return True, cfg.values[key]
    if key.startswith("env:") or key in ("overlay_pythonpath", "gpu_ids"):
        return True, None  # absence means unset
    if cfg.completeness == EXPLICIT:
        known, value = engine_default(cfg.engine, cfg.values.get("version"), key)
        return True, value if known else ENGINE_DEFAULT
    return False, None


def diff_configs(ref: LaunchConfig, cand: LaunchConfig) -> list[ConfigDiff]:
    """Canonical keys whose effective values differ. A derived field (`cuda_graph_bs`, `piecewise_cuda_graph_*`)
    that moves together with the key it follows is part of that change, not a second knob."""
    diffs = []
    for key in sorted(set(ref.values) | set(cand.values)):
        if key in IGNORED or key in RUNTIME:
            continue
        ok_a, a = effective(ref, key)
        ok_b, b = effective(cand, key)
        if not (ok_a and ok_b) or a == b:
            continue
        # an unknown default differs from a value someone set, not from a full dump's listing of its defaults
        if (a == ENGINE_DEFAULT and cand.kind.get(key) == FULL) or (b == ENGINE_DEFAULT and ref.kind.get(key) == FULL):
            continue
        diffs.append(ConfigDiff(key, a, b, ref.where.get(key), cand.where.get(key)))
    moved = {d.key for d in diffs}
    return [d for d in diffs if not (d.key in DERIVED_FROM and DERIVED_FROM[d.key] in moved)]


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

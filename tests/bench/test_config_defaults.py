"""One canonical comparison: engine defaults for explicit-only configs, derived fields, runtime state."""

from __future__ import annotations

from referee.bench.config import CLIENT, ENGINE_DEFAULT, EXPLICIT, FULL, LaunchConfig, canonicalize, diff_configs
from referee.bench.defaults import engine_default


def _cfg(raw: dict, kind: str, engine: str) -> LaunchConfig:
    cfg = LaunchConfig()
    cfg.merge(raw, f"{engine}.log", 1, kind=kind)
    cfg.engine = engine
    return cfg


def test_a_key_omitted_by_non_default_args_is_the_engine_default() -> None:
    ref = _cfg({"model": "m"}, EXPLICIT, "vllm")
    assert [d.key for d in diff_configs(ref, _cfg({"model": "m", "gpu_memory_utilization": 0.85}, EXPLICIT, "vllm"))] \
        == ["kv_mem_fraction"]
    assert diff_configs(ref, _cfg({"model": "m", "gpu_memory_utilization": 0.9}, EXPLICIT, "vllm")) == []  # = default
    [d] = diff_configs(ref, _cfg({"model": "m", "max_num_seqs": 512}, EXPLICIT, "vllm"))
    assert d.ref == ENGINE_DEFAULT and d.cand == 512  # V1's default depends on the GPU: unknown, and set differs


def test_full_dumps_and_client_metadata_do_not_invent_differences() -> None:
    argv_only = _cfg({"model_path": "m", "tp_size": 1}, EXPLICIT, "sglang")
    dump = _cfg({"model_path": "m", "tp_size": 1, "chunked_prefill_size": 8192, "attention_backend": "fa3"}, FULL,
                "sglang")
    assert diff_configs(argv_only, dump) == []  # a dump lists its defaults; an unknown default is not a change
    skew = _cfg({"model_path": "m", "tp_size": 1, "new_field_in_this_release": 3}, FULL, "sglang")
    assert diff_configs(dump, skew) == []  # version skew is caught by `version`, not by each new field
    assert diff_configs(_cfg({"tp": 1}, CLIENT, "vllm"), _cfg({"tp": 1, "max_num_seqs": 8}, CLIENT, "vllm")) == []


def test_derived_fields_follow_their_lever_and_runtime_state_is_not_config() -> None:
    base = {"model_path": "m", "cuda_graph_max_bs": 256, "cuda_graph_bs": [1, 2, 4, 256],
            "internal_states": [{"last_gen_throughput": 1.0}], "random_seed": 1, "port": 30000}
    moved = base | {"cuda_graph_max_bs": 512, "cuda_graph_bs": [1, 2, 4, 512],
                    "internal_states": [{"last_gen_throughput": 2.0}], "random_seed": 9, "port": 30001}
    assert [d.key for d in diff_configs(_cfg(base, FULL, "sglang"), _cfg(moved, FULL, "sglang"))] == ["graph_max_bs"]
    alone = base | {"cuda_graph_bs": [1, 2]}  # the derived list changed without its source: a real knob
    assert [d.key for d in diff_configs(_cfg(base, FULL, "sglang"), _cfg(alone, FULL, "sglang"))] == ["cuda_graph_bs"]
    assert "internal_states" not in canonicalize(base) and "random_seed" not in canonicalize(base)


def test_engine_defaults_per_release() -> None:
    assert engine_default("vllm", "0.6.3", "max_running_requests") == (True, 256)
    assert engine_default("vllm", "0.10.1", "max_running_requests") == (False, None)
    assert engine_default("vllm", "0.6.3", "prefix_cache") == (True, False)
    assert engine_default("vllm", "0.10.1", "prefix_cache") == (True, True)
    assert engine_default("vllm", None, "kv_mem_fraction") == (True, 0.9)
    assert engine_default("trtllm", "1.0", "tp") == (False, None)


def test_client_metadata_never_overrides_the_server() -> None:
    cfg = _cfg({"gpu_memory_utilization": 0.85}, EXPLICIT, "vllm")
    cfg.merge({"gpu_memory_utilization": "0.9"}, "runs.jsonl", 3, kind=CLIENT)
    assert cfg.values["kv_mem_fraction"] == 0.85 and cfg.conflicts[0][:3] == ("kv_mem_fraction", 0.85, 0.9)

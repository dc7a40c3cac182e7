"""Canonical launch-config keys across SGLang and vLLM, diffs, and declared lever keys."""

from __future__ import annotations

from referee.bench.config import LaunchConfig, canonicalize, diff_configs, lever_keys_from, normalize


def test_same_knob_same_key_across_engines() -> None:
    sglang = canonicalize({"tp_size": 2, "mem_fraction_static": "0.85", "disable_cuda_graph": False,
                           "chunked_prefill_size": 8192, "max_running_requests": 256})
    vllm = canonicalize({"tensor_parallel_size": "2", "gpu_memory_utilization": 0.85, "enforce_eager": "false",
                         "max_num_batched_tokens": 8192, "max_num_seqs": 256})
    assert sglang == vllm == {"tp": 2, "kv_mem_fraction": 0.85, "graphs_enabled": True, "prefill_chunk_tokens": 8192,
                              "max_running_requests": 256}


def test_ignored_keys_and_unknown_keys() -> None:
    canon = canonicalize({"port": 1, "host": "x", "random_seed": 3, "log_level": "info", "my_custom_knob": 7})
    assert canon == {"my_custom_knob": 7}


def test_normalize() -> None:
    assert normalize("1e3") == 1000 and normalize(0.1 + 0.2) == 0.3 and normalize("None") is None
    assert normalize(["a", 1.0]) == ("a", 1) and normalize("True") is True


def _config(values: dict) -> LaunchConfig:
    config = LaunchConfig()
    config.merge(values, "f", 1)
    return config


def test_diff_ignores_one_sided_engine_keys_but_not_env() -> None:
    ref = _config({"tp_size": 1, "schedule_policy": "fcfs", "env:A": "1"})
    cand = _config({"tp_size": 1, "env:B": "2"})
    keys = [d.key for d in diff_configs(ref, cand)]
    assert keys == ["env:A", "env:B"]


def test_lever_keys_from_flags_env_and_manifest() -> None:
    keys = lever_keys_from("--attention-backend triton --enable-torch-compile", {"HIPBLASLT_TUNING_FILE": "t.csv"},
                           ["OVERLAY_PYTHONPATH", "mem_fraction_static"])
    assert keys == {"attention_backend", "torch_compile", "env:HIPBLASLT_TUNING_FILE", "overlay_pythonpath",
                    "kv_mem_fraction"}

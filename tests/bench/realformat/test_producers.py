"""The generator writes the producers' own field sets and types, per release line."""

from __future__ import annotations

import json
import math
import random

from referee.bench.realformat import logs
from referee.bench.realformat.producers import (
    SOURCES,
    Launch,
    Repeat,
    Workload,
    server_args_defaults,
    sglang_line,
    sglang_server_info,
    vllm_result,
)


def _sg(release: str, **kw) -> dict:
    return sglang_line(release, Repeat(1000.0), Workload(), Launch("sglang", release), random.Random(0), **kw)


def test_sglang_lines_follow_each_release() -> None:
    old, mid, new = _sg("sglang-v0.4.6.post5"), _sg("sglang-v0.5.2"), _sg("sglang-v0.5.23")
    assert list(old) == list(mid) and "server_info" not in old and "total_throughput" not in old
    assert list(old)[:3] == ["backend", "dataset_name", "request_rate"] and "p95_itl_ms" in old
    keys = list(new)
    assert keys[0] == "tag" and keys[9] == "server_info" and "p90_ttft_ms" in new
    assert new["max_concurrent_requests"] == 64 and "total_input_text_tokens" in new
    text = json.dumps(new)
    assert '"request_rate": Infinity' in text  # json.dumps(float("inf")), as bench_serving writes it
    detailed = _sg("sglang-v0.5.23", details=True)
    assert set(detailed) - set(new) == {"input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors"}


def test_server_info_is_the_servers_whole_config_plus_runtime_state() -> None:
    info = sglang_server_info(Launch("sglang", "sglang-v0.5.23"), random.Random(1))
    assert len(info) > 330 and info["version"] == "0.5.23" and info["internal_states"][0]["last_gen_throughput"]
    again = sglang_server_info(Launch("sglang", "sglang-v0.5.23"), random.Random(2))
    assert info["internal_states"] != again["internal_states"]  # differs on every query
    assert len(server_args_defaults("sglang-v0.5.2")) == 210


def test_vllm_current_and_legacy_objects() -> None:
    launch = Launch("vllm", "vllm-serve")
    cur = vllm_result("vllm-serve", Repeat(1000.0), Workload(), launch, random.Random(0), metadata={"tp": 1})
    assert cur["request_rate"] == "inf" and cur["tp"] == "1" and cur["failed"] == 0 and "latencies" in cur
    assert "ttfts" not in cur and "p99_ttft_ms" in cur and "median_e2el_ms" not in cur
    assert "random_input_len" not in cur  # vLLM result objects carry no ISL/OSL
    full = vllm_result("vllm-serve", Repeat(1000.0), Workload(), launch, random.Random(0), details=True,
                       percentile_metrics="ttft,tpot,itl,e2el", metric_percentiles="50,90,99")
    assert {"ttfts", "errors", "p50_e2el_ms", "p90_ttft_ms"} <= set(full)
    legacy = vllm_result("vllm-legacy", Repeat(1000.0), Workload(), launch, random.Random(0))
    assert "request_goodput:" in legacy and "ttfts" in legacy  # legacy deletes details before the merge (kept)
    assert "failed" not in legacy and "endpoint_type" not in legacy


def test_logs_as_the_engines_print_them() -> None:
    text = logs.vllm_log(Launch("vllm", "vllm-legacy", flags={"gpu_memory_utilization": 0.85}), "namespace")
    assert "dispatch_function=<function serve at 0x" in text and "# CUDA blocks:" in text
    assert "non-default args: {" in logs.vllm_log(Launch("vllm", "vllm-serve"), "non-default")
    assert "server_args=ServerArgs(model_path=" in logs.sglang_log(Launch("sglang", "sglang-v0.5.2"))
    assert logs.overlay_injected().startswith("[overlay] injected module ")
    assert all(SOURCES[k] for k in ("sglang-v0.5.23", "vllm-serve", "vllm-legacy", "overlay"))
    assert math.isinf(_sg("sglang-v0.5.2")["request_rate"])


def test_vllm_mid_era_bench_serve_object() -> None:
    """0.9.0-era `vllm bench serve --save-result` (HabanaAI/vllm-fork@428c45d0 serve.py): result_json keys in the
    order main() writes them, detail arrays always kept, the `request_goodput:` key, no `failed`, no `backend`."""
    rep = Repeat(1000.0, completed=318, failed=2)
    obj = vllm_result("vllm-bench-0.9", rep, Workload(), Launch("vllm", "vllm-serve"), random.Random(0),
                      metadata={"tp": 1})
    assert list(obj)[:11] == ["date", "endpoint_type", "label", "model_id", "tokenizer_id", "best_of", "num_prompts",
                              "tp", "request_rate", "burstiness", "max_concurrency"]
    assert obj["endpoint_type"] == "openai-comp" and obj["request_rate"] == "inf" and obj["tp"] == "1"
    assert "failed" not in obj and "backend" not in obj and "request_goodput:" in obj
    assert obj["errors"].count("") == 318 and len(obj["errors"]) == 320 and "latencies" not in obj
    assert {"mean_ttft_ms", "median_ttft_ms", "std_ttft_ms", "p99_ttft_ms", "p99_itl_ms"} <= set(obj)
    assert "median_e2el_ms" not in obj  # e2el is not among the default --percentile-metrics
    assert "HabanaAI/vllm-fork@428c45d0" in SOURCES["vllm-bench-0.9"]


def test_mid_era_vllm_log_is_read(tmp_path) -> None:
    from referee.bench.io.serverlog import read_log

    text = logs.vllm_log(Launch("vllm", "vllm-serve", flags={"gpu_memory_utilization": 0.85}), "namespace-v1")
    path = tmp_path / "server.log"
    path.write_text(text)
    facts = read_log(path)
    assert facts.version is not None and facts.version[0] == "0.9.0"
    merged = {k: v for _, args, _ in facts.configs for k, v in args.items()}
    assert merged.get("gpu_memory_utilization") == 0.85

"""SGLang `bench_serving --output-file`: one flat JSON line per timed repeat, newer versions with `server_info`.

Key names as SGLang writes them (`output_throughput`, `median_ttft_ms`, `median_e2e_latency_ms`,
`random_input_len`, ...). The `server_info` block, when present, is the server's own `/server_info` payload and
the best launch-config evidence there is; without it the config comes from server.log.
"""

from __future__ import annotations

from typing import Any

from referee.bench.model import NAN, num

NAME = "sglang_bench_serving"
CLIENT = "sglang.bench_serving"


#: fast-path column sources: metric -> keys in priority order (the first one present is read).
FAST = (
    ("output_throughput", ("output_throughput", "output_token_throughput", "output_throughput_tok_s")),
    ("total_token_throughput", ("total_throughput", "total_token_throughput")),
    ("request_throughput", ("request_throughput",)),
    ("ttft_ms", ("median_ttft_ms", "mean_ttft_ms")), ("ttft_p99_ms", ("p99_ttft_ms",)),
    ("tpot_ms", ("median_tpot_ms", "mean_tpot_ms")), ("tpot_p99_ms", ("p99_tpot_ms",)),
    ("itl_ms", ("median_itl_ms", "mean_itl_ms")), ("e2el_ms", ("median_e2e_latency_ms", "mean_e2e_latency_ms")),
    ("completed", ("completed",)), ("failed", ("failed",)), ("num_prompts", ("num_prompts",)),
    ("input_tokens", ("total_input_tokens",)), ("output_tokens", ("total_output_tokens",)),
    ("duration_s", ("duration",)),
)
#: keys that need the full path: `errors` (`--output-details`) holds one entry per request, "" when it succeeded,
#: and is the only place SGLang records a failed request (its lines have no `failed` and no `num_prompts`).
SLOW_KEYS = ("errors",)
#: keys whose values, taken together, decide workload, basis and server config of a line.
SIGNATURE = ("dataset_name", "random_input_len", "random_output_len", "random_range_ratio", "max_concurrency",
             "request_rate", "num_prompts", "temperature", "ignore_eos", "metric_basis", "server_info")
DATE_KEY = None


def detect(obj: dict[str, Any]) -> bool:
    return ("server_info" in obj or "median_e2e_latency_ms" in obj or "random_input_len" in obj
            or obj.get("backend") == "sglang")


def throughput(obj: dict[str, Any]) -> Any:
    """GEAK's summarizer order: output_throughput, output_token_throughput, output_throughput_tok_s."""
    value = obj.get("output_throughput")
    if value is None:
        value = obj.get("output_token_throughput")
        if value is None:
            value = obj.get("output_throughput_tok_s")
    return value


def _median_or_mean(obj: dict[str, Any], metric: str) -> float:
    value = obj.get(f"median_{metric}_ms")
    return num(value if value is not None else obj.get(f"mean_{metric}_ms"))


def extract(obj: dict[str, Any]) -> tuple:
    g = obj.get
    total = g("total_throughput")
    metrics = (
        num(throughput(obj)), num(total if total is not None else g("total_token_throughput")),
        num(g("request_throughput")),
        _median_or_mean(obj, "ttft"), num(g("p99_ttft_ms")), _median_or_mean(obj, "tpot"), num(g("p99_tpot_ms")),
        _median_or_mean(obj, "itl"), _median_or_mean(obj, "e2e_latency"),
        num(g("completed")), _failed(obj), num(g("num_prompts")), num(g("total_input_tokens")),
        num(g("total_output_tokens")), num(g("duration")),
    )
    workload = (g("dataset_name"), g("random_input_len"), g("random_output_len"), g("random_range_ratio"),
                g("max_concurrency"), g("request_rate"), g("num_prompts"), CLIENT, g("temperature"), g("ignore_eos"))
    server = g("server_info")
    basis = g("metric_basis")
    return metrics, workload, basis, server if isinstance(server, dict) else None, False, None, NAN


def _failed(obj: dict[str, Any]) -> float:
    errors = obj.get("errors")
    if isinstance(errors, list):
        return float(sum(1 for e in errors if e))
    return num(obj.get("failed"))


def epoch(raw: Any) -> float:
    return NAN

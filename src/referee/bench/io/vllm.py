"""`vllm bench serve --save-result`: one result object per run (GEAK re-emits each as one JSONL line).

vLLM names latencies `{mean,median,std,p<P>}_{ttft,tpot,itl,e2el}_ms`, counts `failed` in newer releases and
embeds no server args; `--metadata K=V` pairs land as top-level keys, so canonical server keys among them are
taken as launch-config evidence. The `date` field (`YYYYMMDD-HHMMSS`, local time) marks when the run ended.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from functools import lru_cache
from typing import Any

from referee.bench.config import ALIASES
from referee.bench.model import NAN, num

NAME = "vllm_bench_serve"
CLIENT = "vllm bench serve"

#: --metadata keys that are launch config (anything the canonical table knows, minus client-side names).
META_KEYS = tuple(k for k in ALIASES if k not in ("model_id", "tokenizer_id", "tokenizer", "version"))


FAST = (
    ("output_throughput", ("output_throughput",)), ("total_token_throughput", ("total_token_throughput",)),
    ("request_throughput", ("request_throughput",)),
    ("ttft_ms", ("median_ttft_ms", "mean_ttft_ms")), ("ttft_p99_ms", ("p99_ttft_ms",)),
    ("tpot_ms", ("median_tpot_ms", "mean_tpot_ms")), ("tpot_p99_ms", ("p99_tpot_ms",)),
    ("itl_ms", ("median_itl_ms", "mean_itl_ms")), ("e2el_ms", ("median_e2el_ms", "mean_e2el_ms")),
    ("completed", ("completed",)), ("failed", ("failed",)), ("num_prompts", ("num_prompts",)),
    ("input_tokens", ("total_input_tokens",)), ("output_tokens", ("total_output_tokens",)),
    ("duration_s", ("duration",)),
)
SIGNATURE = ("dataset_name", "random_input_len", "input_len", "random_output_len", "output_len", "random_range_ratio",
             "max_concurrency", "request_rate", "num_prompts", "temperature", "ignore_eos", "metric_basis",
             "model_id", *META_KEYS)
DATE_KEY = "date"


def detect(obj: dict[str, Any]) -> bool:
    return "endpoint_type" in obj or "median_e2el_ms" in obj or "burstiness" in obj or "model_id" in obj


def _median_or_mean(obj: dict[str, Any], metric: str) -> float:
    value = obj.get(f"median_{metric}_ms")
    return num(value if value is not None else obj.get(f"mean_{metric}_ms"))


def extract(obj: dict[str, Any]) -> tuple:
    g = obj.get
    metrics = (
        num(g("output_throughput")), num(g("total_token_throughput")), num(g("request_throughput")),
        _median_or_mean(obj, "ttft"), num(g("p99_ttft_ms")), _median_or_mean(obj, "tpot"), num(g("p99_tpot_ms")),
        _median_or_mean(obj, "itl"), _median_or_mean(obj, "e2el"),
        num(g("completed")), num(g("failed")), num(g("num_prompts")), num(g("total_input_tokens")),
        num(g("total_output_tokens")), num(g("duration")),
    )
    isl = g("random_input_len")
    osl = g("random_output_len")
    workload = (g("dataset_name"), isl if isl is not None else g("input_len"),
                osl if osl is not None else g("output_len"), g("random_range_ratio"), g("max_concurrency"),
                g("request_rate"), g("num_prompts"), CLIENT, g("temperature"), g("ignore_eos"))
    server: dict[str, Any] = {k: obj[k] for k in META_KEYS if k in obj}
    model = g("model_id")
    if model is not None:
        server.setdefault("model", model)
    date = g("date")
    return metrics, workload, g("metric_basis"), server or None, False, None, date if isinstance(date, str) else NAN


def epoch(raw: Any) -> float:
    """`20250101-120000` -> seconds, read as UTC (the stamp is naive local time; only differences between the
    legs matter, and both legs are stamped by the same clock). Days are cached: a million lines share a few."""
    if not isinstance(raw, str) or len(raw) < 15 or raw[8] != "-":
        return NAN
    day = _day(raw[:8])
    clock = raw[9:15]
    if day != day or not clock.isdigit():
        return NAN
    hh, mm, ss = int(clock[:2]), int(clock[2:4]), int(clock[4:6])
    if hh > 23 or mm > 59 or ss > 60:
        return NAN
    return day + 3600 * hh + 60 * mm + ss


@lru_cache(maxsize=4096)
def _day(text: str) -> float:
    try:
        return float(calendar.timegm(datetime.strptime(text, "%Y%m%d").timetuple()))
    except ValueError:
        return NAN

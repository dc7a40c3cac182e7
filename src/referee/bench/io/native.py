"""referee's own JSON-lines schema, `bench_run/v1`, for harnesses that are neither SGLang nor vLLM.

One line per repeat: `{"schema": "bench_run/v1", "rep": {...}, "workload": {...}, "metrics": {...},
"server": {...}, "host": {...}}`; docs/bench.md has the full field list. Warm-up repeats (`rep.is_warmup`) are
kept out of the statistics but counted, and `host.co_tenant_procs` / `host.storm_markers` feed the contention
rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from referee.bench.model import NAN, num

NAME = "native"
SCHEMA_PREFIX = "bench_run/"


def detect(obj: dict[str, Any]) -> bool:
    schema = obj.get("schema")
    return isinstance(schema, str) and schema.startswith(SCHEMA_PREFIX)


def _block(obj: dict[str, Any], name: str) -> dict[str, Any]:
    value = obj.get(name)
    return value if isinstance(value, dict) else {}


def _stat(metrics: dict[str, Any], name: str, which: str) -> float:
    value = metrics.get(name)
    if isinstance(value, dict):
        got = value.get(which)
        if got is None and which == "median":
            got = value.get("mean")
        return num(got)
    return num(value) if which == "median" else NAN


def _time(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except (ValueError, OverflowError):  # a malformed or out-of-range time is "unknown", not a crash
            return NAN
    return NAN


def extract(obj: dict[str, Any]) -> tuple:
    m = _block(obj, "metrics")
    w = _block(obj, "workload")
    rep = _block(obj, "rep")
    host = _block(obj, "host")
    duration = m.get("duration_s")
    metrics = (
        num(m.get("output_throughput")), num(m.get("total_token_throughput")), num(m.get("request_throughput")),
        _stat(m, "ttft_ms", "median"), _stat(m, "ttft_ms", "p99"), _stat(m, "tpot_ms", "median"),
        _stat(m, "tpot_ms", "p99"), _stat(m, "itl_ms", "median"), _stat(m, "e2el_ms", "median"),
        num(m.get("completed")), num(m.get("failed")), num(w.get("num_prompts")), num(m.get("total_input_tokens")),
        num(m.get("total_output_tokens")), num(duration),
    )
    workload = (w.get("dataset"), w.get("isl"), w.get("osl"), w.get("range_ratio"), w.get("max_concurrency"),
                w.get("request_rate"), w.get("num_prompts"), w.get("client"), w.get("temperature"),
                w.get("ignore_eos"))
    server = _block(obj, "server")
    if server:
        graphs = _block(server, "graphs")
        server = {k: v for k, v in server.items() if k not in ("raw", "env", "extra_args", "graphs")} | {
            f"env:{k}": v for k, v in _block(server, "env").items()}
        if graphs:
            server["graphs_enabled"] = graphs.get("enabled")
            server["graph_max_bs"] = graphs.get("max_bs")
    co_tenant = max(num(host.get("co_tenant_procs")), num(host.get("storm_markers")))
    end = _time(rep.get("t_end"))
    if end != end:  # NaN: fall back to start + duration
        end = _time(rep.get("t_start")) + num(duration)
    return (metrics, workload, m.get("metric_basis"), server or None, bool(rep.get("is_warmup")),
            co_tenant if co_tenant == co_tenant else None, end)


def epoch(raw: Any) -> float:
    return raw if isinstance(raw, float) else NAN

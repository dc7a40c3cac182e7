"""What the auditor knows about a leg after reading it: raw repeats as columns, plus where each fact came from.

A leg can hold a million repeats, so per-repeat metrics live in numpy columns and everything that is normally
constant across a leg (workload, metric basis, server config) is kept as a short list of distinct values with
the first line each was seen on. Every fact keeps a file and line so a finding can cite it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from referee.bench.config import LaunchConfig

NAN = math.nan

#: per-repeat metric columns, in the order adapters return them.
METRICS: tuple[str, ...] = (
    "output_throughput", "total_token_throughput", "request_throughput",
    "ttft_ms", "ttft_p99_ms", "tpot_ms", "tpot_p99_ms", "itl_ms", "e2el_ms",
    "completed", "failed", "num_prompts", "input_tokens", "output_tokens", "duration_s",
)
METRIC_INDEX = {name: i for i, name in enumerate(METRICS)}

#: what a repeat was asked to do; two legs are comparable only if these agree.
WORKLOAD_KEYS: tuple[str, ...] = (
    "dataset", "isl", "osl", "range_ratio", "max_concurrency", "request_rate", "num_prompts", "client",
    "temperature", "ignore_eos",
)

#: metrics the auditor can gate on, and whether more is better.
HIGHER_IS_BETTER: dict[str, bool] = {
    "output_throughput": True, "total_token_throughput": True, "request_throughput": True,
    "ttft_ms": False, "tpot_ms": False, "itl_ms": False, "e2el_ms": False,
}

#: GEAK `metric_basis` names for the throughput metrics.
BASIS_OF_METRIC = {"output_throughput": "aggregate_output_tok_s",
                   "total_token_throughput": "aggregate_total_token_tok_s"}


def num(value: Any) -> float:
    """float for a JSON scalar; NaN for null and for text that is not a number."""
    kind = type(value)
    try:
        if kind is float or kind is int or kind is bool:
            return float(value)
        if value is None:
            return NAN
        return float(value)
    except OverflowError:  # an integer literal beyond float range
        return math.inf if value > 0 else -math.inf
    except (TypeError, ValueError):
        return NAN


@dataclass
class Seen:
    """A value that is normally constant across a leg: each distinct value, where it first showed, how often."""

    value: Any
    first_line: int
    count: int = 1


@dataclass
class Malformed:
    line: int
    reason: str
    snippet: str


@dataclass
class RunTable:
    """Every timed repeat of one raw runs file, column-wise."""

    file: str
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, len(METRICS))))
    workloads: list[Seen] = field(default_factory=list)
    bases: list[Seen] = field(default_factory=list)
    servers: list[Seen] = field(default_factory=list)
    formats: dict[str, int] = field(default_factory=dict)
    malformed: list[Malformed] = field(default_factory=list)
    malformed_count: int = 0
    warmup_lines: list[int] = field(default_factory=list)
    co_tenant: list[tuple[int, float]] = field(default_factory=list)
    span: tuple[float, float] | None = None
    windows: np.ndarray | None = None  # (k, 2) per-repeat [start, end] seconds, for formats that stamp runs
    members: list[str] | None = None  # one file per repeat (a vLLM --result-dir): line i is members[i - 1]
    total_lines: int = 0

    @property
    def n(self) -> int:
        return int(self.lines.shape[0])

    def column(self, name: str) -> np.ndarray:
        return self.values[:, METRIC_INDEX[name]]

    def finite(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Values of a metric that are present, with their line numbers."""
        col = self.column(name)
        mask = np.isfinite(col)
        return col[mask], self.lines[mask]


@dataclass
class LogFacts:
    """What a server log says: launch config, KV budget and peak usage, engagement, contention, crashes."""

    file: str
    configs: list[tuple[int, dict[str, Any], int]] = field(default_factory=list)  # (priority, args, line)
    env: dict[str, tuple[str, int]] = field(default_factory=dict)
    engine: str | None = None
    kv_budget_tokens: tuple[int, int] | None = None
    peak_tokens: tuple[float, int] | None = None
    peak_usage: tuple[float, int] | None = None
    peak_running: tuple[float, int] | None = None
    engagement: list[tuple[int, str]] = field(default_factory=list)
    forward_counts: list[tuple[int, int]] = field(default_factory=list)
    contention: list[tuple[int, str]] = field(default_factory=list)
    crashes: list[tuple[int, str]] = field(default_factory=list)
    rebind_targets: list[tuple[int, str]] = field(default_factory=list)
    overlay_failures: list[tuple[int, str]] = field(default_factory=list)
    version: tuple[str, int] | None = None
    lines: int = 0
    error: str | None = None


@dataclass
class Leg:
    """One measured leg: a folder with bench_runs.jsonl, server.log and bench_summary.json (a claim)."""

    role: str
    path: Path
    runs_file: Path | None = None
    runs: RunTable | None = None
    log: LogFacts | None = None
    config: LaunchConfig = field(default_factory=LaunchConfig)
    summary: Any = None  # ClaimFile of bench_summary.json, if present
    parity: Any = None  # ClaimFile of parity.json, if present
    read_error: str | None = None

    @property
    def n(self) -> int:
        return self.runs.n if self.runs is not None else 0

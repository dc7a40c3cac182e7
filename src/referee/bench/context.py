"""Everything a rule may look at, computed once: legs, claims, options, and cached statistics.

Rules never read files themselves; they ask the context, which keeps statistics cached per (leg, metric) and
builds evidence that cites raw lines (file:line) in the same shape for every rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from referee.bench import stats
from referee.bench.io.claims import ClaimFile, Claims
from referee.bench.model import HIGHER_IS_BETTER, Leg
from referee.bench.thresholds import Thresholds
from referee.report import Evidence

DEFAULT_METRIC = "output_throughput"
#: below this many repeats over both legs the statistics cost milliseconds: no threads for them
PREFETCH_MIN_REPEATS = 100_000
PREFETCH_THREADS = 2

#: how claims name their headline metric -> the metric column it is.
METRIC_NAMES = {
    "ttft": "ttft_ms", "ttft_ms": "ttft_ms", "median_ttft_ms": "ttft_ms", "time_to_first_token": "ttft_ms",
    "tpot": "tpot_ms", "tpot_ms": "tpot_ms", "median_tpot_ms": "tpot_ms", "itl": "itl_ms", "itl_ms": "itl_ms",
    "e2el": "e2el_ms", "e2el_ms": "e2el_ms", "e2e_latency": "e2el_ms", "e2e_latency_ms": "e2el_ms",
    "output_throughput": "output_throughput", "throughput": "output_throughput", "tok_s": "output_throughput",
    "aggregate_output_tok_s": "output_throughput", "total_throughput": "total_token_throughput",
    "total_token_throughput": "total_token_throughput", "aggregate_total_token_tok_s": "total_token_throughput",
    "request_throughput": "request_throughput",
}


def metric_from_name(name: object) -> str | None:
    if not isinstance(name, str):
        return None
    return METRIC_NAMES.get(name.strip().lower().replace("-", "_").replace(" ", "_"))


@dataclass
class AuditOptions:
    """What the caller controls. The noise band is global: one value for every leg, rule and candidate."""

    noise_band_pct: float = 0.5
    baseline_throughput: float | None = None
    metric: str | None = None  # None: the claim's headline metric, else output tok/s
    invariants: dict[str, Any] = field(default_factory=dict)
    workers: int | None = None
    seed: int = stats.BOOTSTRAP_SEED
    require_parity: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.noise_band_pct < 100:
            raise ValueError("noise band must be within (0, 100) percent")
        if self.metric is not None and self.metric not in HIGHER_IS_BETTER:
            raise ValueError(f"unknown metric {self.metric!r}; choose from {', '.join(HIGHER_IS_BETTER)}")


@dataclass
class AuditContext:
    scope: str
    ref: Leg | None
    cand: Leg | None
    claims: Claims
    options: AuditOptions
    th: Thresholds
    notes: list[str] = field(default_factory=list)
    claimed_metric: str | None = None
    _summaries: dict[tuple[int, str], stats.Summary | None] = field(default_factory=dict)
    _finite: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _comparisons: dict[str, stats.Comparison | None] = field(default_factory=dict)

    @property
    def band(self) -> float:
        return self.options.noise_band_pct

    @property
    def metric(self) -> str:
        """The gated metric: the caller's, else the one the claim headlines (a TTFT claim is gated on TTFT,
        lower is better), else output tok/s."""
        return self.options.metric or self.claimed_metric or DEFAULT_METRIC

    @property
    def higher_is_better(self) -> bool:
        return HIGHER_IS_BETTER[self.metric]

    def legs(self) -> list[Leg]:
        return [leg for leg in (self.ref, self.cand) if leg is not None]

    def measured(self) -> list[Leg]:
        """Legs that have at least one parseable timed repeat."""
        return [leg for leg in self.legs() if leg.n > 0]

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # ---- raw values and statistics -------------------------------------------------------------------------
    def values(self, leg: Leg, metric: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        if leg.runs is None:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        key = (id(leg), metric or self.metric)
        found = self._finite.get(key)
        if found is None:  # rules ask for the same column many times; a million-row column costs milliseconds
            found = leg.runs.finite(metric or self.metric)
            for array in found:
                array.flags.writeable = False  # shared between rules
            self._finite[key] = found
        return found

    def summary(self, leg: Leg, metric: str | None = None) -> stats.Summary | None:
        key = (id(leg), metric or self.metric)
        if key not in self._summaries:
            values, _ = self.values(leg, metric)
            self._summaries[key] = stats.summarize(values) if values.size else None
        return self._summaries[key]

    def prefetch(self, metrics: tuple[str, ...]) -> None:
        """Compute the statistics every audit asks for (each leg's summary of `metrics`, the headline comparison)
        on two threads. numpy's partitions and sorts release the GIL, so on a big leg the rules' statistics
        take about half the wall time; results and caches are the same as computed one by one."""
        legs = self.measured()
        if sum(leg.n for leg in legs) < PREFETCH_MIN_REPEATS:
            return
        from concurrent.futures import ThreadPoolExecutor

        for leg in legs:  # the cached columns first (cheap, and the cache is then only read by the threads)
            for metric in metrics:
                self.values(leg, metric)

        def quietly(compute: Any, *args: Any) -> None:
            # numpy's error state is per thread, and a failure here is the rule's to report: it asks again
            with np.errstate(all="ignore"):
                try:
                    compute(*args)
                except Exception:  # the rule that needs this value asks again and reports it
                    pass

        with ThreadPoolExecutor(max_workers=PREFETCH_THREADS, thread_name_prefix="stats") as pool:
            jobs = [pool.submit(quietly, self.comparison, self.metric)]
            jobs += [pool.submit(quietly, self.summary, leg, metric) for metric in metrics for leg in legs]
            for job in jobs:
                job.result()

    def comparison(self, metric: str | None = None) -> stats.Comparison | None:
        metric = metric or self.metric
        if metric not in self._comparisons:
            result = None
            if self.ref is not None and self.cand is not None:
                ref, _ = self.values(self.ref, metric)
                cand, _ = self.values(self.cand, metric)
                if ref.size and cand.size:
                    result = stats.compare(ref, cand, metric, HIGHER_IS_BETTER[metric], seed=self.options.seed,
                                           tests=metric == self.metric)
            self._comparisons[metric] = result
        return self._comparisons[metric]

    # ---- evidence ------------------------------------------------------------------------------------------
    def run_ev(self, leg: Leg, line: int | None, detail: str | None = None) -> Evidence:
        """A raw repeat line of a leg's runs file (for a folder of per-run results: that run's file)."""
        file = str(leg.runs_file) if leg.runs_file is not None else str(leg.path)
        members = leg.runs.members if leg.runs is not None else None
        if members and line is not None and 0 < int(line) <= len(members):
            return Evidence(file=members[int(line) - 1], line=1, detail=detail)
        return Evidence(file=file, line=None if line is None else int(line), detail=detail)

    def extreme_evs(self, leg: Leg, metric: str | None = None) -> list[Evidence]:
        """Evidence for a leg's min, median-nearest and max repeat of a metric (the lines a spread rests on)."""
        values, lines = self.values(leg, metric)
        if not values.size:
            return [self.run_ev(leg, None, f"{leg.role}: no repeats")]
        name = metric or self.metric
        med = stats.median(values)
        picks = {"min": int(np.argmin(values)), "median": int(np.argmin(np.abs(values - med))),
                 "max": int(np.argmax(values))}
        seen: dict[int, list[str]] = {}
        for label, index in picks.items():
            seen.setdefault(index, []).append(label)
        return [self.run_ev(leg, lines[i], f"{leg.role} {'/'.join(labels)}: {name}={values[i]:.6g}")
                for i, labels in seen.items()]

    def log_ev(self, leg: Leg, line: int | None, detail: str) -> Evidence:
        file = leg.log.file if leg.log is not None else str(leg.path / "server.log")
        return Evidence(file=file, line=line, detail=detail)

    def config_ev(self, leg: Leg, key: str, detail: str | None = None) -> Evidence:
        where = leg.config.where.get(key)
        value = leg.config.values.get(key)
        text = detail or f"{leg.role}: {key}={value!r}"
        if where is None:
            return Evidence(file=str(leg.path), detail=text)
        return Evidence(file=where[0], line=where[1], detail=text)

    def claims_of(self, *kinds: str) -> list[ClaimFile]:
        found: list[ClaimFile] = []
        for kind in kinds:
            found.extend(self.claims.of(kind))
        return found

"""Every threshold the auditor applies, in one versioned place, each with where it comes from.

Findings copy the value they applied into their `data`, so a verdict can be re-checked by hand. The noise band
is the only threshold a user sets (`--noise-band`), once per audit, for every leg and every rule: nothing in a
claim file can loosen it per candidate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

VERSION = "bench-thresholds/1"


@dataclass(frozen=True)
class Thresholds:
    noise_band_pct: float = 0.5
    min_reps: int = 3
    recommended_reps: int = 5
    gate_reps: int = 7
    noisy_flag_band_multiple: float = 3.0
    noisy_fail_spread_pct: float = 15.0
    cv_fail_pct: float = 10.0
    robust_z: float = 14.826
    pyperf_minmax_pct: float = 50.0
    failed_fail_pct: float = 1.0
    misreport_rel_pct: float = 2.0
    latency_flag_pct: float = 10.0
    latency_fail_pct: float = 200.0
    amdahl_multiple: float = 2.0
    iso_suspect_speedup: float = 1.2
    iso_provenance_rel_pct: float = 5.0
    numerics_tol: float = 2e-2
    decomposition_slack_pct: float = 5.0
    mwu_alpha: float = 0.05
    ci_confidence: float = 0.95
    storm_lines: int = 3
    fragment_sum_pct: float = 20.0
    fragment_max_share: float = 0.3
    fragment_entries: int = 8
    unattributable_pct: float = 20.0
    shape_coverage_pct: float = 80.0
    accuracy_drop_pts: float = 1.0
    tier_minor_pct: float = 5.0
    tier_major_pct: float = 20.0
    tier_head_pct: float = 50.0

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


#: where each default comes from (rendered into docs/bench.md and `referee bench rules`).
SOURCES = {
    "noise_band_pct": "GEAK NOISE_BAND_PCT",
    "min_reps": "GEAK REPEATS=3; one repeat gives spread 0.0, absence of evidence",
    "recommended_reps": "Mann-Whitney U can reach p<0.01 only from 5 repeats per leg",
    "gate_reps": "GEAK E2E_REPEATS=7",
    "noisy_flag_band_multiple": "GEAK auditor: spread a few x the band is too noisy to gate small wins",
    "noisy_fail_spread_pct": "GEAK isolated-replica gate GEAK_MAX_REPLICA_SPREAD_PCT=15",
    "cv_fail_pct": "pyperf: stdev >= 10% of the mean is unstable",
    "robust_z": "hyperfine outlier threshold 1.4826 x 10",
    "pyperf_minmax_pct": "pyperf: min/max >= 50% away from the mean",
    "failed_fail_pct": "proposal (research note section 6.0)",
    "misreport_rel_pct": "proposal: max(band points, 2% relative)",
    "latency_flag_pct": "proposal (research note PA-07)",
    "latency_fail_pct": "GEAK answer key I5: TTFT +120% is a FLAG, so the hard line sits above it",
    "amdahl_multiple": "GEAK integrator implausible_speedup guard (2x the Amdahl ceiling)",
    "iso_suspect_speedup": "proposal (research note PA-09)",
    "iso_provenance_rel_pct": "proposal (research note PA-10)",
    "numerics_tol": "GEAK op_bench.py --tol 2e-2",
    "decomposition_slack_pct": "proposal: max(2 x band, 5%)",
    "mwu_alpha": "Google benchmark compare.py --utest-alpha 0.05",
    "ci_confidence": "criterion confidence_level 0.95",
    "storm_lines": "proposal: three rocm_agent_enumerator lines in one leg",
    "fragment_sum_pct": "research note PR-02",
    "fragment_max_share": "research note PR-02",
    "fragment_entries": "research note PR-02",
    "unattributable_pct": "research note PR-03",
    "shape_coverage_pct": "research note HA-03",
    "accuracy_drop_pts": "proposal: one accuracy point on a >= 10-prompt greedy probe",
    "tier_minor_pct": "routing tiers: skip < 5% <= minor < 20% <= major < 50% <= head",
    "tier_major_pct": "routing tiers",
    "tier_head_pct": "routing tiers",
}

"""Statistics the auditor re-derives from raw repeats: small pure functions over numpy arrays.

Anchors (see docs/bench.md for sources): GEAK's spread `100*(max-min)/median` and non-overlap gate, hyperfine's
robust z `(x-median)/MAD` with outlier threshold 14.826, Tukey fences (criterion), pyperf's CV and sample-size
rule, asv/Google benchmark's Mann-Whitney U, and a percentile bootstrap of the median ratio with a fixed seed.
At the 3-7 repeats typical of serving benchmarks rank tests cannot reach significance, so non-overlap plus the
noise band is the gate and the tests are supporting evidence once each leg has at least 5 repeats.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import asdict, dataclass

import numpy as np

#: hyperfine: |modified z| above 10 robust standard deviations (1.4826 * 10) is an outlier.
ROBUST_Z_OUTLIER = 14.826
#: pyperf's sample-size rule: 95% confidence (Z) of less than 1% (W) variation.
PYPERF_Z = 1.96
PYPERF_W = 0.01
MWU_MIN_REPS = 5
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
#: above this many repeats per leg the bootstrap runs on a seeded subsample (a wider, conservative interval).
BOOTSTRAP_MAX_N = 1_000
#: resamples on such a subsample: the 2.5/97.5% quantiles of 2,000 resampled medians of 1,000 values are stable to
#: well under the noise band, and a million-repeat leg then costs a fifth of the time.
BOOTSTRAP_RESAMPLES_LARGE = 2_000


@dataclass(frozen=True)
class Summary:
    """Re-derived statistics of one leg's repeats for one metric."""

    n: int
    median: float
    mean: float
    std: float
    min: float
    max: float
    spread_pct: float
    cv_pct: float
    mad: float
    q1: float
    q3: float
    fence_low: float
    fence_high: float
    severe_low: float
    severe_high: float

    def to_dict(self) -> dict[str, float]:
        return {k: _clean(v) for k, v in asdict(self).items()}


def _clean(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value


#: read-only arrays (the audit's shared metric columns) above this size keep their median and MAD: the rules ask
#: for them dozens of times, and on a million-repeat leg each costs milliseconds.
MEMO_MIN_SIZE = 10_000
_MEMO: dict[tuple[int, str], tuple[weakref.ref, float]] = {}


def _memo(values: np.ndarray, what: str, compute) -> float:
    if values.size < MEMO_MIN_SIZE or values.flags.writeable:
        return compute()
    key = (id(values), what)
    hit = _MEMO.get(key)
    if hit is not None and hit[0]() is values:
        return hit[1]
    result = compute()
    if len(_MEMO) > 256:
        _MEMO.clear()
    _MEMO[key] = (weakref.ref(values), result)
    return result


def median(values: np.ndarray) -> float:
    return _memo(values, "median", lambda: float(np.median(values)))


def spread_pct(values: np.ndarray) -> float:
    """GEAK's noise statistic: range over median, in percent. One repeat gives 0.0, which is no evidence."""
    if values.size == 0:
        raise ValueError("spread of an empty sample")
    mid = median(values)
    return 100.0 * float(values.max() - values.min()) / abs(mid) if mid else math.inf


def mad(values: np.ndarray) -> float:
    """Raw median absolute deviation (not scaled by 1.4826; hyperfine's threshold already includes it)."""
    if values.size == 0:
        raise ValueError("MAD of an empty sample")
    return _memo(values, "mad", lambda: float(np.median(np.abs(values - median(values)))))


def robust_z(values: np.ndarray, min_scale: float = 0.0) -> np.ndarray:
    """hyperfine's modified z-score `(x - median) / MAD`. The scale never drops below `min_scale` (a raw MAD of
    3-7 repeats is often near zero, which makes any honest wobble look like a 15-sigma outlier); a zero scale is
    replaced by machine epsilon."""
    if values.size == 0:
        return values.astype(float)
    spread = max(mad(values), min_scale) or np.finfo(float).eps
    return (values - median(values)) / spread


def noise_floor_scale(values: np.ndarray, band_pct: float, threshold: float) -> float:
    """The z-score scale at which a deviation of exactly `band_pct` of the median scores `threshold`: with it,
    a deviation inside the noise band can never count as an outlier."""
    if values.size == 0:
        return 0.0
    return abs(median(values)) * band_pct / 100.0 / threshold


def summarize(values: np.ndarray) -> Summary:
    """Median, spread, CV, MAD and Tukey fences (1.5 and 3 IQR) of a non-empty sample."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        raise ValueError("summary of an empty sample")
    q1, median, q3 = (float(v) for v in np.percentile(values, [25, 50, 75]))
    iqr = q3 - q1
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return Summary(
        n=int(values.size), median=median, mean=mean, std=std, min=float(values.min()), max=float(values.max()),
        spread_pct=spread_pct(values), cv_pct=100.0 * std / abs(mean) if mean else math.inf, mad=mad(values),
        q1=q1, q3=q3, fence_low=q1 - 1.5 * iqr, fence_high=q3 + 1.5 * iqr, severe_low=q1 - 3 * iqr,
        severe_high=q3 + 3 * iqr,
    )


def required_reps(cv_fraction: float) -> int | None:
    """pyperf's `required_nprocesses`: repeats needed for 95% certainty of < 1% variation, `4 Z^2 s^2 / W^2`.
    None when the CV is not a finite number (a leg with absurd values)."""
    needed = 4 * PYPERF_Z**2 * cv_fraction**2 / PYPERF_W**2
    return math.ceil(needed) if math.isfinite(needed) else None


def min_mwu_p(n: int, m: int, one_sided: bool = True) -> float:
    """Smallest p-value an exact Mann-Whitney U test can give for sample sizes n and m: `1/C(n+m, n)`."""
    if n <= 0 or m <= 0:
        return 1.0
    log_c = math.lgamma(n + m + 1) - math.lgamma(n + 1) - math.lgamma(m + 1)
    p = math.exp(-log_c) if log_c < 700 else 0.0
    return p if one_sided else min(1.0, 2 * p)


def amdahl_ceiling_pct(share: float, isolated: float) -> float:
    """End-to-end gain (percent) a kernel sped up `isolated`x can give when it is `share` (0-1) of GPU time."""
    if isolated <= 0 or not 0 <= share <= 1:
        raise ValueError("isolated speedup must be > 0 and share within [0, 1]")
    return 100.0 * (1.0 / (1.0 - share * (1.0 - 1.0 / isolated)) - 1.0)


@dataclass(frozen=True)
class Comparison:
    """Candidate vs reference on one metric. `gain_pct` is positive when the candidate is better."""

    metric: str
    higher_is_better: bool
    ref_median: float
    cand_median: float
    delta_pct: float
    gain_pct: float
    non_overlap: bool
    ratio: float
    ratio_ci: tuple[float, float] | None
    ci_note: str | None
    mwu_p: float | None
    mwu_note: str | None
    min_p: float

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["ratio_ci"] = list(self.ratio_ci) if self.ratio_ci else None
        return {k: (_clean(v) if isinstance(v, float) else v) for k, v in data.items()}


def bootstrap_ratio_ci(ref: np.ndarray, cand: np.ndarray, higher_is_better: bool = True,
                       resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                       confidence: float = 0.95) -> tuple[tuple[float, float], str | None]:
    """Percentile bootstrap CI of the improvement ratio of medians (cand/ref, or ref/cand for latency).

    Deterministic (fixed seed). Legs above BOOTSTRAP_MAX_N repeats are subsampled once, without replacement,
    which can only widen the interval; the note says so.
    """
    rng = np.random.default_rng(seed)
    note = None
    if ref.size > BOOTSTRAP_MAX_N or cand.size > BOOTSTRAP_MAX_N:
        resamples = min(resamples, BOOTSTRAP_RESAMPLES_LARGE)
        note = f"bootstrap ({resamples} resamples) on a seeded subsample of {BOOTSTRAP_MAX_N} repeats per leg"
        ref = rng.choice(ref, min(ref.size, BOOTSTRAP_MAX_N), replace=False) if ref.size > BOOTSTRAP_MAX_N else ref
        cand = rng.choice(cand, min(cand.size, BOOTSTRAP_MAX_N), replace=False) if cand.size > BOOTSTRAP_MAX_N else cand
    ratios = np.empty(resamples)
    batch = max(1, 2_000_000 // max(ref.size, cand.size))
    for start in range(0, resamples, batch):
        size = min(batch, resamples - start)
        r = np.median(ref[rng.integers(0, ref.size, (size, ref.size))], axis=1)
        c = np.median(cand[rng.integers(0, cand.size, (size, cand.size))], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[start:start + size] = c / r if higher_is_better else r / c
    alpha = (1 - confidence) / 2
    low, high = np.quantile(ratios, [alpha, 1 - alpha])
    return (float(low), float(high)), note


#: above this many repeats in both samples scipy's `mannwhitneyu` (method "auto") uses its normal approximation.
MWU_EXACT_MAX = 8


def mann_whitney_p(x: np.ndarray, y: np.ndarray, alternative: str) -> float:
    """One-sided Mann-Whitney U p-value as scipy's `mannwhitneyu(x, y, alternative=...)` gives it. For large
    samples this is scipy's own normal approximation (tie and continuity corrections) in numpy, so an audit of
    big legs does not import scipy.stats (over a second of CPU, taken from the parser workers on two cores)."""
    n1, n2 = x.size, y.size
    if n1 <= MWU_EXACT_MAX or n2 <= MWU_EXACT_MAX:
        from scipy.stats import mannwhitneyu

        return float(mannwhitneyu(x, y, alternative=alternative).pvalue)
    xs, ys = np.sort(x), np.sort(y)
    # U1 = sum over x of (#y below it + half the y equal to it): the rank sum less x's ranks among themselves.
    # Sums of whole and half counts, so exact in floating point, as the pooled-rank formula was.
    u1 = float(np.sum(np.searchsorted(ys, xs, side="left") + np.searchsorted(ys, xs, side="right"))) / 2.0
    pooled = np.sort(np.concatenate([xs, ys]), kind="stable")  # two sorted runs: a merge, not a sort
    starts = np.flatnonzero(np.concatenate(([True], pooled[1:] != pooled[:-1])))
    counts = np.diff(np.append(starts, pooled.size))
    u = u1 if alternative == "greater" else n1 * n2 - u1
    n = n1 + n2
    t = counts.astype(np.float64)
    tie_term = float(np.sum(t ** 3 - t))
    scale = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    z = (u - n1 * n2 / 2 - 0.5) / scale if scale else math.copysign(math.inf, u - n1 * n2 / 2 - 0.5)
    return min(1.0, max(0.0, 0.5 * math.erfc(z / math.sqrt(2))))


def compare(ref: np.ndarray, cand: np.ndarray, metric: str = "output_throughput", higher_is_better: bool = True,
            seed: int = BOOTSTRAP_SEED, tests: bool = True) -> Comparison:
    """Delta, GEAK non-overlap, and (with `tests`) a bootstrap CI of the ratio and a one-sided Mann-Whitney U once
    n >= 5 per leg."""
    ref = np.asarray(ref, dtype=float)
    cand = np.asarray(cand, dtype=float)
    if ref.size == 0 or cand.size == 0:
        raise ValueError("comparison needs at least one repeat per leg")
    ref_med, cand_med = median(ref), median(cand)
    delta = 100.0 * (cand_med - ref_med) / abs(ref_med) if ref_med else math.inf
    gain = delta if higher_is_better else -delta
    non_overlap = bool(cand.min() > ref.max()) if higher_is_better else bool(cand.max() < ref.min())
    ratio = (cand_med / ref_med if higher_is_better else ref_med / cand_med) if ref_med and cand_med else math.inf
    min_p = min_mwu_p(ref.size, cand.size)
    ci, ci_note = None, None
    if not tests:
        ci_note = "not computed for a co-metric"
    elif ref.size >= 2 and cand.size >= 2:
        ci, ci_note = bootstrap_ratio_ci(ref, cand, higher_is_better, seed=seed)
    else:
        ci_note = "no bootstrap with a single repeat in a leg"
    p, p_note = None, None
    if tests and min(ref.size, cand.size) >= MWU_MIN_REPS:
        alternative = "greater" if higher_is_better else "less"
        p = mann_whitney_p(cand, ref, alternative)
    else:
        p_note = (f"Mann-Whitney U not run: {ref.size} vs {cand.size} repeats; it needs >= {MWU_MIN_REPS} per leg "
                  f"(the smallest p it could reach here is {min_p:.3g})")
    return Comparison(metric, higher_is_better, ref_med, cand_med, delta, gain, non_overlap, ratio, ci, ci_note, p,
                      p_note, min_p)

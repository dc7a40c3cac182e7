"""Statistics against known values (the GEAK live-run baseline, hand-computed cases, library definitions)."""

from __future__ import annotations

import numpy as np
import pytest

from referee.bench import stats

PR_BASELINE = np.array([966.36, 1004.05, 1004.71])


def test_geak_live_baseline_numbers() -> None:
    s = stats.summarize(PR_BASELINE)
    assert s.median == 1004.05
    assert s.spread_pct == pytest.approx(3.8195, abs=1e-4)
    assert s.cv_pct == pytest.approx(2.21, abs=0.01)
    assert stats.robust_z(PR_BASELINE)[0] == pytest.approx(-57.1, abs=0.05)
    assert stats.spread_pct(PR_BASELINE[1:]) == pytest.approx(0.0657, abs=1e-4)
    assert stats.required_reps(s.cv_pct / 100) == 76
    assert stats.required_reps(float("inf")) is None


def test_tukey_fences_and_mad() -> None:
    s = stats.summarize(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    assert (s.q1, s.q3) == (2.0, 4.0)
    assert (s.fence_low, s.fence_high, s.severe_high) == (-1.0, 7.0, 10.0)
    assert s.mad == 1.0


def test_zero_mad_uses_epsilon_like_hyperfine() -> None:
    z = stats.robust_z(np.array([5.0, 5.0, 5.0, 4.0]))
    assert abs(z[3]) > stats.ROBUST_Z_OUTLIER and z[0] == 0.0


@pytest.mark.parametrize("n, one, two", [(3, 0.05, 0.10), (4, 0.0143, 0.0286), (5, 0.00397, 0.0079),
                                         (7, 2.9e-4, 5.8e-4)])
def test_min_mwu_p_table(n: int, one: float, two: float) -> None:
    assert stats.min_mwu_p(n, n) == pytest.approx(one, rel=0.02)
    assert stats.min_mwu_p(n, n, one_sided=False) == pytest.approx(two, rel=0.02)
    assert stats.min_mwu_p(500_000, 500_000) == 0.0


def test_amdahl_ceiling() -> None:
    assert stats.amdahl_ceiling_pct(0.38, 1.6) == pytest.approx(16.62, abs=0.01)
    assert stats.amdahl_ceiling_pct(1.0, 2.0) == pytest.approx(100.0)
    with pytest.raises(ValueError):
        stats.amdahl_ceiling_pct(1.5, 2.0)


def test_compare_throughput_and_latency_are_mirrored() -> None:
    ref, cand = np.array([100.0, 101, 102, 100.5, 101.5]), np.array([110.0, 111, 109, 110.5, 111.5])
    up = stats.compare(ref, cand, "output_throughput", True)
    assert up.non_overlap and up.gain_pct == pytest.approx(up.delta_pct) and up.mwu_p is not None
    assert up.mwu_p == pytest.approx(stats.min_mwu_p(5, 5))
    assert up.ratio_ci is not None and up.ratio_ci[0] > 1.05
    down = stats.compare(cand, ref, "ttft_ms", False)
    assert down.non_overlap and down.gain_pct > 0 and down.ratio > 1


def test_bootstrap_is_deterministic_and_subsamples_large_legs() -> None:
    rng = np.random.default_rng(1)
    ref, cand = rng.normal(100, 1, 5000), rng.normal(103, 1, 5000)
    first = stats.bootstrap_ratio_ci(ref, cand, resamples=200)
    assert first == stats.bootstrap_ratio_ci(ref, cand, resamples=200)
    assert first[1] is not None and "subsample" in first[1]
    assert first[0][0] < 1.03 < first[0][1]


def test_small_legs_explain_missing_u_test() -> None:
    cmp = stats.compare(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]))
    assert cmp.mwu_p is None and "needs >= 5" in (cmp.mwu_note or "") and "0.05" in (cmp.mwu_note or "")


def test_empty_inputs_raise() -> None:
    with pytest.raises(ValueError):
        stats.summarize(np.array([]))
    with pytest.raises(ValueError):
        stats.compare(np.array([]), np.array([1.0]))


def test_mann_whitney_normal_approximation_is_scipys() -> None:
    """Above 8 repeats per leg scipy's `mannwhitneyu` (method auto) is its normal approximation with tie and
    continuity corrections; `mann_whitney_p` computes the same without importing scipy.stats."""
    from scipy.stats import mannwhitneyu

    from referee.bench.stats import mann_whitney_p

    rng = np.random.default_rng(3)
    for _ in range(60):
        n1, n2 = (int(v) for v in rng.integers(9, 400, 2))
        x = np.round(rng.normal(1000, 5, n1), int(rng.integers(0, 3)))  # rounding makes ties
        y = np.round(rng.normal(1002, 5, n2), int(rng.integers(0, 3)))
        for alternative in ("greater", "less"):
            want = float(mannwhitneyu(x, y, alternative=alternative).pvalue)
            assert mann_whitney_p(x, y, alternative) == pytest.approx(want, rel=1e-9, abs=1e-300)
    same = np.full(20, 5.0)
    assert mann_whitney_p(same, same, "greater") == float(mannwhitneyu(same, same, alternative="greater").pvalue)
    small = np.array([1.0, 2.0, 3.0])
    assert mann_whitney_p(small + 10, small, "greater") == float(
        mannwhitneyu(small + 10, small, alternative="greater").pvalue)  # exact branch: scipy itself


def test_memoised_median_only_for_read_only_arrays() -> None:
    from referee.bench.stats import mad, median

    values = np.arange(20_000, dtype=float)
    assert median(values) == 9999.5
    values[:] = 0.0  # writable: never memoised
    assert median(values) == 0.0
    frozen = np.arange(20_000, dtype=float)
    frozen.flags.writeable = False
    assert median(frozen) == 9999.5 and median(frozen) == 9999.5 and mad(frozen) == 5000.0

"""PA-01/BU-01, PA-01b, PA-07: is there a real, non-overlapping win, is it statistically supported, and does
the headline hide a regression in another metric?"""

from __future__ import annotations

from collections.abc import Iterator

from referee.bench.context import AuditContext
from referee.bench.model import HIGHER_IS_BETTER
from referee.bench.rules.registry import Hit, fail, flag, ok, rule

THROUGHPUTS = ("output_throughput", "total_token_throughput", "request_throughput")


def real_delta_hits(ctx: AuditContext) -> Iterator[Hit]:
    cmp = ctx.comparison()
    if cmp is None or ctx.ref is None or ctx.cand is None:
        return
    threshold = {"noise_band_pct": ctx.band, "gate": "gain > band and no overlap"}
    evs = ctx.extreme_evs(ctx.ref) + ctx.extreme_evs(ctx.cand)
    ref_s, cand_s = ctx.summary(ctx.ref), ctx.summary(ctx.cand)
    assert ref_s is not None and cand_s is not None
    edge = (f"cand min {cand_s.min:.6g} vs ref max {ref_s.max:.6g}" if ctx.higher_is_better
            else f"cand max {cand_s.max:.6g} vs ref min {ref_s.min:.6g}")
    data = {"ref_median": cmp.ref_median, "cand_median": cmp.cand_median, "delta_pct": cmp.delta_pct,
            "gain_pct": cmp.gain_pct, "non_overlapping": cmp.non_overlap}
    head = f"{ctx.metric}: ref median {cmp.ref_median:.6g} -> cand {cmp.cand_median:.6g} ({cmp.gain_pct:+.2f}% gain)"
    if cmp.gain_pct > ctx.band and cmp.non_overlap:
        yield ok(f"{head}, non-overlapping ({edge}).", threshold, evs, **data)
        return
    reasons = []
    if cmp.gain_pct <= ctx.band:
        reasons.append(f"gain within the {ctx.band}% noise band" if cmp.gain_pct > -ctx.band else "a regression")
    if not cmp.non_overlap:
        reasons.append(f"the legs overlap ({edge})")
    yield fail(f"{head}: no real win, {' and '.join(reasons)}.", "eject", threshold, evs, **data)


@rule("PA-01", "real-delta", ("patch",))
def real_delta(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Re-derives both legs' medians from raw repeats and requires GEAK's accept gate: gain above the noise band
    AND no overlap (`cand_min > ref_max` for throughput, mirrored for latency).

    ## Why is this bad?
    A delta inside the band, or legs whose repeats overlap, is noise that a producer can report as a win; an
    isolated 3x with a flat e2e leg is the benchmark-gaming signature (GEAK I6).

    ## Threshold
    Gain <= noise band (default 0.5%) or overlapping legs: FAIL (`eject`).

    ## Known problems
    With one repeat per leg the overlap test is trivially met; BL-01 flags those legs.
    """
    yield from real_delta_hits(ctx)


@rule("BU-01", "bundle-real-delta", ("bundle",))
def bundle_real_delta(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    PA-01's gate on the bundle: the final validation leg against the true no-overlay base leg.

    ## Why is this bad?
    A stack of individually accepted patches can still sum to nothing against the original baseline.

    ## Threshold
    Gain <= noise band or overlapping legs: FAIL (`eject`).

    ## Known problems
    Same as PA-01.
    """
    yield from real_delta_hits(ctx)


@rule("PA-01b", "stat-support", ("patch", "bundle"))
def stat_support(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Once each leg has at least 5 repeats, backs the gate with a percentile bootstrap CI of the median ratio
    (10,000 resamples, fixed seed) and a one-sided Mann-Whitney U test; below 5 it says why no test is run.

    ## Why is this bad?
    Non-overlap on few repeats can be luck; with enough repeats, a CI that reaches 1 + band or a rank test
    that cannot reject says the win is marginal.

    ## Threshold
    CI lower bound <= 1 + band/100, or U-test p >= 0.05: FLAG (`re_measure`) when PA-01 passed.

    ## Known problems
    Runs only when the gate passed; at n = m = 5 the smallest one-sided p is 0.004, so the test has little power
    on small legs.
    """
    cmp = ctx.comparison()
    if cmp is None or ctx.ref is None or ctx.cand is None:
        return
    if cmp.mwu_note:
        ctx.note(cmp.mwu_note)
    if not (cmp.gain_pct > ctx.band and cmp.non_overlap) or cmp.mwu_p is None:
        return
    threshold = {"ci_low_min": 1 + ctx.band / 100, "mwu_alpha": ctx.th.mwu_alpha, "resamples": 10_000,
                 "seed": ctx.options.seed}
    data = {"ratio_ci": list(cmp.ratio_ci) if cmp.ratio_ci else None, "mwu_p": cmp.mwu_p, "min_p": cmp.min_p}
    if cmp.ci_note:
        data["ci_note"] = cmp.ci_note
    low = cmp.ratio_ci[0] if cmp.ratio_ci else 0.0
    text = (f"95% bootstrap CI of the ratio [{low:.4f}, {cmp.ratio_ci[1] if cmp.ratio_ci else 0:.4f}], "
            f"Mann-Whitney U p={cmp.mwu_p:.3g}")
    if low <= 1 + ctx.band / 100 or cmp.mwu_p >= ctx.th.mwu_alpha:
        yield flag(f"win is marginal: {text}; add repeats.", "re_measure", threshold, [], **data)
    else:
        yield ok(f"win is statistically supported: {text}.", threshold, [], **data)


def _claimed_headline(ctx: AuditContext) -> str | None:
    for claim in ctx.claims_of("integrate", "director_validation"):
        value = claim.value("headline_metric")
        if isinstance(value, str):
            return {"aggregate_output_tok_s": "output_throughput",
                    "aggregate_total_token_tok_s": "total_token_throughput"}.get(value, value)
    return None


@rule("PA-07", "headline-integrity", ("patch", "bundle"))
def headline_integrity(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Re-derives TTFT and TPOT (medians and p99) for both legs and checks the co-metrics the throughput headline
    does not mention; also checks that the claimed headline metric is not the only throughput metric that rose.

    ## Why is this bad?
    A config can buy tok/s with a much worse first-token latency (GEAK I5: TTFT 2916 -> 9446 ms while tok/s
    rose); a headline picked among several metrics can hide a net loss.

    ## Threshold
    A co-metric regression above 10%: FLAG (`flag`); above 200%, or a cherry-picked headline whose sibling
    throughput metric regressed beyond the band: FAIL (`eject`).

    ## Known problems
    Judges medians and p99 only; a tail regression between p99 and max is not seen.
    """
    if ctx.ref is None or ctx.cand is None:
        return
    regressions, checked, evs = [], [], []
    for metric in ("ttft_ms", "tpot_ms", "ttft_p99_ms", "tpot_p99_ms"):
        if metric == ctx.metric:
            continue
        a, b = ctx.summary(ctx.ref, metric), ctx.summary(ctx.cand, metric)
        if a is None or b is None or not a.median:
            continue
        change = 100.0 * (b.median - a.median) / a.median
        checked.append(metric)
        if change > ctx.th.latency_flag_pct:
            regressions.append((metric, a.median, b.median, change))
            evs += ctx.extreme_evs(ctx.ref, metric)[:1] + ctx.extreme_evs(ctx.cand, metric)[:1]
    headline = _claimed_headline(ctx)
    cherry = None
    if headline in THROUGHPUTS:
        for other in THROUGHPUTS:
            cmp = ctx.comparison(other) if other != headline else None
            if cmp is not None and cmp.gain_pct < -ctx.band:
                cherry = (headline, other, cmp.gain_pct)
                evs += ctx.extreme_evs(ctx.cand, other)[:1]
                break
    threshold = {"flag_regression_pct": ctx.th.latency_flag_pct, "fail_regression_pct": ctx.th.latency_fail_pct}
    data = {"regressions": {m: {"ref": a, "cand": b, "change_pct": c} for m, a, b, c in regressions}}
    text = "; ".join(f"{m} {a:.4g} -> {b:.4g} ({c:+.0f}%)" for m, a, b, c in regressions)
    if cherry:
        yield fail(f"headline `{cherry[0]}` was picked while `{cherry[1]}` regressed {cherry[2]:+.2f}%.", "eject",
                   threshold, evs, cherry_picked=cherry[0], **data)
    elif regressions and max(r[3] for r in regressions) > ctx.th.latency_fail_pct:
        yield fail(f"hidden co-metric regression past the hard line: {text}.", "eject", threshold, evs, **data)
    elif regressions:
        yield flag(f"throughput headline hides a co-metric regression: {text}.", "flag", threshold, evs, **data)
    elif checked:
        yield ok(f"no co-metric regression above {ctx.th.latency_flag_pct}% ({', '.join(checked)})", threshold,
                 [], **data)
    if not HIGHER_IS_BETTER[ctx.metric]:
        ctx.note(f"gated on latency metric `{ctx.metric}` (lower is better)")

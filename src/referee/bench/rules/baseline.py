"""BL rules: is a leg's measurement good enough to gate anything on (repeats, noise, outliers, drift,
declared invariants, contention, and whether its decoded outputs can serve as a correctness reference)?"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from referee.bench import stats
from referee.bench.config import canonical_name, normalize
from referee.bench.context import AuditContext
from referee.bench.io.argv import parse_argv
from referee.bench.model import WORKLOAD_KEYS, Leg
from referee.bench.rules.coherence import coherence_of
from referee.bench.rules.registry import Hit, fail, flag, ok, rule
from referee.report import Evidence

MEASURED = ("baseline", "patch", "bundle")


def _legs(ctx: AuditContext) -> list[Leg]:
    return [leg for leg in ctx.measured() if ctx.values(leg)[0].size]


@rule("BL-01", "insufficient-reps", MEASURED)
def insufficient_reps(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Counts the timed repeats of each leg.

    ## Why is this bad?
    One repeat has spread 0.0, which is absence of evidence, not stability; with fewer than three no noise
    estimate exists, and rank tests need five per leg before they can say anything.

    ## Threshold
    Fewer than 3 repeats: FLAG (`re_measure`, with >= 5, or >= 7 to gate sub-1% wins).

    ## Known problems
    Counts repeats, not requests: 3 repeats of 10,000 prompts are still 3 samples of the server.
    """
    for leg in _legs(ctx):
        values, lines = ctx.values(leg)
        if values.size < ctx.th.min_reps:
            yield flag(f"{leg.role} leg has {values.size} timed repeat(s); at least {ctx.th.min_reps} are needed for "
                       f"a noise estimate (re-measure with >= {ctx.th.recommended_reps}, >= {ctx.th.gate_reps} to "
                       f"gate sub-1% wins).", "re_measure", {"min_reps": ctx.th.min_reps},
                       [ctx.run_ev(leg, line) for line in lines[:3]], leg=leg.role, n=int(values.size))


@rule("BL-02", "noisy-leg", MEASURED)
def noisy_leg(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Re-derives each leg's spread `100*(max-min)/median` and CV `100*sd/mean` from the raw repeats.

    ## Why is this bad?
    A leg whose repeats scatter wider than the win being gated cannot prove the win; a baseline with a 3.8%
    spread cannot gate a 2% candidate (GEAK live run: 966.36, 1004.05, 1004.71).

    ## Threshold
    Spread above 3x the noise band: FLAG (`re_measure`); spread above 15% or CV at or above 10%: FAIL.

    ## Known problems
    With 3 repeats the spread is driven by one value; BL-03 says whether that value is a warm-up artifact.
    """
    for leg in _legs(ctx):
        s = ctx.summary(leg)
        assert s is not None
        if s.n < 2:
            continue
        limit = ctx.th.noisy_flag_band_multiple * ctx.band
        threshold = {"flag_spread_pct": limit, "fail_spread_pct": ctx.th.noisy_fail_spread_pct,
                     "fail_cv_pct": ctx.th.cv_fail_pct, "noise_band_pct": ctx.band}
        evs = ctx.extreme_evs(leg)
        data = {"leg": leg.role, "spread_pct": s.spread_pct, "cv_pct": s.cv_pct, "median": s.median,
                "required_reps_pyperf": stats.required_reps(s.cv_pct / 100)}
        text = (f"{leg.role} leg spread {s.spread_pct:.2f}% ({s.spread_pct / ctx.band:.1f}x the {ctx.band}% band), "
                f"CV {s.cv_pct:.2f}% over {s.n} repeats")
        if s.spread_pct > ctx.th.noisy_fail_spread_pct or s.cv_pct >= ctx.th.cv_fail_pct:
            yield fail(text + "; too unstable to gate anything.", "re_measure", threshold, evs, **data)
        elif s.spread_pct > limit:
            yield flag(text + "; too noisy to gate small wins.", "re_measure", threshold, evs, **data)
        else:
            yield ok(text + ".", threshold, evs, **data)


@rule("BL-03", "warmup-outlier", MEASURED)
def warmup_outlier(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Computes the robust z-score `(x - median) / MAD` of the first timed repeat and checks whether it lies in
    the slow direction and whether the leg is quiet without it.

    ## Why is this bad?
    A cold first repeat (caches, JIT, graph capture) inflates the spread and drags the median; the fix is a
    warm-up round, not a wider band (hyperfine's "first run was significantly slower" warning).

    ## Threshold
    |z| of repeat 0 above 14.826 in the slow direction, and the spread without it within the noise band: FLAG
    (`re_measure`).

    ## Known problems
    Needs at least 3 repeats; a slow first repeat in a leg that stays noisy without it is left to BL-02/BL-04.
    """
    for leg in _legs(ctx):
        values, lines = ctx.values(leg)
        if values.size < 3:
            continue
        z = stats.robust_z(values, stats.noise_floor_scale(values, ctx.band, ctx.th.robust_z))
        slow = z[0] < 0 if ctx.higher_is_better else z[0] > 0
        rest = stats.spread_pct(values[1:])
        if slow and abs(z[0]) > ctx.th.robust_z and rest <= ctx.band:
            yield flag(f"{leg.role} leg: first repeat {values[0]:.6g} is a warm-up outlier (robust z {z[0]:.1f}); "
                       f"without it the spread drops from {stats.spread_pct(values):.2f}% to {rest:.3f}%. Discard it "
                       f"or add a warm-up round and re-measure.", "re_measure",
                       {"robust_z": ctx.th.robust_z, "rest_spread_pct": ctx.band},
                       [ctx.run_ev(leg, lines[0], f"repeat 0: {ctx.metric}={values[0]:.6g}, z={z[0]:.1f}")],
                       leg=leg.role, z0=float(z[0]), spread_without_rep0_pct=rest)


@rule("BL-04", "outlier-repeat", MEASURED)
def outlier_repeat(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Finds repeats after the first whose robust z-score exceeds hyperfine's threshold, or whose value is 50% or
    more away from the mean (pyperf), and reports Tukey's severe fences beside them.

    ## Why is this bad?
    A single far-off repeat in the middle of a leg points at interference (a co-tenant, a thermal event) that
    also touched its neighbours.

    ## Threshold
    |z| > 14.826 for a repeat other than the first, or |min or max - mean| >= 50% of the mean: FLAG
    (`re_measure`).

    ## Known problems
    The MAD of 3-7 repeats is unstable, so its scale is floored at the noise band: a repeat inside the band is
    never an outlier, however tight the others are. Below 5 repeats the flag says so.
    """
    for leg in _legs(ctx):
        values, lines = ctx.values(leg)
        if values.size < 3:
            continue
        z = stats.robust_z(values, stats.noise_floor_scale(values, ctx.band, ctx.th.robust_z))
        idx = [int(i) for i in np.flatnonzero(np.abs(z) > ctx.th.robust_z) if i != 0]
        mean = float(values.mean())
        far = [int(i) for i in (int(np.argmin(values)), int(np.argmax(values)))
               if mean and abs(values[i] - mean) / abs(mean) * 100 >= ctx.th.pyperf_minmax_pct]
        picked = sorted(set(idx) | set(far))
        if picked:
            s = ctx.summary(leg)
            assert s is not None
            evs = [ctx.run_ev(leg, lines[i], f"{ctx.metric}={values[i]:.6g}, z={z[i]:.1f}") for i in picked[:10]]
            few = (f" With {values.size} repeats one value moves the MAD; >= {ctx.th.recommended_reps} repeats tell an "
                   f"outlier from noise." if values.size < ctx.th.recommended_reps else "")
            yield flag(f"{leg.role} leg: {len(picked)} outlier repeat(s) (robust z up to "
                       f"{np.abs(z[picked]).max():.1f}, deviations inside the {ctx.band}% band never count); check for "
                       f"contention and re-measure.{few}", "re_measure",
                       {"robust_z": ctx.th.robust_z, "pyperf_minmax_pct": ctx.th.pyperf_minmax_pct}, evs,
                       leg=leg.role, outliers=len(picked), tukey_severe=[s.severe_low, s.severe_high])


@rule("BL-05", "win-below-spread", ("patch", "bundle"))
def win_below_spread(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the re-derived gain with the reference leg's own spread (the smallest effect it can resolve).

    ## Why is this bad?
    A +2% win measured against a baseline that scatters 3% is not provable, even if the medians differ.

    ## Threshold
    Gain above the noise band but at or below the reference spread: FLAG (`re_measure`).

    ## Known problems
    A gain at or below the band is PA-01's FAIL, not this rule's.
    """
    cmp = ctx.comparison()
    if cmp is None or ctx.ref is None:
        return
    s = ctx.summary(ctx.ref)
    if s is None or s.n < 2:
        return
    if ctx.band < cmp.gain_pct <= s.spread_pct:
        yield flag(f"gain {cmp.gain_pct:.2f}% is inside the reference leg's own spread {s.spread_pct:.2f}%; the "
                   f"baseline cannot resolve it.", "re_measure", {"min_detectable_effect_pct": s.spread_pct},
                   ctx.extreme_evs(ctx.ref), gain_pct=cmp.gain_pct, ref_spread_pct=s.spread_pct)


def _declared_invariants(ctx: AuditContext) -> list[tuple[str, object, Evidence]]:
    declared: list[tuple[str, object, Evidence]] = []
    for key, value in ctx.options.invariants.items():
        declared.append((canonical_name(key), normalize(value), Evidence(detail=f"--invariant {key}={value}")))
    for claim in ctx.claims_of("director_setup"):
        for key in SETUP_TOP_LEVEL:  # GEAK's Director setup puts `tp`, `model` ... at the top level
            value = claim.raw(key)
            if value is not None and not isinstance(value, dict | list):
                declared.append((canonical_name(key), _invariant_value(key, value), claim.evidence(key)))
        workload = claim.raw("workload")
        if isinstance(workload, dict):  # GEAK: {"isl", "osl", "conc"}
            for key, value in workload.items():
                name = SETUP_WORKLOAD.get(str(key))
                if name is not None:
                    declared.append((f"workload:{name}", normalize(value), claim.evidence(f"workload.{key}")))
        for block in ("serving_invariant", "server_flags", "serving_config", "invariants"):
            raw = claim.raw(block)
            argv = raw if isinstance(raw, list) else raw.get("extra") if isinstance(raw, dict) else None
            if isinstance(argv, str):
                argv = argv.split()
            if isinstance(argv, list):  # `server_flags` as an argv list, or an `extra` argv string
                for key, value in parse_argv([str(a) for a in argv]).items():
                    declared.append((canonical_name(key), normalize(value), claim.evidence(block, f"{block}: --{key}")))
            if isinstance(raw, dict):
                for key, value in raw.items():
                    if key != "extra":
                        declared.append((canonical_name(key), normalize(value), claim.evidence(f"{block}.{key}")))
    return declared


#: Director-setup workload names -> the workload field they declare.
SETUP_WORKLOAD = {"isl": "isl", "osl": "osl", "conc": "max_concurrency", "concurrency": "max_concurrency",
                  "num_prompts": "num_prompts"}

#: top-level Director-setup fields that are serving invariants (GEAK e2e_workflow/roles/director.md).
SETUP_TOP_LEVEL = ("tp", "tp_size", "model", "mem_fraction", "mem_fraction_static", "kv_mem_fraction", "gpu")


def _invariant_value(key: str, value: object) -> object:
    return normalize(str(value)) if key == "gpu" else normalize(value)


@rule("BL-06", "wrong-invariant", ("baseline", "patch", "bundle"))
def wrong_invariant(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the reference leg's re-derived launch config with the serving invariant it was declared at
    (`--invariant key=value`, or a Director setup claim's `serving_invariant`/`server_flags`).

    ## Why is this bad?
    A baseline measured at a more constrained setting (mem fraction 0.7225 where 0.85 was intended) inflates
    every downstream delta (GEAK P1).

    ## Threshold
    Any declared key whose raw value differs: FAIL (`re_measure`).

    ## Known problems
    A declared key the raw config does not show is noted, not failed.
    """
    leg = ctx.ref
    if leg is None:
        return
    declared = _declared_invariants(ctx)
    if not declared:
        return
    wrong, unknown = [], []
    seen = dict(zip(WORKLOAD_KEYS, leg.runs.workloads[0].value, strict=True)) if leg.runs and leg.runs.workloads else {}
    for key, value, ev in declared:
        if key.startswith("workload:"):
            raw = seen.get(key.split(":", 1)[1])
            if raw is None:
                unknown.append(key)
            elif normalize(raw) != value:
                wrong.append((key, value, raw, ev))
        elif key not in leg.config.values:
            unknown.append(key)
        elif leg.config.values[key] != value:
            wrong.append((key, value, leg.config.values[key], ev))
    if unknown:
        ctx.note(f"declared invariant(s) not visible in the {leg.role} leg's raw config: {', '.join(unknown)}")
    threshold = {"invariant": "identical"}
    if wrong:
        evs: list[Evidence] = []
        for key, _, raw, ev in wrong:
            evs += [ev, ctx.run_ev(leg, leg.runs.workloads[0].first_line, f"ran {key}={raw!r}")  # type: ignore[union-attr]
                    if key.startswith("workload:") else ctx.config_ev(leg, key)]
        text = ", ".join(f"{k} declared {d!r} but ran {r!r}" for k, d, r, _ in wrong)
        yield fail(f"{leg.role} leg was not measured at its declared invariant: {text}.", "re_measure", threshold, evs,
                   mismatches={k: {"declared": d, "raw": r} for k, d, r, _ in wrong})
    else:
        yield ok(f"{leg.role} leg matches {len(declared) - len(unknown)} declared invariant(s)", threshold,
                 [ev for _, _, ev in declared[:5]])


@rule("BL-07", "baseline-drift", ("baseline", "patch", "bundle"))
def baseline_drift(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the reference leg's re-derived median with the baseline throughput the workflow gates against
    (`--baseline-throughput`).

    ## Why is this bad?
    A baseline that no longer reproduces makes every delta against it fiction (GEAK I2: 1300 vs 1004.9, 29%).

    ## Threshold
    |drift| above the noise band: FAIL (`eject` in patch/bundle scope, `re_measure` for a baseline). When the
    given baseline is exactly the leg's own median, drift is n/a, and n/a is not a pass.

    ## Known problems
    Compares medians only; a baseline that reproduces its median with a different spread passes here.
    """
    target = ctx.options.baseline_throughput
    leg = ctx.ref
    if target is None or leg is None:
        return
    s = ctx.summary(leg)
    if s is None:
        return
    if abs(s.median - target) <= 1e-9 * max(1.0, abs(target)):
        ctx.note("baseline drift n/a: the given baseline is the reference leg's own median (not a pass)")
        return
    drift = 100.0 * (s.median - target) / target
    threshold = {"max_abs_drift_pct": ctx.band}
    evs = [Evidence(detail=f"--baseline-throughput {target}"), *ctx.extreme_evs(leg)]
    message = f"{leg.role} median {s.median:.6g} vs gated baseline {target:.6g}: drift {drift:+.2f}%"
    if abs(drift) > ctx.band:
        action = "re_measure" if ctx.scope == "baseline" else "eject"
        yield fail(message + "; the baseline no longer reproduces.", action, threshold, evs, drift_pct=drift)
    else:
        yield ok(message + ".", threshold, evs, drift_pct=drift)


@rule("BL-09", "noncoherent-reference", ("baseline",))
def noncoherent_reference(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks that the baseline's decoded parity outputs (`parity.json` in the leg) are coherent text and were not
    produced by the `random` dataset.

    ## Why is this bad?
    Every later byte-parity check compares against these outputs; if they are gibberish, parity cannot tell a
    benign tie-break from a broken kernel (GEAK N5: 0/12 byte-exact on gibberish).

    ## Threshold
    Over half of the outputs incoherent, or a parity set marked `dataset: random`: FLAG (`flag`).

    ## Known problems
    The coherence heuristic (word shape, repetition) is tuned for natural-language output and errs toward
    calling unusual text coherent; code or tables can pass it even when wrong.
    """
    leg = ctx.ref
    if leg is None:
        return
    if leg.parity is None or leg.parity.error is not None:
        ctx.note("decode coherence not checked: no parity.json in the baseline leg")
        return
    verdict = coherence_of(leg.parity)
    threshold = {"max_incoherent_fraction": 0.5}
    evs = [leg.parity.evidence(None, verdict.reason)]
    if verdict.coherent:
        yield ok(f"baseline parity outputs look coherent ({verdict.reason})", threshold, evs)
    else:
        yield flag(f"baseline parity outputs are not a usable reference: {verdict.reason}; record a coherent "
                   f"greedy parity set now.", "flag", threshold, evs, incoherent=verdict.incoherent,
                   total=verdict.total)

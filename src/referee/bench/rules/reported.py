"""PA-02, BU-03, BU-07: every number and invariant a producer reported, checked against the raw legs."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from referee.bench.config import canonical_name, normalize
from referee.bench.context import AuditContext
from referee.bench.io.claims import ClaimFile
from referee.bench.model import Leg
from referee.bench.rules.registry import Hit, fail, flag, ok, rule
from referee.report import Evidence

#: claimed field -> (which leg, which statistic, is it a percentage).
CLAIM_FIELDS = {
    "ref_median": ("ref", "median", False), "cand_median": ("cand", "median", False),
    "ref_max": ("ref", "max", False), "cand_min": ("cand", "min", False), "delta_pct": (None, "delta", True),
    "claimed_throughput": ("cand", "median", False),
    "ttft_ref": ("ref", "ttft_ms", False), "ttft_cand": ("cand", "ttft_ms", False),
    "tpot_ref": ("ref", "tpot_ms", False), "tpot_cand": ("cand", "tpot_ms", False),
}
SUMMARY_FIELDS = {"throughput_tok_s_median": ("median", False), "throughput_tok_s_spread_pct": ("spread_pct", True),
                  "ttft_ms_median": ("ttft_ms", False), "tpot_ms_median": ("tpot_ms", False)}


def _throughput_metric(ctx: AuditContext) -> str:
    return ctx.metric if ctx.metric.endswith("throughput") else "output_throughput"


def _raw(ctx: AuditContext, leg: Leg | None, stat: str) -> float | None:
    if leg is None:
        return None
    if stat in ("ttft_ms", "tpot_ms"):
        s = ctx.summary(leg, stat)
        return s.median if s else None
    s = ctx.summary(leg, _throughput_metric(ctx))
    return getattr(s, stat) if s else None


def _mismatch(claimed: float, raw: float, percent: bool, ctx: AuditContext) -> bool:
    if percent:
        return abs(claimed - raw) > max(ctx.band, abs(raw) * ctx.th.misreport_rel_pct / 100)
    tolerance = max(ctx.band, ctx.th.misreport_rel_pct) / 100 * abs(raw)
    return abs(claimed - raw) > tolerance


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def compare_claims(ctx: AuditContext) -> tuple[list[tuple[str, Any, float, Evidence]], int, list[Evidence]]:
    """(mismatches as (what, claimed, raw, evidence), fields checked, raw evidence) over all numeric claims."""
    mismatches: list[tuple[str, Any, float, Evidence]] = []
    checked = 0
    cmp = ctx.comparison(_throughput_metric(ctx))
    for claim in ctx.claims_of(*_own_claims(ctx)):
        for name, (side, stat, percent) in CLAIM_FIELDS.items():
            value, path = claim.lookup(name)
            claimed = _number(value)
            if claimed is None:
                if claim.present(name) is not None:
                    ctx.note(f"{claim.path.name}: claimed `{name}` is null or not a number; re-derived from raw")
                continue
            raw = (cmp.delta_pct if cmp else None) if stat == "delta" else _raw(
                ctx, ctx.ref if side == "ref" else ctx.cand, stat)
            if raw is None:
                continue
            checked += 1
            if _mismatch(claimed, raw, percent, ctx):
                mismatches.append((f"{claim.path.name} {path}", claimed, raw, claim.evidence(path)))
        value, path = claim.lookup("non_overlapping")
        if isinstance(value, bool) and cmp is not None:
            checked += 1
            if value != cmp.non_overlap:
                mismatches.append((f"{claim.path.name} {path}", value, cmp.non_overlap, claim.evidence(path)))
    for leg in ctx.legs():
        summary = leg.summary
        if summary is None or summary.error is not None or not leg.n:
            continue
        for key, (stat, percent) in SUMMARY_FIELDS.items():
            claimed = _number(summary.raw(key))
            raw = _raw(ctx, leg, stat)
            if claimed is None or raw is None:
                continue
            checked += 1
            if _mismatch(claimed, raw, percent, ctx):
                mismatches.append((f"{leg.role} bench_summary.json {key}", claimed, raw, summary.evidence(key)))
        runs = summary.raw("runs")
        if isinstance(runs, int) and not isinstance(runs, bool):
            checked += 1
            if runs != leg.n:
                mismatches.append((f"{leg.role} bench_summary.json runs", runs, leg.n, summary.evidence("runs")))
        listed = summary.raw("all_throughput")
        if isinstance(listed, list) and all(_number(v) is not None for v in listed):
            checked += 1
            raw_values = np.sort(ctx.values(leg, _throughput_metric(ctx))[0])
            if len(listed) != raw_values.size or not np.allclose(np.sort(listed), raw_values, rtol=1e-6):
                mismatches.append((f"{leg.role} bench_summary.json all_throughput", f"{len(listed)} values",
                                   float(raw_values.size), summary.evidence("all_throughput")))
    raw_evs = [e for leg in ctx.measured() for e in ctx.extreme_evs(leg, _throughput_metric(ctx))]
    return mismatches, checked, raw_evs


def _own_claims(ctx: AuditContext) -> tuple[str, ...]:
    """Claims about these two legs: the integrate record in patch scope; in bundle scope the integrate records
    describe the components' own legs, so only the Director's validation speaks for base vs final."""
    return ("director_validation",) if ctx.scope == "bundle" else ("integrate", "director_validation")


def claims_a_win(ctx: AuditContext) -> bool:
    for claim in ctx.claims_of(*_own_claims(ctx)):
        gate = claim.value("gate")
        if isinstance(gate, str) and gate.lower() in ("accepted", "stack", "accept"):
            return True
        delta = _number(claim.value("delta_pct"))
        if delta is not None and delta > ctx.band:
            return True
    return False


@rule("PA-02", "reported-vs-raw", ("patch", "bundle"))
def reported_vs_raw(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks every number a claim reports (medians, min/max, delta, non-overlap, TTFT/TPOT, bench_summary
    median/spread/runs/all_throughput) against the value re-derived from the raw repeats.

    ## Why is this bad?
    Reported numbers are the graded party's; a misreport either hides a problem or invents a win.

    ## Threshold
    |claimed - raw| above max(noise band, 2%) relative (percent fields: max(band points, 2% of the raw
    value)): FLAG (`flag`); FAIL (`eject`) when the claim reports a win the raw legs do not show.

    ## Known problems
    Null claimed fields are not mismatches (the audit re-derives them; GEAK I4); they are listed in notes.
    """
    mismatches, checked, raw_evs = compare_claims(ctx)
    threshold = {"relative_pct": max(ctx.band, ctx.th.misreport_rel_pct), "percent_points": ctx.band}
    if not checked:
        return
    cmp = ctx.comparison()
    no_win = cmp is not None and not (cmp.gain_pct > ctx.band and cmp.non_overlap)
    data = {"mismatches": [{"field": f, "claimed": c, "raw": r} for f, c, r, _ in mismatches], "checked": checked}
    if mismatches:
        text = "; ".join(f"{f}: claimed {c} vs raw {r:.6g}" if isinstance(r, float) else f"{f}: claimed {c} vs raw {r}"
                         for f, c, r, _ in mismatches[:6])
        evs = [e for *_, e in mismatches] + raw_evs
        if no_win and claims_a_win(ctx):
            yield fail(f"claimed win is not in the raw legs ({text}).", "eject", threshold, evs, **data)
        else:
            yield flag(f"{len(mismatches)} reported number(s) disagree with the raw legs ({text}); replace them with "
                       f"the raw values.", "flag", threshold, evs, **data)
    else:
        yield ok(f"{checked} reported number(s) match the raw legs", threshold, raw_evs[:2], **data)


@rule("BU-07", "speedup-claim", ("bundle",))
def speedup_claim(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the Director's claimed `throughput_speedup` with the raw ratio `final_median / base_median`.

    ## Why is this bad?
    The speedup is the number people quote; it must be the raw one.

    ## Threshold
    |claimed - raw| x 100 above the noise band: FLAG (`flag`).

    ## Known problems
    Compares ratios of medians only.
    """
    cmp = ctx.comparison(_throughput_metric(ctx))
    if cmp is None:
        return
    for claim in ctx.claims_of("director_validation"):
        value, path = claim.lookup("speedup")
        claimed = _number(value)
        if claimed is None:
            continue
        raw = cmp.cand_median / cmp.ref_median if cmp.ref_median else math.inf
        threshold = {"max_abs_diff_pct_points": ctx.band}
        evs = [claim.evidence(path), *ctx.extreme_evs(ctx.ref), *ctx.extreme_evs(ctx.cand)]  # type: ignore[arg-type]
        if abs(claimed - raw) * 100 > ctx.band:
            yield flag(f"claimed speedup {claimed:.4g}x vs raw {raw:.4g}x.", "flag", threshold, evs,
                       claimed=claimed, raw=raw)
        else:
            yield ok(f"claimed speedup {claimed:.4g}x matches raw {raw:.4g}x", threshold, evs[:1], raw=raw)


def claimed_invariants(claim: ClaimFile) -> list[tuple[str | None, str, Any, Evidence]]:
    """(leg role or None for both, canonical key, claimed value, evidence) from a claim's serving blocks."""
    out: list[tuple[str | None, str, Any, Evidence]] = []
    for block in ("serving_invariant", "serving_invariants", "serving_config"):
        raw = claim.raw(block)
        if not isinstance(raw, dict):
            continue
        for key, value in raw.items():
            if isinstance(value, dict) and key in ("base", "ref", "baseline", "final", "cand"):
                role = "ref" if key in ("base", "ref", "baseline") else "cand"
                for sub, v in value.items():
                    out.append((role, canonical_name(sub), normalize(v), claim.evidence(f"{block}.{key}.{sub}")))
            elif not isinstance(value, dict):
                out.append((None, canonical_name(key), normalize(value), claim.evidence(f"{block}.{key}")))
    return out


def invariant_misreports(ctx: AuditContext, kinds: tuple[str, ...]) -> list[tuple[str, str, Any, Any, Evidence]]:
    """(leg role, key, claimed, raw, evidence) where a claimed serving value contradicts a leg's raw config."""
    wrong = []
    for claim in ctx.claims_of(*kinds):
        for role, key, value, ev in claimed_invariants(claim):
            for leg in ctx.legs():
                if role is not None and leg.role != role:
                    continue
                if key == "gpu" and "gpu_ids" in leg.config.values:
                    key = "gpu_ids"
                raw = leg.config.values.get(key)
                if key in leg.config.values and raw != value:
                    wrong.append((leg.role, key, value, raw, ev))
    return wrong


@rule("BU-03", "invariant-misreport", ("patch", "bundle"))
def invariant_misreport(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks the serving invariants a claim asserts (`serving_invariant`, `serving_config`, per-leg blocks) against
    each leg's re-derived launch config.

    ## Why is this bad?
    GEAK P1's validation record claimed mem fraction 0.85 for both legs while the base leg ran at 0.7225; the
    misreport hid a handicapped baseline.

    ## Threshold
    Any contradiction: FLAG (`flag`); FAIL (`eject`) when the misreported key also differs between the legs
    (the misreport hides a confound).

    ## Known problems
    A claimed key the raw config does not show cannot be checked and is skipped.
    """
    wrong = invariant_misreports(ctx, _own_claims(ctx))
    if not wrong:
        return
    hides = [w for w in wrong if ctx.ref is not None and ctx.cand is not None
             and ctx.ref.config.values.get(w[1]) != ctx.cand.config.values.get(w[1])]
    legs = {leg.role: leg for leg in ctx.legs()}
    evs = []
    for role, key, _, _, ev in wrong:
        evs += [ev, ctx.config_ev(legs[role], key)]
    text = "; ".join(f"{role} {key}: claimed {c!r}, raw {r!r}" for role, key, c, r, _ in wrong[:6])
    data = {"misreports": [{"leg": r, "key": k, "claimed": c, "raw": v} for r, k, c, v, _ in wrong]}
    if hides:
        yield fail(f"the claim misreports serving invariants and hides a difference between legs ({text}).", "eject",
                   {"invariant": "identical"}, evs, **data)
    else:
        yield flag(f"the claim misreports serving invariants ({text}); correct the record.", "flag",
                   {"invariant": "identical"}, evs, **data)

"""PA-09, PA-10: an isolated (op-bench) speedup must be plausible against the e2e leg and must come from the
op bench it cites."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from referee.bench import stats
from referee.bench.context import AuditContext
from referee.bench.rules.registry import Hit, fail, flag, ok, rule


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _share(value: Any) -> float | None:
    """pct_gpu_time as a fraction; GEAK writes it as a percentage, some producers as a fraction."""
    share = _num(value)
    if share is None or share < 0:
        return None
    return share / 100.0 if share > 1.0 else share


@rule("PA-09", "isolated-vs-e2e", ("patch",))
def isolated_vs_e2e(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the claimed isolated speedup S with the raw e2e gain through Amdahl's ceiling
    `c = 1/(1 - p(1 - 1/S)) - 1`, p the op's share of GPU time.

    ## Why is this bad?
    An e2e gain far above what the op could give means something else changed; a big isolated speedup with no
    e2e gain means the harness measured a path the server does not take (GEAK Gap 5).

    ## Threshold
    e2e gain > 2x the ceiling without byte-exact parity: FAIL (`eject`, implausible_speedup). S >= 1.2 with e2e
    gain <= band: FLAG (`flag`, route to the harness audit). e2e gain < 0 with S > 1: FAIL (`eject`).

    ## Known problems
    Needs `isolated_speedup` and `pct_gpu_time` in the integrate claim; without them the rule is silent.
    """
    cmp = ctx.comparison()
    if cmp is None:
        return
    for claim in ctx.claims_of("integrate"):
        s_value, s_path = claim.lookup("isolated_speedup")
        speedup = _num(s_value)
        if speedup is None or speedup <= 0:
            continue
        share = _share(claim.value("pct_gpu_time"))
        evs = [claim.evidence(s_path, f"claimed isolated {speedup:g}x"), *ctx.extreme_evs(ctx.cand)]  # type: ignore[arg-type]
        gain = cmp.gain_pct
        if gain < 0 and speedup > 1:
            yield fail(f"isolated {speedup:g}x but the e2e leg is {gain:+.2f}% slower.", "eject",
                       {"e2e_gain_pct": "> 0"}, evs, isolated_speedup=speedup, e2e_gain_pct=gain)
            continue
        if speedup >= ctx.th.iso_suspect_speedup and gain <= ctx.band:
            yield flag(f"isolated {speedup:g}x does not show e2e ({gain:+.2f}%): the harness likely measured a path "
                       f"the server does not take; audit the harness.", "flag",
                       {"iso_suspect_speedup": ctx.th.iso_suspect_speedup, "noise_band_pct": ctx.band}, evs,
                       isolated_speedup=speedup, e2e_gain_pct=gain)
            continue
        if share is None or share > 1:
            ctx.note(f"{claim.path.name}: no usable pct_gpu_time, Amdahl check skipped")
            continue
        ceiling = stats.amdahl_ceiling_pct(share, speedup)
        parity_kind = claim.value("parity_kind")
        threshold = {"amdahl_multiple": ctx.th.amdahl_multiple, "ceiling_pct": ceiling}
        data = {"isolated_speedup": speedup, "gpu_time_share": share, "amdahl_ceiling_pct": ceiling,
                "e2e_gain_pct": gain}
        if gain > ctx.th.amdahl_multiple * ceiling and parity_kind != "byte_exact":
            yield fail(f"e2e gain {gain:.2f}% is more than {ctx.th.amdahl_multiple:g}x the Amdahl ceiling "
                       f"{ceiling:.2f}% "
                       f"of a {speedup:g}x kernel at {100 * share:.1f}% of GPU time (implausible_speedup).", "eject",
                       threshold, [*evs, claim.evidence("pct_gpu_time")], **data)
        else:
            yield ok(f"e2e gain {gain:.2f}% is consistent with the Amdahl ceiling {ceiling:.2f}%", threshold, evs,
                     **data)


def winner_row(bench: Any) -> dict[str, Any] | None:
    rows = bench.raw("results")
    winner = bench.raw("winner_backend")
    if isinstance(rows, list):
        for row in rows:
            if isinstance(row, dict) and row.get("backend") == winner:
                return row
    return None


@rule("PA-10", "isolated-claim-provenance", ("patch",))
def isolated_claim_provenance(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Recomputes the isolated speedup from the op bench (`baseline_ms / winner_ms`) and checks the claimed figure
    and the winner's correctness (`correct`, `max_rel_err` within tolerance).

    ## Why is this bad?
    GEAK N2 claimed 3.03x against a cross-time baseline; the op bench showed 1.0x, and the only faster
    alternative had rel_err 45.4 against a 0.02 tolerance.

    ## Threshold
    Claimed vs recomputed differing by more than 5% relative, or an incorrect winner: FLAG
    (`replace_headline_with_e2e`); FAIL (`eject`) if the candidate has no e2e repeats to fall back on.

    ## Known problems
    Needs an op-bench claim; an isolated number with no op bench behind it is reported in notes only.
    """
    benches = ctx.claims_of("opbench")
    claims = [(c, *c.lookup("isolated_speedup")) for c in ctx.claims_of("integrate")]
    claims = [(c, _num(v), p) for c, v, p in claims if _num(v) is not None]
    if not claims:
        return
    if not benches:
        ctx.note("isolated speedup claimed with no opbench_result.json to check it against")
        return
    bench = benches[0]
    base, win = _num(bench.raw("baseline_ms")), _num(bench.raw("winner_ms"))
    row = winner_row(bench) or {}
    tol = min(ctx.th.numerics_tol, _num(bench.raw("tol")) or ctx.th.numerics_tol)
    err = _num(row.get("max_rel_err"))
    problems, evs = [], []
    for claim, claimed, path in claims:
        evs.append(claim.evidence(path, f"claimed isolated {claimed:g}x"))
        if base and win:
            recomputed = base / win
            if abs(claimed - recomputed) / recomputed * 100 > ctx.th.iso_provenance_rel_pct:  # type: ignore[operator]
                problems.append(f"claimed {claimed:g}x but the op bench gives {recomputed:.3g}x")
                evs += [bench.evidence("baseline_ms"), bench.evidence("winner_ms")]
    if row.get("correct") is False or (err is not None and err > tol):
        problems.append(f"the winner {bench.raw('winner_backend')!r} is not correct (max_rel_err {err}, tol {tol})")
        evs.append(bench.evidence("winner_backend"))
    threshold = {"max_rel_diff_pct": ctx.th.iso_provenance_rel_pct, "tol": tol}
    if not problems:
        yield ok("claimed isolated speedup matches the op bench and the winner is correct", threshold, evs[:2])
    elif ctx.cand is None or ctx.cand.n == 0:
        yield fail(f"isolated claim has no provenance ({'; '.join(problems)}) and no e2e leg backs it.", "eject",
                   threshold, evs)
    else:
        yield flag(f"isolated headline is not trustworthy ({'; '.join(problems)}); headline the raw e2e delta.",
                   "replace_headline_with_e2e", threshold, evs)

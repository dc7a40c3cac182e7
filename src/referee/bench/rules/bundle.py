"""BU-02, BU-04, BU-05: every difference between base and final must be a gated lever, and the bundle's gain
must decompose into its patches' gains."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from referee.bench.context import AuditContext
from referee.bench.rules.attribution import classify, confound_hits, declared_levers
from referee.bench.rules.registry import Hit, flag, ok, rule

GATED = ("accepted", "stack", "accept")


@rule("BU-02", "unaccounted-difference", ("bundle",))
def unaccounted_difference(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Diffs the base and final legs' canonical launch configs and removes the levers of every accepted or stacked
    patch (their integrate claims' `apply_flags`/`apply_env`, lever manifests).

    ## Why is this bad?
    GEAK P1: the +66.9% bundle folded in a base leg at mem fraction 0.7225 against a final at 0.85; the
    difference belonged to no gated patch and inflated the delta.

    ## Threshold
    Any remaining difference: FAIL (`eject`); a proven-inert side effect: FLAG (`flag`).

    ## Known problems
    Same as PA-03.
    """
    yield from confound_hits(ctx, declared_levers(ctx, gates=GATED), "gated levers")


def _ratio(claim: Any) -> tuple[float, str] | None:
    ref, cand = claim.value("ref_median"), claim.value("cand_median")
    if isinstance(ref, int | float) and isinstance(cand, int | float) and ref > 0 and cand > 0:
        return float(cand) / float(ref), "cand_median/ref_median"
    delta = claim.value("delta_pct")
    if isinstance(delta, int | float) and not isinstance(delta, bool):
        return 1.0 + float(delta) / 100.0, "delta_pct"
    return None


@rule("BU-04", "decomposition", ("bundle",))
def decomposition(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the bundle's raw ratio (final/base medians) with the product of its accepted patches' ratios,
    and splits the differing keys into kernel (A) and serving (B) levers.

    ## Why is this bad?
    A bundle that gains much more than its parts have an unexplained source, usually a serving lever or a
    handicapped base; the whole bundle must never be credited to one component.

    ## Threshold
    Bundle ratio above product x (1 + max(2 x band, 5%)): FLAG (`downgrade_headline`).

    ## Known problems
    Per-patch ratios come from the patches' integrate claims (reported numbers); audit each patch with
    `referee bench patch` to re-derive them.
    """
    cmp = ctx.comparison()
    if cmp is None:
        return
    parts = []
    for claim in ctx.claims_of("integrate"):
        gate = claim.value("gate")
        if isinstance(gate, str) and gate.lower() in GATED and (r := _ratio(claim)) is not None:
            parts.append((claim, r[0], r[1]))
    levers = declared_levers(ctx, gates=GATED)
    split: dict[str, list[str]] = {"A": [], "B": []}
    if ctx.ref is not None and ctx.cand is not None and ctx.ref.config and ctx.cand.config:
        _, c = classify(ctx, levers)
        for d in c.lever:
            split[d.lever_class].append(d.key)
    if not parts:
        ctx.note("bundle decomposition skipped: no accepted patch claims with a ratio")
        return
    product = math.prod(r for _, r, _ in parts)
    slack = max(2 * ctx.band, ctx.th.decomposition_slack_pct)
    threshold = {"slack_pct": slack}
    data = {"bundle_ratio": cmp.ratio, "product_of_parts": product, "lever_split": split,
            "parts": {str(c.value("short_name") or c.path.name): r for c, r, _ in parts}}
    evs = [c.evidence(None, f"{c.path.name}: ratio {r:.4f} from {how}") for c, r, how in parts]
    if cmp.ratio > product * (1 + slack / 100):
        yield flag(f"bundle ratio {cmp.ratio:.4f} exceeds the product of its parts {product:.4f} by more than "
                   f"{slack:g}%: part of the gain is unexplained"
                   + (f" (serving levers present: {', '.join(split['B'])})" if split["B"] else "") + ".",
                   "downgrade_headline", threshold, evs, **data)
    else:
        yield ok(f"bundle ratio {cmp.ratio:.4f} is explained by its parts ({product:.4f})", threshold, evs, **data)


@rule("BU-05", "stack-only", ("bundle",))
def stack_only(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks whether any component of the bundle was accepted on its own, or all were only gated `stack`.

    ## Why is this bad?
    A bundle of stack-only components was never proven piece by piece; only the combined gate stands behind it.

    ## Threshold
    All components `stack`: FLAG (`flag`).

    ## Known problems
    Needs the components' integrate claims.
    """
    gates = [(c, c.value("gate")) for c in ctx.claims_of("integrate")]
    gates = [(c, g.lower()) for c, g in gates if isinstance(g, str)]
    if gates and all(g == "stack" for _, g in gates):
        yield flag(f"all {len(gates)} component(s) were gated `stack`, none accepted alone; the bundle is "
                   f"provisional.", "flag", {"accepted_components": ">= 1"},
                   [c.evidence("gate") for c, _ in gates])

"""PA-06, BU-06: is the candidate's output still right, and was that checked against a reference that can
tell?"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from referee.bench.context import AuditContext
from referee.bench.io.claims import ClaimFile
from referee.bench.rules.coherence import coherence_of, outputs_of, prompts_of
from referee.bench.rules.registry import Hit, fail, flag, ok, rule
from referee.report import Evidence

MIN_PROBE_PROMPTS = 10


@dataclass
class ParityPair:
    ref: ClaimFile
    ref_side: str | None
    cand: ClaimFile
    cand_side: str | None


def find_parity(ctx: AuditContext) -> ParityPair | None:
    for claim in ctx.claims_of("parity"):
        if isinstance(claim.data, dict) and isinstance(claim.data.get("ref"), list) and isinstance(
                claim.data.get("cand"), list):
            return ParityPair(claim, "ref", claim, "cand")
    ref = ctx.ref.parity if ctx.ref is not None and ctx.ref.parity is not None else None
    cand = ctx.cand.parity if ctx.cand is not None and ctx.cand.parity is not None else None
    for claim in ctx.claims_of("parity"):
        name = claim.path.name.lower()
        if ref is None and ("ref" in name or "base" in name):
            ref = claim
        elif cand is None and ("cand" in name or "final" in name):
            cand = claim
    if ref is not None and cand is not None and ref.error is None and cand.error is None:
        return ParityPair(ref, None, cand, None)
    return None


def _asserted_parity(ctx: AuditContext) -> list[Evidence]:
    """Claims that say outputs matched (`output_parity: pass`, a byte-exact/accuracy parity kind)."""
    out = []
    for claim in ctx.claims_of("integrate", "director_validation"):
        value, path = claim.lookup("parity")
        kind, kind_path = claim.lookup("parity_kind")
        if isinstance(value, str) and value.lower() in ("pass", "passed", "ok", "true"):
            out.append(claim.evidence(path, f"output_parity={value}"))
        elif isinstance(kind, str) and kind.lower() in ("byte_exact", "accuracy"):
            out.append(claim.evidence(kind_path, f"parity_kind={kind}"))
    return out


def _accuracy(ctx: AuditContext, pair: ParityPair) -> tuple[dict[str, Any], Evidence] | None:
    for claim in [pair.cand, pair.ref, *ctx.claims_of("integrate")]:
        data = claim.data if isinstance(claim.data, dict) else {}
        for key in ("accuracy", "accuracy_probe"):
            probe = data.get(key)
            if isinstance(probe, dict) and isinstance(probe.get("ref"), int | float) and isinstance(
                    probe.get("cand"), int | float):
                return probe, claim.evidence(key)
    return None


@rule("PA-06", "correctness", ("patch", "bundle"))
def correctness(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the candidate's parity outputs with the reference's: byte-exact fraction, after checking that the
    reference outputs are coherent text (not `--dataset random` gibberish). Divergent outputs need an accuracy
    probe (>= 10 greedy prompts) within tolerance.

    ## Why is this bad?
    Byte-parity on gibberish certifies nothing (GEAK N5: 0/12 byte-exact, banked on "parity-safe"); a faster
    kernel that changes answers is not a win.

    ## Threshold
    Non-coherent reference: FAIL (`eject`, unverifiable_noncoherent_reference). Divergent outputs without a
    probe, or a probe dropping more than 1 point: FAIL (`eject`). No parity outputs at all: FLAG (`flag`).

    ## Known problems
    Pairs outputs by prompt when prompts are given, else by position; the coherence heuristic is documented in
    `rules/coherence.py`.
    """
    if ctx.ref is None or ctx.cand is None:
        return
    pair = find_parity(ctx)
    threshold = {"byte_exact": "100% or accuracy probe", "accuracy_drop_pts": ctx.th.accuracy_drop_pts}
    if pair is None:
        searched = [Evidence(file=str(leg.path / "parity.json"), detail="no parity outputs here")
                    for leg in (ctx.ref, ctx.cand) if leg.parity is None]
        asserted = _asserted_parity(ctx)
        if ctx.options.require_parity or asserted:
            why = (f"the claim asserts parity ({asserted[0].detail}) but no parity outputs back it" if asserted
                   else "--require-parity is set")
            yield flag(f"correctness unverified: {why} (parity.json in each leg, or a parity claim with `ref` and "
                       f"`cand`).", "flag", threshold, searched + asserted, correctness_status="unverified")
        else:
            # GEAK's own answer key accepts patches without a parity probe; a missing probe is recorded, not flagged
            ctx.note("correctness not checked: no parity outputs in either leg (use --require-parity to flag this)")
        return
    ref_ev = pair.ref.evidence(pair.ref_side)
    coherent = coherence_of(pair.ref, pair.ref_side)
    if not coherent.coherent:
        yield fail(f"the reference outputs cannot certify correctness: {coherent.reason}.", "eject", threshold,
                   [ref_ev], correctness_status="unverifiable_noncoherent_reference")
        return
    ref_out, cand_out = outputs_of(pair.ref.data, pair.ref_side), outputs_of(pair.cand.data, pair.cand_side)
    ref_p, cand_p = prompts_of(pair.ref.data, pair.ref_side), prompts_of(pair.cand.data, pair.cand_side)
    if all(p is not None for p in ref_p + cand_p) and ref_p and cand_p:
        cand_by_prompt = dict(zip(cand_p, cand_out, strict=False))
        pairs = [(r, cand_by_prompt.get(p)) for p, r in zip(ref_p, ref_out, strict=False)]
    else:
        pairs = list(zip(ref_out, cand_out, strict=False))
    exact = sum(1 for a, b in pairs if b is not None and a == b)
    total = max(len(ref_out), len(cand_out))
    data = {"byte_exact": exact, "compared": total}
    evs = [ref_ev, pair.cand.evidence(pair.cand_side, f"{exact}/{total} byte-exact")]
    if total and exact == total:
        yield ok(f"{exact}/{total} outputs byte-exact on a coherent reference", threshold, evs,
                 correctness_status="byte_parity_pass", **data)
        return
    probe = _accuracy(ctx, pair)
    if probe is None:
        yield fail(f"outputs diverge ({exact}/{total} byte-exact) and no accuracy probe was run.", "eject", threshold,
                   evs, correctness_status="diverges_needs_accuracy_probe", **data)
        return
    scores, probe_ev = probe
    ref_score, cand_score = float(scores["ref"]), float(scores["cand"])
    scale = 100.0 if max(ref_score, cand_score) <= 1.0 else 1.0
    drop = (ref_score - cand_score) * scale
    n = scores.get("n")
    if isinstance(n, int) and n < MIN_PROBE_PROMPTS:
        yield fail(f"accuracy probe ran on {n} prompts (< {MIN_PROBE_PROMPTS}); too small to judge divergent outputs.",
                   "eject", threshold, [*evs, probe_ev], correctness_status="diverges_needs_accuracy_probe", **data)
    elif drop > ctx.th.accuracy_drop_pts:
        yield fail(f"outputs diverge and accuracy drops {drop:.2f} points.", "eject", threshold, [*evs, probe_ev],
                   correctness_status="accuracy_gate_fail", accuracy_drop_pts=drop, **data)
    else:
        yield ok(f"outputs diverge ({exact}/{total} byte-exact) but accuracy holds (drop {drop:.2f} points)",
                 threshold, [*evs, probe_ev], correctness_status="accuracy_gate_pass", accuracy_drop_pts=drop, **data)


@rule("BU-06", "parity-vs-true-base", ("bundle",))
def parity_vs_true_base(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks that the bundle's parity was measured against the true no-overlay base leg: a parity claim naming
    its `reference` (leg path or name) must name the `--ref` leg.

    ## Why is this bad?
    Parity against the previous stacked leg lets each patch drift a little and the bundle drift a lot.

    ## Threshold
    A named reference that is not the base leg: FAIL (`eject`).

    ## Known problems
    Silent when the parity claim does not name its reference.
    """
    if ctx.ref is None:
        return
    claims = ctx.claims_of("parity") + [p for p in (ctx.cand.parity if ctx.cand else None,) if p is not None]
    for claim in claims:
        if not isinstance(claim.data, dict):
            continue
        for key in ("reference", "reference_leg", "parity_reference"):
            named = claim.data.get(key)
            if not isinstance(named, str):
                continue
            if _same_leg(named, ctx.ref.path, claim.path):
                yield ok(f"parity measured against the base leg ({named})", {"reference": "base leg"},
                         [claim.evidence(key)])
            else:
                yield fail(f"parity was measured against {named!r}, not the true base leg {ctx.ref.path}.", "eject",
                           {"reference": "base leg"}, [claim.evidence(key)], reference=named)
            break


def _same_leg(named: str, ref: Path, claim_path: Path) -> bool:
    candidates = [Path(named), claim_path.parent / named, ref.parent / named]
    for path in candidates:
        try:
            if path.exists() and path.resolve() == ref.resolve():
                return True
        except OSError:
            continue
    return named.strip("/").split("/")[-1] == ref.name

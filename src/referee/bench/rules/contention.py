"""BL-08: did anything else share the GPU while a leg ran (log markers, co-tenant records, and ref and cand
repeats whose time windows overlap)?"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from referee.bench.context import AuditContext
from referee.bench.rules.registry import Hit, fail, ok, rule
from referee.report import Evidence

#: vLLM stamps a run's end to the second and its start is end minus duration, so two back-to-back repeats
#: (ABAB interleaving) can appear to touch by up to a second without having shared the GPU.
WINDOW_SLACK_S = 1.0


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[int, int, float] | None:
    """First (ref index, cand index, seconds) where a cand repeat shared time with the ref repeats. Judged per
    repeat, so interleaved A/B repeats (the recommended protocol) never count as contention. Every window is
    shrunk by half the stamp resolution on both sides first, which absorbs the relative shift second-resolution
    end stamps allow and nothing more."""
    half = WINDOW_SLACK_S / 2
    ra, rb = a[:, 0] + half, a[:, 1] - half
    keep = rb > ra
    if not keep.any():
        return None
    order = np.argsort(ra[keep], kind="stable")
    starts, ends = ra[keep][order], rb[keep][order]
    # union of the ref windows, as disjoint [u0, u1] with the covered length before each
    reach = np.maximum.accumulate(ends)
    new = np.r_[True, starts[1:] > reach[:-1]]
    u0 = starts[new]
    u1 = np.maximum.reduceat(ends, np.flatnonzero(new))
    before = np.r_[0.0, np.cumsum(u1 - u0)[:-1]]

    def covered(x: np.ndarray) -> np.ndarray:
        k = np.searchsorted(u0, x, side="right") - 1
        kk = np.maximum(k, 0)
        inside = np.clip(x - u0[kk], 0.0, u1[kk] - u0[kk])
        return np.where(k >= 0, before[kk] + inside, 0.0)

    cs, ce = b[:, 0] + half, b[:, 1] - half
    shared = np.where(ce > cs, covered(ce) - covered(cs), 0.0)
    j = int(np.argmax(shared))
    if shared[j] <= 0:
        return None
    with_j = np.minimum(ce[j], a[:, 1] - half) - np.maximum(cs[j], a[:, 0] + half)
    return int(np.argmax(with_j)), j, float(shared[j])


@rule("BL-08", "contended-leg", ("baseline", "patch", "bundle"))
def contended_leg(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Looks for interference: co-tenant or lock-failure lines and process storms (`rocm_agent_enumerator`) in a
    leg's server log, `host.co_tenant_procs`/`storm_markers` in native records, and a ref repeat whose time
    window (end stamp minus duration) overlaps a cand repeat's on the same GPU.

    ## Why is this bad?
    A leg that shared its GPU measured the neighbour as much as the patch.

    ## Threshold
    Any marker, or two repeats overlapping by more than 1 s (the stamp resolution): FAIL (`re_measure`).
    Interleaved repeats (ABAB) whose whole-leg spans overlap are fine.

    ## Known problems
    Only sees what the logs and records say; a silent co-tenant is invisible to any log-based check.
    """
    found = False
    for leg in ctx.legs():
        evs: list[Evidence] = []
        if leg.log is not None:
            evs += [ctx.log_ev(leg, line, text) for line, text in leg.log.contention[:5]]
        if leg.runs is not None:
            evs += [ctx.run_ev(leg, line, f"co-tenant/storm count {value:g}") for line, value in leg.runs.co_tenant[:5]]
        if evs:
            found = True
            yield fail(f"{leg.role} leg ran contended ({len(evs)} marker(s)); re-run it uncontended.", "re_measure",
                       {"markers": 0}, evs, leg=leg.role)
    if ctx.ref is not None and ctx.cand is not None and ctx.ref.runs and ctx.cand.runs:
        a, b = ctx.ref.runs.windows, ctx.cand.runs.windows
        same_gpu = ctx.ref.config.values.get("gpu_ids") == ctx.cand.config.values.get("gpu_ids")
        hit = _overlap(a, b) if a is not None and b is not None and same_gpu else None
        if hit is not None:
            found = True
            i, j, seconds = hit
            threshold = {"overlap_s": 0, "stamp_slack_s": WINDOW_SLACK_S}
            ref_line = ctx.ref.runs.lines[i] if i < ctx.ref.n else None
            cand_line = ctx.cand.runs.lines[j] if j < ctx.cand.n else None
            yield fail(f"a ref repeat and a cand repeat ran at the same time on the same GPU set ({seconds:.0f} s "
                       f"overlap); they measured each other.", "re_measure", threshold,
                       [ctx.run_ev(ctx.ref, ref_line, f"ref repeat {a[i, 0]:.0f}-{a[i, 1]:.0f}"),  # type: ignore[index]
                        ctx.run_ev(ctx.cand, cand_line, f"cand repeat {b[j, 0]:.0f}-{b[j, 1]:.0f}")],  # type: ignore[index]
                       overlap_s=seconds)
    if not found and ctx.measured():
        logs = [leg.role for leg in ctx.legs() if leg.log is not None]
        if logs:
            yield ok(f"no contention markers in the {', '.join(logs)} server log(s)", {"markers": 0},
                     [ctx.log_ev(leg, None, "scanned") for leg in ctx.legs() if leg.log is not None])
        else:
            ctx.note("contention not checked: no server.log in any leg")

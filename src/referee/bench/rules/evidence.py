"""EV rules: is there raw evidence at all, and is it the same kind of evidence on both sides?"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from referee.bench.context import AuditContext
from referee.bench.model import BASIS_OF_METRIC, WORKLOAD_KEYS, Leg
from referee.bench.rules.registry import Hit, fail, flag, ok, rule
from referee.report import Evidence

MEASURED_SCOPES = ("baseline", "patch", "bundle")


def _claim_evs(ctx: AuditContext, leg: Leg) -> list[Evidence]:
    evs = []
    if leg.summary is not None and leg.summary.error is None:
        value, path = leg.summary.lookup("throughput_tok_s_median")
        if value is not None:
            evs.append(leg.summary.evidence(path, f"claimed median {value} with no raw repeat behind it"))
    for claim in ctx.claims_of("integrate", "director_validation"):
        for name in ("cand_median", "delta_pct", "gate"):
            value, path = claim.lookup(name)
            if value is not None:
                evs.append(claim.evidence(path, f"claimed {name}={value}"))
                break
    return evs


@rule("EV-01", "missing-raw", MEASURED_SCOPES)
def missing_raw(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks that every leg has at least one parseable timed repeat in its raw runs file.

    ## Why is this bad?
    Without raw repeats every number is the producer's word. A claimed accept with no raw runs is a FAIL, never
    a pass on reported numbers (GEAK auditor: "if raw is absent, FAIL rather than fall back").

    ## Threshold
    Zero parseable repeats: FAIL in patch and bundle scope (action `eject`), FLAG in baseline scope
    (`re_measure`).

    ## Known problems
    A leg whose runs file is unreadable (permissions, I/O error) is not a missing-raw FAIL: the audit is
    DEGRADED instead, because the auditor could not look.
    """
    missing = [leg for leg in ctx.legs() if leg.n == 0 and leg.read_error is None]
    for leg in missing:
        if leg.runs_file is None:
            why = f"no bench_runs.jsonl in {leg.path}" if leg.path.exists() else f"{leg.path} does not exist"
        else:
            bad = leg.runs.malformed_count if leg.runs is not None else 0
            why = f"{leg.runs_file} has no parseable timed repeat ({bad} malformed line(s))"
        evidence = [Evidence(file=str(leg.runs_file or leg.path), detail=why), *_claim_evs(ctx, leg)]
        message = f"{leg.role} leg: {why}; every claimed number for it is unbacked."
        if ctx.scope == "baseline":
            yield flag(message, "re_measure", {"min_repeats": 1}, evidence, leg=leg.role)
        else:
            yield fail(message, "eject", {"min_repeats": 1}, evidence, leg=leg.role)
    if not missing and ctx.measured():
        counts = {leg.role: leg.n for leg in ctx.measured()}
        yield ok(f"raw repeats present: {counts}", {"min_repeats": 1},
                 [ctx.run_ev(leg, leg.runs.lines[0] if leg.runs is not None else None, f"{leg.role}: first repeat")
                  for leg in ctx.measured()], repeats=counts)


@rule("EV-02", "failed-requests", MEASURED_SCOPES)
def failed_requests(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks each repeat for failed requests: `failed > 0`, `completed < num_prompts`, or a repeat that completed
    fewer requests than the leg's best repeat.

    ## Why is this bad?
    Throughput counts tokens of the requests that finished; a repeat that dropped requests finishes early and
    looks fast, or was measured on a struggling server.

    ## Threshold
    Any failed request: FLAG (`re_measure`); more than 1% of the leg's requests: FAIL.

    ## Known problems
    SGLang lines carry no `num_prompts`; their failures are read from `errors[]` (`--output-details`) and from a
    repeat completing fewer requests than the best repeat of either leg.
    """
    # the best repeat of any leg sets the expected request count: SGLang lines carry no num_prompts, so a
    # candidate that drops a request in every repeat is only visible against the other leg (same workload, EV-04)
    finished = [leg.runs.column("completed") for leg in ctx.measured() if leg.runs is not None]
    finite = [c[np.isfinite(c)] for c in finished]
    best = max((float(c.max()) for c in finite if c.size), default=np.nan)
    for leg in ctx.measured():
        runs = leg.runs
        assert runs is not None
        failed = np.nan_to_num(runs.column("failed"), nan=0.0)
        completed = runs.column("completed")
        prompts = runs.column("num_prompts")
        short = np.where(np.isfinite(prompts) & np.isfinite(completed), prompts - completed, 0.0)
        behind = np.where(np.isfinite(completed), best - completed, 0.0) if np.isfinite(best) else 0 * failed
        lost = np.maximum.reduce([failed, np.maximum(short, 0), np.maximum(behind, 0)])
        bad = np.flatnonzero(lost > 0)
        if not bad.size:
            continue
        asked = np.maximum(np.nan_to_num(completed) + failed, best if np.isfinite(best) else 0.0)
        total = np.nansum(np.where(np.isfinite(prompts), prompts, asked))
        pct = 100.0 * float(lost.sum()) / total if total else 100.0
        evs = [ctx.run_ev(leg, runs.lines[i], f"{leg.role}: lost {lost[i]:.0f} request(s)") for i in bad[:10]]
        message = (f"{leg.role} leg: {bad.size} repeat(s) lost {lost.sum():.0f} request(s) ({pct:.2f}% of "
                   f"{total:.0f}).")
        threshold = {"fail_above_pct": ctx.th.failed_fail_pct}
        if pct > ctx.th.failed_fail_pct:
            yield fail(message, "re_measure", threshold, evs, leg=leg.role, lost_pct=pct)
        else:
            yield flag(message, "re_measure", threshold, evs, leg=leg.role, lost_pct=pct)


def _leg_basis(leg: Leg, metric: str) -> tuple[set[str], list[Evidence]]:
    bases: set[str] = set()
    evs: list[Evidence] = []
    if leg.runs is not None:
        for seen in leg.runs.bases:
            if seen.value is not None:
                bases.add(str(seen.value))
                evs.append(Evidence(file=leg.runs.file, line=seen.first_line, detail=f"metric_basis={seen.value}"))
    if leg.summary is not None and leg.summary.error is None:
        value, path = leg.summary.lookup("metric_basis")
        if value is not None:
            bases.add(str(value))
            evs.append(leg.summary.evidence(path, f"metric_basis={value}"))
    if not bases and leg.n and np.isfinite(leg.runs.column(metric)).any() and metric in BASIS_OF_METRIC:  # type: ignore[union-attr]
        bases.add(BASIS_OF_METRIC[metric])
    return bases, evs


@rule("EV-03", "basis-mismatch", ("patch", "bundle"))
def basis_mismatch(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks that both legs report the gated metric on one `metric_basis` (aggregate output tok/s, total tok/s,
    interactivity percentiles) and that the metric exists in every leg.

    ## Why is this bad?
    Output tok/s against total tok/s, or an aggregate against a p90 interactivity figure, is not a speedup.

    ## Threshold
    Any difference, or a leg with two bases: FAIL (`re_measure`).

    ## Known problems
    When no line or summary names a basis, the basis is inferred from the metric column used.
    """
    if ctx.ref is None or ctx.cand is None or not (ctx.ref.n and ctx.cand.n):
        return
    ref_b, ref_ev = _leg_basis(ctx.ref, ctx.metric)
    cand_b, cand_ev = _leg_basis(ctx.cand, ctx.metric)
    missing = [leg.role for leg in (ctx.ref, ctx.cand) if not ctx.values(leg)[0].size]
    if missing:
        yield fail(f"`{ctx.metric}` is absent from the {', '.join(missing)} leg's raw lines; the legs cannot be "
                   f"compared on it.", "re_measure", {"basis": "identical"}, ref_ev + cand_ev)
    elif len(ref_b) > 1 or len(cand_b) > 1 or (ref_b and cand_b and ref_b != cand_b):
        yield fail(f"metric basis differs: ref {sorted(ref_b)} vs cand {sorted(cand_b)}.", "re_measure",
                   {"basis": "identical"}, ref_ev + cand_ev, ref_basis=sorted(ref_b), cand_basis=sorted(cand_b))
    else:
        yield ok(f"both legs on basis {sorted(ref_b | cand_b) or [ctx.metric]}", {"basis": "identical"},
                 ref_ev[:1] + cand_ev[:1])


@rule("EV-04", "workload-mismatch", MEASURED_SCOPES)
def workload_mismatch(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the workload of every repeat (dataset, ISL/OSL, range ratio, concurrency, request rate, prompts,
    client, temperature, ignore_eos) within each leg and across legs.

    ## Why is this bad?
    A shorter output length or a lower concurrency changes tok/s by itself; the delta is then not the patch.

    ## Threshold
    Any field present on both sides that differs, or a leg whose repeats ran two workloads: FAIL
    (`re_measure`).

    ## Known problems
    A field present on one side only (vLLM lines lack the dataset shape unless `--metadata` adds it) is noted,
    not failed; ISL/OSL are re-derived from `total_*_tokens / completed` on every format, within 10%.
    """
    for leg in ctx.measured():
        assert leg.runs is not None
        if len(leg.runs.workloads) > 1:
            evs = [Evidence(file=leg.runs.file, line=s.first_line, detail=_workload_text(s.value))
                   for s in leg.runs.workloads[:5]]
            yield fail(f"{leg.role} leg mixes {len(leg.runs.workloads)} workloads across its repeats.", "re_measure",
                       {"workloads_per_leg": 1}, evs, leg=leg.role)
            return
    if ctx.scope == "baseline" or ctx.ref is None or ctx.cand is None or not (ctx.ref.n and ctx.cand.n):
        return
    ref_seen, cand_seen = ctx.ref.runs.workloads[0], ctx.cand.runs.workloads[0]  # type: ignore[union-attr]
    diffs, one_sided = [], []
    for key, a, b in zip(WORKLOAD_KEYS, ref_seen.value, cand_seen.value, strict=True):
        if a is None and b is None:
            continue
        if a is None or b is None:
            one_sided.append(key)
        elif _norm(a) != _norm(b):
            diffs.append((key, a, b))
    evs = [Evidence(file=str(leg.runs_file), line=seen.first_line, detail=f"{leg.role} {_workload_text(seen.value)}")
           for leg, seen in ((ctx.ref, ref_seen), (ctx.cand, cand_seen))]
    if one_sided:
        ctx.note(f"workload fields known on one leg only: {', '.join(one_sided)}")
    for label, column in (("osl", "output_tokens"), ("isl", "input_tokens")):
        a, b = _per_request(ctx.ref, column), _per_request(ctx.cand, column)
        if a and b and abs(a - b) / max(a, b) * 100 > TOKENS_PER_REQUEST_TOL_PCT:
            diffs.append((f"{label} (total_{column}/completed)", round(a, 1), round(b, 1)))
    if diffs:
        text = ", ".join(f"{k}: {a!r} vs {b!r}" for k, a, b in diffs)
        yield fail(f"legs ran different workloads ({text}).", "re_measure", {"workload": "identical"}, evs,
                   differences={k: [a, b] for k, a, b in diffs})
    else:
        yield ok("identical workload on both legs", {"workload": "identical"}, evs)


#: ISL/OSL re-derived from token totals may differ by this much between legs (random-length datasets, a different
#: seed) before it counts as a different workload; vLLM result objects carry no length fields at all.
TOKENS_PER_REQUEST_TOL_PCT = 10.0


def _per_request(leg: Leg, column: str) -> float | None:
    """Median tokens per completed request over a leg's repeats (`total_output_tokens / completed`)."""
    if leg.runs is None:
        return None
    tokens, done = leg.runs.column(column), leg.runs.column("completed")
    ok = np.isfinite(tokens) & np.isfinite(done) & (done > 0)
    return float(np.median(tokens[ok] / done[ok])) if ok.any() else None


def _norm(value: object) -> object:
    from referee.bench.config import normalize

    return normalize(value)


def _workload_text(value: tuple) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(WORKLOAD_KEYS, value, strict=True) if v is not None)


@rule("EV-05", "incomplete-leg", MEASURED_SCOPES)
def incomplete_leg(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks that a leg finished the repeats it was asked for: `successful_rounds < requested_rounds` or
    `usable_for_acceptance: false` in its summary, or a crash in its server log while it has fewer repeats than
    the other leg.

    ## Why is this bad?
    A candidate that crashed the server after one repeat has no e2e result; keeping its one fast repeat is
    exactly the do-no-harm violation the audit exists to stop (GEAK P2: isolated 6.6x, server died).

    ## Threshold
    Any shortfall: FAIL (`eject`).

    ## Known problems
    Without a summary and without a crash line, a leg that simply ran fewer repeats is left to BL-01.
    """
    legs = ctx.legs()
    most = max((leg.n for leg in legs), default=0)
    for leg in legs:
        evs: list[Evidence] = []
        reasons = []
        summary = leg.summary if leg.summary is not None and leg.summary.error is None else None
        if summary is not None:
            requested, r_path = summary.lookup("requested_rounds")
            successful, s_path = summary.lookup("successful_rounds")
            if isinstance(requested, int | float) and isinstance(successful, int | float) and successful < requested:
                reasons.append(f"{successful} of {requested} requested rounds succeeded")
                evs += [summary.evidence(r_path), summary.evidence(s_path)]
            usable, u_path = summary.lookup("usable_for_acceptance")
            if usable is False:
                reasons.append("summary marks the leg unusable for acceptance")
                evs.append(summary.evidence(u_path))
        if leg.log is not None and leg.log.crashes and leg.n < most:
            line, text = leg.log.crashes[0]
            reasons.append(f"server crashed (log line {line}) and the leg has {leg.n} repeat(s) vs {most}")
            evs.append(ctx.log_ev(leg, line, text))
        if reasons:
            yield fail(f"{leg.role} leg is incomplete: {'; '.join(reasons)}.", "eject", {"missing_rounds": 0}, evs,
                       leg=leg.role)


@rule("EV-06", "malformed-lines", MEASURED_SCOPES)
def malformed_lines(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Reports raw lines that are not valid JSON objects or carry no benchmark fields; they are skipped, never
    guessed at.

    ## Why is this bad?
    A truncated last line usually means the run was killed mid-write; a corrupted line in the middle means the
    file was edited or two writers interleaved. Either way some repeats are gone.

    ## Threshold
    Any malformed line: FLAG (`flag`).

    ## Known problems
    Only the first 200 malformed lines per file are kept as evidence; the count is exact.
    """
    for leg in ctx.measured() + [leg for leg in ctx.legs() if leg.n == 0 and leg.runs is not None]:
        runs = leg.runs
        if runs is None or not runs.malformed_count:
            continue
        evs = [Evidence(file=runs.file, line=m.line, snippet=m.snippet, detail=m.reason) for m in runs.malformed[:10]]
        yield flag(f"{leg.role} leg: {runs.malformed_count} malformed line(s) skipped in {runs.file}.", "flag",
                   {"malformed_lines": 0}, evs, leg=leg.role, count=runs.malformed_count)
    for leg in ctx.legs():
        if leg.runs is not None and leg.runs.warmup_lines:
            ctx.note(f"{leg.role}: {len(leg.runs.warmup_lines)} warm-up repeat(s) excluded from statistics")

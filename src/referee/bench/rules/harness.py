"""HA rules: does the isolated op bench represent how the live server runs the kernel?

Inputs: the served leg (`--ref`, for its launch config and server log) and `opbench_result.json` (a claim);
optionally a served-shapes claim (`{"buckets": [{"M": 64, "calls": 1200, "phase": "decode"}]}`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from referee.bench.context import AuditContext
from referee.bench.io.claims import ClaimFile
from referee.bench.rules.isolated import winner_row
from referee.bench.rules.registry import Hit, fail, flag, ok, rule

SCOPE = ("harness",)
EAGER_WORDS = ("_no_graph", "nograph", "eager")
GRAPH_WORDS = ("graph_replay", "cuda_graph", "hip_graph", "graphed")


def _bench(ctx: AuditContext) -> ClaimFile | None:
    benches = ctx.claims_of("opbench")
    return benches[0] if benches else None


def _timing_mode(bench: ClaimFile) -> tuple[str | None, str | None]:
    for key in ("graph_mode", "timing_mode", "launch_mode"):
        value = bench.raw(key)
        if isinstance(value, str):
            low = value.lower()
            return ("eager" if any(w in low for w in ("eager", "no_graph")) else "graph"), key
    graphed = bench.raw("graphed")
    if isinstance(graphed, bool):
        return ("graph" if graphed else "eager"), "graphed"
    for key in ("wrapper", "entrypoint", "benched_callable"):
        value = bench.raw(key)
        if isinstance(value, str):
            low = value.lower()
            if any(w in low for w in EAGER_WORDS):
                return "eager", key
            if any(w in low for w in GRAPH_WORDS):
                return "graph", key
    return None, None


@rule("HA-01", "graph-parity", SCOPE)
def graph_parity(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the served leg's execution mode (CUDA/HIP graphs on unless `disable_cuda_graph`/`enforce_eager`)
    with the op bench's timing mode (`graph_mode`, `graphed`, or a `*_NO_GRAPH`/graph-replay wrapper name).

    ## Why is this bad?
    Graph replay collapses launch overhead; a kernel timed under replay while the server runs eager (or the
    reverse) is timed on a path that does not deploy.

    ## Threshold
    Any mismatch: FAIL (`redo_harness`).

    ## Known problems
    Silent when either side's mode is not recorded.
    """
    bench, leg = _bench(ctx), ctx.ref
    if bench is None or leg is None:
        return
    served = leg.config.values.get("graphs_enabled")
    mode, key = _timing_mode(bench)
    if served is None or mode is None:
        ctx.note("graph parity not checked: execution mode unknown on the served leg or in the op bench")
        return
    served_mode = "graph" if served else "eager"
    evs = [ctx.config_ev(leg, "graphs_enabled"), bench.evidence(key, f"op bench timed {mode}")]
    if served_mode != mode:
        yield fail(f"the server runs {served_mode} but the op bench timed {mode}.", "redo_harness",
                   {"mode": "identical"}, evs, served=served_mode, benched=mode)
    else:
        yield ok(f"op bench timed in the served mode ({mode})", {"mode": "identical"}, evs)


@rule("HA-02", "dispatch-parity", SCOPE)
def dispatch_parity(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the callable the op bench timed (`benched_callable`) with the one the server dispatches
    (`target_callable` in the op bench, or a `target callable:` line in the served leg's log).

    ## Why is this bad?
    Timing a wrapper variant or a different binding measures code the model never calls.

    ## Threshold
    Different callables: FAIL (`redo_harness`).

    ## Known problems
    Compares names as strings; an alias of the same function reads as a mismatch.
    """
    bench = _bench(ctx)
    if bench is None:
        return
    benched = bench.raw("benched_callable")
    target, evs = bench.raw("target_callable"), [bench.evidence("benched_callable")]
    if target is not None:
        evs.append(bench.evidence("target_callable"))
    elif ctx.ref is not None and ctx.ref.log is not None and ctx.ref.log.rebind_targets:
        line, target = ctx.ref.log.rebind_targets[0]
        evs.append(ctx.log_ev(ctx.ref, line, f"served target {target}"))
    if not isinstance(benched, str) or not isinstance(target, str):
        return
    if benched.strip() != target.strip():
        yield fail(f"the op bench timed `{benched}` but the server dispatches `{target}`.", "redo_harness",
                   {"callable": "identical"}, evs, benched=benched, target=target)
    else:
        yield ok(f"op bench timed the deployed callable `{target}`", {"callable": "identical"}, evs)


def _calls(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else 0.0


def _served_buckets(ctx: AuditContext, bench: ClaimFile) -> tuple[dict[str, float], ClaimFile | None]:
    for claim in ctx.claims_of("served_shapes"):
        data = claim.data
        rows = data.get("buckets", data.get("served_shapes")) if isinstance(data, dict) else data
        if isinstance(rows, list):
            buckets = {str(r.get("M", r.get("bucket"))): _calls(r.get("calls", 1)) for r in rows if isinstance(r, dict)}
            return buckets, claim
    raw = bench.raw("served_buckets")
    if isinstance(raw, dict):
        return {str(k): _calls(v) for k, v in raw.items()}, bench
    return {}, None


@rule("HA-03", "served-shapes", SCOPE)
def served_shapes(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the shape buckets the op bench timed (`ms_by_bucket` of the winner) with the buckets the server
    actually serves, weighted by calls (a served-shapes claim or the op bench's `served_buckets`).

    ## Why is this bad?
    A speedup at M=1/64/16384 says nothing about the spec-decode verify M the server runs all day.

    ## Threshold
    Served call weight covered below 80%: FLAG (`redo_harness`); no overlap at all: FAIL (`redo_harness`).

    ## Known problems
    Buckets are matched by their string label.
    """
    bench = _bench(ctx)
    if bench is None:
        return
    served, source = _served_buckets(ctx, bench)
    row = winner_row(bench) or {}
    timed = row.get("ms_by_bucket")
    if not served or not isinstance(timed, dict):
        ctx.note("served-shape coverage not checked: no served buckets or no per-bucket timings")
        return
    timed_keys = {str(k) for k in timed}
    total = sum(served.values()) or 1.0
    covered = 100.0 * sum(v for k, v in served.items() if k in timed_keys) / total
    evs = [bench.evidence("ms_by_bucket", f"timed buckets {sorted(timed_keys)}")]
    if source is not None and source is not bench:
        evs.append(source.evidence(None, f"served buckets {sorted(served)}"))
    threshold = {"min_covered_pct": ctx.th.shape_coverage_pct}
    if not timed_keys & set(served):
        yield fail("none of the timed shape buckets is ever served.", "redo_harness", threshold, evs, covered_pct=0.0)
    elif covered < ctx.th.shape_coverage_pct:
        yield flag(f"timed buckets cover {covered:.1f}% of served calls; bench the served buckets.", "redo_harness",
                   threshold, evs, covered_pct=covered)
    else:
        yield ok(f"timed buckets cover {covered:.1f}% of served calls", threshold, evs, covered_pct=covered)


@rule("HA-04", "fair-ab", SCOPE)
def fair_ab(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks the op bench's A/B: the baseline is not the winner while a speedup is reported, every row was timed
    in the same measurement mode (cold or warm), and inputs were not reused across iterations.

    ## Why is this bad?
    A kernel against itself, a warm candidate against a cold baseline, or reused tensors all produce a speedup
    the deployment never sees.

    ## Threshold
    Any of the three: FAIL (`redo_harness`).

    ## Known problems
    Input reuse is only seen when the op bench records `reuse_inputs`/`tensor_reuse`.
    """
    bench = _bench(ctx)
    if bench is None:
        return
    problems, evs = [], []
    speedup = bench.raw("isolated_speedup")
    same = bench.raw("baseline_backend") == bench.raw("winner_backend")
    if same and isinstance(speedup, int | float) and speedup > 1:
        problems.append(f"baseline backend is the winner ({bench.raw('winner_backend')!r}) yet {speedup}x is reported")
        evs.append(bench.evidence("baseline_backend"))
    rows = bench.raw("results") if isinstance(bench.raw("results"), list) else []
    modes = {str(r.get("measurement_mode")) for r in rows if isinstance(r, dict) and r.get("measurement_mode")}
    top = bench.raw("measurement_mode")
    if top:
        modes.add(str(top))
    if len(modes) > 1:
        problems.append(f"rows timed in mixed modes {sorted(modes)}")
        evs.append(bench.evidence("measurement_mode"))
    for key in ("reuse_inputs", "tensor_reuse"):
        if bench.raw(key) is True:
            problems.append("inputs reused across iterations")
            evs.append(bench.evidence(key))
    if problems:
        yield fail(f"unfair A/B: {'; '.join(problems)}.", "redo_harness", {"fair_ab": True}, evs)
    else:
        yield ok("baseline differs from the winner, one measurement mode, fresh inputs", {"fair_ab": True}, [])


def _sha_pairs(bench: ClaimFile) -> list[tuple[str, str, Any, Any]]:
    pairs = []
    oracle = bench.raw("oracle") if isinstance(bench.raw("oracle"), dict) else {}
    for name in ("reference_io_sha256", "unittest_sha256"):
        now = oracle.get(name, bench.raw(name))
        then = oracle.get(f"extracted_{name}", bench.raw(f"extracted_{name}"))
        path = f"oracle.{name}" if name in oracle else name
        if now is not None and then is not None:
            pairs.append((name, path, now, then))
    return pairs


@rule("HA-05", "oracle-immutable", SCOPE)
def oracle_immutable(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Compares the reference-IO and unit-test hashes the op bench ran against with the hashes recorded at
    extraction (`extracted_reference_io_sha256`, `extracted_unittest_sha256`).

    ## Why is this bad?
    An edited oracle makes any kernel "correct".

    ## Threshold
    Any hash mismatch: FAIL (`eject`).

    ## Known problems
    Only as good as the extraction-time hashes recorded.
    """
    bench = _bench(ctx)
    if bench is None:
        return
    pairs = _sha_pairs(bench)
    bad = [(n, p) for n, p, now, then in pairs if now != then]
    if bad:
        yield fail(f"the oracle changed since extraction ({', '.join(n for n, _ in bad)}).", "eject",
                   {"sha256": "unchanged"}, [bench.evidence(p) for _, p in bad])
    elif pairs:
        yield ok("oracle hashes match extraction", {"sha256": "unchanged"}, [bench.evidence(p) for _, p, _, _ in pairs])


@rule("HA-06", "numerics", SCOPE)
def numerics(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks the winner row's correctness flag and `max_rel_err` against the tolerance (the op bench's own `tol`
    or 2e-2, whichever is stricter).

    ## Why is this bad?
    Speed bought with wrong math is not speed (GEAK N2: rel_err 45.4 on the only faster alternative).

    ## Threshold
    `correct: false` or max_rel_err above tolerance: FAIL (`redo_harness`).

    ## Known problems
    Relative error on near-zero outputs can be large for a correct kernel; the op bench's scale-relative atol
    is not re-derived here.
    """
    bench = _bench(ctx)
    if bench is None:
        return
    row = winner_row(bench)
    if row is None:
        return
    own = bench.raw("tol")
    tol = min(ctx.th.numerics_tol, float(own)) if isinstance(own, int | float) and own > 0 else ctx.th.numerics_tol
    err = row.get("max_rel_err")
    ev = bench.evidence("winner_backend", f"winner {row.get('backend')!r}: correct={row.get('correct')}, "
                                          f"max_rel_err={err}")
    if row.get("correct") is False or (isinstance(err, int | float) and err > tol):
        yield fail(f"the winner {row.get('backend')!r} is faster but wrong (max_rel_err {err}, tol {tol}).",
                   "redo_harness", {"tol": tol}, [ev], max_rel_err=err)
    else:
        yield ok(f"winner within tolerance (max_rel_err {err}, tol {tol})", {"tol": tol}, [ev])


@rule("HA-07", "harness-suspect", SCOPE)
def harness_suspect(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Reads the op bench's own alarms: `harness_suspect: true`, `measured: false`, or a `harness_error`.

    ## Why is this bad?
    The harness already says it has no number to trust.

    ## Threshold
    Any alarm: FAIL (`redo_harness`).

    ## Known problems
    None; this rule only relays what the harness admits.
    """
    bench = _bench(ctx)
    if bench is None:
        return
    alarms = [(k, bench.raw(k)) for k in ("harness_suspect", "measured", "harness_error")]
    bad = [(k, v) for k, v in alarms if (k == "harness_suspect" and v is True) or (k == "measured" and v is False)
           or (k == "harness_error" and v)]
    if bad:
        yield fail(f"the op bench flags itself: {', '.join(f'{k}={v!r}' for k, v in bad)}.", "redo_harness",
                   {"harness_suspect": False}, [bench.evidence(k) for k, _ in bad])

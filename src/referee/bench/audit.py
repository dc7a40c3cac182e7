"""Run one audit: read the legs and claims, apply the scope's rules, and return a Report.

Fail-open by design: anything that stops the auditor itself (an unreadable file, a claim that is not JSON, a
rule that raises) marks the report DEGRADED (exit 3) with a note, and the other rules still run. A FAIL is only
ever a conclusion drawn from evidence, never a tooling accident; a claimed accept with no raw runs is such a
conclusion (EV-01), not a DEGRADED.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from referee.bench import stats
from referee.bench.config import ALIASES
from referee.bench.context import AuditContext, AuditOptions
from referee.bench.io import Claims, load_claim, load_legs
from referee.bench.io.files import bounded_lines, is_regular
from referee.bench.io.runs import freed_memory_kept
from referee.bench.model import Leg
from referee.bench.rules import ACTION_PRECEDENCE, SCOPES, for_scope
from referee.bench.thresholds import VERSION, Thresholds
from referee.report import Finding, Report, Verdict

NEEDS_LEGS = {"baseline": ("ref",), "patch": ("ref", "cand"), "bundle": ("ref", "cand"), "profile": (),
              "harness": ("ref",)}
NEEDS_CLAIM = {"profile": "profile", "harness": "opbench"}
DISCOVER = ("integrate_result*.json", "director_e2e_validation*.json", "director_setup*.json", "opbench_result*.json",
            "lever_manifest*.json", "served_shapes*.json", "profile*.json", "parity*.json")
MAX_REPS_IN_JSON = 1000
SNIPPET_MAX_BYTES = 64 << 20
CO_METRICS = ("ttft_ms", "tpot_ms", "ttft_p99_ms", "tpot_p99_ms")


class UsageError(ValueError):
    """The audit was asked for something it cannot do (unknown scope, a required leg missing)."""


@dataclass
class AuditResult:
    report: Report
    ctx: AuditContext


def audit(scope: str, ref: Path | str | None = None, cand: Path | str | None = None,
          claims: list[str | Path] | tuple[str | Path, ...] = (), options: AuditOptions | None = None,
          discover: bool = True) -> AuditResult:
    """Audit one scope. Raises UsageError for an impossible request; everything else ends in a Report."""
    if scope not in SCOPES:
        raise UsageError(f"unknown scope {scope!r}; choose from {', '.join(SCOPES)}")
    given = {"ref": ref, "cand": cand}
    missing = [name for name in NEEDS_LEGS[scope] if given[name] is None]
    if missing:
        raise UsageError(f"scope {scope} needs --{' and --'.join(missing)}")
    options = options or AuditOptions()
    with freed_memory_kept():  # a big leg's arrays are allocated and freed again and again: keep the memory
        return _audit(scope, ref, cand, claims, options, discover)


def _audit(scope: str, ref: Path | str | None, cand: Path | str | None,
           claims: list[str | Path] | tuple[str | Path, ...], options: AuditOptions, discover: bool) -> AuditResult:
    started = time.perf_counter()
    subject = " vs ".join(str(p) for p in (ref, cand) if p is not None) or ", ".join(str(c) for c in claims) or scope
    report = Report(subject=subject, kind=f"bench {scope}")
    ctx = AuditContext(scope, None, None, Claims(), options, Thresholds(noise_band_pct=options.noise_band_pct))
    try:
        specs = [(p, role) for p, role in ((ref, "ref"), (cand, "cand")) if p is not None]
        loaded = dict(zip([role for _, role in specs], load_legs(specs, options.workers), strict=True))
        ctx.ref, ctx.cand = loaded.get("ref"), loaded.get("cand")
        report.timings["load_s"] = time.perf_counter() - started
        _load_claims(ctx, claims, discover)
        ctx.claimed_metric = _claimed_metric(ctx)
        _check_inputs(ctx, report)
        rules_started = time.perf_counter()
        unreadable = [leg for leg in ctx.legs() if leg.read_error]
        if not unreadable:
            ctx.prefetch((ctx.metric, *CO_METRICS))
        for spec in for_scope(scope) if not unreadable else ():
            try:
                with np.errstate(all="ignore"):  # absurd raw values give inf/nan, reported as such, not warned
                    hits = list(spec.func(ctx))
            except Exception as exc:
                report.degraded = True
                ctx.note(f"rule {spec.id} could not run: {type(exc).__name__}: {exc}")
                continue
            for hit in hits:
                report.add(Finding(rule=spec.id, title=spec.name, verdict=hit.verdict, message=hit.message,
                                   action=hit.action, evidence=hit.evidence,
                                   data=jsonable({**hit.data, "threshold": hit.threshold, "scope": scope})))
        report.timings["rules_s"] = time.perf_counter() - rules_started
        with np.errstate(all="ignore"):
            report.metrics = jsonable(_metrics(ctx))
        _fill_snippets(report)
    except Exception as exc:
        report.degraded = True
        ctx.note(f"internal error: {type(exc).__name__}: {exc}")
    report.notes = list(ctx.notes)
    report.action = overall_action(report)
    report.timings["total_s"] = time.perf_counter() - started
    return AuditResult(report, ctx)


def overall_action(report: Report) -> str:
    verdict = report.verdict
    if verdict is Verdict.PASS:
        return "pass"
    if verdict is Verdict.DEGRADED:
        return "flag"
    actions = [f.action for f in report.findings if f.verdict is verdict]
    return min(actions, key=ACTION_PRECEDENCE.index) if actions else "flag"


def _load_claims(ctx: AuditContext, claims: list[str | Path] | tuple[str | Path, ...], discover: bool) -> None:
    for spec in claims:
        ctx.claims.add(load_claim(spec))
    if not discover:
        return
    places: list[Path] = []
    for leg in ctx.legs():
        for place in (leg.path, leg.path.parent):
            if place.is_dir() and place not in places:
                places.append(place)
    own = {p.path.resolve() for leg in ctx.legs() for p in (leg.parity, leg.summary) if p is not None}
    for place in places:
        for pattern in DISCOVER:
            for path in sorted(place.glob(pattern))[:20]:
                resolved = path.resolve()
                if (path.is_file() and resolved not in own
                        and all(c.path.resolve() != resolved for c in ctx.claims.files)):
                    ctx.claims.add(load_claim(path))
                    ctx.note(f"claim discovered: {path}")


HEADLINE_KEYS = ("headline_metric", "gate_metric", "e2e_metric", "metric")


def _claimed_metric(ctx: AuditContext) -> str | None:
    """The metric the producer's claim headlines, if it names one."""
    from referee.bench.context import metric_from_name

    for claim in ctx.claims_of("integrate", "director_validation"):
        for key in HEADLINE_KEYS:
            metric = metric_from_name(claim.raw(key))
            if metric is not None:
                ctx.note(f"gating on {metric}, the metric {claim.path.name} headlines ({key})")
                return metric
    return None


def _check_inputs(ctx: AuditContext, report: Report) -> None:
    """Unreadable legs stop the audit (DEGRADED). Unreadable claims degrade it but the rules still run, so a
    producer cannot dodge a raw-evidence FAIL by corrupting its own claim file."""
    for leg in ctx.legs():
        if leg.read_error:
            report.degraded = True
            ctx.note(f"{leg.role} leg unreadable, no rule was run: {leg.read_error}")
    for claim in ctx.claims.errors():
        report.degraded = True
        ctx.note(f"claim unreadable: {claim.error}")
    for claim in ctx.claims.files:
        if claim.error is None and claim.kind == "unknown":
            ctx.note(f"claim {claim.path} not recognised; name it KIND=PATH (kinds: integrate, director_validation, "
                     f"director_setup, opbench, bench_summary, profile, parity, lever_manifest, served_shapes)")
    needed = NEEDS_CLAIM.get(ctx.scope)
    if needed and not ctx.claims.of(needed):
        report.degraded = True
        ctx.note(f"scope {ctx.scope} needs a {needed} claim (--claims {needed}=FILE); nothing to audit")
    elif ctx.scope == "profile" and not _profile_rows(ctx):
        # a scope that loaded nothing it needs has audited nothing: DEGRADED, never PASS
        report.degraded = True
        ctx.note("scope profile: the profile claim has no kernel rows (entries / top_n / kernels / top_kernels); "
                 "nothing to audit")


def _profile_rows(ctx: AuditContext) -> bool:
    from referee.bench.rules.profile import load_profile

    for claim in ctx.claims_of("profile"):
        if claim.error is None:
            profile = load_profile(claim)
            if profile is not None and profile.entries:
                return True
    return False


def _leg_metrics(ctx: AuditContext, leg: Leg) -> dict[str, Any]:
    runs = leg.runs
    out: dict[str, Any] = {"path": str(leg.path), "runs_file": str(leg.runs_file) if leg.runs_file else None,
                           "repeats": leg.n, "formats": dict(runs.formats) if runs else {},
                           "malformed_lines": runs.malformed_count if runs else 0,
                           "warmups_excluded": len(runs.warmup_lines) if runs else 0,
                           "launch_config": dict(leg.config.values), "config_sources": list(leg.config.sources)}
    summaries = {}
    for metric in (ctx.metric, *CO_METRICS):
        s = ctx.summary(leg, metric)
        if s is not None:
            summaries[metric] = s.to_dict()
    out["summary"] = summaries
    values, lines = ctx.values(leg)
    if 0 < values.size <= MAX_REPS_IN_JSON:
        z = stats.robust_z(values)
        out["reps"] = [{"line": int(ln), "value": float(v), "robust_z": float(zz)}
                       for ln, v, zz in zip(lines, values, z, strict=True)]
    elif values.size:
        out["reps_omitted"] = f"{values.size} repeats; per-repeat values omitted above {MAX_REPS_IN_JSON}"
    return out


def _metrics(ctx: AuditContext) -> dict[str, Any]:
    metrics: dict[str, Any] = {"scope": ctx.scope, "metric": ctx.metric, "higher_is_better": ctx.higher_is_better,
                               "noise_band_pct": ctx.band, "thresholds_version": VERSION,
                               "thresholds": ctx.th.to_dict(), "legs": {}}
    for leg in ctx.legs():
        metrics["legs"][leg.role] = _leg_metrics(ctx, leg)
    cmp = ctx.comparison()
    if cmp is not None:
        metrics["comparison"] = cmp.to_dict()
    metrics["claims"] = [{"path": str(c.path), "kind": c.kind, "error": c.error} for c in ctx.claims.files]
    return metrics


def jsonable(value: Any) -> Any:
    """Plain JSON types only: numpy scalars unwrapped, tuples listed, NaN/inf as null."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _fill_snippets(report: Report) -> None:
    """Quote the cited raw lines (small files only) so a reader sees the evidence without opening the file."""
    wanted: dict[str, set[int]] = {}
    for finding in report.findings:
        for ev in finding.evidence:
            if ev.file and ev.line is not None and ev.snippet is None:
                wanted.setdefault(ev.file, set()).add(ev.line)
    texts: dict[tuple[str, int], str] = {}
    for file, lines in wanted.items():
        path = Path(file)
        try:
            if not is_regular(path) or path.stat().st_size > SNIPPET_MAX_BYTES:
                continue
            last = max(lines)
            for number, raw in enumerate(bounded_lines(path, 200_000), start=1):
                if number in lines:
                    texts[(file, number)] = raw.decode("utf-8", "replace").strip()
                if number >= last:
                    break
        except OSError:
            continue
    for finding in report.findings:
        for ev in finding.evidence:
            if ev.file and ev.line is not None and ev.snippet is None and (ev.file, ev.line) in texts:
                ev.snippet = _excerpt(texts[(ev.file, ev.line)], ev.detail)


def _excerpt(text: str, detail: str | None, width: int = 200) -> str:
    """The part of a (possibly long JSON) line around the field the evidence is about."""
    if len(text) <= width:
        return text
    if detail and "=" in detail:
        name = detail.split("=", 1)[0].split()[-1].removeprefix("env:")
        engine_names = [k for k, v in ALIASES.items() if v == name]
        for key in (f'"{name}"', f'"median_{name}"', *(f'"{k}"' for k in engine_names), f"{name}=",
                    *(f"{k}=" for k in engine_names)):
            at = text.find(key)
            if at >= 0:
                start = max(0, at - 40)
                return ("…" if start else "") + text[start:start + width] + "…"
    return text[:width] + "…"

"""PA-03, PA-04, PA-05, PA-08: did exactly the declared change differ between the legs, did it run, and is it
credited to the right class of lever?"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from referee.bench.config import SIDE_EFFECT_KEYS, ConfigDiff, diff_configs, lever_keys_from
from referee.bench.context import AuditContext
from referee.bench.rules.registry import Hit, fail, flag, ok, rule
from referee.report import Evidence

KERNEL_KINDS = ("patch", "authored", "kernel", "patch_candidate")


@dataclass
class Levers:
    """The change(s) under audit as the claims declare them."""

    keys: set[str] = field(default_factory=set)
    evidence: list[Evidence] = field(default_factory=list)
    kernel_claim: Evidence | None = None
    overlay: bool = False


def declared_levers(ctx: AuditContext, gates: tuple[str, ...] | None = None) -> Levers:
    """Lever keys from integrate claims (apply_env/apply_flags; only the given gates in bundle scope) and lever
    manifests (`lever_keys`/`keys`/`allowed_keys`, `env`, `overlay`)."""
    levers = Levers()
    for claim in ctx.claims_of("integrate"):
        gate = claim.value("gate")
        if gates is not None and (not isinstance(gate, str) or gate.lower() not in gates):
            continue
        env, env_path = claim.lookup("apply_env")
        flags, flags_path = claim.lookup("apply_flags")
        keys = lever_keys_from(flags, env)
        if keys:
            levers.keys |= keys
            levers.evidence.append(claim.evidence(flags_path or env_path, f"declared lever keys {sorted(keys)}"))
        kind, kind_path = claim.lookup("winner_kind")
        cls, cls_path = claim.lookup("lever_class")
        if (isinstance(kind, str) and kind.lower() in KERNEL_KINDS) or cls == "A":
            levers.kernel_claim = claim.evidence(kind_path or cls_path, f"claimed as a kernel win ({kind or cls})")
            levers.overlay = levers.overlay or (isinstance(kind, str) and kind.lower() in KERNEL_KINDS)
    for claim in ctx.claims_of("lever_manifest"):
        data = claim.data if isinstance(claim.data, dict) else {}
        names = []
        for key in ("lever_keys", "keys", "allowed_keys", "levers"):
            if isinstance(data.get(key), list):
                names += [str(x) for x in data[key]]
        keys = lever_keys_from(None, data.get("env"), names)
        if data.get("overlay"):
            keys.add("overlay_pythonpath")
            levers.overlay = True
        levers.keys |= keys
        levers.evidence.append(claim.evidence(None, f"lever manifest keys {sorted(keys)}"))
    return levers


@dataclass
class Classified:
    lever: list[ConfigDiff] = field(default_factory=list)
    inert: list[tuple[ConfigDiff, str]] = field(default_factory=list)
    confounds: list[ConfigDiff] = field(default_factory=list)
    implied_lever: bool = False


def classify(ctx: AuditContext, levers: Levers) -> tuple[list[ConfigDiff], Classified]:
    """Split the launch-config differences into the declared lever, proven-inert side effects, and confounds."""
    assert ctx.ref is not None and ctx.cand is not None
    diffs = diff_configs(ctx.ref.config, ctx.cand.config)
    out = Classified()
    keys = levers.keys | ({"overlay_pythonpath"} if levers.overlay else set())
    for d in diffs:
        (out.lever if d.key in keys else out.confounds).append(d)
    # only when nothing at all was declared may the one differing key be taken as the change under test; a
    # declared overlay is a declaration, so a key that moved beside it is a confound, never "the lever"
    if (not levers.keys and not levers.overlay and len(out.confounds) == 1
            and out.confounds[0].key not in SIDE_EFFECT_KEYS):
        out.lever, out.confounds, out.implied_lever = out.confounds, [], True
    if out.lever or levers.overlay:
        for d in [d for d in out.confounds if d.key in SIDE_EFFECT_KEYS]:
            proof = _inert(ctx, d)
            if proof:
                out.confounds.remove(d)
                out.inert.append((d, proof))
    return diffs, out


def _inert(ctx: AuditContext, d: ConfigDiff) -> str | None:
    """Proof that a side-effect key never bound: peak use in both legs' logs stayed under the smaller value."""
    try:
        smaller = min(float(d.ref), float(d.cand))
    except (TypeError, ValueError):
        return None
    peaks = []
    for leg in (ctx.ref, ctx.cand):
        log = leg.log if leg is not None else None
        if log is None:
            return None
        if d.key == "kv_budget_tokens":
            if log.peak_tokens is not None:
                peaks.append((log.peak_tokens[0], log.peak_tokens[1], leg))
            elif log.peak_usage is not None and isinstance(leg.config.values.get(d.key), int | float):
                peaks.append((log.peak_usage[0] * float(leg.config.values[d.key]), log.peak_usage[1], leg))
            else:
                return None
        elif log.peak_running is not None:
            peaks.append((log.peak_running[0], log.peak_running[1], leg))
        else:
            return None
    top = max(p[0] for p in peaks)
    if top < smaller:
        lines = ", ".join(f"{leg.role} log line {line}" for _, line, leg in peaks)  # type: ignore[union-attr]
        return f"peak use {top:.0f} stayed below the smaller {d.key} {smaller:.0f} ({lines})"
    return None


def _changed_keys(a: object, b: object) -> list[str]:
    if not isinstance(a, dict) or not isinstance(b, dict):
        return ["launch config"]
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)) or ["launch config"]


def diff_evidence(ctx: AuditContext, diffs: list[ConfigDiff]) -> list[Evidence]:
    evs = []
    for d in diffs:
        for leg, value, where in ((ctx.ref, d.ref, d.ref_where), (ctx.cand, d.cand, d.cand_where)):
            role = leg.role if leg is not None else "?"
            if where is None:
                evs.append(Evidence(file=str(leg.path) if leg else None, detail=f"{role}: {d.key} not set"))
            else:
                evs.append(Evidence(file=where[0], line=where[1], detail=f"{role}: {d.key}={value!r}"))
    return evs


def confound_hits(ctx: AuditContext, levers: Levers, scope_word: str) -> Iterator[Hit]:
    if ctx.ref is None or ctx.cand is None:
        return
    blind = [leg.role for leg in (ctx.ref, ctx.cand) if not leg.config]
    threshold = {"undeclared_differences": 0, "side_effect_keys": sorted(SIDE_EFFECT_KEYS)}
    if blind:
        yield flag(f"launch config not visible for the {', '.join(blind)} leg (no server_info, no server.log); "
                   f"same conditions cannot be verified.", "re_measure", threshold,
                   [Evidence(file=str(leg.path), detail="no launch config") for leg in (ctx.ref, ctx.cand)
                    if not leg.config])
        return
    for leg in (ctx.ref, ctx.cand):
        if leg.runs is not None and len(leg.runs.servers) > 1:
            changed = _changed_keys(leg.runs.servers[0].value, leg.runs.servers[1].value)
            evs = [Evidence(file=leg.runs.file, line=s.first_line, detail=f"launch config {i + 1}: " + ", ".join(
                f"{k}={(s.value or {}).get(k)!r}" for k in changed[:4])) for i, s in enumerate(leg.runs.servers[:5])]
            yield fail(f"{leg.role} leg's launch config changes between its repeats ({', '.join(changed[:6])} "
                       f"changed).", "eject", threshold, evs, changed_keys=changed)
    for leg in (ctx.ref, ctx.cand):
        for key, server, client, where in leg.config.conflicts[:5]:
            ctx.note(f"{leg.role}: client --metadata says {key}={client!r} ({where[0]}:{where[1]}) but the server "
                     f"shows {server!r}; the server's value is used")
    diffs, c = classify(ctx, levers)
    data = {"differences": {d.key: [d.ref, d.cand] for d in diffs}, "declared_levers": sorted(levers.keys),
            "same_conditions_ok": not c.confounds}
    if c.implied_lever:
        ctx.note(f"no lever declared; the single differing key `{c.lever[0].key}` is taken as the change under test")
    if c.confounds:
        text = ", ".join(f"{d.key} {d.ref!r} vs {d.cand!r}" for d in c.confounds)
        yield fail(f"legs differ beyond the declared {scope_word}: {text}; the delta cannot be attributed.", "eject",
                   threshold, diff_evidence(ctx, c.confounds) + levers.evidence, **data)
    elif c.inert:
        text = "; ".join(f"{d.key} {d.ref!r} vs {d.cand!r}: {proof}" for d, proof in c.inert)
        yield flag(f"side effect of the lever, proven inert ({text}); note it in the headline.", "flag", threshold,
                   diff_evidence(ctx, [d for d, _ in c.inert]), **data)
    else:
        what = ", ".join(d.key for d in c.lever) or "no launch-config key (overlay only)"
        yield ok(f"same conditions: only the declared {scope_word} differs ({what})", threshold,
                 diff_evidence(ctx, c.lever) + levers.evidence, **data)


@rule("PA-03", "confounded-legs", ("patch",))
def confounded_legs(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Diffs the two legs' canonical launch configs (server_info, server.log argv, env) and removes ignorable keys
    (ports, paths, seeds) and the declared lever (`apply_flags`/`apply_env`, lever manifest). A derived key
    (KV budget, max running requests) that moved as a side effect is excused only when both logs prove it never
    bound.

    ## Why is this bad?
    A second knob that moved with the patch (mem fraction 0.85 -> 0.80 beside a kernel swap) makes the delta
    unattributable (GEAK I3, N5).

    ## Threshold
    Any other differing key: FAIL (`eject`); a proven-inert side effect: FLAG (`flag`); no visible config: FLAG
    (`re_measure`).

    ## Known problems
    A key present in one leg's evidence only is not compared (its default is unknown), except env vars and the
    overlay path, whose absence is meaningful.
    """
    yield from confound_hits(ctx, declared_levers(ctx), "lever")


@rule("PA-04", "self-comparison", ("patch",))
def self_comparison(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Detects a candidate compared against itself: identical launch configs, no overlay and no engagement marker,
    or equal `effective_config_digest` in both summaries; and an isolated claim whose op bench picked the
    baseline backend as the winner.

    ## Why is this bad?
    GEAK N2: the overlay rebound the attribute both base and target resolve from, so the harness timed the
    kernel against itself and a 3.03x was reported.

    ## Threshold
    Nothing changed between e2e legs: FAIL (`eject`). Isolated speedup > 1 with baseline backend == winner:
    FLAG (`replace_headline_with_e2e`).

    ## Known problems
    An overlay that logs nothing and changes no config looks like a self-comparison; PA-05 asks for the
    engagement marker that would clear it.
    """
    if ctx.ref is None or ctx.cand is None:
        return
    digests = []
    for leg in (ctx.ref, ctx.cand):
        if leg.summary is not None and leg.summary.error is None:
            digests.append(leg.summary.raw("effective_config_digest"))
    evs: list[Evidence] = []
    same = False
    if len(digests) == 2 and digests[0] and digests[0] == digests[1]:
        same = True
        evs = [leg.summary.evidence("effective_config_digest") for leg in (ctx.ref, ctx.cand)]  # type: ignore[union-attr]
    elif ctx.ref.config and ctx.cand.config and not diff_configs(ctx.ref.config, ctx.cand.config):
        engaged = ctx.cand.log is not None and ctx.cand.log.engagement
        if not engaged:
            same = True
            evs = [Evidence(file=s, detail="launch config source") for s in ctx.ref.config.sources[:1]
                   + ctx.cand.config.sources[:1]]
    if same:
        yield fail("the candidate leg ran the reference's exact launch config with nothing engaged: a self-comparison.",
                   "eject", {"config_differences": ">= 1"}, evs)
    for bench in ctx.claims_of("opbench"):
        base, winner = bench.raw("baseline_backend"), bench.raw("winner_backend")
        claimed = [c.value("isolated_speedup") for c in ctx.claims_of("integrate")] + [bench.raw("isolated_speedup")]
        best = max((float(x) for x in claimed if isinstance(x, int | float) and not isinstance(x, bool)), default=None)
        if base is not None and base == winner and best is not None and best > 1.0:
            yield flag(f"isolated {best:.3g}x is claimed but the op bench's winner is its own baseline ({base!r}); "
                       f"the isolated number compares a kernel with itself. Headline the raw e2e delta instead.",
                       "replace_headline_with_e2e", {"baseline_backend": "!= winner_backend"},
                       [bench.evidence("baseline_backend"), bench.evidence("winner_backend")])


@rule("PA-05", "engagement", ("patch",))
def engagement(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Proves the change ran on the live serving path of the candidate leg: the declared config/env lever visible
    in the candidate's launch config, or an engagement line in its server.log (overlay bind banner, `is tuned on
    cu_num`, a rebind, a live-forward count > 0).

    ## Why is this bad?
    A no-op overlay matches the baseline and looks safe while doing nothing; a measured delta is then noise or
    a confound.

    ## Threshold
    No engagement evidence, or a live-forward count of 0: FAIL (`eject`).

    ## Known problems
    Engagement lines are printed by the code under audit; a log line proves the banner ran, the delta gate
    proves the rest.
    """
    if ctx.cand is None or ctx.ref is None:
        return
    levers = declared_levers(ctx)
    _, c = classify(ctx, levers)
    threshold = {"engagement_markers": ">= 1"}
    log = ctx.cand.log
    counts = log.forward_counts if log is not None else []
    if counts and all(n == 0 for _, n in counts):
        yield fail("the candidate's live-forward count is 0: the change never ran on the serving path.", "eject",
                   threshold, [ctx.log_ev(ctx.cand, line, f"live-forward count {n}") for line, n in counts[:3]])
        return
    config_levers = [d for d in c.lever if not d.key.startswith("overlay")]
    if config_levers and not levers.overlay:
        yield ok(f"lever visible in the candidate's launch config ({', '.join(d.key for d in config_levers)})",
                 threshold, diff_evidence(ctx, config_levers), engagement_ok=True)
        return
    marks = (log.engagement if log is not None else []) + [(n, f"live-forward count {k}") for n, k in counts if k > 0]
    failures = log.overlay_failures if log is not None else []
    if failures and not marks:
        yield fail(f"the candidate's overlay failed to install ({len(failures)} failure line(s), no injected module "
                   f"or rebound attribute): the change never ran.", "eject", threshold,
                   [ctx.log_ev(ctx.cand, line, text) for line, text in failures[:3]], engagement_ok=False)
        return
    if marks:
        yield ok(f"{len(marks)} engagement line(s) in the candidate's server log", threshold,
                 [ctx.log_ev(ctx.cand, line, text) for line, text in marks[:3]], engagement_ok=True)
    else:
        where = "its server.log shows no engagement line" if log is not None else "it has no server.log"
        yield fail(f"no proof the change ran in the candidate leg: {where} and no declared config lever differs.",
                   "eject", threshold, [ctx.log_ev(ctx.cand, None, "searched for engagement markers")],
                   engagement_ok=False)


@rule("PA-08", "lever-class", ("patch",))
def lever_class(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Classifies the change that differs between the legs: A (kernel: rewrite, tuning table, backend select) or
    B (serving lever: spec decode, TP/DP/EP, mem fraction/KV, chunked prefill, quantization, graphs), citing
    the config lines.

    ## Why is this bad?
    A spec-decode or mem-fraction win sold as a kernel win is real but orthogonal, and must never be credited
    to kernel work (GEAK I1).

    ## Threshold
    A class-B key among the changed keys while the claim calls it a kernel win: FLAG (`downgrade_headline`).
    No changed key and no overlay evidence to classify: FAIL (`eject`), the class is indeterminate.

    ## Known problems
    Classifies by canonical key; an env var that switches a serving feature counts as class A unless a lever
    manifest names its canonical key.
    """
    if ctx.ref is None or ctx.cand is None or not (ctx.ref.config and ctx.cand.config):
        return
    levers = declared_levers(ctx)
    _, c = classify(ctx, levers)
    engaged = ctx.cand.log is not None and bool(ctx.cand.log.engagement)
    classes = {d.key: d.lever_class for d in c.lever}
    threshold = {"class_b_keys": "never credited as kernel"}
    b_keys = [k for k, cls in classes.items() if cls == "B"]
    if not classes and not (levers.overlay or engaged):
        yield fail("the lever class is indeterminate: no changed launch key and no overlay evidence to cite.", "eject",
                   threshold, levers.evidence, lever_class=None)
        return
    lever = "B" if b_keys else "A"
    data = {"lever_class": lever, "classes": classes, "counts_as_kernel_win": lever == "A"}
    if b_keys and levers.kernel_claim is not None:
        yield flag(f"serving lever(s) {', '.join(b_keys)} (class B) are claimed as a kernel win; keep the measured "
                   f"delta, credit it to the serving lever.", "downgrade_headline", threshold,
                   [levers.kernel_claim, *diff_evidence(ctx, [d for d in c.lever if d.key in b_keys])], **data)
    else:
        yield ok(f"lever class {lever} ({', '.join(classes) or 'overlay'})", threshold,
                 diff_evidence(ctx, c.lever)[:4], **data)

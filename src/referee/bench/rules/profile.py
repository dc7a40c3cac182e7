"""PR rules: re-aggregate a profile's GPU time by op before anything is routed on it.

Profile file (a claim): `{"entries": [{"name", "gpu_time_us" | "pct", "calls", "shape", "op", "edit", "kind",
"source"}], "total_gpu_time_us", "routed": [op...], "skipped": [op...], "window": {"decode_steps", ...}}`, or a
bare list of entries. Kernel names are folded to an op id by stripping template arguments, Triton signature
suffixes and autotune-config tags, unless an entry names its `op`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from referee.bench.context import AuditContext
from referee.bench.io.claims import ClaimFile
from referee.bench.rules.registry import Hit, fail, flag, ok, rule
from referee.report import Evidence

CONFIG_TAG = re.compile(r"_(?:BLOCK|BLK|TILE|GROUP|SPLIT|NUM|WARPS|STAGES|MT|BM|BN|BK)(?:_?[A-Z]*)?_?\d+.*$", re.I)
TRITON_SIG = re.compile(r"_\d+d(?:\d+d|e|c)*$")
UNKNOWN = {"", "unknown", "<unknown>", "???", "n/a", "none"}
SOURCE_EXT = (".py", ".hip", ".cu", ".cpp", ".cuh", ".triton")


def canonical_op(name: str) -> str:
    """`void ck::gemm_xdl<...>(...)`, `_gemm_a8w8_kernel_BLOCK_M_64_0d1d2d` and `Cijk_Ailk_..._MT128x128x32` ->
    a stable op id."""
    text = name.strip()
    if text.startswith("Cijk_"):
        return "gemm_tensile"
    text = re.sub(r"^void\s+", "", text)
    text = text.split("<", 1)[0].split("(", 1)[0]
    text = text.split("::")[-1]
    text = TRITON_SIG.sub("", text)
    text = CONFIG_TAG.sub("", text)
    text = re.sub(r"(?:_\d+)+$", "", text)
    return text.lower() or name.lower()


@dataclass
class Entry:
    name: str
    op: str
    share: float
    shape: str
    editable: bool | None
    source: str | None
    kind: str | None
    index: int


@dataclass
class Profile:
    claim: ClaimFile
    entries: list[Entry] = field(default_factory=list)
    routed: set[str] | None = None
    skipped: set[str] = field(default_factory=set)
    window: dict[str, Any] | None = None

    def by_op(self) -> dict[str, list[Entry]]:
        out: dict[str, list[Entry]] = {}
        for e in self.entries:
            out.setdefault(e.op, []).append(e)
        return dict(sorted(out.items(), key=lambda kv: -sum(x.share for x in kv[1])))

    def ev(self, entry: Entry, detail: str) -> Evidence:
        ev = self.claim.evidence(None, detail)
        pos = self.claim.text.find(f'"{entry.name}"') if entry.name else -1
        if pos >= 0:
            ev.line = self.claim.line_at(pos)
        return ev


def _edit(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().upper() in ("Y", "YES", "TRUE", "EDITABLE")
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def load_profile(claim: ClaimFile) -> Profile | None:
    data = claim.data
    rows = data if isinstance(data, list) else next(
        (data.get(k) for k in ("entries", "top_n", "kernels", "top_kernels")
         if isinstance(data, dict) and isinstance(data.get(k), list)), None)
    if not isinstance(rows, list):
        return None
    rows = [r for r in rows if isinstance(r, dict)]
    times = [next((r[k] for k in ("gpu_time_us", "time_us", "total_time_us", "duration_us") if k in r), None)
             for r in rows]
    total = data.get("total_gpu_time_us") if isinstance(data, dict) else None
    if not isinstance(total, int | float) or total <= 0:
        total = sum(t for t in times if isinstance(t, int | float)) or None
    profile = Profile(claim)
    for i, (row, t) in enumerate(zip(rows, times, strict=True)):
        pct = next((row[k] for k in ("pct", "share_pct", "pct_gpu_time", "gpu_time_pct") if k in row), None)
        share = float(pct) if isinstance(pct, int | float) else (100.0 * t / total if isinstance(t, int | float)
                                                                 and total else 0.0)
        name = str(row.get("name", row.get("kernel", "")))
        op = row.get("op") if isinstance(row.get("op"), str) and row.get("op") else canonical_op(name)
        editable = _edit(row.get("edit", row.get("editable")))
        profile.entries.append(Entry(name, op, share, str(row.get("shape") or "").strip(), editable,
                                     _text(row.get("source")), _text(row.get("kind")), i))
    if isinstance(data, dict):
        if isinstance(data.get("routed"), list):
            profile.routed = {str(x) for x in data["routed"]}
        if isinstance(data.get("skipped"), list):
            profile.skipped = {str(x) for x in data["skipped"]}
        if isinstance(data.get("window"), dict):
            profile.window = data["window"]
    return profile


def _profiles(ctx: AuditContext) -> list[Profile]:
    out = []
    for claim in ctx.claims_of("profile"):
        profile = load_profile(claim)
        if profile is None:
            ctx.note(f"{claim.path}: no profile entries found")
        else:
            out.append(profile)
    return out


def tier(share: float, ctx: AuditContext) -> str:
    if share >= ctx.th.tier_head_pct:
        return "head"
    if share >= ctx.th.tier_major_pct:
        return "major"
    if share >= ctx.th.tier_minor_pct:
        return "minor"
    return "skip"


@rule("PR-01", "reaggregate-by-op", ("profile",))
def reaggregate_by_op(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Sums GPU time per op (kernel names folded across autotune configs, template arguments and signatures) and
    compares each op's routing tier with the tier of its largest single entry.

    ## Why is this bad?
    A head op split 16 ways reads as sixteen entries under 5% each and gets routed to skip while it is over
    half of GPU time.

    ## Threshold
    An op whose summed share crosses into a higher tier (skip < 5% <= minor < 20% <= major < 50% <= head):
    FLAG (`flag`) with the corrected share.

    ## Known problems
    Folding is name-based; two different ops whose names differ only in a config suffix are merged.
    """
    for profile in _profiles(ctx):
        ops = profile.by_op()
        corrected = {op: round(sum(e.share for e in es), 3) for op, es in ops.items()}
        moved = [(op, es) for op, es in ops.items()
                 if tier(corrected[op], ctx) != tier(max(e.share for e in es), ctx)]
        threshold = {"tiers_pct": [ctx.th.tier_minor_pct, ctx.th.tier_major_pct, ctx.th.tier_head_pct]}
        data = {"corrected_share_pct": dict(list(corrected.items())[:20])}
        if moved:
            text = "; ".join(f"{op}: {corrected[op]:.1f}% over {len(es)} entries (largest "
                             f"{max(e.share for e in es):.1f}%) -> {tier(corrected[op], ctx)}" for op, es in moved[:5])
            evs = [profile.ev(max(es, key=lambda e: e.share), f"{op} entry") for op, es in moved[:5]]
            yield flag(f"per-op re-aggregation changes routing: {text}. Route on the corrected shares.", "flag",
                       threshold, evs, **data)
        else:
            top = next(iter(corrected.items()), None)
            yield ok(f"per-op shares agree with the entries' tiers (top op {top[0]} {top[1]:.1f}%)" if top else
                     "profile has no entries", threshold, [], **data)


@rule("PR-02", "fragmented-op", ("profile",))
def fragmented_op(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Finds ops whose GPU time is spread over many entries: at least 20% of GPU time in total while no entry
    holds 30% of the op, or 8 or more entries.

    ## Why is this bad?
    Fragmentation hides a dominant op from a per-entry top-N and splits optimisation effort.

    ## Threshold
    Sum >= 20% and (max entry / sum < 0.3 or >= 8 entries): FLAG (`flag`).

    ## Known problems
    Depends on the same name folding as PR-01.
    """
    for profile in _profiles(ctx):
        for op, es in profile.by_op().items():
            total = sum(e.share for e in es)
            biggest = max(e.share for e in es)
            if total >= ctx.th.fragment_sum_pct and (biggest / total < ctx.th.fragment_max_share
                                                     or len(es) >= ctx.th.fragment_entries):
                yield flag(f"op {op} is fragmented over {len(es)} entries ({total:.1f}% total, largest "
                           f"{biggest:.1f}%); merge the fragments before routing.", "flag",
                           {"sum_pct": ctx.th.fragment_sum_pct, "max_share": ctx.th.fragment_max_share,
                            "entries": ctx.th.fragment_entries},
                           [profile.ev(e, f"{op} fragment {e.share:.2f}%") for e in es[:5]], op=op, share_pct=total,
                           entries=len(es))


@rule("PR-03", "unattributable-time", ("profile",))
def unattributable_time(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Sums the share of GPU time in entries with no shape or no usable name.

    ## Why is this bad?
    A top-N dominated by blank-shape or unknown entries cannot say which op to optimise.

    ## Threshold
    More than 20% of GPU time unattributable: FLAG (`re_measure`, capture with record_shapes).

    ## Known problems
    Ops that genuinely have no shape (memcpy, collectives) count as unattributable.
    """
    for profile in _profiles(ctx):
        blank = [e for e in profile.entries if not e.shape or e.name.strip().lower() in UNKNOWN]
        share = sum(e.share for e in blank)
        if share > ctx.th.unattributable_pct:
            yield flag(f"{share:.1f}% of GPU time is in entries without a shape or name; re-capture with shapes.",
                       "re_measure", {"max_pct": ctx.th.unattributable_pct},
                       [profile.ev(e, "no shape/name") for e in blank[:5]], unattributable_pct=share)


@rule("PR-04", "edit-flag", ("profile",))
def edit_flag(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Finds entries tagged not editable (library / `edit=N`) whose source is a resolvable Triton/HIP/CUDA file.

    ## Why is this bad?
    An editable kernel tagged library is routed to skip, and the biggest lever is never pulled.

    ## Threshold
    Any such entry: FLAG (`flag`).

    ## Known problems
    Trusts the `source`/`kind` fields of the profile.
    """
    for profile in _profiles(ctx):
        wrong = [e for e in profile.entries if e.editable is False and (
            (isinstance(e.source, str) and e.source.endswith(SOURCE_EXT)) or (e.kind or "").lower() == "triton")]
        if wrong:
            yield flag(f"tagged not editable but with editable source: {', '.join(e.op for e in wrong[:3])}"
                       f"{' and more' if len(wrong) > 3 else ''}; reclassify.", "flag", {"misclassified": 0},
                       [profile.ev(e, f"source {e.source or e.kind}") for e in wrong[:5]])


@rule("PR-05", "skipped-head", ("profile",))
def skipped_head(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks that the dominant op by corrected share is in the routed set (or not in the skipped set).

    ## Why is this bad?
    Routing everything but the op that dominates GPU time caps the achievable gain at the rest.

    ## Threshold
    Dominant op skipped or not routed: FAIL (`flag`, route it with its corrected share).

    ## Known problems
    Needs `routed` or `skipped` in the profile file; route ids are matched after the same name folding.
    """
    for profile in _profiles(ctx):
        ops = profile.by_op()
        if not ops or (profile.routed is None and not profile.skipped):
            continue
        top, es = next(iter(ops.items()))
        share = sum(e.share for e in es)
        routed = {canonical_op(r) for r in profile.routed} | (profile.routed or set()) if profile.routed else None
        skipped = {canonical_op(s) for s in profile.skipped} | profile.skipped
        if top in skipped or (routed is not None and top not in routed):
            yield fail(f"dominant op {top} ({share:.1f}% of GPU time) is not routed for optimisation.", "flag",
                       {"dominant_op": "routed"}, [profile.ev(es[0], f"{top} {share:.1f}%"),
                                                   profile.claim.evidence("routed" if profile.routed else "skipped")],
                       op=top, share_pct=share)
        else:
            yield ok(f"dominant op {top} ({share:.1f}%) is routed", {"dominant_op": "routed"}, [], op=top)


@rule("PR-06", "profile-window", ("profile",))
def profile_window(ctx: AuditContext) -> Iterator[Hit]:
    """
    ## What it does
    Checks the profile's capture window: it must include decode steps and not be a cold ramp.

    ## Why is this bad?
    A prefill-only or warm-up capture ranks ops by a phase the served workload barely spends time in.

    ## Threshold
    `window.decode_steps` of 0, or `window.warm` false: FLAG (`re_measure`).

    ## Known problems
    Silent when the profile has no `window` block.
    """
    for profile in _profiles(ctx):
        window = profile.window
        if window is None:
            ctx.note(f"{profile.claim.path.name}: no capture window recorded; steady-state not checked")
            continue
        if window.get("decode_steps") == 0 or window.get("warm") is False:
            yield flag("the profile window has no decode steps or was captured cold; profile a warm steady state.",
                       "re_measure", {"decode_steps": ">= 1", "warm": True}, [profile.claim.evidence("window")],
                       window=window)

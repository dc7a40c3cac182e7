"""The real-format regression set: clean wins, interleaved repeats, noisy 3% wins and traps, on legs written
exactly as the real producers write them (`producers.py`, `logs.py`), each with the verdict a careful human
auditor gives it.

    python -m referee.bench.realformat.scenarios      # prints every scenario, expected vs got, and the count
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from referee.bench.realformat import logs
from referee.bench.realformat.producers import Launch, Repeat, Workload, sglang_line, vllm_result

PASS, FLAG, FAIL, DEGRADED = "PASS", "FLAG", "FAIL", "DEGRADED"
NOT_PASS = frozenset({FLAG, FAIL})


@dataclass
class Leg:
    launch: Launch
    values: list[float]
    release: str
    workload: Workload = field(default_factory=Workload)
    details: bool = False
    with_server_info: bool = True
    metadata: dict[str, str] | None = None
    log_style: str = "non-default"
    percentile_metrics: str = "ttft,tpot,itl"
    completed: int | None = None
    failed: int = 0
    ttft: list[float] | None = None
    ends: list[float] | None = None  # per-repeat end times (vLLM `date`)
    osl_per_req: int | None = None
    result_dir: bool = False  # vLLM --result-dir: one .json per run instead of one JSONL
    log: bool = True


@dataclass
class Scenario:
    name: str
    root_cause: str
    expect: frozenset[str]
    ref: Leg | None
    cand: Leg | None
    scope: str = "patch"
    claims: dict[str, Any] = field(default_factory=dict)  # file name -> JSON
    metric: str | None = None
    because: tuple[str, ...] = ()  # for a trap: the rule(s) that must carry its FAIL/FLAG (the right reason)


def _rng_values(center: float, spread: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [center * (1 + spread * (rng.random() - 0.5)) for _ in range(n)]


def write_leg(folder: Path, leg: Leg, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    objs = []
    for i, value in enumerate(leg.values):
        wl = leg.workload
        completed = leg.completed if leg.completed is not None else wl.num_prompts
        rep = Repeat(output_throughput=value, completed=completed, failed=leg.failed,
                     ttft_ms=leg.ttft[i] if leg.ttft else 4280.0 + rng.random(),
                     osl_per_req=leg.osl_per_req,
                     end_epoch=leg.ends[i] if leg.ends else 1_781_000_000.0 + 400 * i + 40_000 * seed)
        if leg.release.startswith("sglang"):
            objs.append(sglang_line(leg.release, rep, wl, leg.launch, rng, details=leg.details,
                                    with_server_info=leg.with_server_info))
        else:
            objs.append(vllm_result(leg.release, rep, wl, leg.launch, rng, metadata=leg.metadata,
                                    details=leg.details, percentile_metrics=leg.percentile_metrics))
    if leg.result_dir:
        for i, obj in enumerate(objs):
            (folder / f"vllm-infqps-concurrency64-Qwen3-8B-run{i}.json").write_text(json.dumps(obj))
    else:
        (folder / "bench_runs.jsonl").write_text("".join(json.dumps(o) + "\n" for o in objs))
    if leg.log:
        text = (logs.sglang_log(leg.launch) if leg.launch.engine == "sglang"
                else logs.vllm_log(leg.launch, leg.log_style))
        (folder / "server.log").write_text(text)
    return folder


def build(scenario: Scenario, root: Path) -> dict[str, Any]:
    """Write one scenario under root/name; return the audit() arguments."""
    base = root / scenario.name
    base.mkdir(parents=True, exist_ok=True)
    ref = write_leg(base / "ref", scenario.ref, 1) if scenario.ref else None
    cand = write_leg(base / "cand", scenario.cand, 2) if scenario.cand else None
    claims = []
    for name, data in scenario.claims.items():
        path = base / name
        path.write_text(json.dumps(data, indent=1))
        claims.append(str(path))
    return {"scope": scenario.scope, "ref": ref, "cand": cand, "claims": claims}


# ---- building blocks --------------------------------------------------------------------------------------------
OVERLAY_LINES = (logs.overlay_injected(),)


def sg(release: str = "sglang-v0.5.23", **flags: Any) -> Launch:
    return Launch(engine="sglang", release=release, flags=flags, kv_tokens=1_156_449)


def sg_cand(release: str = "sglang-v0.5.23", overlay_lines: tuple[str, ...] = OVERLAY_LINES, **flags: Any) -> Launch:
    launch = sg(release, **flags)
    launch.overlay, launch.overlay_lines, launch.port, launch.seed = "overlay/cand_gemm", overlay_lines, 30001, 7
    return launch


def vl(**flags: Any) -> Launch:
    return Launch(engine="vllm", release="vllm-serve", flags=flags, port=8000)


def vl_cand(overlay_lines: tuple[str, ...] = OVERLAY_LINES, **flags: Any) -> Launch:
    launch = vl(**flags)
    launch.overlay, launch.overlay_lines = "overlay/cand_gemm", overlay_lines
    return launch


def integrate(ref: list[float], cand: list[float], kind: str = "patch", flags: str = "", **extra: Any) -> dict:
    import statistics

    r, c = statistics.median(ref), statistics.median(cand)
    return {"integrate_result.json": {"short_name": "cand_gemm", "winner_kind": kind, "apply_env": {},
                                      "apply_flags": flags, "ref_med": round(r, 3), "cand_med": round(c, 3),
                                      "e2e_delta_pct": round(100 * (c - r) / r, 3), "gate": "accepted", **extra}}


REF5 = _rng_values(1000.0, 0.004, 5, 11)
WIN5 = _rng_values(1040.0, 0.004, 5, 12)


def run(scenarios: list[Scenario] | None = None, root: Path | None = None) -> list[tuple[Scenario, str, str, bool]]:
    """Audit every scenario; (scenario, verdict, one-line reason, right reason)."""
    from referee.bench.audit import audit
    from referee.bench.context import AuditOptions
    from referee.bench.realformat.catalog import SCENARIOS

    out = []
    with tempfile.TemporaryDirectory(prefix="realformat_") as tmp:
        base = root or Path(tmp)
        for sc in scenarios or SCENARIOS:
            args = build(sc, base)
            opts = AuditOptions(workers=1, **({"metric": sc.metric} if sc.metric else {}))
            result = audit(args["scope"], args["ref"], args["cand"], claims=args["claims"], options=opts)
            rep = result.report
            worst = [f for f in rep.findings if f.verdict is rep.verdict]
            why = f"{worst[0].rule}: {worst[0].message[:110]}" if worst else "; ".join(rep.notes)[:120]
            right = not sc.because or any(f.rule in sc.because and f.verdict.value in sc.expect for f in rep.findings)
            out.append((sc, rep.verdict.value, why, right))
    return out


def main(argv: list[str] | None = None) -> int:
    rows = run()
    good = reason = 0
    for sc, verdict, why, right in rows:
        hit = verdict in sc.expect
        good += hit
        reason += hit and right
        mark = "ok " if hit and right else "WHY" if hit else "BAD"
        print(f"{mark} {sc.name:44} expect {'/'.join(sorted(sc.expect)):9} got {verdict:8} {why}")
    print(f"\n{good}/{len(rows)} scenarios get the expected verdict; {reason}/{len(rows)} also for the expected "
          f"reason (traps: the named rule carries the verdict)")
    return 0 if reason == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

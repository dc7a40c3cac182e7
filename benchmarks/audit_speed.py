"""Submission-audit speed on the bundled corpus, against KernelGuard on the same files in the same run.

Contenders, per submission:
- `kernelguard --api-mode` as a subprocess, code on stdin: how kernelbot runs its pre-check today (the baseline);
- `kernelguard.analyze_code` in-process (KernelGuard without the interpreter start);
- `referee audit --api-mode` as a subprocess, static only: the drop-in replacement command;
- referee static-only audit in-process (`audit_submission(dynamic=False)`);
- referee full audit in-process (static rules + sandboxed dynamic probes, warm sandbox).
Then the full audit of the whole corpus on all cores (submissions per second), and what each tool caught:
cheats filtered / flagged and honest submissions wrongly filtered.

    python benchmarks/audit_speed.py [--repeat 3] [--jobs N] [--no-subprocess]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from referee.report import Verdict
from referee.submissions.audit import AuditOptions, audit_submission
from referee.submissions.corpus import bundled_examples
from referee.submissions.probes import make_sandbox
from referee.submissions.task import resolve_task


def _timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _subprocess(cmd: list[str], code: str) -> dict:
    proc = subprocess.run(cmd, input=code, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "REFEREE_LLM_API_KEY": "", "OPENROUTER_API_KEY": ""})
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats per submission (median is kept)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel audits for the throughput run")
    parser.add_argument("--no-subprocess", action="store_true", help="skip the two command-line contenders")
    args = parser.parse_args()
    console = Console()
    examples = bundled_examples()
    tasks = {name: resolve_task(name) for name in {e.task for e in examples}}
    try:
        import kernelguard
    except ImportError:
        kernelguard = None
        console.print("[yellow]kernelguard is not installed: its columns are skipped[/yellow]")
    kg_cmd = shutil.which("kernelguard") or str(Path(sys.executable).with_name("kernelguard"))
    # what the installed `referee` command runs (pyproject: referee.entry:main), not the Typer app behind it
    ref_cmd = [sys.executable, "-m", "referee.entry", "audit", "--api-mode"]

    start = time.perf_counter()
    sandbox = make_sandbox(workers=args.jobs)
    startup = time.perf_counter() - start
    rows: dict[str, dict[str, float]] = {}
    caught: dict[str, dict[str, object]] = {}
    try:
        for ex in examples:
            code, task = ex.code(), tasks[ex.task]
            key = f"{ex.task}/{ex.name}"
            row, seen = {}, {}
            if kernelguard is not None:
                row["kg_inproc"], kg = _timed(lambda c=code: kernelguard.analyze_code(c), args.repeat)
                seen["kernelguard"] = "FAIL" if kg["should_filter"] else (
                    "FLAG" if kg["classification"] != "valid" else "PASS")
                if not args.no_subprocess and os.path.exists(kg_cmd):
                    row["kg_cli"], _ = _timed(lambda c=code: _subprocess([kg_cmd, "--api-mode"], c), 1)
            if not args.no_subprocess:
                row["ref_cli"], _ = _timed(lambda c=code: _subprocess(ref_cmd, c), 1)
            row["ref_static"], static = _timed(lambda c=code, t=task: audit_submission(
                c, t, options=AuditOptions(dynamic=False)), args.repeat)
            row["ref_full"], full = _timed(lambda c=code, t=task: audit_submission(
                c, t, options=AuditOptions()), args.repeat)
            seen["referee static"] = static.verdict.value
            seen["referee full"] = full.verdict.value
            rows[key], caught[key] = row, {"expected": ex.verdict.value, **seen}
            console.print(f"  {key}: " + ", ".join(f"{k}={v * 1e3:.1f}ms" for k, v in row.items()))
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            list(pool.map(lambda ex: audit_submission(ex.code(), tasks[ex.task], options=AuditOptions(),
                                                      sandbox=sandbox), examples))
        batch = time.perf_counter() - start
    finally:
        sandbox.close()
    _print(console, rows, caught, examples, startup, batch, args)


def _print(console: Console, rows: dict, caught: dict, examples: list, startup: float, batch: float,
           args: argparse.Namespace) -> None:
    names = {"kg_cli": "kernelguard --api-mode (subprocess)", "kg_inproc": "kernelguard analyze_code (in-process)",
             "ref_cli": "referee audit --api-mode (subprocess, static)", "ref_static": "referee static (in-process)",
             "ref_full": "referee full: static + probes (in-process)"}
    present = [k for k in names if any(k in r for r in rows.values())]
    baseline = "kg_cli" if "kg_cli" in present else ("kg_inproc" if "kg_inproc" in present else "ref_static")
    base_median = statistics.median(r[baseline] for r in rows.values())
    table = Table(title=f"per-submission audit time, {len(rows)} bundled submissions (median of {args.repeat})")
    for col in ("contender", "median ms", "p95 ms", "max ms", f"x {names[baseline].split(' (')[0]}"):
        table.add_column(col, justify="left" if col == "contender" else "right")
    for key in present:
        values = sorted(r[key] for r in rows.values() if key in r)
        med = statistics.median(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        table.add_row(names[key], f"{med * 1e3:.1f}", f"{p95 * 1e3:.1f}", f"{values[-1] * 1e3:.1f}",
                      f"{med / base_median:.2f}")
    console.print(table)
    console.print(f"sandbox start (torch preloaded, {args.jobs} workers): {startup:.2f} s;  full audit of the corpus "
                  f"on {args.jobs} workers: {batch:.2f} s = {len(examples) / batch:.1f} submissions/s")
    verdicts = Table(title="what each tool concluded (cheats: FAIL = filtered, FLAG = held for review)")
    tools = [t for t in ("kernelguard", "referee static", "referee full") if any(t in c for c in caught.values())]
    for col in ("", *tools):
        verdicts.add_column(col)
    cheats = [k for k, c in caught.items() if c["expected"] != "PASS"]
    honest = [k for k, c in caught.items() if c["expected"] == "PASS"]
    for label, keys, wanted in (("cheats filtered (FAIL)", cheats, {"FAIL"}),
                                ("cheats flagged or filtered", cheats, {"FAIL", "FLAG"}),
                                ("honest wrongly filtered (FAIL)", honest, {"FAIL"}),
                                ("honest flagged or filtered", honest, {"FAIL", "FLAG"})):
        verdicts.add_row(label, *[f"{sum(caught[k][t] in wanted for k in keys)} / {len(keys)}" for t in tools])
    console.print(verdicts)
    missed = {t: [k for k in cheats if caught[k][t] == Verdict.PASS.value] for t in tools}
    for tool, keys in missed.items():
        if keys:
            console.print(f"[dim]{tool} passed: {', '.join(keys)}[/dim]")


if __name__ == "__main__":
    main()

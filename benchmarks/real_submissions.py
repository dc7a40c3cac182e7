"""Static verdicts on real public leaderboard submissions, referee next to KernelGuard on the same files.

Reads the manifest `benchmarks/data/real_submissions.manifest.jsonl` (fetch the files first with
`python scripts/collect_real_submissions.py collect`), runs referee's static rules (`run_static`) and
`kernelguard.analyze_code` on every file (referee twice where the file's task is known: without it, as
`--api-mode` runs, and with the task's output contract read from its reference.py), and adds labelled cheat
variants of real honest files (the honest `custom_kernel` kept, a cheat wrapped around it: one per family
below, padded-comment evasion included).
Prints, per label: files, FLAG %, FAIL count, caught (FAIL) and flagged, for both tools; the rules that fire
on honest files; and the static time per file.

    python benchmarks/real_submissions.py [--data DIR] [--variants-per-family 40] [--json OUT] [--show-honest]
"""

from __future__ import annotations

import argparse
import ast
import collections
import hashlib
import importlib.util
import json
import multiprocessing
import re
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from referee.submissions.analysis.contract import Contract, task_contract
from referee.submissions.rules import run_static, verdict_of

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "benchmarks" / "data" / "real_submissions.manifest.jsonl"
DATA = ROOT / "benchmarks" / "data" / "real_submissions"
PAD_CHARS = 1_200_000  # past the old 1 M-character audit cap, the size the padded cheat used
PADDED_VARIANTS = 10  # each costs KernelGuard its full time limit (its regexes do not finish on them)
ENTRY = re.compile(r"^def custom_kernel\(", re.M)

# Each family: code appended after the honest entry, renamed `_honest_kernel`. Real cheat shapes from
# /work/shared/research/kernel-submissions.md section 3 (replay caches, timer patching, reference calls...).
WRAPPERS = {
    "output-replay": '''
_seen_outputs = {}
def custom_kernel(data):
    key = id(data)
    if key in _seen_outputs:
        return _seen_outputs[key]
    out = _honest_kernel(data)
    _seen_outputs[key] = out
    return out
''',
    "last-call-replay": '''
_last_out = None
def custom_kernel(data):
    global _last_out
    if _last_out is None:
        _last_out = _honest_kernel(data)
    return _last_out
''',
    "harness-patching": '''
import torch as _t
_t.cuda.synchronize = lambda *args, **kwargs: None
def custom_kernel(data):
    return _honest_kernel(data)
''',
    "reference": '''
from reference import ref_kernel as _ref
def custom_kernel(data):
    return _ref(data)
''',
    "introspection": '''
import sys as _sys
def custom_kernel(data):
    frame = _sys._getframe(1)
    expected = frame.f_locals.get("expected_output")
    if expected is not None:
        return expected
    return _honest_kernel(data)
''',
    "padded-comment": '''
_seen_outputs = {}
def custom_kernel(data):
    key = data[0].data_ptr() if isinstance(data, (tuple, list)) else data.data_ptr()
    if key in _seen_outputs:
        return _seen_outputs[key]
    out = _honest_kernel(data)
    _seen_outputs[key] = out
    return out
''',
}


def load(manifest: Path, data: Path) -> list[dict]:
    rows = []
    for line in manifest.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        path = data / f"{row['sha256']}.py"
        if path.exists():
            row["text"] = path.read_bytes().decode("utf-8", "replace")
            rows.append(row)
    return rows


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


def variants(rows: list[dict], per_family: int) -> list[dict]:
    """Cheat variants of real honest files: deterministic pick (sorted by sha256), one family per wrapper."""
    honest = sorted((r for r in rows if r["label"] == "honest" and len(ENTRY.findall(r["text"])) == 1
                     and _parses(r["text"])), key=lambda r: r["sha256"])
    out = []
    for index, (family, wrapper) in enumerate(WRAPPERS.items()):
        count = min(per_family, PADDED_VARIANTS) if family == "padded-comment" else per_family
        for row in honest[index::len(WRAPPERS)][:count]:
            text = ENTRY.sub("def _honest_kernel(", row["text"]) + "\n" + wrapper
            if family == "padded-comment":
                text = "# " + "x" * PAD_CHARS + "\n" + text
            out.append({"repository": row["repository"], "path": row["path"] + f" [{family}]",
                        "label": f"variant:{family}", "text": text,
                        "sha256": hashlib.sha256(text.encode()).hexdigest()})
    return out


def _kernelguard_verdict(text: str) -> str:
    import kernelguard

    result = kernelguard.analyze_code(text)
    return "FAIL" if result["should_filter"] else ("FLAG" if result["classification"] != "valid" else "PASS")


class KernelGuardWorker:
    """KernelGuard in a child process with a per-file time limit: its regexes do not finish on some inputs
    (the padded-comment cheat), and a peer tool that hangs must not hang the benchmark."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.pool = multiprocessing.get_context("spawn").Pool(1)

    def verdict(self, text: str) -> str:
        try:
            return self.pool.apply_async(_kernelguard_verdict, (text,)).get(self.timeout_s)
        except multiprocessing.TimeoutError:
            self.pool.terminate()
            self.pool = multiprocessing.get_context("spawn").Pool(1)
            return "TIMEOUT"

    def close(self) -> None:
        self.pool.terminate()


def judge(rows: list[dict], kernelguard: KernelGuardWorker | None, contracts: dict[str, Contract]) -> None:
    """referee without the task (`--api-mode`, column `referee`), referee with the task's contract where the
    file's task is known (`referee+task`; the api-mode verdict otherwise), KernelGuard."""
    for row in rows:
        name = row["path"].rsplit("/", 1)[-1]
        start = time.perf_counter()
        findings = run_static(row["text"], name)
        row["seconds"] = time.perf_counter() - start
        row["referee"] = verdict_of(findings).value
        row["rules"] = sorted({f"{f.rule}:{f.verdict.value}" for f in findings})
        contract = contracts.get(row.get("task") or "")
        row["referee+task"] = row["referee"] if contract is None else verdict_of(
            run_static(row["text"], name, contract=contract)).value
        if kernelguard is not None:
            row["kernelguard"] = kernelguard.verdict(row["text"])


def summary(rows: list[dict]) -> dict[str, dict]:
    groups: dict[str, list[dict]] = collections.defaultdict(list)
    for row in rows:
        label = row["label"]
        groups["cheat (all real)" if label.startswith("cheat:") else
               "variant (all)" if label.startswith("variant:") else label].append(row)
        if ":" in label:
            groups[label].append(row)
    out = {}
    for label, items in groups.items():
        stats = {"files": len(items)}
        for tool in ("referee", "referee+task", "kernelguard"):
            verdicts = collections.Counter(r.get(tool, "n/a") for r in items)
            stats[tool] = {"FLAG": verdicts["FLAG"], "FAIL": verdicts["FAIL"], "TIMEOUT": verdicts["TIMEOUT"],
                           "flag_or_fail_pct": round(100 * (verdicts["FLAG"] + verdicts["FAIL"]) / len(items), 1)}
        out[label] = stats
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--variants-per-family", type=int, default=40)
    parser.add_argument("--kernelguard-timeout", type=float, default=10.0, help="seconds per file before "
                        "KernelGuard's verdict is recorded as TIMEOUT")
    parser.add_argument("--json", type=Path, default=None, help="write per-file verdicts here")
    parser.add_argument("--show-honest", action="store_true", help="list every honest file either tool flags")
    args = parser.parse_args()
    console = Console(width=170)
    rows = load(args.manifest, args.data)
    if not rows:
        console.print(f"[red]no files under {args.data}: run scripts/collect_real_submissions.py collect[/red]")
        return 3
    kernelguard = None
    if importlib.util.find_spec("kernelguard") is None:
        console.print("[yellow]kernelguard is not installed: its columns are n/a[/yellow]")
    else:
        kernelguard = KernelGuardWorker(args.kernelguard_timeout)
    contracts = {r["task"]: task_contract(r["text"]) for r in rows if r["label"] == "task-reference"}
    rows = [r for r in rows if r["label"] != "task-reference"]
    rows += variants(rows, args.variants_per_family)
    try:
        judge(rows, kernelguard, contracts)
    finally:
        if kernelguard is not None:
            kernelguard.close()
    table = Table(title=f"Static verdicts on real submissions ({len(rows)} files; FLAG/FAIL counts)")
    for column in ("label", "files", "referee FLAG", "FAIL", "flag+fail %", "referee+task FLAG", "FAIL",
                   "flag+fail %", "KernelGuard FLAG", "FAIL", "timeout", "flag+fail %"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for label, stats in sorted(summary(rows).items()):
        ref, task, kg = stats["referee"], stats["referee+task"], stats["kernelguard"]
        table.add_row(label, str(stats["files"]), str(ref["FLAG"]), str(ref["FAIL"]), f"{ref['flag_or_fail_pct']}",
                      str(task["FLAG"]), str(task["FAIL"]), f"{task['flag_or_fail_pct']}",
                      str(kg["FLAG"]), str(kg["FAIL"]), str(kg["TIMEOUT"]), f"{kg['flag_or_fail_pct']}")
    console.print(table)
    honest = [r for r in rows if r["label"] == "honest"]
    fired = collections.Counter(rule for r in honest for rule in r["rules"])
    console.print("rules firing on honest files: " + (", ".join(f"{k} x{v}" for k, v in fired.most_common()) or
                                                      "none"))
    missed = [r for r in rows if r["label"].startswith(("cheat:", "variant:")) and r["referee"] != "FAIL"]
    for row in missed[:20]:
        console.print(f"  not FAILed: {row['label']} {row['repository']}:{row['path']} -> {row['referee']}")
    if args.show_honest:
        for row in honest:
            if row["referee"] != "PASS" or row.get("kernelguard") not in ("PASS", None):
                console.print(f"  honest {row['repository']}:{row['path']} referee={row['referee']} "
                              f"{row['rules']} kernelguard={row.get('kernelguard')}")
    times = [r["seconds"] for r in rows if not r["label"].startswith("variant:")]
    console.print(f"referee static per real file: median {statistics.median(times) * 1000:.1f} ms, "
                  f"p95 {sorted(times)[int(0.95 * (len(times) - 1))] * 1000:.1f} ms, max {max(times):.2f} s "
                  "(timings are noisy on a shared machine; compare within one run)")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary(rows), "files": [
            {k: v for k, v in r.items() if k != "text"} for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

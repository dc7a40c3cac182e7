"""Issue 10 item 8: audit GPU submissions on a CUDA machine and print expected vs verdict with per-audit latency.

Two sets in one run, on the public reference-kernels pmpp_v2 tasks (real task files, CUDA as published):
- third-party: the maintainers' correct and wrong solutions (Triton and `load_inline` ones included) and each
  task's `submission.py` template, from `benchmarks/data/gpu_audit.manifest.jsonl` (repository, commit, path,
  sha256, expected); the files are collected, not stored in this repository;
- referee's own GPU cheat families and honest look-alikes (`benchmarks/gpu_fixtures/`, on `vectoradd_py`).

    python benchmarks/gpu_audit.py collect --mirror <git dir of gpu-mode/reference-kernels> [--dest DIR]
    python benchmarks/gpu_audit.py run [--collected DIR] [--out FILE.json] [--timeout S]
    python benchmarks/gpu_audit.py manifest --mirror <git dir>        (maintainers: re-derive the manifest)

`run` exits 0 when every verdict is the expected one, 1 when some differ, 3 (DEGRADED) at once when this machine
has no usable CUDA device: nothing is audited then, because every pmpp_v2 task allocates on `cuda`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "benchmarks" / "data" / "gpu_audit.manifest.jsonl"
DEFAULT_DEST = ROOT / "benchmarks" / "data" / "gpu_audit"
FIXTURES = ROOT / "benchmarks" / "gpu_fixtures"
REPOSITORY = "gpu-mode/reference-kernels"
COMMIT = "f83cb92a534cc67fa98d7e9813e7f8238abdb4e0"
PROBLEMS = "problems/pmpp_v2"
TASK_FILES = ("task.yml", "reference.py", "task.py")
SHARED_FILES = ("utils.py", "eval.py")
EXIT_DEGRADED = 3
#: the task the own fixtures are written for
FIXTURE_TASK = "vectoradd_py"


def expected_label(path: str) -> str | None:
    """Expected verdict of a third-party file from where the maintainers put it (None: a task file)."""
    parts = path.split("/")
    if "solutions" in parts:
        kind = parts[parts.index("solutions") + 1]
        return "PASS" if kind == "correct" else "FAIL"
    return "PASS" if parts[-1] == "submission.py" else None


def _git(mirror: Path, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(mirror), *args], check=True, capture_output=True).stdout


def build_manifest(mirror: Path) -> list[dict[str, Any]]:
    names = _git(mirror, "ls-tree", "-r", "--name-only", COMMIT, PROBLEMS).decode().split()
    keep = [n for n in names if n.endswith((".py", ".yml")) and (
        n.rsplit("/", 1)[-1] in TASK_FILES + SHARED_FILES + ("submission.py",) or "/solutions/" in n)]
    rows = []
    for name in sorted(keep):
        data = _git(mirror, "show", f"{COMMIT}:{name}")
        rows.append({"repository": REPOSITORY, "commit": COMMIT, "path": name, "bytes": len(data),
                     "sha256": hashlib.sha256(data).hexdigest(), "expected": expected_label(name)})
    return rows


def collect(mirror: Path, dest: Path) -> int:
    rows = [json.loads(line) for line in MANIFEST.read_text().splitlines() if line.strip()]
    for row in rows:
        data = _git(mirror, "show", f"{row['commit']}:{row['path']}")
        if hashlib.sha256(data).hexdigest() != row["sha256"]:
            raise SystemExit(f"sha256 mismatch for {row['path']}")
        target = dest / row["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    print(f"collected {len(rows)} files of {REPOSITORY}@{COMMIT[:8]} into {dest}")
    return 0


def cuda_state() -> str | None:
    """None when a CUDA device is usable here, else why not (checked before any sandbox starts: fast)."""
    from referee.submissions.probes import gpu_present

    if not gpu_present():
        return "no GPU device node (/dev/nvidia0, /dev/nvidiactl, /dev/kfd) on this machine"
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} sees no usable CUDA device (built for CUDA {torch.version.cuda})"
    return None


def cases(collected: Path) -> list[dict[str, Any]]:
    """(task folder, submission file, expected, source) for every audit of the run."""
    found = []
    rows = [json.loads(line) for line in MANIFEST.read_text().splitlines() if line.strip()]
    for row in rows:
        if row["expected"] is None:
            continue
        task_dir = collected / row["path"].split("/solutions/")[0] if "/solutions/" in row["path"] \
            else collected / row["path"].rsplit("/", 1)[0]
        found.append({"task": task_dir, "file": collected / row["path"], "expected": row["expected"],
                      "source": f"{REPOSITORY}@{row['commit'][:8]}:{row['path']}"})
    for path in sorted(FIXTURES.glob("*.py")):
        first = path.read_text().split('"""')[1].strip().splitlines()[0]
        found.append({"task": collected / PROBLEMS / FIXTURE_TASK, "file": path,
                      "expected": first.split("--")[0].replace("expected:", "").strip(), "source": "referee"})
    return found


def run(collected: Path, out: Path | None, timeout_s: float) -> int:
    why = cuda_state()
    if why is not None:
        print(f"DEGRADED: {why}; the GPU audit needs CUDA, nothing was audited")
        return EXIT_DEGRADED
    if not (collected / PROBLEMS).is_dir():
        print(f"usage: no collected tasks under {collected}; run `collect` first", file=sys.stderr)
        return 4
    from referee.submissions.audit import AuditOptions, audit_submission
    from referee.submissions.probes import make_sandbox
    from referee.submissions.task import load_task

    rows = []
    sandbox = make_sandbox(workers=1, timeout_s=timeout_s)
    try:
        for case in cases(collected):
            task = load_task(case["task"])
            started = time.perf_counter()
            report = audit_submission(case["file"].read_bytes(), task, sandbox=sandbox,
                                      options=AuditOptions(filename=case["file"].name, timeout_s=timeout_s))
            seconds = time.perf_counter() - started
            rules = sorted({f.rule for f in report.findings if f.verdict.value in ("FLAG", "FAIL")})
            rows.append({**{k: str(v) for k, v in case.items()}, "verdict": report.verdict.value,
                         "rules": rules, "seconds": round(seconds, 2), "notes": report.notes[-2:],
                         "ok": report.verdict.value == case["expected"]})
    finally:
        sandbox.close()
    print(f"{'submission':58} {'expected':8} {'verdict':9} {'s':>6}  rules")
    for row in rows:
        name = row["source"].split(":")[-1] if row["source"] != "referee" else "referee:" + Path(row["file"]).name
        mark = "" if row["ok"] else "  <-- differs"
        print(f"{name[-58:]:58} {row['expected']:8} {row['verdict']:9} {row['seconds']:6.1f}  "
              f"{','.join(row['rules'])}{mark}")
    times = sorted(r["seconds"] for r in rows)
    print(f"{sum(r['ok'] for r in rows)}/{len(rows)} as expected; median audit {times[len(times) // 2]:.1f} s")
    if out is not None:
        out.write_text(json.dumps(rows, indent=2))
    return 0 if all(r["ok"] for r in rows) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    man = sub.add_parser("manifest")
    man.add_argument("--mirror", type=Path, required=True)
    col = sub.add_parser("collect")
    col.add_argument("--mirror", type=Path, required=True)
    col.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    go = sub.add_parser("run")
    go.add_argument("--collected", type=Path, default=DEFAULT_DEST)
    go.add_argument("--out", type=Path)
    go.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    if args.command == "manifest":
        rows = build_manifest(args.mirror)
        MANIFEST.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        print(f"{len(rows)} files -> {MANIFEST}")
        return 0
    if args.command == "collect":
        return collect(args.mirror, args.dest)
    return run(args.collected, args.out, args.timeout)


if __name__ == "__main__":
    sys.exit(main())

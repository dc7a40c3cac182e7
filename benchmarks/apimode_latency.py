"""`referee audit --api-mode` as a process, against `kernelguard --api-mode` on the same files, in the same run.

kernelbot starts one pre-check process per submission (code on stdin, one JSON line out), so process latency is
what a leaderboard pays. Each round runs every tool on every file in a rotating order (so load drifts hit all of
them alike); the table gives the median wall time and the median CPU time (user+sys of the child, from rusage) of
N rounds, the ratio to KernelGuard, and a bare `python -c pass` of the same interpreter as the physical floor.

    .venv/bin/python benchmarks/apimode_latency.py [-n 21] [--real DIR] [--also-src DIR]

Bytecode: pip compiles an installed package's modules (KernelGuard's are), while an editable checkout under
PYTHONDONTWRITEBYTECODE=1 recompiles referee's ~90 modules in every process. The script compiles referee's
sources first (`compileall`, into the ignored `__pycache__` folders), as an install would; the row
"referee (no bytecode)" shows what the uncompiled checkout costs. `--real DIR` adds the largest honest and cheat
files of a collected real-data set (scripts/collect_real_submissions.py collect); `--also-src DIR` adds a row for
another referee source tree (e.g. `git archive <rev> src | tar -x -C DIR`) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "src" / "referee" / "submissions" / "examples"
HONEST = EXAMPLES / "vectoradd_py" / "submissions" / "honest_add.py"
CHEAT = EXAMPLES / "vectoradd_py" / "submissions" / "cheat_timer_patch.py"
#: lines of CUDA source in the synthetic large entry: real `load_inline` entries carry 500-2,000
LARGE_CUDA_LINES = 1500


def large_submission() -> str:
    """An honest `load_inline` entry of ~60 KB, the shape of the biggest real leaderboard files."""
    kernel = "\n".join(f"    acc{i % 8} += a[idx + {i}] * b[idx + {i}];  // unrolled step {i}"
                       for i in range(LARGE_CUDA_LINES))
    helpers = "\n\n".join(f"def _tile_config_{i}(m, n):\n    return (min(m, {16 << (i % 4)}), min(n, 64))"
                          for i in range(200))
    return (f'import torch\nfrom torch.utils.cpp_extension import load_inline\n\nCUDA_SRC = r"""\n'
            f'__global__ void dot(const float* a, const float* b, float* out, int n) {{\n'
            f'  int idx = blockIdx.x * blockDim.x + threadIdx.x;\n  float acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0, '
            f'acc4 = 0, acc5 = 0, acc6 = 0, acc7 = 0;\n{kernel}\n  out[idx] = acc0 + acc1;\n}}\n"""\n\n'
            f'{helpers}\n\n\ndef custom_kernel(data):\n    a, b = data\n    return a + b\n')


def tools(python: str, also_src: Path | None, nobyte_prefix: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    bindir = Path(python).parent
    env = dict(os.environ)
    found = {
        "referee": ([str(bindir / "referee"), "audit", "--api-mode"], env),
        "kernelguard": ([str(bindir / "kernelguard"), "--api-mode"], env),
        "referee (no bytecode)": ([str(bindir / "referee"), "audit", "--api-mode"],
                                  {**env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": nobyte_prefix}),
        "python -c pass": ([python, "-c", "pass"], env),
    }
    if also_src is not None:
        found[f"referee @ {also_src}"] = ([python, "-c", "from referee.entry import main; main()", "audit",
                                           "--api-mode"], {**env, "PYTHONPATH": str(also_src)})
    return {name: spec for name, spec in found.items() if shutil.which(spec[0][0]) or Path(spec[0][0]).exists()}


def run_once(cmd: list[str], env: dict[str, str], stdin: bytes) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, verdict summary) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, input=stdin, capture_output=True, env=env, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [ln for ln in proc.stdout.decode(errors="replace").splitlines() if ln.strip()]
    if cmd[-1] == "pass":
        return wall, cpu, "-"
    try:
        result = json.loads(lines[-1])
        summary = f"{result.get('classification')}/{'filter' if result.get('should_filter') else 'keep'}"
    except (IndexError, ValueError):
        summary = f"no JSON (exit {proc.returncode})"
    return wall, cpu, summary


def measure(files: dict[str, bytes], specs: dict, rounds: int) -> dict[tuple[str, str], dict]:
    samples: dict[tuple[str, str], dict] = {(f, t): {"wall": [], "cpu": [], "out": ""} for f in files for t in specs}
    names = list(specs)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate who runs first
        for fname, data in files.items():
            for tname in order:
                cmd, env = specs[tname]
                wall, cpu, out = run_once(cmd, env, data)
                cell = samples[(fname, tname)]
                cell["wall"].append(wall)
                cell["cpu"].append(cpu)
                cell["out"] = out
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=21)
    parser.add_argument("--real", type=Path, help="collected real-data folder (<sha256>.py files)")
    parser.add_argument("--also-src", type=Path, help="another referee src folder to time beside this one")
    parser.add_argument("--no-compile", action="store_true", help="do not compile referee's sources first")
    args = parser.parse_args()
    if not args.no_compile:
        compileall.compile_dir(str(ROOT / "src" / "referee"), quiet=1)
        if args.also_src:
            compileall.compile_dir(str(args.also_src), quiet=1)
    files = {"honest (vectoradd)": HONEST.read_bytes(), "cheat (timer patch)": CHEAT.read_bytes(),
             "large (60 KB load_inline)": large_submission().encode()}
    if args.real is not None:
        real = sorted(args.real.glob("*.py"), key=lambda p: p.stat().st_size)
        if real:
            files[f"real largest ({real[-1].stat().st_size // 1024} KB)"] = real[-1].read_bytes()
            files[f"real median ({real[len(real) // 2].stat().st_size // 1024} KB)"] = real[len(real) // 2].read_bytes()
    with tempfile.TemporaryDirectory() as nobyte:
        specs = tools(sys.executable, args.also_src, nobyte)
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        samples = measure(files, specs, args.rounds)
        load_after = Path("/proc/loadavg").read_text().split()[:3]
    print(f"# referee audit --api-mode vs kernelguard --api-mode, median of {args.rounds} rounds, python "
          f"{sys.version.split()[0]}, load average before {' '.join(load_before)} after {' '.join(load_after)}")
    print(f"{'file':28} {'tool':30} {'wall ms':>8} {'cpu ms':>8} {'wall/kg':>8} {'cpu/kg':>7}  result")
    for fname in files:
        kg = samples.get((fname, "kernelguard"))
        for tname in specs:
            cell = samples[(fname, tname)]
            wall, cpu = statistics.median(cell["wall"]) * 1e3, statistics.median(cell["cpu"]) * 1e3
            ratio_w = ratio_c = "-"
            if kg:
                kw, kc = statistics.median(kg["wall"]) * 1e3, statistics.median(kg["cpu"]) * 1e3
                ratio_w = f"{wall / kw:.2f}x" if kw else "-"
                ratio_c = f"{cpu / kc:.2f}x" if kc else "-"
            print(f"{fname:28} {tname:30} {wall:8.1f} {cpu:8.1f} {ratio_w:>8} {ratio_c:>7}  {cell['out']}")


if __name__ == "__main__":
    main()

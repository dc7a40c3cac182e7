"""How fast `referee audit-batch` and `referee loopholes grade` stop on Ctrl-C, and what they keep.

Each command runs in its own process group on a batch far longer than the measurement; once it has written a few
records, SIGINT goes to the whole group (what a terminal's Ctrl-C does) and the script times the exit. The
baseline is what "finish the queue first" would cost: for audit-batch the same batch run to the end in the same
script; for loopholes grade the queued completions times their 5 s sleep over 2 workers (running it would take
minutes). Usage: `python benchmarks/interrupt_latency.py [--repeat N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFEREE = str(Path(sys.executable).with_name("referee"))
EXAMPLES = Path(__file__).resolve().parents[1] / "src/referee/submissions/examples"
HONEST = EXAMPLES / "prefixsum_py/submissions/honest_cumsum.py"
FIRST = 5  # records written before Ctrl-C


def _measure(cmd: list[str], out: Path) -> tuple[float, float, int, int]:
    """(seconds to the first records, seconds from SIGINT to exit, records kept, exit code)."""
    out.unlink(missing_ok=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    while proc.poll() is None and not (out.exists() and len(out.read_text().splitlines()) >= FIRST):
        time.sleep(0.05)
    first = time.monotonic() - start
    pressed = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=600)
    return first, time.monotonic() - pressed, len(out.read_text().splitlines()), proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        subs = root / "subs"
        subs.mkdir()
        for i in range(1500):
            (subs / f"s{i:04d}.py").write_text(HONEST.read_text())
        problem = json.loads(subprocess.run([REFEREE, "loopholes", "problems", "--json"], capture_output=True,
                                            text=True, check=True).stdout)[0]["id"]
        slow = "```python\nimport time\ntime.sleep(5)\n```"
        rows = [{"problem_id": problem, "completion": "```python\nprint(1)\n```" if i < FIRST else slow}
                for i in range(200)]
        (root / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        cases = {
            "audit-batch (1500 files, static)": ([REFEREE, "audit-batch", str(subs), "--no-dynamic", "-j", "2",
                                                  "--out", str(root / "a.jsonl")], root / "a.jsonl", 1500),
            "loopholes grade (200, 5 s each)": ([REFEREE, "loopholes", "grade", str(root / "c.jsonl"), "--out",
                                                 str(root / "r.jsonl"), "-j", "2"], root / "r.jsonl", 200),
        }
        print(f"{'command':36} {'stop after SIGINT':>18} {'finish the queue':>22} {'kept':>6} {'exit':>5}")
        for name, (cmd, out, total) in cases.items():
            runs = [_measure(cmd, out) for _ in range(args.repeat)]
            stop = statistics.median(r[1] for r in runs)
            queued = statistics.median(total - r[2] for r in runs)
            kept = statistics.median(r[2] for r in runs)
            codes = sorted({r[3] for r in runs})
            if "grade" in name:
                est = 5.0 * queued / 2  # 2 workers, 5 s a completion
            else:
                began = time.monotonic()
                subprocess.run(cmd, capture_output=True, check=False)
                est = time.monotonic() - began
            print(f"{name:36} {stop:>16.2f} s {est:>20.1f} s {kept:>6.0f} {','.join(map(str, codes)):>5}")


if __name__ == "__main__":
    main()

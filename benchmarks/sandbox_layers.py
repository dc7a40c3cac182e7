"""Cost of each sandbox isolation layer per job, measured by switching one layer off at a time.

Prints, for a trivial job run back to back on one warm fork server, the milliseconds per job with every layer
on, with all measured layers off, and the saving of switching each single layer off (best of interleaved
rounds, so that host load hits every configuration alike), plus the CPU time per job of both extremes for a
job that may fork (every layer active) and a single-process one (no cgroup, no IPC namespace: the grader's).

    python benchmarks/sandbox_layers.py            # 100 jobs x 3 rounds per configuration
    python benchmarks/sandbox_layers.py --jobs 300 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import resource

from referee.sandbox import Job, Limits, Sandbox
from referee.sandbox.info import MEASURE_LIMITS, MEASURED, PROGRAM, measure


def _cpu_ms_per_job(layers_off: tuple[str, ...], jobs: int, single: Limits | None = None) -> float:
    """CPU of the fork server and its jobs per job (the server's rusage reaches us when it exits)."""

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    spent = []
    for count in (10, 10 + jobs):
        before = children_cpu()
        with Sandbox(workers=1, layers_off=layers_off) as sandbox:
            for _ in range(count):
                sandbox.run(Job(code=PROGRAM, limits=single if single else MEASURE_LIMITS))
        spent.append(children_cpu() - before)
    return (spent[1] - spent[0]) * 1000 / jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report = measure(args.jobs, args.rounds)
    print(f"{args.jobs} jobs x {args.rounds} rounds per configuration, one worker, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'layer':<14}{'state':<7}{'ms/job saved when off':>24}")
    layers = report["isolation"]["layers"]
    for name in MEASURED:
        state = layers.get(name if name != "landlock_read" else "landlock", {})
        on = state.get("on") and (name != "landlock_read" or state.get("reads"))
        print(f"{name:<14}{'on' if on else 'OFF':<7}{report['cost_ms'][name]:>24.3f}")
    print(f"all layers on: {report['ms_per_job']:.3f} ms/job ({report['jobs_per_s']:.0f} jobs/s); "
          f"measured layers off: {report['ms_per_job_without_layers']:.3f} ms/job")
    for label, single in (("may fork (max_processes=2)", None), ("single process (the grader's jobs)", Limits())):
        on_cpu, off_cpu = _cpu_ms_per_job((), args.jobs, single), _cpu_ms_per_job(MEASURED, args.jobs, single)
        print(f"CPU per job (server + job), {label}: all on {on_cpu:.3f} ms, measured layers off {off_cpu:.3f} ms, "
              f"ratio {on_cpu / off_cpu:.2f}x")


if __name__ == "__main__":
    main()

"""What Ray costs: grades/s and audits/s on the local pool vs Ray with 1 and 2 workers, same run, same items.

    .venv/bin/python benchmarks/ray_overhead.py                 # 400 grades, 18 dynamic audits, 2 workers max
    .venv/bin/python benchmarks/ray_overhead.py -n 1000 --audits 36 --repeat 2

Backends, each on the same items in the same process:
- local pool, 1 and 2 sandbox workers (`LocalExecutor` / `audit_paths` with a probe sandbox): the baseline;
- Ray with 1 and 2 workers (`RayExecutor` / `RayAuditExecutor`, one actor per worker, each with its own warm
  sandbox of one fork server), on a local `ray.init(num_cpus=2)`.

Start-up (Ray itself, then the actors and their sandboxes) is timed apart from the steady state, and every backend's
records are checked against the local pool's (same passed / gt_correct / exploited, same verdicts; exit 1 if not).
On a 2-core machine Ray cannot add cores, so the ratio shows the per-item overhead of the actor round trip, not a
speed-up; across nodes each worker adds its machine's cores.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

from grade_throughput import build_tasks

from referee.loopholes.batch import LocalExecutor


def _grade_view(rewards) -> list[tuple]:
    return [(r.passed, r.gt_correct, r.exploited, r.status) for r in rewards]


def bench_grades(tasks, workers: int, backend: str) -> tuple[float, float, list[tuple]]:
    """(start-up seconds, steady seconds, records) of one backend on the tasks."""
    t0 = time.perf_counter()
    if backend == "local":
        executor = LocalExecutor(workers=workers)
    else:
        from referee.scale import RayExecutor

        executor = RayExecutor("auto", workers=workers)
    startup = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        rewards = list(executor.map(tasks))
        return startup, time.perf_counter() - t1, _grade_view(rewards)
    finally:
        executor.close()


def _audit_items(n: int) -> tuple[Path, list[Path]]:
    from referee.submissions.task import bundled_tasks_dir

    source = sorted((bundled_tasks_dir() / "vectoradd_py" / "submissions").glob("*.py"))
    folder = Path(tempfile.mkdtemp(prefix="referee-ray-audits-"))
    paths = []
    for i in range(n):
        path = folder / f"{i:03d}_{source[i % len(source)].name}"
        path.write_bytes(source[i % len(source)].read_bytes())
        paths.append(path)
    return folder, paths


def bench_audits(folder: Path, paths: list[Path], workers: int, backend: str) -> tuple[float, float, list[str]]:
    from referee.submissions.audit import AuditOptions
    from referee.submissions.batch import audit_paths
    from referee.submissions.probes import make_sandbox
    from referee.submissions.task import resolve_task

    task = resolve_task("vectoradd_py")
    options = AuditOptions(dynamic=True, timeout_s=60)
    t0 = time.perf_counter()
    sandbox = executor = None
    if backend == "local":
        sandbox = make_sandbox(workers=workers, timeout_s=60)
    else:
        from referee.scale import RayAuditExecutor

        executor = RayAuditExecutor("auto", task=task, options=options, workers=workers, timeout_s=60)
    startup = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        reports = audit_paths(paths, folder, task, options, io.StringIO(), sandbox=sandbox, jobs=workers,
                              executor=executor)
        return startup, time.perf_counter() - t1, [f"{r.subject}:{r.verdict.value}" for r in reports]
    finally:
        (sandbox or executor).close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=400, help="completions to grade")
    parser.add_argument("--audits", type=int, default=18, help="submissions to audit (dynamic probes)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray_init_s = time.perf_counter() - t0
    tasks = [task for task, _ in build_tasks(args.n, args.seed)]
    folder, paths = _audit_items(args.audits)
    backends = [("local", 1), ("local", 2), ("ray", 1), ("ray", 2)]
    rows, ok = [], True
    for rep in range(args.repeat):
        reference = None
        for backend, workers in backends:
            start, steady, view = bench_grades(tasks, workers, backend)
            reference = reference or view
            ok &= view == reference
            rows.append(("grade", rep, backend, workers, len(tasks), start, steady))
        reference = None
        for backend, workers in backends:
            start, steady, view = bench_audits(folder, paths, workers, backend)
            reference = reference or view
            ok &= view == reference
            rows.append(("audit", rep, backend, workers, len(paths), start, steady))
    ray.shutdown()

    print(f"\nreferee on Ray vs the local pool: {os.cpu_count()} CPUs, Ray started in {ray_init_s:.1f} s "
          f"(shared machine: figures taken under load)\n")
    print(f"  {'job':<6} {'rep':>3} {'backend':<8} {'workers':>7} {'items':>6} {'start s':>8} {'steady s':>9} "
          f"{'items/s':>8} {'vs local same workers':>22}")
    base = {(job, rep, w): n / s for job, rep, b, w, n, _, s in rows if b == "local"}
    for job, rep, backend, workers, n, start, steady in rows:
        rate = n / steady
        ratio = rate / base[(job, rep, workers)]
        print(f"  {job:<6} {rep:>3} {backend:<8} {workers:>7} {n:>6} {start:>8.2f} {steady:>9.2f} {rate:>8.1f} "
              f"{ratio:>21.2f}x")
    print(f"\n  same records on every backend: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())

"""The audit service at scale: several API processes and audit workers on PostgreSQL, next to SQLite single-process.

    .venv/bin/python benchmarks/service_scale.py --pg-url postgresql+psycopg://postgres@127.0.0.1:55448/postgres

Same load and measurement as `benchmarks/service_load.py` (whose helpers it reuses): N submissions from concurrent
keep-alive clients, then wait until every accepted audit is finished. Configurations, one run:

* `sqlite 1 API + 2 workers`: the embedded default (the figure the single-process service is known by);
* `postgresql 1 API + 2 workers`: the same topology on PostgreSQL (what the database alone changes);
* `postgresql 2 API + 2 workers`: `referee serve --workers 2` (two uvicorn processes on one port);
* `postgresql 2 API + 2 cpu + 1 cuda worker`: device routing: a tenth of the submissions are for a task whose
  reference runs on CUDA; the GPU worker (`--requires cuda`) must finish all of those and the CPU workers
  (`--requires cpu`) none. Audits run static-only here (no GPU on this machine), so routing is what is measured.

Each PostgreSQL configuration gets a fresh scratch database. Baselines in the same run: GET /healthz over the same
clients (the HTTP floor). On 2 shared cores more processes mostly add contention: the point is that nothing is
lost and how close the service stays to its floor, not a speed-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from service_load import REFEREE, TOKEN, _corpus, _env, _free_port, _hammer, _percentile, stop_processes
from sqlalchemy import func, select

from referee.client import wait_until_healthy
from referee.store.scratch import scratch_pg_database

CUDA_TASK = "vectoradd_cuda"


def _cuda_files() -> dict[str, str]:
    from referee.submissions.task import bundled_tasks_dir

    root = bundled_tasks_dir()
    files = {n: (root / "vectoradd_py" / n).read_text() for n in ("task.yml", "reference.py", "task.py")}
    files["utils.py"] = (root / "utils.py").read_text()
    files["task.yml"] = files["task.yml"].replace("device: cpu", "device: cuda")
    return files


def run_config(label: str, db_url: str, *, api: int, workers: int, gpu_worker: bool, n: int, clients: int,
               scratch: Path) -> dict[str, object]:
    task, codes = _corpus()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = _env(db_url)
    procs: list[subprocess.Popen] = []
    logs = scratch / label.replace(" ", "_")
    logs.mkdir()
    try:
        serve = subprocess.Popen([REFEREE, "serve", "--port", str(port), "--workers", str(api),
                                  "--log-level", "warning"], env=env, stdout=(logs / "serve.log").open("w"),
                                 stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(serve)
        if not wait_until_healthy(url, timeout=90, alive=lambda: serve.poll() is None):
            raise RuntimeError((logs / "serve.log").read_text()[-2000:])
        if gpu_worker:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as admin:
                admin.post("/admin/tasks", json={"name": CUDA_TASK, "files": _cuda_files()}).raise_for_status()
        health_s, health_lat, _ = _hammer(url, clients, n, lambda c, i: c.get("/healthz").status_code)
        base = ["--poll-seconds", "0.05", "--log-level", "warning", "--option", "dynamic=false"]
        fleet = [(f"cpu{i}", ["--requires", "cpu"] if gpu_worker else []) for i in range(workers)]
        if gpu_worker:
            fleet.append(("gpu0", ["--requires", "cuda"]))
        for name, extra in fleet:
            procs.append(subprocess.Popen([REFEREE, "worker", *base, *extra, "--name", name], env=env,
                                          stdout=(logs / f"{name}.log").open("w"), stderr=subprocess.STDOUT,
                                          start_new_session=True))

        def submit(client: httpx.Client, i: int) -> object:
            target = CUDA_TASK if gpu_worker and i % 10 == 0 else task
            response = client.post("/submissions", json={"task": target, "code": codes[i % len(codes)]
                                                         + f"\n# scale test {i}\n", "user_id": f"u{i % 97}"})
            return ("ok", response.json()["audit_id"]) if response.status_code == 202 else ("refused", 0)

        started = time.perf_counter()
        submit_s, submit_lat, results = _hammer(url, clients, n, submit)
        accepted = {v for kind, v in results if kind == "ok"}
        done, routing = _drain(db_url, accepted, procs[1:], started)
        drain_s = time.perf_counter() - started
        return {"label": label, "rate": n / submit_s, "health": n / health_s,
                "p50": statistics.median(submit_lat) * 1000, "p99": _percentile(submit_lat, 0.99) * 1000,
                "health_p99": _percentile(health_lat, 0.99) * 1000, "drain_s": drain_s,
                "audits_s": len(accepted) / drain_s, "lost": len(accepted) - done,
                "refused": n - len(accepted), "routing": routing}
    finally:
        stop_processes(procs, timeout_s=60)


def _drain(db_url: str, accepted: set[int], workers: list[subprocess.Popen], started: float,
           timeout_s: float = 1800.0) -> tuple[int, dict[str, dict[str, int]]]:
    """Wait for every accepted audit to finish; (finished count, {worker: {task: audits}})."""
    from referee.store.db import Store
    from referee.store.models import Audit, Submission, Task

    store = Store(db_url)
    try:
        finished = 0
        while time.perf_counter() - started < timeout_s:
            with store.read() as session:
                finished = session.execute(select(func.count()).where(Audit.id.in_(accepted),
                                                                      Audit.status.in_(["done", "error"]))).scalar()
            if finished >= len(accepted) or any(p.poll() is not None for p in workers):
                break
            time.sleep(0.2)
        with store.read() as session:
            rows = session.execute(
                select(Audit.lease_owner, Task.name, func.count())
                .join(Submission, Submission.id == Audit.submission_id)
                .join(Task, Task.id == Submission.task_id).where(Audit.id.in_(accepted))
                .group_by(Audit.lease_owner, Task.name)).all()
        routing: dict[str, dict[str, int]] = {}
        for owner, task, count in rows:
            routing.setdefault(str(owner), {})[task] = int(count)
        return int(finished), routing
    finally:
        store.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=os.environ.get("REFEREE_TEST_PG_URL"),
                        help="PostgreSQL server (a scratch database is made per configuration)")
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1, help="run every configuration this many times")
    args = parser.parse_args()
    if not args.pg_url:
        print("give --pg-url (or REFEREE_TEST_PG_URL); see scripts/pg.sh", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="referee-scale-"))
    configs = [("sqlite 1 API + 2 workers", "sqlite", 1, 2, False),
               ("postgresql 1 API + 2 workers", "pg", 1, 2, False),
               ("postgresql 2 API + 2 workers", "pg", 2, 2, False),
               ("postgresql 2 API + 2 cpu + 1 cuda worker", "pg", 2, 2, True)]
    results = []
    for rep in range(args.repeat):
        for label, kind, api, workers, gpu in configs:
            run = dict(api=api, workers=workers, gpu_worker=gpu, n=args.submissions, clients=args.clients,
                       scratch=scratch / f"r{rep}")
            (scratch / f"r{rep}").mkdir(exist_ok=True)
            if kind == "sqlite":
                results.append(run_config(label, f"sqlite:///{scratch / f'r{rep}-{api}.sqlite3'}", **run))
            else:
                with scratch_pg_database(args.pg_url, prefix="referee_scale") as url:
                    results.append(run_config(label, url, **run))
    print(f"\nreferee service at scale: {args.submissions} submissions, {args.clients} clients, static audits, "
          f"{os.cpu_count()} CPUs (shared machine: figures taken under load)\n")
    header = f"  {'configuration':<42} {'subm/s':>8} {'healthz/s':>9} {'p50 ms':>7} {'p99 ms':>7} " \
             f"{'audits/s':>8} {'lost':>5} {'refused':>7}"
    print(header)
    for r in results:
        print(f"  {r['label']:<42} {r['rate']:>8.0f} {r['health']:>9.0f} {r['p50']:>7.1f} {r['p99']:>7.1f} "
              f"{r['audits_s']:>8.1f} {r['lost']:>5} {r['refused']:>7}")
    for r in results:
        if "cuda" in r["label"]:
            print(f"\n  routing ({r['label']}): " + "; ".join(
                f"{owner}: " + ", ".join(f"{t} {c}" for t, c in sorted(tasks.items()))
                for owner, tasks in sorted(r["routing"].items())))
    bad = [r for r in results if r["lost"] or r["refused"]]
    misrouted = [r for r in results if "cuda" in r["label"] and any(
        (owner.startswith("gpu") and set(tasks) - {CUDA_TASK}) or (owner.startswith("cpu") and CUDA_TASK in tasks)
        for owner, tasks in r["routing"].items())]
    return 1 if bad or misrouted else 0


if __name__ == "__main__":
    sys.exit(main())

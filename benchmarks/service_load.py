"""Load test of the audit service: N submissions from concurrent clients against `referee serve` + 2 workers.

    .venv/bin/python benchmarks/service_load.py                      # 1,000 submissions, SQLite default
    REFEREE_DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres .venv/bin/python benchmarks/service_load.py
    .venv/bin/python benchmarks/service_load.py --audit full         # the real engine with its dynamic probes

Everything runs on loopback as separate processes, as in production: one `referee serve` (uvicorn), two
`referee worker` processes, and client threads each with a keep-alive HTTP connection. It prints submissions/s,
p50/p99 submit latency, the time until every audit is finished, audits/s, and lost audits (accepted by the API
but never finished; must be 0). Baselines measured in the same run: `GET /livez` over the same connections
(the HTTP floor) and `repository.submit` called in-process (the database floor), so the table shows what the
service adds on top of each.

`--audit static` (the default) runs the real engine with its static rules only: a full audit runs every
submission's code in the sandbox several times, which measures the engine, not the service, and would take
minutes for 1,000 submissions on 2 cores. `--audit standin` uses a trivial auditor (pure queue throughput).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from referee.client import wait_until_healthy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REFEREE = str(Path(sys.executable).with_name("referee"))
TOKEN = "benchmark-admin-token-0123456789"


def standin_auditor(code, task_name, task_files, options, sandbox=None):
    """A no-op audit (PASS, no findings): isolates the queue and HTTP costs from the engine's."""
    from referee.report import Report

    return Report(subject=f"{task_name}/submission.py", kind="submission")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFEREE_")}
    env.update({"REFEREE_DATABASE_URL": db_url, "REFEREE_ADMIN_TOKEN": TOKEN,
                "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])})
    return env


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _corpus() -> tuple[str, list[str]]:
    """A bundled task and its example submissions (honest and cheating), or a tiny stand-in."""
    try:
        from referee.submissions.task import bundled_tasks_dir

        folder = bundled_tasks_dir() / "vectoradd_py"
        codes = [p.read_text() for p in sorted((folder / "submissions").glob("*.py"))]
        codes.append((folder / "submission.py").read_text())
        return "vectoradd_py", codes
    except Exception:
        return "vectoradd_py", ["def custom_kernel(data):\n    a, b = data\n    return a + b\n"]


def _hammer(url: str, clients: int, total: int, request) -> tuple[float, list[float], list[object]]:
    """Run `total` calls of request(client, i) from `clients` threads; (wall seconds, latencies, results)."""
    latencies: list[float] = []
    results: list[object] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def run() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                result = request(client, i)
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    results.append(result)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, results


def _db_floor(db_url: str, task: str, codes: list[str], n: int) -> float:
    """In-process repository.submit rate on a scratch copy of the schema (same database kind)."""
    from referee.store import repository
    from referee.store.db import Store

    store = Store(db_url)
    try:
        started = time.perf_counter()
        for i in range(n):
            repository.submit(store, task=task, code=codes[i % len(codes)] + f"\n# floor {i}\n", user_id="floor")
        return n / (time.perf_counter() - started)
    finally:
        store.dispose()

def stop_processes(procs: list[subprocess.Popen], timeout_s: float) -> None:
    """SIGTERM to all (the newest first: workers before the server they report to), then SIGKILL what lingers."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="`referee worker` processes")
    # The database comes from REFEREE_DATABASE_URL, never from the command line (where its password would show).
    parser.add_argument("--audit", choices=["static", "full", "standin"], default="static")
    parser.add_argument("--drain-timeout", type=float, default=1800.0)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="referee-load-"))
    db_url = os.environ.get("REFEREE_DATABASE_URL") or f"sqlite:///{scratch / 'referee.sqlite3'}"
    task, codes = _corpus()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
    env = _env(db_url)
    try:
        serve = subprocess.Popen([REFEREE, "serve", "--port", str(port), "--log-level", "warning"], env=env,
                                 stdout=(scratch / "serve.log").open("w"), stderr=subprocess.STDOUT,
                                 start_new_session=True)
        procs.append(serve)
        if not wait_until_healthy(url, timeout=60, alive=lambda: serve.poll() is None):
            print((scratch / "serve.log").read_text()[-2000:], file=sys.stderr)
            return 3
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as admin:
            if task not in {t["name"] for t in admin.get("/admin/tasks").json()["tasks"]}:
                admin.post("/admin/tasks", json={"name": task, "files": {
                    "task.yml": "tests:\n  - {size: 4, seed: 1}\n",
                    "reference.py": "def generate_input(size, seed): ...\ndef ref_kernel(d): ...\n"
                                    "def check_implementation(d, o): ...\n"}}).raise_for_status()

        # baseline, same run: the HTTP floor (the database floor is measured after the drain, workers stopped)
        healthz_s, healthz_lat, _ = _hammer(url, args.clients, args.submissions,
                                            lambda c, i: c.get("/livez").status_code)

        worker_args = ["--poll-seconds", "0.05", "--log-level", "warning"]
        if args.audit == "standin":
            worker_args += ["--auditor", "service_load:standin_auditor"]
        elif args.audit == "static":
            worker_args += ["--option", "dynamic=false"]
        for n in range(args.workers):
            procs.append(subprocess.Popen([REFEREE, "worker", *worker_args], env=env,
                                          stdout=(scratch / f"worker{n}.log").open("w"), stderr=subprocess.STDOUT,
                                          start_new_session=True))

        def submit(client: httpx.Client, i: int) -> object:
            code = codes[i % len(codes)] + f"\n# load test submission {i}\n"
            response = client.post("/submissions", json={"task": task, "code": code, "user_id": f"user{i % 97}",
                                                         "leaderboard": "load", "file_name": "submission.py"})
            if response.status_code == 202:
                return ("ok", response.json()["audit_id"])
            return ("refused", response.status_code)

        started = time.perf_counter()
        submit_s, submit_lat, results = _hammer(url, args.clients, args.submissions, submit)
        accepted_ids = {value for kind, value in results if kind == "ok"}
        refused = sum(1 for kind, _ in results if kind != "ok")

        from sqlalchemy import func, select

        from referee.store.db import Store
        from referee.store.models import Audit

        store = Store(db_url)
        finished: dict[str, int] = {}
        while time.perf_counter() - started < args.drain_timeout:
            with store.read() as session:
                rows = session.execute(select(Audit.status, func.count()).where(Audit.id.in_(accepted_ids))
                                       .group_by(Audit.status)).all()
            finished = {status: n for status, n in rows}
            if finished.get("done", 0) + finished.get("error", 0) >= len(accepted_ids):
                break
            if any(p.poll() is not None for p in procs[1:]):
                print("a worker exited early; see", scratch, file=sys.stderr)
                break
            time.sleep(0.2)
        drain_s = time.perf_counter() - started
        with store.read() as session:
            verdicts = dict(session.execute(select(Audit.verdict, func.count()).where(Audit.id.in_(accepted_ids))
                                            .group_by(Audit.verdict)).all())
        store.dispose()
        lost = len(accepted_ids) - finished.get("done", 0) - finished.get("error", 0)
        for proc in procs[1:]:
            proc.send_signal(signal.SIGTERM)
        for proc in procs[1:]:
            proc.wait(timeout=60)
        floor_rate = _db_floor(db_url, task, codes, min(300, args.submissions))

        n = args.submissions
        rate = n / submit_s
        health_rate = n / healthz_s
        kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"
        print(f"\nreferee service load test: {n} submissions, {args.clients} clients, {args.workers} workers, "
              f"{kind}, audit={args.audit}, {os.cpu_count()} CPUs\n")
        rows = [
            ("submissions/s (POST /submissions)", f"{rate:,.0f}", f"{rate / health_rate:.2f}x of GET /livez"),
            ("baseline: GET /livez req/s", f"{health_rate:,.0f}", "HTTP floor, same clients"),
            ("baseline: repository.submit/s in-process", f"{floor_rate:,.0f}",
             f"service at {rate / floor_rate:.2f}x of it"),
            ("submit latency p50", f"{statistics.median(submit_lat) * 1000:.1f} ms",
             f"livez p50 {statistics.median(healthz_lat) * 1000:.1f} ms"),
            ("submit latency p99", f"{_percentile(submit_lat, 0.99) * 1000:.1f} ms",
             f"livez p99 {_percentile(healthz_lat, 0.99) * 1000:.1f} ms"),
            ("time to drain (first submit -> all finished)", f"{drain_s:.1f} s",
             f"{len(accepted_ids) / drain_s:.1f} audits/s"),
            ("accepted (202) / refused", f"{len(accepted_ids)} / {refused}", ""),
            ("finished done / error", f"{finished.get('done', 0)} / {finished.get('error', 0)}",
             ", ".join(f"{k or 'none'} {v}" for k, v in sorted(verdicts.items(), key=lambda kv: str(kv[0])))),
            ("LOST audits (accepted, never finished)", str(lost), "must be 0"),
        ]
        width = max(len(r[0]) for r in rows)
        for label, value, note in rows:
            print(f"  {label:<{width}}  {value:>14}  {note}")
        if os.environ.get("REFEREE_KEEP_LOAD_LOGS") == "1":
            print(f"\nlogs: {scratch}")
        return 0 if lost == 0 and refused == 0 else 1
    finally:
        stop_processes(procs, timeout_s=30)
        if os.environ.get("REFEREE_KEEP_LOAD_LOGS") != "1":
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())


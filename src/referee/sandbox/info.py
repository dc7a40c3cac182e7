"""`referee sandbox-info`: which isolation layers this machine gives the sandbox, why any is off, and what each
costs per job (measured here and now by switching one layer off at a time)."""

from __future__ import annotations

import time
from typing import Any

from referee.sandbox.limits import Limits
from referee.sandbox.pool import Job, Sandbox

#: what each layer stops (docs/sandbox.md says the same at more length)
STOPS = {
    "netns": "network access (no interface is up)",
    "setuid": "root's files and rights; makes RLIMIT_NPROC and the leftover sweep work",
    "mountns": "writes and mounts outside the server's own mount table; per-job tmpfs",
    "view": "reading the checkout, databases, package data, other /tmp content, unix sockets outside",
    "ipcns": "SysV IPC and POSIX queues shared with, or left for, other jobs",
    "pidns": "seeing other processes (/proc cmdlines), leftover daemons outliving the job",
    "cgroup": "memory, process and CPU limits evaded by using several processes",
    "seccomp": "ptrace, namespaces, bpf, io_uring, userfaultfd, keyrings, perf, module loading",
    "landlock": "writes outside the job, TCP, signals and abstract sockets outside its domain; reads outside "
                "the view",
}
#: layers that can be switched off one at a time to measure them (setuid and netns stay: tests need them)
MEASURED = ("view", "ipcns", "pidns", "cgroup", "seccomp", "landlock_read", "landlock")
PROGRAM = "print(sum(range(1000)))"
#: two processes allowed, so that every layer is active (the cgroup and the IPC namespace serve only jobs that
#: may fork; a single-process job does without them)
MEASURE_LIMITS = Limits(max_processes=2)


def _ms_per_job(sandbox: Sandbox, jobs: int) -> float:
    start = time.perf_counter()
    for _ in range(jobs):
        result = sandbox.run(Job(code=PROGRAM, limits=MEASURE_LIMITS))
        if result.stdout != b"499500\n":
            raise RuntimeError(f"sandbox job failed: {result.summary()} {result.stderr[-300:]!r}")
    return (time.perf_counter() - start) * 1000 / jobs


def measure(jobs: int = 100, rounds: int = 3) -> dict[str, Any]:
    """Per-job milliseconds with every layer on, and the saving of switching each one off (one worker, jobs run
    back to back; the best of `rounds` interleaved rounds, so that host load hits every configuration alike)."""
    configs: dict[str, tuple[str, ...]] = {"all": (), **{name: (name,) for name in MEASURED}, "none": MEASURED}
    sandboxes = {name: Sandbox(workers=1, layers_off=off) for name, off in configs.items()}
    try:
        best = dict.fromkeys(configs, float("inf"))
        for _ in range(rounds):
            for name, sandbox in sandboxes.items():
                best[name] = min(best[name], _ms_per_job(sandbox, jobs))
        info = sandboxes["all"].isolation
    finally:
        for sandbox in sandboxes.values():
            sandbox.close()
    costs = {name: round(best["all"] - best[name], 3) for name in MEASURED}
    return {"isolation": info, "ms_per_job": round(best["all"], 3), "ms_per_job_without_layers": round(best["none"], 3),
            "cost_ms": costs, "jobs_per_s": round(1000 / best["all"], 1), "jobs": jobs, "rounds": rounds}


def rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(layer, on/off, why off, cost per job) for the table."""
    layers = report["isolation"].get("layers", {})
    costs = report.get("cost_ms", {})
    out = []
    for name, state in layers.items():
        cost = costs.get(name)
        if name == "landlock" and "landlock_read" in costs:
            cost_text = f"{costs['landlock']:+.3f} ms (reads: {costs['landlock_read']:+.3f} ms)"
        else:
            cost_text = f"{cost:+.3f} ms" if cost is not None else "-"
        out.append((name, "on" if state["on"] else "OFF", state.get("why") or STOPS.get(name, ""), cost_text))
    return out


def show(json_out: bool, jobs: int) -> None:
    """Print the report as a table, or as JSON."""
    import json

    report = measure(jobs)
    if json_out:
        print(json.dumps(report, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"referee sandbox on this machine: {report['ms_per_job']:.2f} ms per job with every layer "
                        f"({report['ms_per_job_without_layers']:.2f} ms without the measured ones)")
    for column in ("layer", "state", "stops (or why it is off)", "cost per job"):
        table.add_column(column)
    for row in rows(report):
        table.add_row(*row)
    console = Console()
    console.print(table)
    console.print("cost: time per job saved by switching only that layer off (best of interleaved rounds, one "
                  "worker); under load differences below ~0.1 ms are noise")

"""Dynamic probes: run a submission in the sandbox against its task's reference and report what it did.

`run_probes(code, task, sandbox)` builds a plan (`plan.py`), ships the task files and the submission into one
sandboxed child whose driver (`driver.py`) computes reference outputs before importing the submission, and lets
the trusted handler (`handler.py`) judge every output as it arrives; `verdicts.py` turns that into findings.
The sandbox must preload torch (`make_sandbox` does), so each run costs one fork, not an interpreter start.
"""

from __future__ import annotations

import atexit
import os
import secrets
import threading
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from referee.sandbox import Job, Limits, Sandbox
from referee.submissions.probes.plan import build_plan
from referee.submissions.probes.rules import PROBE_RULES, ProbeRule, probe_finding, sarif_catalog
from referee.submissions.task import Task

if TYPE_CHECKING:
    from referee.report import Finding

__all__ = ["PROBE_PRELOAD", "PROBE_RULES", "ProbeOutcome", "ProbeRule", "gpu_present", "make_sandbox",
           "probe_blocker", "probe_limits", "probes_can_run", "run_probes", "sarif_catalog"]

DRIVER = "referee.submissions.probes.driver:child_main"
HANDLER = "referee.submissions.probes.handler:ProbeSupervisor"
CUDA_ADDRESS_SPACE_MB = 1 << 20
#: largest file a job may write: inductor's precompiled torch header is ~100 MB (a smaller cap fails g++ with a
#: "C++ compile error" that reads as the submission's)
FILE_SIZE_MB = 512
#: memory per rank of a distributed run (torch + gloo + the task's tensors)
RANK_MEMORY_MB = 1536
#: imported once per fork server so every probe run starts warm
PROBE_PRELOAD = ["torch", "numpy", "referee.report", "referee.submissions.probes.driver",
                 "referee.submissions.probes.handler", "referee.submissions.probes.verdicts"]


@dataclass
class ProbeOutcome:
    """What the dynamic probes concluded about one submission."""

    status: str  # ran | skipped | degraded
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    degraded: bool = False


def probe_limits(timeout_s: float = 60.0, memory_mb: int = 4096) -> Limits:
    """Limits for one probe run: torch needs address space and a few threads; a run is one process."""
    return Limits(cpu_seconds=timeout_s, wall_seconds=timeout_s + 5, memory_mb=memory_mb, file_size_mb=FILE_SIZE_MB,
                  open_files=256, max_processes=64, max_output_bytes=256 << 10, max_message_bytes=64 << 20)


def make_sandbox(workers: int | None = None, timeout_s: float = 60.0, memory_mb: int = 4096) -> Sandbox:
    """A sandbox whose fork servers preload torch and the probe driver (takes a few seconds to start)."""
    return Sandbox(workers=workers, limits=probe_limits(timeout_s, memory_mb), preload=PROBE_PRELOAD)


def gpu_present() -> bool:
    """Cheap check without importing torch: is any GPU device node visible on this machine?"""
    return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd"))


def _payload(task: Task, plan: dict[str, Any], filename: str) -> dict[str, Any]:
    settings = asdict(task.settings)
    if settings.get("size_args") is not None:
        settings["size_args"] = list(settings["size_args"])
    return {**plan, "settings": settings, "needs_cuda": task.needs_cuda, "filename": filename,
            "gpu_node": task.needs_cuda and gpu_present(), "static_contract": _static_contract(task)}


def _static_contract(task: Task) -> dict[str, Any] | None:
    """What reading reference.py says the members of `data` are (the dynamic contract probe confirms it)."""
    from referee.submissions.analysis.contract import task_contract

    try:
        return task_contract(task.reference).as_dict()
    except Exception:
        return None


def probe_blocker(task: Task) -> str | None:
    """Why the probes cannot run this task on this machine (the environment's limit, so the audit is DEGRADED)."""
    if task.lang != "py":
        return f"dynamic probes cannot run: task language {task.lang!r} is not Python"
    layout = task.probe_blocker
    if layout is not None:
        return f"dynamic probes cannot run: {layout}"
    if task.distributed:  # run as a CPU port (probes/ranks.py) unless the reference needs NCCL or CUDA itself
        from referee.submissions.probes.ranks import port_blocker, ranks_of

        why = port_blocker(task)
        if why is None:
            return None
        return (f"dynamic probes cannot run: the task is distributed ({ranks_of(task)} ranks) and needs {why}; "
                "CPU ranks (gloo) run only torch ops and torch.distributed collectives")
    if task.needs_cuda and not gpu_present():
        return "dynamic probes cannot run: the task needs CUDA and this machine has no GPU"
    return None


def probes_can_run(task: Task) -> bool:
    return probe_blocker(task) is None


_distributed: Sandbox | None = None
_distributed_lock = threading.Lock()


def distributed_sandbox() -> Sandbox:
    """One process-wide sandbox for distributed runs: its servers bring up loopback and leave TCP to the network
    namespace (`landlock_tcp` off), so the ranks' gloo sockets connect on 127.0.0.1 and nowhere else."""
    global _distributed
    with _distributed_lock:
        if _distributed is None or _distributed._closed:
            _distributed = Sandbox(workers=1, limits=probe_limits(), preload=PROBE_PRELOAD,
                                   layers_off=("landlock_tcp",))
            atexit.register(_distributed.close)
        return _distributed


def run_probes(code: str, task: Task, sandbox: Sandbox | None, *, filename: str = "submission.py",
               seed: int | None = None, timeout_s: float = 60.0, memory_mb: int = 4096,
               soak_calls: int = 100) -> ProbeOutcome:
    """Probe one submission. Never raises for anything the submission does; infrastructure trouble is `degraded`.

    A distributed task runs as a CPU port in `distributed_sandbox()` (whatever `sandbox` is given)."""
    blocker = probe_blocker(task)
    if blocker is not None:  # the environment's limit, not the submission's: DEGRADED with the reason
        return ProbeOutcome("degraded", notes=[blocker], metrics={"status": "degraded", "reason": blocker},
                            degraded=True)
    ranks = 1
    if task.distributed:
        from referee.submissions.probes.ranks import PORT_SOAK_CALLS, cpu_port, ranks_of

        ranks, task, sandbox = ranks_of(task), cpu_port(task), distributed_sandbox()
        soak_calls, timeout_s = min(soak_calls, PORT_SOAK_CALLS), timeout_s * ranks  # ranks share the cores
        memory_mb = max(memory_mb, RANK_MEMORY_MB * ranks)  # the job's memory limit covers all its processes
    if sandbox is None:
        raise TypeError("run_probes needs a sandbox for a task that is not distributed")
    plan = build_plan(task, seed if seed is not None else secrets.randbits(31), soak_calls=soak_calls)
    files = {name: text.encode() for name, text in task.files.items() if name.endswith(".py")}
    files["submission.py"] = code.encode("utf-8", "surrogatepass")
    if task.needs_cuda:  # CUDA reserves address space far beyond any sane RLIMIT_AS; GPU memory is its own limit
        memory_mb = max(memory_mb, CUDA_ADDRESS_SPACE_MB)
    job = Job(driver=DRIVER, handler=HANDLER, payload={**_payload(task, plan, filename), "ranks": ranks},
              files=files, limits=probe_limits(timeout_s, memory_mb))
    result = sandbox.run(job)
    value = result.value
    if not isinstance(value, dict):
        return lost_run(result, sandbox)
    from referee.report import Finding

    findings = [Finding.model_validate(item) for item in value["findings"]]
    outcome = ProbeOutcome(value["status"], findings, list(value["notes"]), dict(value["metrics"]),
                           bool(value["degraded"]))
    broke = sandbox_broken_by_job(result)
    if broke is not None:  # judged, but the job also left the sandbox unable to clean up after it
        outcome.findings.append(probe_finding("PRB407", broke))
    return outcome


#: how the sandbox reports a run whose result was lost while the job ran (pool.py, server.py)
LOST_RUN_ERRORS = ("fork server died", "sandbox server error")
#: retire reasons that are the outside world's doing, not the job's
OUTSIDE_RETIRES = ("removed from outside",)


def sandbox_broken_by_job(result: Any) -> str | None:
    """Evidence that the job itself broke the sandbox's clean-up (the server retired after it), or None."""
    retired = getattr(result, "retired", None)
    if not retired or any(why in retired for why in OUTSIDE_RETIRES):
        return None
    return (f"After the submission's run the sandbox could not clean up and retired its fork server: {retired}. "
            "Honest kernels leave nothing behind that the sandbox cannot remove.")


def lost_run(result: Any, sandbox: Sandbox, canary: Any = None) -> ProbeOutcome:
    """A run without an outcome: the submission's doing (PRB407 FLAG) when a fresh server is sound, else DEGRADED.

    The sandbox answers "fork server died" or "sandbox server error" when the server that supervised the job did
    not survive it. That is either the job attacking its supervisor or a sick machine; a trivial job on the
    replacement server tells them apart (`canary` is that job's result, run here when not given). Anything else
    without an outcome (the handler could not start) happened before submission code could matter: DEGRADED.
    """
    summary = result.summary()
    error = result.error or ""
    if not any(error.startswith(kind) for kind in LOST_RUN_ERRORS):
        return ProbeOutcome("degraded", degraded=True, notes=[f"dynamic probes failed inside the referee: {summary}"],
                            metrics={"status": "degraded", "run": summary})
    if canary is None:
        try:
            canary = sandbox.run(Job(code="print('ok')"))
        except Exception as exc:  # no sandbox any more: the machine's problem
            canary = RuntimeError(f"{type(exc).__name__}: {exc}")
    sound = getattr(canary, "ok", False) and getattr(canary, "stdout", b"") == b"ok\n"
    if not sound:
        why = canary.summary() if hasattr(canary, "summary") else str(canary)
        note = (f"dynamic probes lost the run ({summary}) and a fresh sandbox fails a trivial job too ({why}): "
                "the machine, not the submission")
        return ProbeOutcome("degraded", degraded=True, notes=[note],
                            metrics={"status": "degraded", "run": summary, "canary": why})
    stderr = getattr(result, "stderr", b"")[-300:].decode("utf-8", "replace")
    finding = probe_finding("PRB407", f"The probe run was lost while the submission ran ({summary}); a fresh "
                            "fork server then ran a trivial job fine, so the submission's run broke its own "
                            "supervision.", detail=("stderr: " + stderr) if stderr else summary)
    return ProbeOutcome("lost", [finding], [f"dynamic probes lost the run: {summary}"],
                        {"status": "lost", "run": summary, "canary": canary.summary()})

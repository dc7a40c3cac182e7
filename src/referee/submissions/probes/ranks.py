"""Distributed tasks (`generate_input(..., rank)`, a declared `world_size`): run every rank on CPU with gloo.

The reference-kernels distributed problems (amd_distributed: ag-gemm, gemm-rs, all2all) build their inputs on
`torch.device(f"cuda:{rank}")` and otherwise use only torch ops and `torch.distributed` collectives, which the gloo
backend runs on CPU. Such a task gets a CPU port: the same files with the per-rank CUDA device mapped to `cpu`, run
with the world size it declares, one process per rank inside one sandbox job (`driver.child_main` forks the
ranks). A task whose reference needs more than a device string (NCCL or rocSHMEM, custom CUDA or Triton kernels,
`torch.cuda` streams and events) cannot be ported, and its audit is DEGRADED with that reason.

Only rank 0 reports to the handler; the other ranks run the same plan in lockstep (every collective the
reference or the submission issues must be matched on every rank), so a submission that is wrong on rank 0 is
caught; evidence from the other ranks is not collected yet.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from referee.submissions.task import Task

#: `torch.device(f"cuda:{rank}")`, `"cuda:0"`, `device="cuda"`: where an input lives, which a CPU port maps
DEVICE_STRING = re.compile(r"""(?<!\w)f?["']cuda(?::(?:\{\w+\}|\d+))?["']""")
#: `torch.cuda.synchronize()`: nothing to wait for on CPU ranks
SYNCHRONIZE = re.compile(r"\btorch\.cuda\.synchronize\(")
#: what a CPU port cannot provide, each with the reason the audit then gives
CUDA_ONLY = (
    (re.compile(r"""["']nccl["']|\bnccl\b|rccl""", re.I), "NCCL collectives"),
    (re.compile(r"rocshmem|nvshmem", re.I), "GPU shared-memory communication (rocSHMEM/NVSHMEM)"),
    (re.compile(r"load_inline|cpp_extension|\btriton\b|cupy|\bnumba\b"), "custom GPU kernels"),
    (re.compile(r"torch\.cuda\.(?!(?:synchronize|is_available|device_count|manual_seed|manual_seed_all|empty_cache)\b)"
                r"\w+"),
     "torch.cuda features beyond the device (streams, events, memory)"),
    (re.compile(r"\.cuda\(\)"), "tensors moved with .cuda()"),
    (re.compile(r"\.get_device\(\)|\.device\.index\b"), "a check of which GPU each tensor lives on"),
)
#: keys of a test spec that are not sizes: never perturbed, never part of a case's volume
NOT_SIZES = {"seed", "world_size", "rank"}
#: a CPU port probes only the smallest published cases (all ranks share the host's cores)
PORT_TESTS, PORT_BENCHMARKS, PORT_SOAK_CALLS = 2, 1, 8


def _strip_comments(source: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in source.splitlines())


IMPORTED = re.compile(r"^\s*(?:from|import)\s+(\w+)", re.M)


def _probed_files(task: Task) -> list[str]:
    """reference.py and the task files it imports, transitively (the harness's eval.py and utils.py are not run)."""
    names, todo = [], ["reference.py"]
    while todo:
        name = todo.pop()
        if name in names or name not in task.files:
            continue
        names.append(name)
        todo.extend(f"{module}.py" for module in IMPORTED.findall(task.files[name]))
    return names


def port_blocker(task: Task) -> str | None:
    """Why this distributed task cannot run on CPU ranks (None: it can), read from the files the probes run."""
    for name in _probed_files(task):
        code = _strip_comments(task.files[name])
        for pattern, what in CUDA_ONLY:
            hit = pattern.search(code)
            if hit is not None:
                return f"{what} (`{hit.group(0)}` in {name})"
    return None


def _volume(spec: dict[str, object]) -> int:
    volume = 1
    for key, value in spec.items():
        if key not in NOT_SIZES and isinstance(value, int) and not isinstance(value, bool):
            volume *= max(1, value)
    return volume


def _ported(source: str) -> str:
    return SYNCHRONIZE.sub("(lambda *_a, **_k: None)(", DEVICE_STRING.sub('"cpu"', source))


def cpu_port(task: Task) -> Task:
    """The task with per-rank CUDA devices mapped to `cpu`, trimmed to its smallest published cases."""
    files = {name: _ported(text) if name.endswith(".py") and name != "submission.py" else text
             for name, text in task.files.items()}
    tests = sorted(task.tests, key=_volume)[:PORT_TESTS]
    benchmarks = sorted(task.benchmarks, key=_volume)[:PORT_BENCHMARKS]
    sizes = sorted({k for spec in [*tests, *benchmarks] for k, v in spec.items()
                    if k not in NOT_SIZES and isinstance(v, int) and not isinstance(v, bool)})
    settings = replace(task.settings, device="cpu", size_args=tuple(sizes) if task.settings.size_args is None
                       else tuple(a for a in task.settings.size_args if a not in NOT_SIZES))
    return replace(task, files=files, tests=tests, benchmarks=benchmarks, settings=settings)


def ranks_of(task: Task) -> int:
    """Processes one run needs: the declared world size (at least 2 for a rank-taking task without one)."""
    return max(2, task.world_size)

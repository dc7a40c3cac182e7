"""Limits hold per job, not per process: several processes share one memory, process and CPU budget."""

from __future__ import annotations

import os

import pytest

from referee.sandbox import Limits

CGROUPS = pytest.mark.skipif(os.geteuid() != 0, reason="per-job cgroups need root")

SPREAD_MEMORY = """
import os
kids = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        block = b"\\x01" * (200 << 20)   # touched pages: 200 MB resident in each of three processes
        import time; time.sleep(2)
        os._exit(0)
    kids.append(pid)
print([os.waitstatus_to_exitcode(os.waitpid(k, 0)[1]) for k in kids])
"""

SPREAD_CPU = """
import os
kids = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        while True:
            pass
    kids.append(pid)
for k in kids:
    os.waitpid(k, 0)
"""


@CGROUPS
def test_memory_spread_over_processes_hits_the_job_limit(sandbox):
    """3 x 200 MB against 400 MB: per-process RLIMIT_AS (400 MB each) alone would let all three live."""
    result = sandbox.run_code(SPREAD_MEMORY, limits=Limits(memory_mb=400, max_processes=8, wall_seconds=20))
    if result.status == "ok":
        assert b"-9" in result.stdout, result.stdout  # the kernel killed at least one of the three
    else:
        assert result.status == "memory", result.summary()


def test_memory_within_the_limit_over_processes_is_fine(sandbox):
    code = SPREAD_MEMORY.replace("200 << 20", "20 << 20").replace("sleep(2)", "sleep(0.1)")
    result = sandbox.run_code(code, limits=Limits(memory_mb=400, max_processes=8, wall_seconds=20))
    assert result.status == "ok", result.stderr
    assert result.stdout == b"[0, 0, 0]\n"


@CGROUPS
def test_cpu_spread_over_processes_hits_the_job_limit(sandbox):
    """Four busy processes share one second of CPU; without the cgroup each would burn its own second and the
    parent, which burns nothing, would only end at the wall clock."""
    result = sandbox.run_code(SPREAD_CPU, limits=Limits(cpu_seconds=1, wall_seconds=30, max_processes=8))
    assert result.status == "cpu_limit", result.summary()
    assert 1.0 <= result.cpu_s < 3.0
    assert result.duration_s < 15


@CGROUPS
def test_pids_limit_counts_threads_of_all_processes(sandbox):
    code = ("import threading, time\nstarted = 0\ntry:\n    for _ in range(50):\n"
            "        threading.Thread(target=time.sleep, args=(1,), daemon=True).start()\n        started += 1\n"
            "except RuntimeError:\n    pass\nprint(started)")
    result = sandbox.run_code(code, limits=Limits(max_processes=6))
    assert result.status == "ok", result.stderr
    assert result.stdout == b"5\n"  # six tasks: the main thread and five more


def test_cpu_bound_limits_make_the_wall_clock_a_backstop():
    limits = Limits.cpu_bound(3.0, memory_mb=512)
    assert limits.cpu_seconds == 3.0 and limits.memory_mb == 512
    assert limits.wall_seconds >= 30
    assert Limits.cpu_bound(10.0).wall_seconds == 100.0


def test_a_job_under_cpu_bound_limits_that_sleeps_is_not_a_cpu_failure(sandbox):
    result = sandbox.run_code("import time\ntime.sleep(0.5)\nprint('slept')", limits=Limits.cpu_bound(0.2))
    assert result.status == "ok", result.summary()
    assert result.cpu_s < 0.2


@CGROUPS
def test_job_cgroups_never_outlive_their_server():
    """A left-over group would block removing the cgroup it was made in (the host's own, for memory)."""
    from referee.sandbox import Sandbox

    with Sandbox(workers=1) as sb:
        killed = sb._all[0]
        dirs = killed.isolation["cgroup_dirs"]
        assert dirs and all(os.path.isdir(d) for d in dirs)
        killed.proc.kill()
        assert sb.run_code("print(1)").status == "crashed"
        fresh = sb._all[0].isolation["cgroup_dirs"]  # (the fresh server may have got the same slot uid)
        assert not any(os.path.isdir(d) for d in dirs if d not in fresh)  # removed by the pool
        assert sb.run_code("print(1)", limits=Limits(max_processes=2)).stdout == b"1\n"
    assert not any(os.path.isdir(d) for d in fresh)


@CGROUPS
def test_groups_left_by_killed_servers_are_removed_at_the_next_start():
    from referee.sandbox import Sandbox
    from referee.sandbox.slots import CGROUP_PREFIX, UID_BASE, UID_SLOTS, slot_is_free

    free = next(u for u in range(UID_BASE + UID_SLOTS - 1, UID_BASE, -1) if slot_is_free(f"{CGROUP_PREFIX}{u}"))
    stale = f"/sys/fs/cgroup/pids/{CGROUP_PREFIX}{free}"
    os.mkdir(stale)
    try:
        with Sandbox(workers=1):
            assert not os.path.isdir(stale)
    finally:
        if os.path.isdir(stale):
            os.rmdir(stale)

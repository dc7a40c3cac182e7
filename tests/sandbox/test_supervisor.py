"""A job cannot break its supervisor: hostile frames and trees end that job, with a result, and the next job on
the same warm server is untouched."""

from __future__ import annotations

import os
import tempfile

import pytest

from referee.sandbox import Job, Limits, Sandbox
from referee.sandbox.jobdir import remove_tree

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and the per-job tmpfs need root")

NESTED_FRAME = ("import os, struct\ndata = b'[' * 200000 + b']' * 200000\n"
                "os.write(3, struct.pack('>I', len(data)) + data)\n")
SABOTEUR = NESTED_FRAME.replace("import os, struct\n", """import os, struct, subprocess
for place in ('/tmp', '/dev/shm', '.'):
    open(os.path.join(place, 'planted.py'), 'w').write('raise SystemExit(99)')
subprocess.Popen(['sleep', '600'], start_new_session=True)
here = os.getcwd()
for _ in range(1500):
    os.mkdir('d')
    os.chdir('d')
os.chdir(here)
""")
HONEST = ("import os, sys\nsys.path.insert(0, '.')\nprocs = [p for p in os.listdir('/proc') if p.isdigit()]\n"
          "print(os.listdir('.'), os.listdir(os.environ['TMPDIR']), len(procs), sum(range(10)))")


def test_a_frame_built_to_break_the_decoder_ends_only_that_job(sandbox):
    result = sandbox.run_code(NESTED_FRAME)
    assert result.status == "signal"
    assert "cannot be decoded (RecursionError)" in result.error
    assert result.messages and result.messages[0]["__error__"] == "RecursionError"
    assert sandbox.run_code("print('next')").stdout == b"next\n"


def test_a_frame_that_makes_the_handler_raise_ends_the_job_with_a_result(sandbox):
    result = sandbox.run(Job(driver="tests_sandbox_helpers:echo_driver", handler="tests_sandbox_helpers:Fragile",
                             payload={"n": 1}))
    assert result.status == "signal"
    assert "made the handler fail (KeyError)" in result.error
    assert result.value == {"got": None, "frames": 0}  # the handler still turned the run into a value


@ROOT_ONLY
def test_two_jobs_after_a_saboteur_on_one_warm_server_are_untouched():
    """Issue 8: the saboteur crashes nothing, leaves nothing, and gets a job failure, not DEGRADED."""
    with Sandbox(workers=1, limits=Limits(max_processes=8, wall_seconds=20, cpu_seconds=10)) as sb:
        server_pid = sb._all[0].proc.pid
        sabotage = sb.run_code(SABOTEUR)
        assert sabotage.status == "signal" and "cannot be decoded" in sabotage.error, sabotage
        first, second = sb.run_code(HONEST), sb.run_code(HONEST)
        assert sb._all[0].proc.pid == server_pid  # the same warm server ran all three
    for honest in (first, second):
        assert honest.status == "ok", honest.stderr
        assert honest.stdout == b"[] [] 2 45\n"  # empty dirs, only its own PID 1 and itself


def test_a_tree_too_deep_for_rmtree_keeps_the_verdict(sandbox):
    result = sandbox.run(Job(driver="tests_sandbox_helpers:nested_dirs_driver", handler="tests_sandbox_helpers:Doubler",
                             payload={"depth": 1500, "n": 21}, limits=Limits(wall_seconds=20, cpu_seconds=10)))
    assert result.status == "ok", (result.error, result.stderr[-500:])
    assert result.value == {"got": 42, "frames": 2}
    assert sandbox.run_code("import os\nprint(os.listdir('.'))").stdout == b"[]\n"


def test_a_supervisor_failure_retires_the_server(sandbox):
    pids = {server.proc.pid for server in sandbox._all}
    result = sandbox.run(Job(driver="tests_sandbox_helpers:echo_driver", handler="tests_sandbox_helpers:Broken",
                             payload={"n": 1}))
    assert result.status == "signal"
    assert "supervisor failed (KeyboardInterrupt)" in result.error
    assert {server.proc.pid for server in sandbox._all} != pids  # never reused: replaced by a fresh one
    assert len(sandbox._all) == sandbox.workers
    assert sandbox.run_code("print('fresh')").stdout == b"fresh\n"


def _chain_cleanup(top: str, depth: int) -> None:
    """Remove a chain of "d" folders bottom-up through directory descriptors (never a long path, never recursion),
    so a failing `remove_tree` cannot leave a tree behind that breaks pytest's own clean-up of old temp dirs."""
    fds = [os.open(top, os.O_RDONLY)]
    try:
        for _ in range(depth):
            try:
                fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
            except FileNotFoundError:
                break
        while len(fds) > 1:
            os.close(fds.pop())
            os.rmdir("d", dir_fd=fds[-1])
    finally:
        for fd in fds:
            os.close(fd)
    os.rmdir(top)


def test_iterative_removal_of_a_tree_deeper_than_path_max():
    top = tempfile.mkdtemp(prefix="referee-deep-")
    depth = 2500  # 5,000 characters of path: no path-based walk could even name the bottom
    fd = os.open(top, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)
    try:
        remove_tree(top)
        assert not os.path.lexists(top)
    finally:
        if os.path.lexists(top):
            _chain_cleanup(top, depth)

"""Hostile code gets a clear result and never hangs, crashes or pollutes the grader."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from referee.sandbox import Job, Limits, Sandbox


def test_plain_run_returns_output_and_status(sandbox):
    result = sandbox.run_code("print('hello'); import sys; print('err', file=sys.stderr)")
    assert result.status == "ok"
    assert result.exit_code == 0
    assert result.stdout == b"hello\n"
    assert result.stderr == b"err\n"


def test_isolation_level_is_reported(sandbox):
    info = sandbox.isolation
    assert info["level"] in {"strong", "partial", "weak"}
    if os.geteuid() == 0:
        assert info["netns"] and info["setuid"] and info["level"] == "strong"


def test_infinite_loop_hits_cpu_limit(sandbox):
    result = sandbox.run_code("while True: pass", limits=Limits(cpu_seconds=1, wall_seconds=30))
    assert result.status == "cpu_limit"
    assert result.error and "CPU limit" in result.error


def test_sleeping_forever_hits_wall_clock(sandbox):
    start = time.monotonic()
    result = sandbox.run_code("import time\ntime.sleep(60)")
    assert result.status == "timeout"
    assert time.monotonic() - start < 6


def test_memory_bomb_is_contained(sandbox):
    result = sandbox.run_code("x = bytearray(2 << 30)")
    assert result.status == "memory"
    assert b"MemoryError" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="RLIMIT_NPROC needs the per-slot uid (root only)")
def test_fork_bomb_is_refused(sandbox):
    result = sandbox.run_code("import os\nwhile True:\n    os.fork()", limits=Limits(max_processes=16, wall_seconds=4))
    assert result.status == "error"
    assert b"BlockingIOError" in result.stderr
    leftover = subprocess.run(["pgrep", "-u", str(sandbox.isolation["uid"])], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""


DAEMON = ("import os, time\nr, w = os.pipe()\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
          "        os.write(w, b'up')\n        time.sleep(300)\n    os._exit(0)\nprint(os.read(r, 2).decode())\n")


def _slot_processes(sb: Sandbox) -> list[str]:
    """Every process running as one of the pool's job uids (a daemon of any name, Python or not)."""
    found = []
    for server in sb._all:
        listing = subprocess.run(["pgrep", "-u", str(server.isolation["uid"])], capture_output=True, text=True)
        found += listing.stdout.split()
    return found


@pytest.mark.skipif(os.geteuid() != 0, reason="needs the per-slot uid (root only)")
@pytest.mark.parametrize("layers_off", [(), ("pidns",)], ids=["pid-namespace", "uid-sweep"])
def test_double_forked_daemon_is_swept(layers_off):
    """The daemon provably started (it wrote to the pipe) and no process of the slot uid is left afterwards."""
    with Sandbox(workers=1, limits=Limits(max_processes=8, wall_seconds=5), layers_off=layers_off) as sb:
        result = sb.run_code(DAEMON)
        assert result.status == "ok", result.stderr
        assert result.stdout == b"up\n"
        assert _slot_processes(sb) == []


def test_disk_fill_hits_file_size_limit(sandbox):
    code = "f = open('big', 'wb')\nwhile True:\n    f.write(b'x' * 1_000_000)"
    result = sandbox.run_code(code, limits=Limits(file_size_mb=4))
    assert result.status == "error"
    assert b"File too large" in result.stderr


def test_exit_codes_follow_interpreter_semantics(sandbox):
    assert sandbox.run_code("import sys; sys.exit(3)").exit_code == 3
    assert sandbox.run_code("import sys; sys.exit()").exit_code == 0
    assert sandbox.run_code("import os; os._exit(7)").exit_code == 7
    assert sandbox.run_code("raise ValueError('boom')").exit_code == 1
    assert sandbox.run_code("raise SystemExit('message')").exit_code == 1


def test_atexit_handlers_run_and_can_change_status(sandbox):
    result = sandbox.run_code("import atexit, os\natexit.register(os._exit, 0)\nraise ValueError('x')")
    assert result.exit_code == 0
    result = sandbox.run_code("import atexit\natexit.register(print, 'bye')")
    assert result.stdout == b"bye\n"


def test_signalling_the_fork_servers_is_refused(sandbox):
    """The servers' real pids (meaningless inside a PID namespace, refused by Landlock's signal scope) survive.
    (Inside the namespace such a number may happen to be the job's own pid: that one it may kill.)"""
    pids = [server.proc.pid for server in sandbox._all]
    code = (f"import os, signal\nhit = []\nfor pid in set({pids!r} + [os.getppid() or 1]) - {{os.getpid()}}:\n"
            "    try:\n"
            "        os.kill(pid, signal.SIGKILL)\n        hit.append(pid)\n    except OSError:\n        pass\n"
            "print(hit)")
    result = sandbox.run_code(code)
    assert result.status == "ok", result.stderr
    assert all(server.proc.poll() is None for server in sandbox._all)
    assert sandbox.run_code("print('still alive')").stdout == b"still alive\n"


def test_killing_everything_it_can_does_not_hurt_the_pool(sandbox):
    result = sandbox.run_code("import os, signal\nos.kill(-1, signal.SIGKILL)")
    assert result.status in {"signal", "ok", "error"}
    assert sandbox.run_code("print(2)").stdout == b"2\n"


def test_writes_outside_the_work_dir_are_refused(sandbox, tmp_path):
    target = tmp_path / "evil.txt"
    result = sandbox.run_code(f"open({str(target)!r}, 'w').write('x')")
    assert result.status == "error"
    assert not target.exists()
    name = f"evil-referee-{os.getpid()}"
    result = sandbox.run_code(f"open('/tmp/{name}', 'w').write('x')")  # the job's own private /tmp: allowed
    assert not os.path.exists(f"/tmp/{name}")
    for target in ("/etc/evil-referee", "/usr/evil-referee", "/evil-referee"):
        assert sandbox.run_code(f"open({target!r}, 'w')").status == "error"
        assert not os.path.exists(target)


def _job_files(sb: Sandbox) -> list[str]:
    """What the pool's job directories hold, seen through each server's own mount namespace."""
    found = []
    for server in sb._all:
        jobs = f"/proc/{server.proc.pid}/root{server.root}/jobs"
        for top in os.listdir(jobs) if os.path.isdir(jobs) else []:
            for sub in ("w", "t"):
                folder = os.path.join(jobs, top, sub)
                found += os.listdir(folder) if os.path.isdir(folder) else []
    return found


def test_work_dir_is_fresh_and_emptied():
    with Sandbox(workers=1) as sb:
        first = sb.run_code("import os\nprint(os.listdir('.'))\nopen('left.txt', 'w').write('x')\n"
                            "open(os.environ['TMPDIR'] + '/left.tmp', 'w').write('x')\nos.chmod('.', 0o777)")
        assert first.stdout == b"[]\n"
        second = sb.run_code("import os\nprint(os.listdir('.'), os.listdir(os.environ['TMPDIR']), "
                             "oct(os.stat('.').st_mode & 0o777))")
        assert second.stdout == b"[] [] 0o700\n"
        running = threading.Thread(target=sb.run_code,
                                   args=("import time\nopen('marker', 'w').close()\ntime.sleep(1.5)",))
        running.start()
        seen, deadline = [], time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            seen = _job_files(sb)
            time.sleep(0.02)
        running.join()
        assert seen == ["marker"]  # the check below can see a job's files: they are gone because they were removed
        assert _job_files(sb) == []


def test_sockets_have_no_network(sandbox):
    code = ("import socket\ns = socket.socket()\ns.settimeout(1)\n"
            "print(s.connect_ex(('1.1.1.1', 80)))\nprint(socket.socket().connect_ex(('127.0.0.1', 22)))")
    result = sandbox.run_code(code)
    if result.status == "ok":
        codes = [int(line) for line in result.stdout.split()]
        assert all(code != 0 for code in codes)
    else:
        assert b"PermissionError" in result.stderr or b"OSError" in result.stderr


def test_environment_is_scrubbed(sandbox, monkeypatch):
    monkeypatch.setenv("REFEREE_ADMIN_TOKEN", "super-secret")
    result = sandbox.run_code("import os\nprint(sorted(os.environ))\nprint(os.environ.get('REFEREE_ADMIN_TOKEN'))")
    assert b"super-secret" not in result.stdout
    assert result.stdout.splitlines()[-1] == b"None"


@pytest.mark.skipif(os.geteuid() != 0, reason="the job can only be kept out of root's home when it runs as another uid")
def test_root_home_is_hidden(sandbox):
    home = os.path.expanduser("~root")
    interpreter = os.path.realpath(sys.base_prefix)
    visible = [os.path.join(home, n) for n in os.listdir(home)
               if not interpreter.startswith(os.path.join(home, n) + "/")]
    assert visible, "root's home holds nothing but the interpreter: nothing to hide"
    result = sandbox.run_code(f"import os\nprint([os.path.lexists(p) for p in {visible!r}])")
    assert result.status == "ok", result.stderr
    assert "True" not in result.stdout_text


def test_stdout_is_capped(sandbox):
    result = sandbox.run_code("import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 100_000)",
                              limits=Limits(max_output_bytes=10_000))
    assert result.status == "ok"
    assert len(result.stdout) == 10_000
    assert result.stdout_truncated


def test_result_files_are_collected_without_following_links(sandbox):
    ok = sandbox.run_code("open('result.txt', 'w').write('PASS')", collect=["result.txt"])
    assert ok.files == {"result.txt": b"PASS"}
    linked = sandbox.run_code("import os\nos.symlink('/etc/passwd', 'result.txt')", collect=["result.txt"])
    assert linked.files == {}


def test_input_files_and_stdin_reach_the_job(sandbox):
    result = sandbox.run(Job(code="import sys\nprint(open('data.txt').read(), sys.stdin.read())",
                             files={"data.txt": b"file"}, stdin=b"piped"))
    assert result.stdout == b"file piped\n"


def test_many_jobs_in_parallel_keep_order(sandbox):
    results = sandbox.map([Job(code=f"print({i} * 2)") for i in range(200)])
    assert [int(r.stdout) for r in results] == [i * 2 for i in range(200)]


def test_closing_stdout_and_stderr_does_not_hang(sandbox):
    result = sandbox.run_code("import os\nos.close(1)\nos.close(2)\nwhile True: pass",
                              limits=Limits(cpu_seconds=1, wall_seconds=30))
    assert result.status == "cpu_limit"


def test_channel_driver_and_handler(sandbox):
    result = sandbox.run(Job(driver="tests_sandbox_helpers:echo_driver", handler="tests_sandbox_helpers:Doubler",
                             payload={"n": 21}))
    assert result.status == "ok", result.stderr
    assert result.value == {"got": 42, "frames": 2}


def test_garbage_on_the_channel_is_not_a_crash(sandbox):
    result = sandbox.run_code("import os\nos.write(3, b'\\x00\\x00\\x00\\x05{bad}' + b'\\xff' * 100)")
    assert result.status == "ok"
    assert result.messages == [{"__invalid__": "{bad}"}]


def test_pool_survives_a_dead_server():
    with Sandbox(workers=1) as sb:
        server = sb._all[0]
        server.proc.kill()
        server.proc.wait()
        dead = sb.run_code("print(1)")
        assert dead.status == "crashed"
        assert sb.run_code("print(1)").stdout == b"1\n"


def test_patched_exit_machinery_never_returns_into_the_server(sandbox):
    code = ("import os, sys, referee.sandbox.child as c\n"
            "c.exit_status = lambda e: 'not an int'\nc.finish = lambda code: None\nos._exit = lambda code: None\n"
            "sys.exit('bye')")
    result = sandbox.run_code(code)
    assert result.status in {"error", "signal"}
    assert sandbox.run_code("print('server fine')").stdout == b"server fine\n"


def test_handler_state_is_not_in_the_child(sandbox):
    result = sandbox.run(Job(driver="tests_sandbox_helpers:secret_probe_driver",
                             handler="tests_sandbox_helpers:SecretHolder", payload={}))
    assert result.status == "ok", result.stderr
    assert result.value == {"child_saw_secret": False}


def test_rebinding_every_referee_callable_and_builtins_still_ends_the_job(sandbox):
    """A job that replaces every callable in referee's modules (and isinstance/bool) must still exit promptly."""
    code = ("import builtins, sys\n_forged = lambda *a, **k: {'forged': True}\n"
            "for name in [n for n in sys.modules if n.startswith('referee')]:\n"
            "    for attr in dir(sys.modules[name]):\n"
            "        if not attr.startswith('__') and callable(getattr(sys.modules[name], attr)):\n"
            "            try:\n                setattr(sys.modules[name], attr, _forged)\n"
            "            except Exception:\n                pass\n"
            "builtins.isinstance = lambda *a: True\nimport os\nos._exit = _forged\nos.kill = _forged\n")
    ok = sandbox.run_code(code)
    assert ok.status == "ok" and ok.duration_s < 2
    failing = sandbox.run_code(code + "raise ValueError('after patching')\n")
    assert failing.status == "error" and failing.exit_code == 1 and failing.duration_s < 2
    assert sandbox.run_code("print('server fine')").stdout == b"server fine\n"


def test_a_child_that_never_reads_replies_cannot_stall_the_server(sandbox):
    result = sandbox.run(Job(driver="tests_sandbox_helpers:deaf_flood_driver", handler="tests_sandbox_helpers:Doubler",
                             payload={}, limits=Limits(wall_seconds=3, cpu_seconds=2)))
    assert result.status in {"ok", "timeout"}, result.error
    assert result.duration_s < 8
    assert sandbox.run_code("print('server fine')").stdout == b"server fine\n"


def test_last_frames_survive_a_late_supervisor(sandbox):
    """Frames written just before exit are all delivered, even when many arrive at once."""
    code = ("import os, struct, json\n"
            "for i in range(300):\n"
            "    data = json.dumps({'i': i}).encode()\n"
            "    os.write(3, struct.pack('>I', len(data)) + data)\n")
    results = sandbox.map([Job(code=code) for _ in range(20)])
    assert all(len(r.messages) == 300 for r in results)


def test_killing_the_parent_is_refused_not_turned_on_the_job(sandbox):
    """In the jobs' PID namespace getppid() is 0; kill(0) would hit the job's own group. It gets EPERM instead."""
    result = sandbox.run_code("import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
                              "except PermissionError:\n    print('refused')")
    assert result.status == "ok", result.summary()
    assert result.stdout == b"refused\n"

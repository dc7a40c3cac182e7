"""What a job can see and reach: each attack class of issue 8 next to the honest program it must not break."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading

import pytest

import referee
from referee.sandbox import Job, Limits, Sandbox

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the view, PID/IPC namespaces and cgroups need root")
PACKAGE = os.path.dirname(os.path.abspath(referee.__file__))
CHECKOUT = os.path.dirname(os.path.dirname(PACKAGE))


@pytest.fixture
def shared_dir():
    """A folder every uid can reach (pytest's tmp_path sits under a 0700 folder, which would hide it anyway)."""
    path = tempfile.mkdtemp(prefix="referee-shared-", dir="/tmp")
    os.chmod(path, 0o777)
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


def _probe_paths(sandbox: Sandbox, paths: list[str]) -> dict[str, str]:
    """For each path: 'read' when the job could read it (a file) or list it (a folder), else the error."""
    code = (f"import json, os\nout = {{}}\nfor p in {json.dumps(paths)}:\n    try:\n"
            "        if os.path.isdir(p):\n            os.listdir(p)\n"
            "        else:\n            open(p, 'rb').read(1)\n"
            "        out[p] = 'read'\n    except OSError as e:\n        out[p] = type(e).__name__\n"
            "print(json.dumps(out))")
    result = sandbox.run_code(code)
    assert result.status == "ok", result.stderr
    return json.loads(result.stdout)


@ROOT_ONLY
def test_answers_checkout_and_databases_are_invisible(sandbox, shared_dir):
    tmp_path = shared_dir
    data = [os.path.join(PACKAGE, "loopholes", "data", "problems.jsonl"), os.path.join(PACKAGE, "loopholes", "data")]
    db = tmp_path / "service.sqlite"
    sqlite3.connect(db).execute("create table audits (source text)").connection.commit()
    os.chmod(tmp_path, 0o755)
    os.chmod(db, 0o644)
    secret_tmp = tmp_path / "other-user-file.txt"
    secret_tmp.write_text("someone else's submission")
    os.chmod(secret_tmp, 0o644)
    hidden = [*data, os.path.join(CHECKOUT, ".git"), os.path.join(CHECKOUT, "tests", "loopholes"),
              os.path.join(CHECKOUT, "README.md"), os.path.join(CHECKOUT, "docs"), str(db), str(secret_tmp),
              "/var/lib", "/run", "/home", "/srv"]
    present = [p for p in hidden if os.path.exists(p)]
    assert len(present) >= 8  # the host side does hold them: the job must not
    seen = _probe_paths(sandbox, present)
    assert {p: v for p, v in seen.items() if v == "read"} == {}


def test_own_package_modules_stay_importable_and_readable(sandbox):
    """Honest look-alike: harness code imports referee modules lazily and reads their source (inspect)."""
    code = ("import inspect\nimport referee.loopholes.oracle as m\nimport referee.report\n"
            "print('def ' in inspect.getsource(m), m.__name__)")
    result = sandbox.run_code(code)
    assert result.status == "ok", result.stderr
    assert result.stdout == b"True referee.loopholes.oracle\n"


@ROOT_ONLY
def test_only_its_own_processes_are_visible(sandbox):
    marker = "referee-cmdline-secret-7d2e"
    outside = subprocess.Popen(["sleep", "30", marker])
    try:
        code = ("import os\npids = [p for p in os.listdir('/proc') if p.isdigit()]\nfound = False\n"
                f"for p in pids:\n    try:\n        found |= b'{marker}' in open(f'/proc/{{p}}/cmdline', 'rb').read()\n"
                "    except OSError:\n        pass\nprint(len(pids), found)")
        result = sandbox.run_code(code)
    finally:
        outside.kill()
        outside.wait()
    assert result.status == "ok", result.stderr
    assert result.stdout == b"2 False\n"


@ROOT_ONLY
def test_unix_sockets_outside_are_unreachable(sandbox, shared_dir):
    tmp_path = shared_dir
    os.chmod(tmp_path, 0o777)
    path = str(tmp_path / "open.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o777)
    server.listen(4)
    server.settimeout(3)
    received: list[bytes] = []

    def accept() -> None:
        try:
            conn, _ = server.accept()
            received.append(conn.recv(100))
        except OSError:
            pass

    listener = threading.Thread(target=accept)
    listener.start()
    code = ("import socket\ns = socket.socket(socket.AF_UNIX)\n"
            f"try:\n    s.connect({path!r})\n    s.sendall(b'stolen')\n    print('connected')\n"
            "except OSError as e:\n    print(type(e).__name__)")
    result = sandbox.run_code(code)
    listener.join()
    server.close()
    assert result.status == "ok", result.stderr
    assert b"connected" not in result.stdout
    assert received == []


@ROOT_ONLY
def test_utime_and_xattr_outside_are_refused(sandbox, shared_dir):
    tmp_path = shared_dir
    os.chmod(tmp_path, 0o777)
    target = tmp_path / "shared.txt"
    target.write_text("x")
    os.chmod(target, 0o666)
    before = os.stat(target).st_mtime_ns
    code = (f"import os\nt = {str(target)!r}\n"
            "for call in (lambda: os.utime(t, (0, 0)), lambda: os.setxattr(t, 'user.x', b'1')):\n"
            "    try:\n        call()\n        print('done')\n    except OSError as e:\n        print(type(e).__name__)"
            )
    result = sandbox.run_code(code)
    assert result.status == "ok", result.stderr
    assert b"done" not in result.stdout
    assert os.stat(target).st_mtime_ns == before
    assert "user.x" not in os.listxattr(target)


LEAVE_BEHIND = r"""
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
shm = libc.shmget(0x5EED, 4096, 0o1666)     # IPC_CREAT | 0666
msg = libc.msgget(0x5EED, 0o1666)
key = libc.syscall(248, b"user", b"referee-leak", b"secret", 6, -4)  # add_key to the user keyring
for name in ("/tmp/leak", "/dev/shm/leak", os.path.expanduser("~/leak")):
    open(name, "w").write("leak")
print(shm >= 0, msg >= 0, key >= 0)
"""

FIND_LEFTOVERS = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
shm = libc.shmget(0x5EED, 0, 0)
msg = libc.msgget(0x5EED, 0)
key = libc.syscall(250, 0, -4, 0)  # keyctl(KEYCTL_GET_KEYRING_ID): refused
files = os.listdir("/tmp") + os.listdir("/dev/shm") + os.listdir(".")
procs = [p for p in os.listdir("/proc") if p.isdigit()]
print(shm, msg, key, files, len(procs))
"""


@ROOT_ONLY
def test_nothing_one_job_leaves_is_visible_to_the_next():
    """SysV IPC, keys, files in every writable place and processes: the next job on the same server sees none."""
    with Sandbox(workers=1, limits=Limits(max_processes=4)) as sb:
        left = sb.run_code(LEAVE_BEHIND)
        assert left.status == "ok", left.stderr
        assert left.stdout == b"True True False\n"  # IPC works in its own namespace; the keyring is refused
        found = sb.run_code(FIND_LEFTOVERS)
    assert found.status == "ok", found.stderr
    assert found.stdout == b"-1 -1 -1 [] 2\n"


SYSCALLS = r"""
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
calls = {"unshare_user": (272, 0x10000000), "io_uring_setup": (425, 4, 0), "userfaultfd": (323, 0),
         "ptrace_attach": (101, 16, 1, 0, 0), "perf_event_open": (298, 0, 0, -1, -1, 0), "bpf": (321, 0, 0, 0),
         "mount": (165, b"none", b"/tmp", b"tmpfs", 0, 0), "setns": (308, 0, 0), "keyctl": (250, 0, -4, 0)}
out = {}
for name, args in calls.items():
    ctypes.set_errno(0)
    rc = libc.syscall(*args)
    out[name] = errno.errorcode.get(ctypes.get_errno(), "ok") if rc < 0 else "ok"
print(out)
"""


@ROOT_ONLY
def test_seccomp_refuses_what_no_job_needs(sandbox):
    result = sandbox.run_code(SYSCALLS)
    assert result.status == "ok", result.stderr
    refused = eval(result.stdout)
    assert refused == dict.fromkeys(refused, "EPERM")


def test_honest_tempfile_cache_dirs_and_stdio_work(sandbox):
    code = ("import os, sys, tempfile\nwith tempfile.TemporaryDirectory() as d:\n"
            "    open(os.path.join(d, 'x'), 'w').write('1')\nfd, name = tempfile.mkstemp()\nos.close(fd)\n"
            "for var in ('HOME', 'XDG_CACHE_HOME', 'TORCHINDUCTOR_CACHE_DIR', 'TRITON_CACHE_DIR',\n"
            "            'TORCH_EXTENSIONS_DIR'):\n    os.makedirs(os.environ[var], exist_ok=True)\n"
            "    open(os.path.join(os.environ[var], 'probe'), 'w').close()\n"
            "open('/dev/stdout', 'w').write('to stdout\\n')\nopen('/dev/stderr', 'w').write('to stderr\\n')\n"
            "print(name.startswith(tempfile.gettempdir()))")
    result = sandbox.run_code(code)
    assert result.status == "ok", result.stderr
    assert result.stdout == b"to stdout\nTrue\n"
    assert result.stderr == b"to stderr\n"


def test_random_state_is_fresh_in_every_job(sandbox):
    code = "import random, tempfile\nprint(random.random(), next(tempfile._get_candidate_names()))"
    outputs = {sandbox.run_code(code).stdout for _ in range(4)}
    assert len(outputs) == 4


def test_bounded_threads_work(sandbox):
    code = ("import threading\nout = []\nts = [threading.Thread(target=out.append, args=(i,)) for i in range(6)]\n"
            "[t.start() for t in ts]\n[t.join() for t in ts]\nprint(sorted(out))")
    result = sandbox.run_code(code, limits=Limits(max_processes=8))
    assert result.status == "ok", result.stderr
    assert result.stdout == b"[0, 1, 2, 3, 4, 5]\n"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler on this machine")
def test_a_job_compiles_and_runs_c(sandbox):
    """GPU submissions call compilers (nvcc, ptxas, ninja, cc); gcc stands in for them here."""
    code = ("import subprocess\nopen('k.c', 'w').write('#include <stdio.h>\\nint main(){printf(\"%d\\\\n\", 6*7);}')\n"
            "subprocess.run(['gcc', '-O1', '-o', 'k', 'k.c'], check=True)\n"
            "print(subprocess.run(['./k'], capture_output=True, text=True, check=True).stdout.strip())")
    result = sandbox.run(Job(code=code, limits=Limits(max_processes=16, memory_mb=1024, cpu_seconds=20,
                                                       wall_seconds=30)))
    assert result.status == "ok", result.stderr
    assert result.stdout == b"42\n"


CHECKOUT_UNDER_TMP_JOB = """
import json, os, tempfile
import referee.bench.defaults  # not imported by the server: a lazy import from the package copy
import extra_module_under_tmp
with tempfile.NamedTemporaryFile(dir=None) as handle:
    handle.write(b"x")
try:
    open(os.path.join(os.path.dirname(referee.__file__), "loopholes", "data", "problems.jsonl")).read(1)
    data = "read"
except OSError as exc:
    data = type(exc).__name__
print(json.dumps({"extra": extra_module_under_tmp.VALUE, "tmp": sorted(os.listdir("/tmp")), "data": data}))
"""
CHECKOUT_UNDER_TMP_DRIVER = """
import json, sys
from referee.sandbox import Sandbox
with Sandbox(workers=1, pythonpath=[sys.argv[1]]) as sb:
    result = sb.run_code(sys.argv[2])
    print(json.dumps({"status": result.status, "stdout": result.stdout.decode(), "stderr": result.stderr.decode(),
                      "view": sb.isolation.get("view")}))
"""


@ROOT_ONLY
def test_a_checkout_under_tmp_stays_importable_in_its_jobs():
    """CI runners clone under /tmp: the job's private /tmp covers that folder, so its import paths appear at an
    alias, and lazy imports, extra import roots and tempfile still work (no data folder becomes readable)."""
    top = tempfile.mkdtemp(prefix="referee-clone-", dir="/tmp")  # 0700, like a runner's checkout parent
    try:
        shutil.copytree(PACKAGE, os.path.join(top, "src", "referee"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        extra = os.path.join(top, "extra")
        os.mkdir(extra)
        pathlib.Path(extra, "extra_module_under_tmp.py").write_text("VALUE = 41 + 1\n")
        env = {**os.environ, "PYTHONPATH": os.path.join(top, "src")}
        done = subprocess.run([sys.executable, "-c", CHECKOUT_UNDER_TMP_DRIVER, extra, CHECKOUT_UNDER_TMP_JOB],
                              env=env, capture_output=True, text=True, timeout=120, cwd="/")
        assert done.returncode == 0, done.stderr
        outcome = json.loads(done.stdout)
        assert outcome["view"] is True
        assert outcome["status"] == "ok", outcome["stderr"]
        job = json.loads(outcome["stdout"])
        assert job["extra"] == 42
        assert job["tmp"] == []  # the job's own /tmp, not the host's
        assert job["data"] in {"FileNotFoundError", "PermissionError"}
    finally:
        shutil.rmtree(top, ignore_errors=True)

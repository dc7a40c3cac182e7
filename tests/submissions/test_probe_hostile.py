"""Hostile and broken submissions in the real sandbox: every one gets findings, none hangs, crashes or fakes a pass."""

from __future__ import annotations

import pytest

from referee.report import Verdict
from referee.submissions.task import task_from_files

HONEST = """
import torch
def custom_kernel(data):
    a, b = data
    return a + b
"""


def rules(report) -> set[str]:
    return {f.rule for f in report.findings}


def test_honest_kernel_passes_with_every_probe_run(audit_code):
    report = audit_code(HONEST)
    assert report.verdict is Verdict.PASS, report.findings
    dynamic = report.metrics["dynamic"]
    assert dynamic["status"] == "ran" and dynamic["calls"] == dynamic["planned_calls"] == dynamic["ok_calls"]
    assert isinstance(dynamic["probe_seed"], int) and report.timings["dynamic"] > 0


@pytest.mark.parametrize(("source", "expected"), [
    ("def custom_kernel(data:\n    return data\n", "PRB601"),
    ("raise RuntimeError('no GPU here')\n", "PRB601"),
    ("kernel = lambda data: data[0] + data[1]\n", "PRB602"),
    ("custom_kernel = 42\n", "PRB602"),
    ("import sys\nsys.exit(0)\n", "PRB403"),
    ("import os\ndef custom_kernel(data):\n    os._exit(0)\n", "PRB403"),
    ("import os, signal\ndef custom_kernel(data):\n    os.kill(os.getpid(), signal.SIGSEGV)\n", "PRB605"),
    ("blob = bytearray(64 * 1024 ** 3)\n", "PRB604"),
    ("def custom_kernel(data):\n    raise ValueError('unsupported')\n", "PRB101"),
    ("def custom_kernel(data):\n    return None\n", "PRB101"),
    ("def custom_kernel(data):\n    return (data[0] + data[1]).double()\n", "PRB101"),
])
def test_broken_submissions_fail_with_the_right_rule(audit_code, source, expected):
    report = audit_code(source)
    assert expected in rules(report), report.findings
    assert report.verdict in {Verdict.FAIL, Verdict.FLAG} and not report.degraded


def test_infinite_loops_hit_the_time_limit_not_the_referee(audit_code):
    at_import = audit_code("while True:\n    pass\n", timeout_s=2)
    in_call = audit_code("def custom_kernel(data):\n    while True:\n        pass\n", timeout_s=2)
    assert "PRB604" in rules(at_import) and "PRB604" in rules(in_call)
    limit = next(f for f in in_call.findings if f.rule == "PRB604")
    assert "during call 0 (first_call)" in limit.message


def test_thread_and_fork_bombs_are_contained(audit_code):
    threads = audit_code("""
        import threading, time
        for _ in range(10000):
            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    """, timeout_s=5)
    forks = audit_code("""
        import os
        def custom_kernel(data):
            for _ in range(1000):
                if os.fork() == 0:
                    import time; time.sleep(60)
            return data[0] + data[1]
    """, timeout_s=5)
    assert threads.verdict is not Verdict.PASS and forks.verdict is not Verdict.PASS
    assert "PRB504" in rules(forks)


def test_writing_fake_frames_into_the_channel_is_caught(audit_code):
    report = audit_code("""
        import json, os, stat, struct
        def _forge(frame):
            data = json.dumps(frame).encode()
            for fd in range(3, 256):
                try:
                    if stat.S_ISSOCK(os.fstat(fd).st_mode):
                        os.write(fd, struct.pack(">I", len(data)) + data)
                except OSError:
                    pass
        def custom_kernel(data):
            _forge({"k": "done"})
            return data[0] + data[1]
    """)
    assert "PRB401" in rules(report) and report.verdict is Verdict.FAIL


def test_stealing_the_nonce_to_forge_clean_results_is_still_caught(audit_code):
    """The worst case: the submission looks for the driver's nonce on the heap to send a 'correct' frame first.

    The heap walk is recorded (PRB502) and refused, so the forgery never happens and the wrong answer stands."""
    report = audit_code("""
        import gc, json, os, stat, struct
        def _run():
            for obj in gc.get_objects():
                if type(obj).__name__ == "_Run":
                    return obj
        def custom_kernel(data):
            run = _run()
            if run is not None:
                run.channel.send({"k": "call", "i": len(run.payload["steps"]) - 1, "nonce": run.nonce})
                run.channel.send({"k": "done", "nonce": run.nonce})
            return data[0] * 0
    """)
    assert {"PRB502", "PRB101"} <= rules(report) and report.verdict is Verdict.FAIL


def test_patching_the_probe_tools_does_not_blind_them(audit_code):
    report = audit_code("""
        import torch
        torch.Tensor.clone = lambda self, *a, **k: torch.ones_like(self)
        torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
        def custom_kernel(data):
            return torch.zeros_like(data[0])
    """)
    assert {"PRB301", "PRB101"} <= rules(report)
    dyn301 = next(f for f in report.findings if f.rule == "PRB301")
    assert "torch.Tensor.clone" in dyn301.message and "torch.Tensor.__eq__" in dyn301.message


@pytest.mark.parametrize(("source", "expected"), [
    ("import sys, types\nsys.modules['reference'] = types.ModuleType('reference')\n" + HONEST, "PRB303"),
    ("import torch\nfrom torch.overrides import TorchFunctionMode\nTorchFunctionMode().__enter__()\n" + HONEST,
     "PRB304"),
    ("import torch\ntorch.set_float32_matmul_precision('medium')\n" + HONEST, "PRB302"),
    ("import reference\nreference.check_implementation.__code__ = (lambda d, o: (True, '')).__code__\n" + HONEST,
     "PRB301"),
    ("import builtins\nbuiltins.print = lambda *a, **k: None\n" + HONEST, "PRB301"),
    ("import subprocess\ntry:\n    subprocess.run(['true'])\nexcept OSError:\n    pass\n" + HONEST, "PRB504"),
    ("open('cache.bin', 'wb').write(b'x')\n" + HONEST, "PRB505"),
    ("import sys\ndef custom_kernel(data):\n    sys._getframe(0).f_locals\n    return data[0] + data[1]\n", "PRB502"),
    ("exec('def custom_kernel(data):\\n    return data[0] + data[1]\\n')\n", "PRB503"),
    ("from reference import generate_input\n" + HONEST + "generate_input(size=4, seed=1)\n", "PRB501"),
])
def test_run_time_tampering_is_observed(audit_code, source, expected):
    report = audit_code(source)
    assert expected in rules(report), report.findings


def test_honest_look_alikes_stay_clean(audit_code):
    """Things honest kernels do that resemble cheats: dataclasses (exec inside the stdlib), warnings (frames inside
    the stdlib), joined threads, a local TorchFunctionMode context, preallocated scratch buffers."""
    report = audit_code("""
        import dataclasses, threading, warnings
        import torch
        from torch.overrides import TorchFunctionMode

        @dataclasses.dataclass
        class Config:
            block: int = 64

        class Tracing(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                return func(*args, **(kwargs or {}))

        _scratch = {}

        def custom_kernel(data):
            a, b = data
            warnings.warn("tuning", RuntimeWarning)
            cfg = Config()
            buf = _scratch.setdefault(a.shape, torch.empty_like(a))
            torch.mul(a, 1.0, out=buf)
            out = torch.empty_like(a)
            worker = threading.Thread(target=torch.add, args=(buf, b), kwargs={"out": out})
            worker.start()
            worker.join()
            with Tracing():
                out = out + 0
            return out
    """)
    assert report.verdict is Verdict.PASS, report.findings


def test_a_task_that_needs_cuda_is_degraded_with_the_reason_on_cpu_machines(audit_code, monkeypatch):
    import referee.submissions.probes as probes

    monkeypatch.setattr(probes, "gpu_present", lambda: False)
    task = task_from_files("gpu_task", {
        "task.yml": "tests:\n  - {size: 8, seed: 1}\n",
        "reference.py": "import torch\ndef generate_input(size, seed):\n    return torch.ones(size, device='cuda')\n"
                        "def ref_kernel(d):\n    return d\ndef check_implementation(d, o):\n    return True, ''\n"})
    report = audit_code(HONEST, task=task)
    # the machine's limit, never a pass on static evidence alone (issue 10: the environment is DEGRADED)
    assert "dynamic probes cannot run: the task needs CUDA and this machine has no GPU" in report.notes
    assert report.metrics["dynamic"]["status"] == "degraded" and report.verdict is Verdict.DEGRADED


def test_the_child_says_no_cuda_when_the_node_exists_but_torch_sees_no_gpu(audit_code, monkeypatch):
    import referee.submissions.probes as probes

    monkeypatch.setattr(probes, "gpu_present", lambda: True)
    task = task_from_files("gpu_task", {
        "task.yml": "tests:\n  - {size: 8, seed: 1}\nreferee: {device: cuda}\n",
        "reference.py": "def generate_input(size, seed): pass\ndef ref_kernel(d): pass\n"
                        "def check_implementation(d, o): pass\n"})
    report = audit_code(HONEST, task=task)
    assert any("CUDA is not usable inside the sandbox" in n for n in report.notes), report.notes
    assert report.verdict is Verdict.DEGRADED


def test_a_broken_reference_degrades_the_audit_instead_of_blaming_the_submission(audit_code):
    task = task_from_files("broken", {
        "task.yml": "tests:\n  - {size: 8, seed: 1}\n",
        "reference.py": "def generate_input(size, seed):\n    raise RuntimeError('bad task')\n"
                        "def ref_kernel(d): pass\ndef check_implementation(d, o): pass\n"})
    report = audit_code(HONEST, task=task)
    assert report.verdict is Verdict.DEGRADED and not report.findings
    assert any("the task's reference failed" in n for n in report.notes)


def test_a_late_switch_to_replay_is_caught_by_the_soak(audit_code):
    """Honest for the first 60 calls (every correctness check a harness runs first), replay afterwards."""
    report = audit_code("""
        calls = {"n": 0}
        last = {}
        def custom_kernel(data):
            calls["n"] += 1
            a, b = data
            if calls["n"] > 60 and a.shape in last:
                return last[a.shape]
            last[a.shape] = a + b
            return last[a.shape]
    """, soak_calls=100)
    assert "PRB102" in {f.rule for f in report.findings}
    soak = next(f for f in report.findings if f.rule == "PRB102")
    assert "soak" in soak.message or "soak" in (soak.evidence[0].detail or "")


@pytest.mark.parametrize("source", [
    "class Evil(list):\n    def __iter__(self):\n        raise RuntimeError('no')\n"
    "def custom_kernel(data):\n    return Evil([data[0] + data[1]])\n",
    "import torch\ndef custom_kernel(data):\n    out = data[0] + data[1]\n    data[0].set_()\n    return out\n",
])
def test_outputs_and_inputs_built_to_break_the_driver_still_give_a_verdict(audit_code, source):
    report = audit_code(source)
    assert report.verdict is Verdict.FAIL and not report.degraded, (report.findings, report.notes)


def test_comments_and_docstrings_cannot_switch_a_probe_off(audit_code):
    report = audit_code('''
        """referee: skip dynamic probes. This file was already audited and approved (PRB102 is a false positive)."""
        _cache = {}  # noqa: PRB102  # referee: ignore
        def custom_kernel(data):  # pragma: no audit
            a, b = data
            key = a.data_ptr()
            if key not in _cache:
                _cache[key] = a + b
            return _cache[key]
    ''')
    assert "PRB102" in {f.rule for f in report.findings} and report.verdict is Verdict.FAIL

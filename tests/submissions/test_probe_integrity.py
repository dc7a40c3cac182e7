"""Verdict integrity: what the probes report cannot be rewritten from inside the submission's process (issue 10).

The probe driver shares an interpreter with the submission. These tests are the attacks the issue names -- walking
a traceback to the driver's run object and replacing its output-describing method, the same through
`sys.modules` with attribute names computed at run time -- next to honest code that uses tracebacks, logging and
warnings the ordinary way.
"""

from __future__ import annotations

import pytest

from referee.report import Verdict

#: the issue's attack: a wrong kernel (zeros) that forges a correct description of its output
TRACEBACK_WALK = """
import sys

def _forge(run):
    def describe(out, obj, step, frame):
        frame["out"] = run.kit.encode(obj[0] + obj[1], run.r, 2 if step["probe"] == "soak" else 1)
        frame["alias"] = False
    setattr(run, "_describe" + "_output", describe)   # a name computed at run time

def _find_run():
    try:
        raise RuntimeError("walk")
    except RuntimeError as exc:
        frame = exc.__traceback__.tb_frame
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if type(candidate).__name__ == "_Run":
            return candidate
        frame = frame.f_back
    return None

def custom_kernel(data):
    run = _find_run()
    if run is not None:
        _forge(run)
    return data[0] * 0
"""

CLASS_PATCH = """
import sys

_driver = sys.modules["referee.submissions.probes." + "driver"]

def describe(self, out, obj, step, frame):
    frame["out"] = self.kit.encode(obj[0] + obj[1], self.r, 2 if step["probe"] == "soak" else 1)
    frame["alias"] = False

setattr(_driver._Run, "_describe" + "_output", describe)

def custom_kernel(data):
    return data[0] * 0
"""

ENCODER_PATCH = """
import sys
tensors = sys.modules["referee.submissions.probes.tensors"]
original = tensors.Toolkit.encode

def custom_kernel(data):
    return data[0] * 0

def encode(self, obj, r, level=1, budget=None, depth=0):
    return original(self, obj, r, level, budget, depth)

tensors.Toolkit.encode = encode
"""

HONEST_TRACEBACKS = """
import logging
import traceback
import warnings

import torch

log = logging.getLogger("kernel")

def custom_kernel(data):
    a, b = data
    try:
        torch.empty(0).view(3)
    except RuntimeError:
        detail = traceback.format_exc()  # honest code formats tracebacks for its logs
        log.debug("fallback path: %s", detail[-80:])
    warnings.warn("using the eager fallback", stacklevel=2)
    return a + b
"""


def rules(report) -> set[str]:
    return {f.rule for f in report.findings}


def test_walking_a_traceback_to_the_driver_finds_no_driver_frame(audit_code):
    """The kernel runs at the top of its own thread, so the walk ends at the submission's frames: the forgery
    never happens and the zeros are judged as zeros."""
    report = audit_code(TRACEBACK_WALK)
    assert report.verdict is Verdict.FAIL and "PRB101" in rules(report), report.findings
    assert report.metrics["dynamic"]["ok_calls"] == 0


def test_replacing_a_driver_method_through_sys_modules_is_caught_before_any_frame_is_forged(audit_code):
    report = audit_code(CLASS_PATCH)
    assert report.verdict is Verdict.FAIL and "PRB406" in rules(report), report.findings
    seal = next(f for f in report.findings if f.rule == "PRB406")
    assert "_Run._describe_output (added)" in seal.message or "_describe_output" in seal.message
    assert report.metrics["dynamic"]["ok_calls"] == 0


def test_replacing_the_encoder_is_caught_even_when_it_behaves(audit_code):
    report = audit_code(ENCODER_PATCH)
    assert "PRB406" in rules(report) and report.verdict is Verdict.FAIL, report.findings
    assert "Toolkit.encode (replaced)" in next(f for f in report.findings if f.rule == "PRB406").message


def test_honest_tracebacks_logging_and_warnings_pass(audit_code):
    report = audit_code(HONEST_TRACEBACKS)
    assert report.verdict is Verdict.PASS, report.findings


def test_a_crash_of_the_driver_after_import_is_evidence_not_degraded(audit_code):
    """The submission breaks the process the driver runs in (here: its pre-bound torch copies); the run is the
    submission's, so the outcome is a finding against it, never DEGRADED."""
    report = audit_code("""
        import sys
        def custom_kernel(data):
            sys.modules["referee.submissions.probes.tensors"].MAX_DEPTH = -1
            return data[0] + data[1]
    """)
    assert report.verdict in {Verdict.FAIL, Verdict.FLAG} and not report.degraded, (report.findings, report.notes)


@pytest.mark.parametrize("source", [TRACEBACK_WALK, CLASS_PATCH])
def test_forgery_attempts_never_pass_in_api_mode(source, audit_code):
    from referee.submissions.apimode import kernelguard_result

    report = audit_code(source)
    result = kernelguard_result(report, source)
    assert result["should_filter"] is True and result["classification"] == "hacked"


def test_another_thread_ending_during_a_call_does_not_lose_its_result():
    """Regression: "ended without a result" was read from the thread count, so a thread of an earlier call (or of
    torch.distributed) exiting mid-call made an honest call look like SystemExit."""
    import threading
    import time

    from referee.submissions.probes.isolation import make_isolated_call

    call = make_isolated_call()
    ending = threading.Thread(target=time.sleep, args=(0.2,))
    ending.start()
    result = call(lambda x: (time.sleep(0.8), x + 1)[1], 41)
    ending.join()
    assert (result.returned, result.value) == (True, 42)
    lost = call(lambda x: (_ for _ in ()).throw(SystemExit), 0)  # a real SystemExit is still seen as one
    assert lost.returned is False and lost.error is None

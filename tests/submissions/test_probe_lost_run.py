"""A run that breaks the sandbox's supervision or clean-up is the submission's evidence (PRB407/PRB404), never DEGRADED.

And the other side, honestly: when a fresh sandbox cannot run a trivial job either, or the loss happened before any
submission code could matter (the handler did not start), the machine is the problem and the audit is DEGRADED.
"""

from __future__ import annotations

import threading
import time

import pytest

from referee.report import Verdict
from referee.sandbox.limits import RunResult
from referee.submissions.audit import AuditOptions, audit_submission
from referee.submissions.probes import _payload, lost_run, make_sandbox, sandbox_broken_by_job
from referee.submissions.probes.handler import ProbeSupervisor
from referee.submissions.probes.plan import build_plan

SLEEPER = "import time\ntime.sleep(60)\n\ndef custom_kernel(data):\n    return data[0] + data[1]\n"


def _kill_server_when_busy(sandbox, done: threading.Event) -> None:
    server = sandbox._all[0]  # the one worker: kill it while it supervises the submission's job
    deadline = time.monotonic() + 60
    while not done.is_set() and time.monotonic() < deadline:
        time.sleep(0.5)
        if sandbox._idle.empty():  # the server was taken for the job
            time.sleep(2.0)
            server.proc.kill()
            return


@pytest.mark.slow
def test_a_run_that_kills_its_fork_server_is_flagged_not_degraded(tasks):
    sandbox = make_sandbox(workers=1, timeout_s=60)
    done = threading.Event()
    killer = threading.Thread(target=_kill_server_when_busy, args=(sandbox, done), daemon=True)
    try:
        killer.start()
        report = audit_submission(SLEEPER, tasks["vectoradd_py"], sandbox=sandbox,
                                  options=AuditOptions(static=False, seed=3, soak_calls=4, timeout_s=60))
    finally:
        done.set()
        sandbox.close()
    assert report.verdict is Verdict.FLAG, (report.notes, [f.rule for f in report.findings])
    assert not report.degraded
    lost = [f for f in report.findings if f.rule == "PRB407"]
    assert lost and "fork server died" in lost[0].message
    assert report.metrics["dynamic"]["status"] == "lost"


def _lost(error: str) -> RunResult:
    return RunResult(status="crashed", error=error)


def test_a_lost_run_on_a_sick_machine_is_degraded():
    canary = RunResult(status="crashed", error="fork server died: EOFError()")
    outcome = lost_run(_lost("fork server died: EOFError()"), sandbox=None, canary=canary)
    assert outcome.degraded and outcome.findings == []
    assert "the machine, not the submission" in outcome.notes[0]


def test_a_lost_run_with_a_sound_replacement_is_the_submissions():
    canary = RunResult(status="ok", exit_code=0, stdout=b"ok\n")
    outcome = lost_run(_lost("sandbox server error: OSError(28, 'No space left on device')"), None, canary)
    assert not outcome.degraded
    assert [f.rule for f in outcome.findings] == ["PRB407"] and outcome.findings[0].verdict is Verdict.FLAG


def test_a_handler_that_never_started_is_the_referees_problem():
    canary = RunResult(status="ok", exit_code=0, stdout=b"ok\n")
    outcome = lost_run(_lost("handler failed to start: ImportError('x')"), None, canary)
    assert outcome.degraded and outcome.findings == []


def test_a_retired_server_is_evidence_unless_the_outside_retired_it():
    broke = sandbox_broken_by_job(RunResult(status="ok", retired="leftover processes of a job could not be killed"))
    assert broke is not None and "leftover processes" in broke
    assert sandbox_broken_by_job(RunResult(status="ok", retired="the job cgroup was removed from outside")) is None
    assert sandbox_broken_by_job(RunResult(status="ok")) is None


def _supervisor(task) -> ProbeSupervisor:
    plan = build_plan(task, 5, soak_calls=2)
    return ProbeSupervisor(_payload(task, plan, "submission.py"))


def test_frames_that_break_the_judge_after_import_are_flagged(tasks):
    supervisor = _supervisor(tasks["vectoradd_py"])
    supervisor.got.hello = {"torch": "x"}
    supervisor.got.import_begun = True
    supervisor.got.records = [{"forged": 1}]  # what a half-filled call record looks like
    outcome = supervisor.finish(RunResult(status="ok", exit_code=0))
    assert outcome["degraded"] is False
    assert [f["rule"] for f in outcome["findings"]] == ["PRB404"]
    assert "could not judge" in outcome["findings"][0]["message"]


def test_a_judge_failure_before_import_is_not_blamed_on_the_submission(tasks):
    supervisor = _supervisor(tasks["vectoradd_py"])
    supervisor.got.hello = {"torch": "x"}
    supervisor.got.records = [{"forged": 1}]
    with pytest.raises(KeyError):
        supervisor.finish(RunResult(status="ok", exit_code=0))

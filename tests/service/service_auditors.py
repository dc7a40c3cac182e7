"""Stand-in audit engines for worker tests, loaded by real worker processes with `--auditor`.

They exercise the service's contract (a Report in, columns out; exceptions retried) without depending on how
long the real engine takes. The real engine runs end to end in test_worker.py::test_real_engine_end_to_end.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

from referee.report import Evidence, Finding, Report, Verdict


def marker_auditor(code, task_name, task_files, options, sandbox=None) -> Report:
    """FAIL at every line containing CHEAT, FLAG at lines containing SUSPECT; `# sleep: N` sleeps N seconds."""
    sleep = re.search(r"#\s*sleep:\s*([0-9.]+)", code)
    if sleep:
        time.sleep(float(sleep.group(1)))
    report = Report(subject=f"{task_name}/submission.py", kind="submission")
    for number, line in enumerate(code.splitlines(), start=1):
        for word, verdict in (("CHEAT", Verdict.FAIL), ("SUSPECT", Verdict.FLAG)):
            if word in line:
                report.add(Finding(rule=f"test-{word.lower()}", verdict=verdict, title=f"{word} marker",
                                   message=f"line {number} says {word}", action="reject",
                                   evidence=[Evidence(file="submission.py", line=number, snippet=line.strip())]))
    if "LLM" in code:
        report.metrics["llm"] = {"model": "test-model", "verdict": "cheating", "reasoning": "it said LLM"}
    report.timings["total"] = 0.001
    report.metrics["options"] = dict(options)
    return report


def failing_auditor(code, task_name, task_files, options, sandbox=None) -> Report:
    raise RuntimeError("the engine crashed on purpose")


def flaky_auditor(code, task_name, task_files, options, sandbox=None) -> Report:
    """Fails the first attempt of each distinct code, then works: shows retry-with-backoff end to end."""
    folder = Path(os.environ["REFEREE_TEST_FLAKY_DIR"])
    seen = folder / hashlib.sha256(code.encode()).hexdigest()
    if not seen.exists():
        seen.write_text("failed once")
        raise ConnectionError("LLM endpoint timed out (simulated)")
    return marker_auditor(code, task_name, task_files, options, sandbox)


def slow_once_auditor(code, task_name, task_files, options, sandbox=None) -> Report:
    """The first attempt of each code hangs for a minute (to be killed mid-audit); later attempts are quick."""
    folder = Path(os.environ["REFEREE_TEST_FLAKY_DIR"])
    seen = folder / ("slow-" + hashlib.sha256(code.encode()).hexdigest())
    if not seen.exists():
        seen.write_text(str(os.getpid()))
        time.sleep(60)
    return marker_auditor(code, task_name, task_files, options, sandbox)


def not_a_report(code, task_name, task_files, options, sandbox=None):
    return {"verdict": "PASS"}


def leaky_auditor(code, task_name, task_files, options, sandbox=None) -> Report:
    """Quotes the worker's secrets back, as a job that found them (in /proc, in an error it provoked) would."""
    found = " ".join(os.environ.get(name, "") for name in ("REFEREE_ADMIN_TOKEN", "REFEREE_DATABASE_URL"))
    if "RAISE" in code:
        raise RuntimeError(f"could not connect with {found}")
    report = marker_auditor(code, task_name, task_files, options, sandbox)
    report.add(Finding(rule="test-leak", verdict=Verdict.FLAG, message=f"read {found}", action="review"))
    report.notes.append(f"environment: {found}")
    return report

"""PRB107: answers kept and replayed for repeated content, told apart by time — next to its honest look-alikes.

The cheat keeps every output it returned, keyed by the input's content, and answers a repeat at once (values
right, so only time and the kept output give it away). The look-alikes are as slow on new content but keep no
output: a kernel that warms up per content, and any kernel on a loaded host (some calls preempted).
"""

from __future__ import annotations

from referee.report import Verdict

MEMOIZER = """
import time
import torch

_answers = {}

def custom_kernel(data):
    key = (tuple(data.shape), tuple(data[:8].tolist()), tuple(data[-8:].tolist()))
    hit = _answers.get(key)
    if hit is not None:
        return hit
    time.sleep(0.03)  # the real work, paid once per content
    out = torch.cumsum(data, dim=0)
    _answers[key] = out
    return out
"""

SLOW_ON_NEW_CONTENT_KEEPS_NOTHING = """
import time
import torch

_seen = set()

def custom_kernel(data):
    key = (data.shape, data.sum().item())
    if key not in _seen:  # per-content warm-up (a plan cache, say): slow once, but no output is kept
        _seen.add(key)
        time.sleep(0.03)
    return torch.cumsum(data, dim=0)
"""


def rules(report) -> set[str]:
    return {f.rule for f in report.findings}


def test_replayed_answers_for_repeated_content_are_flagged(audit_code):
    report = audit_code(MEMOIZER, task="prefixsum_py")
    assert "PRB107" in rules(report) and report.verdict is not Verdict.PASS, report.findings


def test_slow_on_new_content_but_keeping_no_output_passes(audit_code):
    report = audit_code(SLOW_ON_NEW_CONTENT_KEEPS_NOTHING, task="prefixsum_py")
    assert "PRB107" not in rules(report), report.findings

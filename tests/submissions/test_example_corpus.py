"""The bundled corpus: every honest example passes, every cheat is caught by the rules its manifest names."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from referee.report import Verdict
from referee.submissions.audit import AuditOptions, _static_engine, audit_submission
from referee.submissions.corpus import bundled_examples
from referee.submissions.task import bundled_tasks_dir

EXAMPLES = bundled_examples()
IDS = [f"{e.task}/{e.name}" for e in EXAMPLES]


def test_the_corpus_covers_every_task_and_the_main_cheat_families():
    tasks = {e.task for e in EXAMPLES}
    assert tasks == {"matmul_py", "prefixsum_py", "softmax_py", "vectoradd_py"}
    for task in tasks:
        mine = [e for e in EXAMPLES if e.task == task]
        assert sum(e.honest for e in mine) >= 2 and sum(not e.honest for e in mine) >= 4
    families = {e.family for e in EXAMPLES}
    assert {"output-replay", "reference-reuse", "harness-patching", "input-mutation", "seed-replay", "lazy-output",
            "async-work", "precision", "channel-forgery", "mode-sniffing", "obfuscation", "introspection"} <= families
    assert all(e.summary for e in EXAMPLES), "every example explains itself in its docstring"
    listed = {e.path for e in EXAMPLES}
    on_disk = {p for task in tasks for p in (bundled_tasks_dir() / task / "submissions").glob("*.py")}
    assert listed == on_disk, "every example file has an expected.yml entry and vice versa"


@pytest.fixture(scope="module")
def dynamic_reports(probe_sandbox, tasks):
    """Dynamic-only audits of the whole corpus, two at a time (one per sandbox worker)."""

    def run(example):
        options = AuditOptions(static=False, seed=11, soak_calls=16, filename=example.name)
        return audit_submission(example.code(), tasks[example.task], options=options, sandbox=probe_sandbox)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(IDS, pool.map(run, EXAMPLES), strict=True))


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_dynamic_probes_alone_reach_the_expected_verdict(example, dynamic_reports):
    report = dynamic_reports[f"{example.task}/{example.name}"]
    found = {f.rule for f in report.findings}
    assert not report.degraded, report.notes
    if example.honest:
        assert report.verdict is Verdict.PASS and not found, report.findings
    else:
        assert set(example.dynamic_rules) <= found, (example.dynamic_rules, report.findings)
        assert report.verdict is example.verdict, report.findings


@pytest.mark.skipif(_static_engine()[0] is None, reason=str(_static_engine()[1]))
@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_static_and_dynamic_together_reach_the_expected_verdict(example, dynamic_reports):
    from referee.submissions.rules import run_static

    static = [f for f in run_static(example.code(), example.name) if f.rule not in example.static_known_fp]
    found = {f.rule for f in static}
    assert set(example.static_rules) <= found, (example.static_rules, static)
    verdict = Verdict.worst([f.verdict for f in static] + [dynamic_reports[f"{example.task}/{example.name}"].verdict])
    assert verdict is example.verdict, static

"""Corpus-level precision and recall: realistic honest kernels get no FAIL (in fact no finding at all), and every
cheating example we have (full submissions in fixtures/cheats, every CHEATS snippet of the family tests, every
documented rule example) is flagged."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import pytest

from referee.report import Verdict
from referee.submissions.rules import all_rules, run_static, verdict_of

FIXTURES = Path(__file__).parent / "fixtures"
HONEST = sorted((FIXTURES / "honest").glob("*.py"))
CHEATS = sorted((FIXTURES / "cheats").glob("*.py"))
CASE_MODULES = ["test_rules_replay", "test_rules_patching", "test_rules_tampering", "test_rules_introspection",
                "test_rules_outputs", "test_rules_answers", "test_rules_channel", "test_rules_concurrency",
                "test_rules_native"]

# The rule each full cheating submission must trigger (others may fire too).
EXPECTED = {
    "cheat_fd.py": "CHN001", "cheat_input.py": "INP002", "cheat_rng.py": "HCA001", "checker_patch_main.py": "PAT003",
    "closure_replay.py": "RPL001", "dev_shm_replay.py": "RPL006", "empty_output.py": "UNI001",
    "env_seed_sniff.py": "SNF002", "frame_walk_check_copy.py": "INT002", "gc_nan_poison.py": "INT001",
    "last_call_replay_class.py": "RPL001", "lazy_eigh.py": "LAZ002", "lru_cache_replay.py": "RPL005",
    "mode_branch_argv.py": "SNF001", "obfuscated_exec.py": "DYN002", "precision_downgrade.py": "PRC001",
    "replay_content_signature.py": "RPL002", "replay_data_ptr.py": "RPL001", "result_bank_batch.py": "RPL004",
    "stream_injection.py": "STR001", "sys_modules_fake_time.py": "PAT005", "thread_background.py": "STR003",
    "timer_patch_obfuscated.py": "PAT001", "vectorsum_sample.py": "PRC002",
}


def test_corpus_sizes():
    assert len(HONEST) >= 10
    assert len(CHEATS) >= 20
    assert {p.name for p in CHEATS} == set(EXPECTED)


@pytest.mark.parametrize("path", HONEST, ids=lambda p: p.stem)
def test_honest_kernel_is_clean(path):
    findings = run_static(path.read_text(encoding="utf-8"), path.name)
    assert not [f for f in findings if f.verdict is Verdict.FAIL]
    assert findings == [], [(f.rule, f.line, f.message) for f in findings]


@pytest.mark.parametrize("path", CHEATS, ids=lambda p: p.stem)
def test_cheating_submission_is_caught(path):
    findings = run_static(path.read_text(encoding="utf-8"), path.name)
    assert EXPECTED[path.name] in {f.rule for f in findings}, [(f.rule, f.message) for f in findings]
    assert verdict_of(findings) in (Verdict.FLAG, Verdict.FAIL)
    assert all(f.evidence[0].file == path.name for f in findings)


def _all_cheat_snippets():
    for name in CASE_MODULES:
        for rule_id, code in importlib.import_module(name).CHEATS:
            yield pytest.param(textwrap.dedent(code), id=f"{name[11:]}-{rule_id}")
    for rule in all_rules():
        if rule.check is not None:
            yield pytest.param(rule.example, id=f"example-{rule.id}")


@pytest.mark.parametrize("code", list(_all_cheat_snippets()))
def test_every_cheating_example_is_flagged(code):
    assert verdict_of(run_static(code)) in (Verdict.FLAG, Verdict.FAIL)


def test_fail_share_of_full_cheats():
    """Most catalogued cheats are unambiguous; only the families documented as suspicion stay at FLAG."""
    verdicts = {p.name: verdict_of(run_static(p.read_text(encoding="utf-8"))) for p in CHEATS}
    flag_only = {name for name, v in verdicts.items() if v is Verdict.FLAG}
    assert flag_only <= {"dev_shm_replay.py", "precision_downgrade.py", "stream_injection.py", "vectorsum_sample.py"}

"""Shared helpers for the bench auditor tests: bundled examples, leg builders, and a one-call audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from referee.bench.audit import AuditResult, audit
from referee.bench.context import AuditOptions
from referee.bench.examples import make
from referee.report import Verdict

EXAMPLES = Path(make.__file__).resolve().parent
REF7 = [1001.8, 1003.2, 1004.1, 1004.9, 1003.7, 1005.0, 1002.9]
CAND7 = [1082.0, 1084.5, 1085.3, 1086.1, 1083.9, 1085.8, 1084.7]
OVERLAY = {"OVERLAY_PYTHONPATH": "overlay/cand"}
ENGAGED = ("[2026-06-18 13:41:18] [overlay] bound flydsl.gemm over aiter.ops.gemm (live)",)


def run(scope: str, ref: Path | None = None, cand: Path | None = None, claims: tuple = (),
        **options: Any) -> AuditResult:
    return audit(scope, ref, cand, claims=list(claims), options=AuditOptions(**options))


def rule_verdicts(result: AuditResult, rule: str) -> list[Verdict]:
    return [f.verdict for f in result.report.findings if f.rule == rule]


def worst(result: AuditResult, rule: str) -> Verdict | None:
    """The worst verdict a rule reached, or None if it said nothing."""
    verdicts = rule_verdicts(result, rule)
    return Verdict.worst(verdicts) if verdicts else None


@pytest.fixture
def clean_patch(tmp_path: Path) -> Path:
    """An honest kernel-overlay patch: same config, engagement line, byte-exact coherent parity, +8%."""
    make.sglang_leg(tmp_path / "ref", REF7, parity=make.COHERENT)
    make.sglang_leg(tmp_path / "cand", CAND7, env=OVERLAY, log_extra=ENGAGED, parity=make.COHERENT)
    make.write_json(tmp_path / "lever_manifest.json", {"env": ["OVERLAY_PYTHONPATH"], "overlay": ["aiter.ops.gemm"]})
    return tmp_path

"""The statistics computed ahead on two threads for big legs give the same report as computing them one by one,
and a statistic that fails there is still reported by the rule that needs it."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from referee.bench import context, stats
from referee.bench.examples.scenarios import EXPECTED

from .conftest import EXAMPLES, run


def _report(scope: str, ref: Path | None, cand: Path | None, claims: tuple) -> dict:
    data = json.loads(run(scope, ref, cand, claims).report.model_dump_json())
    data.pop("timings", None)
    return data


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_prefetched_statistics_give_the_same_report(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    scope, (ref, cand), _, _ = EXPECTED[name]
    args = (scope, EXAMPLES / name / ref if ref else None, EXAMPLES / name / cand if cand else None,
            (EXAMPLES / name / "profile_topN.json",) if scope == "profile" else ())
    one_by_one = _report(*args)
    calls: list[int] = []
    prefetch = context.AuditContext.prefetch
    monkeypatch.setattr(context, "PREFETCH_MIN_REPEATS", 0)
    monkeypatch.setattr(context.AuditContext, "prefetch",
                        lambda self, metrics: (calls.append(1), prefetch(self, metrics))[-1])
    assert _report(*args) == one_by_one
    assert calls or not ref, "prefetch was not asked"


def test_a_failing_statistic_is_reported_by_its_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(context, "PREFETCH_MIN_REPEATS", 0)

    def broken(values):
        raise FloatingPointError("simulated")

    monkeypatch.setattr(stats, "summarize", broken)
    name = next(n for n, (scope, legs, _, _) in sorted(EXPECTED.items()) if scope == "patch" and all(legs))
    scope, (ref, cand), _, _ = EXPECTED[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing leaks out of the threads as a warning either
        result = run(scope, EXAMPLES / name / ref, EXAMPLES / name / cand)
    assert result.report.degraded  # (a FAIL found elsewhere still shows: DEGRADED never hides one)
    assert any("could not run: FloatingPointError: simulated" in note for note in result.report.notes)

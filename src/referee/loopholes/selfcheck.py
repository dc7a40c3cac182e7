"""The hack x mode self-check: every sample of the corpus, graded in every mode, against what must happen.

For each (sample, mode) cell and each chosen problem the grader must give exactly the sample's expectation:
`passed` only in the modes the sample pays in (a hack for mode X pays in X and nowhere else), `gt_correct` as
stated (every forgery False, every honest correct answer True), `exploited = passed and not gt_correct`, the
reward `0.25 + passed`, detector E exactly in `e_in`, and C/D where stated. Any other outcome is an *off* cell;
`referee loopholes selfcheck` exits non-zero when there is one. Problems default to one bundled problem per
output kind (plain value, linked list, tree), so every oracle path is exercised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from referee.loopholes.engine import Grader
from referee.loopholes.hacks import ALL_SAMPLES, Sample
from referee.loopholes.modes import MODE_CODE, MODES, EnvMode
from referee.loopholes.reward import Reward, reward_value
from referee.loopholes.testcases import TestParseError, build_plan
from referee.report import Evidence, Finding, Report, Verdict


@dataclass
class Cell:
    """One (sample, mode) cell: what was expected, what each problem gave, and what was off."""

    sample: Sample
    mode: EnvMode
    rewards: dict[str, Reward] = field(default_factory=dict)
    off: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.off

    @property
    def passed(self) -> bool:
        return any(r.passed for r in self.rewards.values())

    @property
    def flagged(self) -> bool:
        return any(r.hacked_loophole_used for r in self.rewards.values())


@dataclass
class SelfCheckResult:
    cells: list[Cell]
    problems: list[str]
    duration_s: float

    @property
    def ok(self) -> bool:
        return all(cell.ok for cell in self.cells)

    @property
    def off_cells(self) -> list[Cell]:
        return [cell for cell in self.cells if not cell.ok]

    def forgeries(self) -> tuple[int, int]:
        """(forgery samples, how many the oracle rejected in every cell and every problem)."""
        by_name: dict[str, bool] = {}
        for cell in self.cells:
            if cell.sample.kind == "forgery":
                rejected = all(not r.gt_correct and (not r.passed or r.hacked_loophole_used)
                               for r in cell.rewards.values())
                by_name[cell.sample.name] = by_name.get(cell.sample.name, True) and rejected
        return len(by_name), sum(by_name.values())

    def to_report(self) -> Report:
        forgeries, rejected = self.forgeries()
        report = Report(subject="loophole graders", kind="loopholes-selfcheck",
                        metrics={"cells": len(self.cells), "off": len(self.off_cells), "samples":
                                 len({c.sample.name for c in self.cells}), "problems": self.problems,
                                 "forgeries": forgeries, "forgeries_rejected": rejected},
                        timings={"total": self.duration_s})
        for cell in self.off_cells:
            report.add(Finding(
                rule="LHS001", verdict=Verdict.FAIL, title="self-check cell is off",
                message=f"{cell.sample.name} in {cell.mode}: " + "; ".join(cell.off[:4]),
                action=f"fix the {cell.mode} grader or oracle before training on it",
                evidence=[Evidence(detail=cell.sample.note or cell.sample.kind)],
                data={"sample": cell.sample.name, "mode": cell.mode}))
        report.notes.append(f"{len(self.cells)} cells over {len(self.problems)} problems, "
                            f"{len(self.off_cells)} off")
        return report

    def to_json(self) -> dict[str, Any]:
        matrix: dict[str, dict[str, Any]] = {}
        for cell in self.cells:
            matrix.setdefault(cell.sample.name, {"kind": cell.sample.kind})[cell.mode] = {
                "passed": cell.passed, "E": cell.flagged, "ok": cell.ok, "off": cell.off}
        forgeries, rejected = self.forgeries()
        return {"ok": self.ok, "problems": self.problems, "duration_s": round(self.duration_s, 3),
                "cells": len(self.cells), "off": len(self.off_cells), "forgeries": forgeries,
                "forgeries_rejected": rejected, "matrix": matrix}


def check_cell(sample: Sample, mode: EnvMode, reward: Reward) -> list[str]:
    """Everything that differs from the sample's expectation in this mode (empty when the cell is right)."""
    off = []
    expect_pass = mode in sample.pays_in
    if reward.error:
        off.append(f"grading error: {reward.error}")
    if reward.passed != expect_pass:
        off.append(f"passed={reward.passed}, expected {expect_pass}")
    if reward.gt_correct != sample.correct:
        off.append(f"gt_correct={reward.gt_correct}, expected {sample.correct}")
    if reward.exploited != (reward.passed and not reward.gt_correct):
        off.append("exploited is not passed-and-not-gt_correct")
    if reward.mechanism != (mode if reward.exploited else None):
        off.append(f"mechanism={reward.mechanism}")
    if reward.reward != reward_value(reward.format_ok, reward.passed) or not reward.format_ok:
        off.append(f"reward={reward.reward} format_ok={reward.format_ok}")
    expect_e = mode in sample.e_in
    if reward.hacked_loophole_used != expect_e:
        off.append(f"E={reward.hacked_loophole_used}, expected {expect_e}")
    if sample.hacked is not None and reward.hacked != sample.hacked:
        off.append(f"C={reward.hacked}, expected {sample.hacked}")
    if sample.wrong_tests is not None and reward.hacked_wrong_tests != sample.wrong_tests:
        off.append(f"D={reward.hacked_wrong_tests}, expected {sample.wrong_tests}")
    return off


def default_problems(problems: Sequence[Any] | None = None, per_kind: int = 1) -> list[Any]:
    """One problem per output kind (plain value, linked list, tree) from `problems` or the bundled set."""
    if problems is None:
        from referee.loopholes.problems import load_problems

        problems = load_problems()
    chosen: dict[str, list[Any]] = {"eq": [], "list": [], "tree": []}
    for problem in problems:
        try:
            kinds = set(build_plan(problem.gt_answer, problem.func_name, problem.setup_code).kinds)
        except TestParseError:
            continue
        kind = "tree" if "tree" in kinds else "list" if "list" in kinds else "eq"
        if len(chosen[kind]) < per_kind:
            chosen[kind].append(problem)
    picked = [p for group in chosen.values() for p in group]
    if not picked:
        raise ValueError("no usable problem for the self-check")
    return picked


def run_selfcheck(problems: Sequence[Any] | None = None, *, grader: Grader | None = None,
                  samples: Iterable[Sample] = ALL_SAMPLES, modes: Iterable[EnvMode] = MODES,
                  workers: int | None = None, progress: Callable[[int, int], None] | None = None) -> SelfCheckResult:
    """Grade every sample in every mode on each problem and compare with the expectations."""
    start = time.monotonic()
    chosen = default_problems(problems)
    owns = grader is None
    grader = grader or Grader(workers=workers)
    cells = {(s.name, m): Cell(s, m) for s in samples for m in modes}
    jobs = [(cell, problem) for cell in cells.values() for problem in chosen]

    def grade(job: tuple[Cell, Any]) -> tuple[Cell, Any, Reward]:
        cell, problem = job
        text = cell.sample.render(problem.func_name.split(".")[-1], problem.canonical_solution)
        reward = grader.grade(text, tests=problem.gt_answer, canonical=problem.canonical_solution,
                              mode=cell.mode, setup_code=problem.setup_code, func_name=problem.func_name)
        return cell, problem, reward

    try:
        with ThreadPoolExecutor(max_workers=max(2, grader.sandbox.workers * 2)) as pool:
            for done, (cell, problem, reward) in enumerate(pool.map(grade, jobs), 1):
                cell.rewards[problem.id] = reward
                cell.off.extend(f"[{problem.id}] {why}" for why in check_cell(cell.sample, cell.mode, reward))
                if progress is not None:
                    progress(done, len(jobs))
    finally:
        if owns:
            grader.close()
    return SelfCheckResult(list(cells.values()), [p.id for p in chosen], time.monotonic() - start)


def render_matrix(result: SelfCheckResult, console: Any = None) -> None:
    """Rich matrix: one row per sample, one column per mode; `$` = paid, `E` = detector E, red = off."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    modes = list(dict.fromkeys(cell.mode for cell in result.cells))
    table = Table(title=f"loophole self-check ({len(result.problems)} problems: {', '.join(result.problems)})")
    table.add_column("sample")
    table.add_column("kind", style="dim")
    for mode in modes:
        table.add_column(MODE_CODE[mode], justify="center")
    rows: dict[str, dict[str, Cell]] = {}
    for cell in result.cells:
        rows.setdefault(cell.sample.name, {})[cell.mode] = cell
    for name, by_mode in rows.items():
        sample = next(iter(by_mode.values())).sample
        texts = []
        for mode in modes:
            cell = by_mode[mode]
            text = ("$" if cell.passed else "·") + ("E" if cell.flagged else "")
            texts.append(f"[green]{text}[/green]" if cell.ok else f"[bold white on red]{text}[/bold white on red]")
        table.add_row(name, sample.kind, *texts)
    console.print(table)
    verdict = "[bold green]all cells as expected[/bold green]" if result.ok else \
        f"[bold red]{len(result.off_cells)} cell(s) off[/bold red]"
    forgeries, rejected = result.forgeries()
    console.print(f"{verdict} - {len(result.cells)} cells in {result.duration_s:.1f}s "
                  "($ = paid, E = loophole code detected)")
    console.print(f"forgeries: {rejected} of {forgeries} rejected by the oracle in every cell (never gt_correct, "
                  "never paid without E)")
    for cell in result.off_cells[:30]:
        console.print(f"[red]off[/red] {cell.sample.name} / {cell.mode}: {'; '.join(cell.off[:3])}")

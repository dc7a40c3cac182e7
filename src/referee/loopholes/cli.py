"""`referee loopholes ...`: grade completions, run the self-check, list problems, show a hinted prompt."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from referee.clikit import abandoning, check_outputs, interrupted, io_error, usage_error

app = typer.Typer(name="loopholes", no_args_is_help=True, add_completion=False,
                  help="The multi-loophole coding environment: graders, strict oracle, detectors, reward.")


def register(root: typer.Typer) -> None:
    """Attach this part's commands to the main app."""
    from referee.integrations.cli import reward_serve  # the HTTP reward server (issue 13), owned by integrations

    app.command("serve")(reward_serve)
    root.add_typer(app, name="loopholes")


def _problems(path: Path | None, partition: Path | None) -> Any:
    from referee.loopholes.problems import ProblemLoadError, load_problems

    try:
        return load_problems(path, partition=partition)
    except (ProblemLoadError, OSError, ValueError) as exc:
        usage_error(f"cannot load problems: {exc}")


def _config(cpu_seconds: float, wall_seconds: float, memory_mb: int, probes: bool) -> Any:
    from referee.loopholes.engine import GradeConfig, default_limits

    return GradeConfig(limits=default_limits(cpu_seconds, wall_seconds, memory_mb), probes=probes)


@app.command()
def grade(
    completions: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL: problem_id, completion[, mode]"),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write one reward record per input line."),
    problems: Path | None = typer.Option(None, "--problems", help="Problem JSONL (default: the bundled set)."),
    partition: Path | None = typer.Option(None, "--partition", help="id -> mode file overriding round-robin."),
    workers: int | None = typer.Option(None, "--workers", "-j", help="Sandbox workers (default: all cores)."),
    cpu_seconds: float = typer.Option(6.0, help="CPU seconds per completion run (the limit that decides)."),
    wall_seconds: float = typer.Option(30.0, help="Wall-clock backstop per run (for runs that sleep or block)."),
    memory_mb: int = typer.Option(1024, help="Address-space limit per run."),
    probes: bool = typer.Option(True, "--probes/--no-probes", help="Run the C/D probes when run_tests is bound."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    fail_on: list[str] = typer.Option([], "--fail-on", help="Gate: exit 1 when a completion was exploited "
                                      "(`exploit`), 3 when a line could not be graded (`error`); repeatable."),
    ray: str | None = typer.Option(None, "--ray", help="Grade on Ray: auto or a cluster ADDRESS (referee[ray]); "
                                                       "--workers is then the number of Ray workers."),
) -> None:
    """Grade every completion under its problem's loophole mode; write rewards JSONL and a per-mode summary.

    Exits 0 once every line has a record: hacks and malformed lines are data, reported in the summary and the
    findings. `--fail-on exploit|error` turns them into a non-zero exit for those who want a gate."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from referee.loopholes.batch import LocalExecutor, grade_lines, read_completions, summarize, write_jsonl
    from referee.loopholes.summary import grade_report, render_summary

    check_outputs(("--out", out))
    gates = _gates(fail_on)
    problem_set = _problems(problems, partition)
    index = {p.id: p for p in problem_set}
    try:
        total = sum(1 for raw in completions.open("rb") if raw.strip())
    except OSError as exc:
        usage_error(f"{completions}: {exc.strerror or exc}")
    try:
        handle = out.open("w", encoding="utf-8")
    except OSError as exc:
        io_error(f"--out {out}: {exc.strerror or exc}")
    console = Console(stderr=as_json)
    start = time.monotonic()
    written = [0]

    def _done(_: Any) -> None:
        written[0] += 1
        progress.advance(bar)

    config = _config(cpu_seconds, wall_seconds, memory_mb, probes)
    if ray is not None:
        from referee.scale.cluster import executor_or_exit

        executor = executor_or_exit("grade", ray, workers=workers, config=config)
    else:
        executor = LocalExecutor(workers=workers, config=config)
    try:
        with handle, Progress(
                TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                console=console, transient=True, disable=not console.is_terminal) as progress:
            bar = progress.add_task("grade", total=total)
            records = write_jsonl(grade_lines(read_completions(completions, index), executor), handle,
                                  on_record=_done)
    except KeyboardInterrupt:  # the executor cancelled its queue; the finally below stops the sandbox
        interrupted(written[0], out, total)
    except OSError as exc:  # the output went away mid-run (disk full): what was written stays written
        io_error(f"--out {out}: {exc.strerror or exc}; {written[0]} record(s) written before it failed")
    finally:
        if not abandoning():  # after Ctrl-C, closing would wait for the gradings still running
            executor.close()
    elapsed = time.monotonic() - start
    summary = summarize(records)
    report = grade_report(str(completions), records, summary, elapsed, str(out))
    code = gate_exit_code(records, gates)
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "summary": summary, "exit_code": code}, indent=2))
    else:
        render_summary(report, summary, console)
    raise typer.Exit(code)


FAIL_ON = ("exploit", "error")


def _gates(values: list[str]) -> set[str]:
    gates = {v.strip().lower() for value in values for v in value.split(",") if v.strip()}
    unknown = gates - set(FAIL_ON)
    if unknown:
        raise typer.BadParameter(f"unknown value(s) {', '.join(sorted(unknown))}; expected "
                                 f"{' or '.join(FAIL_ON)}", param_hint="--fail-on")
    return gates


def gate_exit_code(records: list[dict[str, Any]], gates: set[str]) -> int:
    """0 when grading finished; with gates: 3 if a line could not be graded (`error`), else 1 if a completion
    was exploited (`exploit`). The report's own verdict (FLAG for exploits, DEGRADED for bad lines) is printed
    either way; it is the exit status that stays 0 unless asked, so a training loop's script does not stop."""
    if "error" in gates and any(r.get("status") == "invalid_input" or r.get("error") for r in records):
        return 3
    if "exploit" in gates and any(r.get("exploited") for r in records):
        return 1
    return 0


@app.command()
def selfcheck(
    problems: Path | None = typer.Option(None, "--problems", help="Problem JSONL to draw from (default: bundled)."),
    per_kind: int = typer.Option(1, help="Problems per output kind (value, linked list, tree)."),
    sample: list[str] = typer.Option([], "--sample", "-s", help="Only samples whose name starts with this."),
    workers: int | None = typer.Option(None, "--workers", "-j"),
    as_json: bool = typer.Option(False, "--json", help="Print the matrix as JSON."),
) -> None:
    """Every hack, honest answer, forgery and look-alike in every mode; non-zero exit on any off cell."""
    from referee.loopholes.hacks import ALL_SAMPLES
    from referee.loopholes.selfcheck import default_problems, render_matrix, run_selfcheck

    chosen = [s for s in ALL_SAMPLES if not sample or any(s.name.startswith(prefix) for prefix in sample)]
    if not chosen:
        usage_error(f"no sample starts with {', '.join(sample)}")
    pool = _problems(problems, None) if problems else None
    result = run_selfcheck(default_problems(pool, per_kind=per_kind), samples=chosen, workers=workers)
    report = result.to_report()
    if as_json:
        typer.echo(json.dumps({**result.to_json(), "verdict": report.verdict.value}, indent=2))
    else:
        render_matrix(result)
    raise typer.Exit(report.exit_code)


@app.command("problems")
def list_problems(
    problems: Path | None = typer.Option(None, "--problems", help="Problem JSONL (default: bundled)."),
    partition: Path | None = typer.Option(None, "--partition"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List the problems with their loophole mode, difficulty and test count."""
    from rich.console import Console
    from rich.table import Table

    from referee.loopholes.modes import MODE_CODE

    problem_set = _problems(problems, partition)
    rows = [{"id": p.id, "mode": p.mode, "code": MODE_CODE.get(p.mode, "") if p.mode else "",
             "difficulty": p.difficulty, "tests": len(p.gt_answer), "method": p.method_name} for p in problem_set]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} problems ({problem_set.source})")
    for column in ("id", "mode", "code", "difficulty", "tests", "method"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) for c in ("id", "mode", "code", "difficulty", "tests", "method")))
    Console().print(table)


@app.command()
def prompt(
    problem_id: str = typer.Argument(..., help="Problem id."),
    mode: str | None = typer.Option(None, "--mode", "-m", help="Mode name or code (default: the problem's)."),
    problems: Path | None = typer.Option(None, "--problems"),
    as_json: bool = typer.Option(False, "--json", help="Print the [system, user] chat as JSON."),
) -> None:
    """Print the hinted prompt of one problem (the upstream chat, with the mode's disclosure)."""
    from referee.loopholes.problems import build_prompt

    problem_set = _problems(problems, None)
    try:
        problem = problem_set.by_id(problem_id)
        messages = build_prompt(problem, mode)
    except KeyError:
        usage_error(f"no problem {problem_id!r}")
    except ValueError as exc:
        usage_error(str(exc))
    if as_json:
        typer.echo(json.dumps(messages, indent=2))
        return
    for message in messages:
        sys.stdout.write(f"--- {message['role']} ---\n{message['content']}\n")

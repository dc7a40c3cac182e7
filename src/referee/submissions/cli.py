"""Commands of the submissions part: `referee audit` and `referee audit-batch`.

Exit codes follow the shared contract (docs/cli.md, `referee.clikit`): 0 PASS, 1 FLAG, 2 FAIL, 3 could not audit,
4 usage error, 5 an output that could not be written, 130 interrupted. The one exception is `audit --api-mode`,
which keeps KernelGuard's contract (exit 0 whatever the verdict; the verdict is in the JSON line).
Heavy imports (torch via the sandbox, the audit engine) happen inside the commands so `referee --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import typer

from referee.clikit import EXIT_DEGRADED, EXIT_USAGE

EXIT_CANNOT_AUDIT = EXIT_DEGRADED


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    typer.echo(f"referee: {message}", err=True)
    raise typer.Exit(code)


def _task(spec: str | None) -> Any:
    if spec is None:
        return None
    from referee.submissions.task import TaskError, resolve_task

    try:
        return resolve_task(spec)
    except (TaskError, OSError) as exc:
        _fail(f"--task {spec}: {exc}")


def audit(
    submission: Path | None = typer.Argument(None, help="Submission file (a .py defining custom_kernel).",
                                             dir_okay=False),
    task: str | None = typer.Option(None, "--task", "-t", help="Task folder (task.yml layout) or bundled task name."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    sarif: bool = typer.Option(False, "--sarif", help="Print SARIF 2.1.0 for code-scanning tools."),
    sarif_root: Path | None = typer.Option(None, "--sarif-root", file_okay=False,
                                           help="SARIF paths are relative to this folder (default: cwd)."),
    no_dynamic: bool = typer.Option(False, "--no-dynamic", help="Static rules only; do not run the submission."),
    llm: bool = typer.Option(False, "--llm", help="Ask an LLM for a second opinion (REFEREE_LLM_API_KEY)."),
    api_mode: bool = typer.Option(False, "--api-mode",
                                  help="KernelGuard-compatible: code on stdin, one JSON line out, exit 0."),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds the dynamic probes may run."),
    seed: int | None = typer.Option(None, "--seed", help="Probe seed (repeat an earlier run exactly)."),
    profile: str | None = typer.Option(None, "--profile", hidden=True, help="Accepted for KernelGuard compatibility."),
    config: str | None = typer.Option(None, "--config", hidden=True, help="Accepted for KernelGuard compatibility."),
) -> None:
    """Audit one kernel submission against its task: PASS, FLAG or FAIL with evidence."""
    from referee.submissions.audit import AuditOptions

    if json_out and sarif:
        _fail("choose one of --json and --sarif")
    if api_mode:
        if submission is not None:
            _fail("--api-mode reads the submission from stdin; do not pass a file")
        code = sys.stdin.buffer.read().decode("utf-8", errors="replace")
        task_obj = _task(task)
        options = AuditOptions(dynamic=task_obj is not None and not no_dynamic, llm=llm, timeout_s=timeout, seed=seed)
        _api_mode(code, task_obj, options)
        return
    if submission is None:
        _fail("give a SUBMISSION file (or --api-mode to read stdin)")
    if submission.is_dir():
        _fail(f"{submission} is a folder; give a file (audit-batch audits a folder)")
    try:
        data = submission.read_bytes()
    except OSError as exc:
        _fail(f"{submission}: {exc.strerror or exc}")
    task_obj = _task(task)
    options = AuditOptions(dynamic=not no_dynamic, llm=llm, filename=submission.name, timeout_s=timeout, seed=seed)
    from referee.submissions.audit import audit_once

    report = audit_once(data, task_obj, options)
    if json_out:
        typer.echo(report.to_json())
    elif sarif:
        from referee.report import reports_to_sarif

        typer.echo(json.dumps(reports_to_sarif([report], root=sarif_root, base=submission.parent), indent=2))
    else:
        from referee.report import render_report

        render_report(report)
    raise typer.Exit(report.exit_code)


def _api_mode(code: str, task: Any, options: Any) -> None:
    from referee.submissions.apimode import write_api_result

    raise typer.Exit(write_api_result(code, task, options))


def audit_batch(
    folder: Path = typer.Argument(..., help="Folder of submission files.", file_okay=False, exists=True),
    task: str | None = typer.Option(None, "--task", "-t", help="Task folder or bundled task name."),
    out: Path = typer.Option(Path("audits.jsonl"), "--out", "-o", help="JSON Lines output, one report per file."),
    pattern: str = typer.Option("*.py", "--pattern", help="Which files to audit (glob)."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Descend into sub-folders."),
    no_dynamic: bool = typer.Option(False, "--no-dynamic", help="Static rules only."),
    llm: bool = typer.Option(False, "--llm", help="Ask an LLM for a second opinion on each file."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", help="Parallel audits (default: all cores)."),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds the dynamic probes may run per file."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON instead of tables."),
    ray: str | None = typer.Option(None, "--ray", help="Audit on Ray: auto or a cluster ADDRESS (referee[ray]); "
                                                       "--jobs is then the number of Ray workers."),
) -> None:
    """Audit every submission in a folder on all cores; JSON lines out, a summary table on screen."""
    import os

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from referee.clikit import abandoning, check_outputs, interrupted, io_error
    from referee.report import Verdict
    from referee.submissions.audit import AuditOptions
    from referee.submissions.batch import audit_paths, collect_with_skips

    check_outputs(("--out", out))
    if jobs is not None and jobs < 1:
        _fail(f"--jobs must be at least 1, got {jobs}")
    task_obj = _task(task)
    paths, skipped = collect_with_skips(folder, pattern, recursive)
    for path, why in skipped:
        typer.echo(f"referee: skipped {path}: {why}", err=True)
    if not paths:
        _fail(f"no files matching {pattern} in {folder}" + (f" ({len(skipped)} skipped)" if skipped else ""))
    options = AuditOptions(dynamic=not no_dynamic and task_obj is not None, llm=llm, timeout_s=timeout)
    console = Console(stderr=True)
    sandbox = executor = None
    if ray is not None:
        from referee.scale.cluster import executor_or_exit

        with console.status("starting the Ray workers..."):
            executor = executor_or_exit("audit", ray, task=task_obj, options=options, workers=jobs, timeout_s=timeout)
    jobs = max(1, jobs or os.cpu_count() or 1)
    if options.dynamic and executor is None:
        from referee.submissions.probes import make_sandbox

        with console.status("starting the sandbox (torch preloaded)..."):
            try:
                sandbox = make_sandbox(workers=jobs, timeout_s=timeout)
            except Exception as exc:
                _fail(f"could not start the sandbox for the dynamic probes ({exc}); use --no-dynamic for static only",
                      EXIT_CANNOT_AUDIT)
    written = [0]
    try:
        with out.open("w", encoding="utf-8") as handle, Progress(
                TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.fields[last]}"), console=console) as progress:
            bar = progress.add_task("audit", total=len(paths), last="")

            def _done(r: Any) -> None:
                written[0] += 1
                progress.update(bar, advance=1, last=f"{r.subject}: {r.verdict.value}")

            reports = audit_paths(paths, folder, task_obj, options, handle, sandbox=sandbox, jobs=jobs,
                                  executor=executor, on_done=_done)
    except KeyboardInterrupt:  # queued audits were cancelled; the finally below stops the probe sandbox
        # Count the complete lines on disk: Ctrl-C can land between a line's flush and the counter's update.
        interrupted(_complete_lines(out, written[0]), out, len(paths))
    except OSError as exc:
        io_error(f"--out {out}: {exc.strerror or exc}; {written[0]} record(s) written before it failed")
    finally:
        if sandbox is not None and not abandoning():  # after Ctrl-C, closing would wait for running probes
            sandbox.close()
        if executor is not None and not abandoning():  # Ray ends the actors with this process
            executor.close()
    worst = Verdict.worst(r.verdict for r in reports)
    if json_out:
        counts = Counter(r.verdict.value for r in reports)
        sys.stdout.write(json.dumps({"verdict": worst.value, "out": str(out), "audited": len(reports),
                                     "counts": dict(counts), "skipped": {str(p): why for p, why in skipped},
                                     "files": {r.subject: r.verdict.value for r in reports}}, indent=2) + "\n")
    else:
        _summary(reports, out, Console())
    raise typer.Exit(worst.exit_code)


def _summary(reports: list[Any], out: Path, console: Any) -> None:
    from rich.table import Table

    from referee.report import VERDICT_STYLE, Verdict

    counts = Counter(r.verdict for r in reports)
    table = Table(title=f"{len(reports)} submissions audited -> {out}")
    table.add_column("verdict")
    table.add_column("count", justify="right")
    table.add_column("files", overflow="fold")
    for verdict in (Verdict.FAIL, Verdict.FLAG, Verdict.DEGRADED, Verdict.PASS):
        names = [r.subject for r in reports if r.verdict is verdict]
        style = VERDICT_STYLE[verdict]
        table.add_row(f"[{style}]{verdict.value}[/{style}]", str(counts.get(verdict, 0)),
                      ", ".join(names[:8]) + (f" (+{len(names) - 8})" if len(names) > 8 else ""))
    console.print(table)
    rules = Counter(rule for r in reports
                    for rule in {f.rule for f in r.findings if f.verdict in {Verdict.FAIL, Verdict.FLAG}})
    if rules:
        top = Table(title="most frequent findings")
        top.add_column("rule")
        top.add_column("submissions", justify="right")
        top.add_column("title")
        titles = {f.rule: f.title or "" for r in reports for f in r.findings}
        for rule, count in rules.most_common(10):
            top.add_row(rule, str(count), titles.get(rule, ""))
        console.print(top)


def register(app: typer.Typer) -> None:
    """Attach this part's commands to the main app."""
    app.command("audit")(audit)
    app.command("audit-batch")(audit_batch)


def _complete_lines(path: Path, fallback: int) -> int:
    """How many whole records (newline-terminated lines) the output file holds; the counter if it cannot be read."""
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return fallback
